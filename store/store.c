#include "store/store.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "store/checkpointer.h"
#include "store/wal_vfs.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Each entry migrates from version i to i+1. Only ever append: a database
 * written by an older isthmus is brought forward step by step. */
static const char *const migrations[] = {
    /* 1: the foundation */
    "CREATE TABLE txns ("
    "  txn_id TEXT PRIMARY KEY,"
    "  received_ts INTEGER NOT NULL);"
    "CREATE TABLE ghosts ("
    "  mxid TEXT PRIMARY KEY,"
    "  jid TEXT NOT NULL UNIQUE,"
    "  displayname TEXT,"
    "  registered INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE rooms ("
    "  room_id TEXT PRIMARY KEY,"
    "  mode INTEGER NOT NULL,"
    "  xmpp_jid TEXT,"
    "  matrix_user TEXT,"
    "  created_ts INTEGER NOT NULL);"
    "CREATE INDEX rooms_dm ON rooms(xmpp_jid, matrix_user, created_ts);"
    "CREATE TABLE messages ("
    "  event_id TEXT PRIMARY KEY,"
    "  room_id TEXT NOT NULL,"
    "  xmpp_jid TEXT NOT NULL,"
    "  stanza_id TEXT,"
    "  origin_id TEXT,"
    "  direction INTEGER NOT NULL,"
    "  ts INTEGER NOT NULL);"
    "CREATE INDEX messages_stanza ON messages(xmpp_jid, stanza_id);"
    "CREATE INDEX messages_origin ON messages(xmpp_jid, origin_id);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  queue TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  payload TEXT NOT NULL,"
    "  created_ts INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX outbox_queue ON outbox(queue, id);"
    "CREATE INDEX outbox_kind ON outbox(kind, id);",
    /* 2: XMPP stanzas seen, so a resent message is bridged only once */
    "CREATE TABLE inbound ("
    "  xmpp_jid TEXT NOT NULL,"
    "  stanza_id TEXT NOT NULL,"
    "  received_ts INTEGER NOT NULL,"
    "  event_id TEXT,"
    "  PRIMARY KEY (xmpp_jid, stanza_id));"
    "CREATE INDEX inbound_age ON inbound(received_ts);",
    /* 3: gateway mode, XMPP users in Matrix rooms */
    "CREATE TABLE occupants ("
    "  occupant_jid TEXT NOT NULL,"
    "  muc_jid TEXT NOT NULL,"
    "  room_id TEXT NOT NULL,"
    "  nick TEXT NOT NULL,"
    "  ghost TEXT NOT NULL,"
    "  PRIMARY KEY (occupant_jid, muc_jid));"
    "CREATE INDEX occupants_room ON occupants(room_id);"
    "CREATE TABLE members ("
    "  room_id TEXT NOT NULL,"
    "  mxid TEXT NOT NULL,"
    "  nick TEXT NOT NULL,"
    "  level INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (room_id, mxid));",
    /* 4: portal mode, Matrix users in XMPP MUCs */
    "ALTER TABLE rooms ADD COLUMN subject TEXT;"
    "CREATE TABLE portal_users ("
    "  room_id TEXT NOT NULL,"
    "  mxid TEXT NOT NULL,"
    "  muc_jid TEXT NOT NULL,"
    "  nick TEXT NOT NULL,"
    "  base_nick TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL DEFAULT 0,"
    "  joined INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (room_id, mxid));"
    "CREATE INDEX portal_users_muc ON portal_users(muc_jid, mxid);"
    "CREATE INDEX messages_room ON messages(room_id, ts);",
    /* 5: what a transaction carried, since Synapse reuses transaction ids
     * after it restarts */
    "ALTER TABLE txns ADD COLUMN digest TEXT;"
    "UPDATE txns SET digest = 'unknown';",
    /* 6: corrections, so that a correction of a correction still targets
     * the original message */
    "ALTER TABLE messages ADD COLUMN replaces TEXT;",
    /* 7: reactions, one row per person, message and key: XMPP sends a
     * person's whole set each time, Matrix one event per reaction */
    "CREATE TABLE reactions ("
    "  target_event_id TEXT NOT NULL,"
    "  sender TEXT NOT NULL,"
    "  reaction_key TEXT NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  room_id TEXT NOT NULL,"
    "  PRIMARY KEY (target_event_id, sender, reaction_key)) WITHOUT ROWID;"
    "CREATE INDEX reactions_event ON reactions(event_id);"
    /* and who sent each message, so that a deletion by someone else is
     * told apart as a moderator's */
    "ALTER TABLE messages ADD COLUMN sender TEXT;",
    /* 8: read positions, one per person per conversation, that only move
     * forward (read receipts and chat markers) */
    "CREATE TABLE read_positions ("
    "  room_id TEXT NOT NULL,"
    "  person TEXT NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  updated_ts INTEGER NOT NULL,"
    "  PRIMARY KEY (room_id, person));",
    /* 9: presence, per source (XMPP resource, Matrix, MUC occupancy), the
     * XMPP users subscribed to Matrix users' JIDs, and avatars: images
     * cached by mxc URI, and whose avatar is which */
    "CREATE TABLE presence ("
    "  person TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  state INTEGER NOT NULL,"
    "  status TEXT,"
    "  updated_ts INTEGER NOT NULL,"
    "  PRIMARY KEY (person, source));"
    "CREATE TABLE presence_subs ("
    "  mxid TEXT NOT NULL,"
    "  jid TEXT NOT NULL,"
    "  PRIMARY KEY (mxid, jid));"
    "CREATE TABLE avatars ("
    "  mxc TEXT PRIMARY KEY,"
    "  sha1 TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  data BLOB NOT NULL);"
    "CREATE TABLE avatar_of ("
    "  who TEXT PRIMARY KEY,"
    "  mxc TEXT,"
    "  sha1 TEXT);",
    /* 10: a message's ids are indexed only where the primary key does not
     * already find them. A bridged event's stanza carries the event id as
     * its id, and a random id in an index is a random page written per
     * message: these two entries were about half of the cost of storing
     * one (see S_MSG_BY_STANZA for how lookups still find every row). */
    "DROP INDEX messages_stanza;"
    "CREATE INDEX messages_stanza ON messages(xmpp_jid, stanza_id) "
    "  WHERE stanza_id <> event_id;"
    "DROP INDEX messages_origin;"
    "CREATE INDEX messages_origin ON messages(xmpp_jid, origin_id) "
    "  WHERE origin_id IS NOT NULL;",
    /* 11: two fewer pages written per commit. An outbox scan by kind walks
     * the ids it is given anyway (the outbox holds only unfinished work),
     * so its index was one more page to write per message; and a
     * transaction's id is its own key. */
    "DROP INDEX outbox_kind;"
    "CREATE TABLE txns_by_id ("
    "  txn_id TEXT PRIMARY KEY,"
    "  received_ts INTEGER NOT NULL,"
    "  digest TEXT) WITHOUT ROWID;"
    "INSERT INTO txns_by_id SELECT txn_id, received_ts, digest FROM txns;"
    "DROP TABLE txns;"
    "ALTER TABLE txns_by_id RENAME TO txns;",
};
#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

enum stmt_id {
    S_BEGIN, S_COMMIT, S_ROLLBACK,
    S_TXN_SEEN, S_TXN_MARK, S_TXN_HIGHEST, S_TXN_PRUNE,
    S_GHOST_GET, S_GHOST_PUT,
    S_ROOM_GET, S_ROOM_FIND_DM, S_ROOM_PUT, S_ROOM_DELETE,
    S_MSG_PUT, S_MSG_BY_EVENT, S_MSG_BY_STANZA,
    S_OUTBOX_ADD, S_OUTBOX_HEAD, S_OUTBOX_SCAN, S_OUTBOX_DELETE,
    S_OUTBOX_COUNT, S_OUTBOX_DELETE_RANGE,
    S_INBOUND_GET, S_INBOUND_ADD, S_INBOUND_DONE, S_INBOUND_PRUNE,
    S_OCC_PUT, S_OCC_GET, S_OCC_DELETE, S_OCC_LIST, S_OCC_COUNT_GHOST,
    S_MEMBER_PUT, S_MEMBER_DELETE, S_MEMBER_LIST, S_MEMBER_CLEAR,
    S_MEMBER_GET,
    S_ROOM_FIND_PORTAL, S_ROOM_SUBJECT_GET, S_ROOM_SUBJECT_SET,
    S_ROOM_LAST_TS,
    S_PU_PUT, S_PU_GET, S_PU_BY_NICK, S_PU_DELETE, S_PU_ALL,
    S_MSG_SET_STANZA,
    S_REACT_PUT, S_REACT_LIST, S_REACT_BY_EVENT, S_REACT_DELETE,
    S_MSG_ORDER, S_MSG_LAST_FROM_XMPP, S_READ_ADVANCE, S_READ_GET,
    S_PRES_PUT, S_PRES_GET, S_PRES_SUB_PUT, S_PRES_SUB_DELETE,
    S_PRES_WATCHERS, S_PRES_ROOMS, S_PRES_PRESENT,
    S_AVATAR_GET, S_AVATAR_PUT, S_AVATAR_OF_GET, S_AVATAR_OF_PUT,
    S_MEMBER_BY_NICK, S_GHOST_ROOMS,
    S_COUNT
};

/* A messages row as fill_message reads it. */
#define MSG_COLS "event_id, room_id, xmpp_jid, stanza_id, origin_id, " \
                 "direction, ts, replaces, sender"

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_TXN_SEEN] = "SELECT 1 FROM txns WHERE txn_id = ?1 AND digest = ?2",
    [S_TXN_MARK] = "INSERT INTO txns(txn_id, received_ts, digest) "
                   "VALUES (?1, ?2, ?3) ON CONFLICT(txn_id) DO UPDATE SET "
                   "received_ts = excluded.received_ts, "
                   "digest = excluded.digest",
    [S_TXN_HIGHEST] = "SELECT CAST(txn_id AS INTEGER) FROM txns "
                      "WHERE txn_id NOT GLOB '*[^0-9]*' AND "
                      "length(txn_id) BETWEEN 1 AND 18 ORDER BY "
                      "received_ts DESC, CAST(txn_id AS INTEGER) DESC "
                      "LIMIT 1",
    /* Keeps the latest numeric id: gap detection starts from it. */
    [S_TXN_PRUNE] = "DELETE FROM txns WHERE received_ts < ?1 AND txn_id "
                    "NOT IN (SELECT txn_id FROM txns WHERE txn_id NOT GLOB "
                    "'*[^0-9]*' AND length(txn_id) BETWEEN 1 AND 18 "
                    "ORDER BY received_ts DESC, CAST(txn_id AS INTEGER) "
                    "DESC LIMIT 1)",
    [S_GHOST_GET] = "SELECT mxid, jid, displayname, registered FROM ghosts "
                    "WHERE mxid = ?1",
    [S_GHOST_PUT] = "INSERT INTO ghosts(mxid, jid, displayname, registered) "
                    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(mxid) DO UPDATE SET "
                    "jid = excluded.jid, displayname = excluded.displayname, "
                    "registered = excluded.registered",
    [S_ROOM_GET] = "SELECT room_id, mode, xmpp_jid, matrix_user FROM rooms "
                   "WHERE room_id = ?1",
    [S_ROOM_FIND_DM] = "SELECT room_id, mode, xmpp_jid, matrix_user FROM rooms "
                       "WHERE mode = 1 AND xmpp_jid = ?1 AND matrix_user = ?2 "
                       "ORDER BY created_ts DESC, rowid DESC LIMIT 1",
    [S_ROOM_PUT] = "INSERT INTO rooms(room_id, mode, xmpp_jid, matrix_user, "
                   "created_ts) VALUES (?1, ?2, ?3, ?4, ?5) "
                   "ON CONFLICT(room_id) DO UPDATE SET mode = excluded.mode, "
                   "xmpp_jid = excluded.xmpp_jid, "
                   "matrix_user = excluded.matrix_user",
    [S_ROOM_DELETE] = "DELETE FROM rooms WHERE room_id = ?1",
    [S_MSG_PUT] = "INSERT OR IGNORE INTO messages(event_id, room_id, xmpp_jid, "
                  "stanza_id, origin_id, direction, ts, replaces, sender) "
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [S_MSG_BY_EVENT] = "SELECT " MSG_COLS " FROM messages WHERE "
                       "event_id = ?1",
    /* Three searches, one per index that can hold the id (migration 10):
     * the primary key for ids equal to the event id, then the two partial
     * indexes, whose conditions are repeated word for word so that the
     * planner uses them. */
    [S_MSG_BY_STANZA] = "SELECT " MSG_COLS " FROM messages WHERE "
                        "event_id = ?2 AND xmpp_jid = ?1 AND "
                        "(origin_id = ?2 OR stanza_id = ?2) "
                        "UNION ALL SELECT " MSG_COLS " FROM messages WHERE "
                        "xmpp_jid = ?1 AND stanza_id = ?2 AND "
                        "stanza_id <> event_id "
                        "UNION ALL SELECT " MSG_COLS " FROM messages WHERE "
                        "xmpp_jid = ?1 AND origin_id = ?2 AND "
                        "origin_id IS NOT NULL "
                        "ORDER BY ts DESC LIMIT 1",
    [S_OUTBOX_ADD] = "INSERT INTO outbox(queue, kind, payload, created_ts) "
                     "VALUES (?1, ?2, ?3, ?4)",
    [S_OUTBOX_HEAD] = "SELECT id, queue, kind, payload, created_ts, attempts "
                      "FROM outbox WHERE queue = ?1 ORDER BY id LIMIT 1",
    [S_OUTBOX_SCAN] = "SELECT id, queue, kind, payload, created_ts, attempts "
                      "FROM outbox WHERE kind = ?1 AND id > ?2 ORDER BY id "
                      "LIMIT ?3",
    [S_OUTBOX_DELETE] = "DELETE FROM outbox WHERE id = ?1",
    [S_OUTBOX_COUNT] = "SELECT COUNT(*) FROM outbox",
    [S_OUTBOX_DELETE_RANGE] = "DELETE FROM outbox WHERE kind = ?1 AND "
                              "id BETWEEN ?2 AND ?3",
    [S_INBOUND_GET] = "SELECT event_id FROM inbound WHERE xmpp_jid = ?1 AND "
                      "stanza_id = ?2",
    [S_INBOUND_ADD] = "INSERT OR IGNORE INTO inbound(xmpp_jid, stanza_id, "
                      "received_ts) VALUES (?1, ?2, ?3)",
    [S_INBOUND_DONE] = "UPDATE inbound SET event_id = ?3 WHERE xmpp_jid = ?1 "
                       "AND stanza_id = ?2",
    [S_INBOUND_PRUNE] = "DELETE FROM inbound WHERE received_ts < ?1",
    [S_OCC_PUT] = "INSERT INTO occupants(occupant_jid, muc_jid, room_id, nick, "
                  "ghost) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO UPDATE "
                  "SET room_id = excluded.room_id, nick = excluded.nick, "
                  "ghost = excluded.ghost",
    [S_OCC_GET] = "SELECT occupant_jid, muc_jid, room_id, nick, ghost FROM "
                  "occupants WHERE occupant_jid = ?1 AND muc_jid = ?2",
    [S_OCC_DELETE] = "DELETE FROM occupants WHERE occupant_jid = ?1 AND "
                     "muc_jid = ?2",
    [S_OCC_LIST] = "SELECT occupant_jid, muc_jid, room_id, nick, ghost FROM "
                   "occupants WHERE room_id = ?1",
    [S_OCC_COUNT_GHOST] = "SELECT COUNT(*) FROM occupants WHERE room_id = ?1 "
                          "AND ghost = ?2",
    [S_MEMBER_PUT] = "INSERT INTO members(room_id, mxid, nick, level) VALUES "
                     "(?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET nick = "
                     "excluded.nick, level = excluded.level",
    [S_MEMBER_DELETE] = "DELETE FROM members WHERE room_id = ?1 AND mxid = ?2",
    [S_MEMBER_LIST] = "SELECT mxid, nick, level FROM members WHERE "
                      "room_id = ?1",
    [S_MEMBER_CLEAR] = "DELETE FROM members WHERE room_id = ?1",
    [S_MEMBER_GET] = "SELECT mxid, nick, level FROM members WHERE room_id = ?1 "
                     "AND mxid = ?2",
    [S_ROOM_FIND_PORTAL] = "SELECT room_id, mode, xmpp_jid, matrix_user FROM "
                           "rooms WHERE mode = 3 AND xmpp_jid = ?1 ORDER BY "
                           "created_ts DESC, rowid DESC LIMIT 1",
    [S_ROOM_SUBJECT_GET] = "SELECT subject FROM rooms WHERE room_id = ?1",
    [S_ROOM_SUBJECT_SET] = "UPDATE rooms SET subject = ?2 WHERE room_id = ?1",
    [S_ROOM_LAST_TS] = "SELECT MAX(ts) FROM messages WHERE room_id = ?1",
    [S_PU_PUT] = "INSERT INTO portal_users(room_id, mxid, muc_jid, nick, "
                 "base_nick, attempt, joined) VALUES (?1, ?2, ?3, ?4, ?7, "
                 "?5, ?6) ON CONFLICT DO UPDATE SET muc_jid = "
                 "excluded.muc_jid, nick = excluded.nick, base_nick = "
                 "excluded.base_nick, attempt = excluded.attempt, joined = "
                 "excluded.joined",
    [S_PU_GET] = "SELECT room_id, mxid, muc_jid, nick, attempt, joined, "
                 "base_nick FROM portal_users WHERE muc_jid = ?1 AND "
                 "mxid = ?2",
    [S_PU_BY_NICK] = "SELECT room_id, mxid, muc_jid, nick, attempt, "
                     "joined, base_nick FROM portal_users WHERE "
                     "muc_jid = ?1 AND nick = ?2",
    [S_PU_DELETE] = "DELETE FROM portal_users WHERE room_id = ?1 AND mxid = ?2",
    [S_REACT_PUT] = "INSERT OR REPLACE INTO reactions(target_event_id, "
                    "sender, reaction_key, event_id, room_id) "
                    "VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_REACT_LIST] = "SELECT reaction_key, event_id FROM reactions WHERE "
                     "target_event_id = ?1 AND sender = ?2 "
                     "ORDER BY reaction_key",
    [S_REACT_BY_EVENT] = "SELECT target_event_id, sender, reaction_key, "
                         "event_id, room_id FROM reactions WHERE "
                         "event_id = ?1",
    [S_REACT_DELETE] = "DELETE FROM reactions WHERE event_id = ?1",
    /* Values on the right are the old ones: an origin id stored as "same
     * as the stanza id" keeps that id. */
    [S_MSG_SET_STANZA] = "UPDATE messages SET origin_id = "
                         "COALESCE(origin_id, stanza_id), stanza_id = ?2 "
                         "WHERE event_id = ?1",
    [S_PU_ALL] = "SELECT room_id, mxid, muc_jid, nick, attempt, joined, "
                 "base_nick FROM portal_users ORDER BY muc_jid",
    [S_MSG_ORDER] = "SELECT ts, rowid FROM messages WHERE event_id = ?1",
    [S_MSG_LAST_FROM_XMPP] = "SELECT " MSG_COLS ", rowid FROM messages "
                             "WHERE room_id = ?1 AND "
                             "direction = 1 "
                             "AND (ts < ?2 OR (ts = ?2 AND rowid <= ?3)) "
                             "ORDER BY ts DESC, rowid DESC LIMIT 1",
    /* The WHERE makes the position move forward only; sqlite3_changes()
     * then tells whether it moved. */
    [S_READ_ADVANCE] = "INSERT INTO read_positions(room_id, person, event_id, "
                       "ts, seq, updated_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                       "ON CONFLICT(room_id, person) DO UPDATE SET "
                       "event_id = excluded.event_id, ts = excluded.ts, "
                       "seq = excluded.seq, updated_ts = excluded.updated_ts "
                       "WHERE excluded.ts > read_positions.ts OR "
                       "(excluded.ts = read_positions.ts AND "
                       "excluded.seq > read_positions.seq)",
    [S_READ_GET] = "SELECT event_id, ts, seq FROM read_positions WHERE "
                   "room_id = ?1 AND person = ?2",
    [S_PRES_PUT] = "INSERT INTO presence(person, source, state, status, "
                   "updated_ts) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO "
                   "UPDATE SET state = excluded.state, status = "
                   "excluded.status, updated_ts = excluded.updated_ts",
    [S_PRES_GET] = "SELECT source, state, status, updated_ts FROM presence "
                   "WHERE person = ?1",
    [S_PRES_SUB_PUT] = "INSERT OR IGNORE INTO presence_subs(mxid, jid) "
                       "VALUES (?1, ?2)",
    [S_PRES_SUB_DELETE] = "DELETE FROM presence_subs WHERE mxid = ?1 AND "
                          "jid = ?2",
    [S_PRES_WATCHERS] = "SELECT jid FROM presence_subs WHERE mxid = ?1 "
                        "UNION SELECT xmpp_jid FROM rooms WHERE mode = 1 "
                        "AND matrix_user = ?1",
    [S_PRES_ROOMS] = "SELECT m.room_id, r.xmpp_jid, m.nick, r.mode FROM "
                     "members m JOIN rooms r ON r.room_id = m.room_id WHERE "
                     "m.mxid = ?1 AND r.mode = 2 UNION ALL SELECT room_id, "
                     "muc_jid, nick, 3 FROM portal_users WHERE mxid = ?1 "
                     "AND joined = 1",
    [S_PRES_PRESENT] = "SELECT DISTINCT person FROM presence WHERE "
                       "state > 0 AND person NOT LIKE '@%'",
    [S_AVATAR_GET] = "SELECT mxc, sha1, type, data FROM avatars WHERE "
                     "mxc = ?1",
    [S_AVATAR_PUT] = "INSERT OR REPLACE INTO avatars(mxc, sha1, type, data) "
                     "VALUES (?1, ?2, ?3, ?4)",
    [S_AVATAR_OF_GET] = "SELECT mxc, sha1 FROM avatar_of WHERE who = ?1",
    [S_AVATAR_OF_PUT] = "INSERT OR REPLACE INTO avatar_of(who, mxc, sha1) "
                        "VALUES (?1, ?2, ?3)",
    [S_MEMBER_BY_NICK] = "SELECT mxid FROM members WHERE room_id = ?1 AND "
                         "nick = ?2 LIMIT 1",
    [S_GHOST_ROOMS] = "SELECT o.room_id, o.muc_jid, MIN(o.nick), r.mode FROM "
                      "occupants o JOIN rooms r ON r.room_id = o.room_id "
                      "WHERE o.ghost = ?1 GROUP BY o.room_id",
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    bool in_txn; /* a transaction is open: reads or writes this turn */
    bool dirty;  /* ...and it has written something */
    bool urgent; /* ...that must be committed before the turn ends */
    int lazy_depth;        /* inside store_lazy_begin/end */
    int64_t lazy_since_ms; /* the oldest write that may wait, or 0 */
    uint64_t writes;
    struct checkpointer *checkpointer;
};

/* The thread copies the log back at STORE_LOG_PAGES, as SQLite's own
 * automatic checkpoint would. But the log starts again from its beginning
 * only when a write transaction begins with every frame already copied
 * back. Under a steady stream of commits the thread is always a little
 * behind, so that moment never comes and the log would grow without end.
 * At STORE_LOG_MAX_PAGES the loop itself copies back the rest: the thread
 * has done most of it, and nothing else writes meanwhile, so the next
 * transaction reuses the log. */
static int on_wal_commit(void *ud, sqlite3 *db, const char *name, int pages)
{
    struct store *st = ud;
    if (pages >= STORE_LOG_MAX_PAGES) {
        int log_frames, copied;
        /* SQLITE_BUSY while the thread is at it: the next commit retries. */
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
                                  &log_frames, &copied);
    } else if (pages >= STORE_LOG_PAGES) {
        checkpointer_poke(st->checkpointer);
    }
    return SQLITE_OK;
}

static char *dup_col(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? xstrdup((const char *)t) : NULL;
}

static void bind_text(sqlite3_stmt *s, int idx, const char *v)
{
    if (v)
        sqlite3_bind_text(s, idx, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, idx);
}

/* Resets and clears a cached statement before use. */
static int open_txn(struct store *st);

/* Every statement of a loop turn, reads included, runs in the turn's one
 * transaction: a read outside one would be a transaction of its own, each
 * taking and releasing the log's read lock (system calls) and looking the
 * log up again. Only this connection writes, so the snapshot a turn reads
 * from is never stale, and its first write upgrades it without waiting. */
static sqlite3_stmt *stmt(struct store *st, enum stmt_id id)
{
    if (id > S_ROLLBACK && open_txn(st) < 0)
        log_warn("store: statement %d runs outside a transaction", (int)id);
    sqlite3_stmt *s = st->stmt[id];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

static int report(struct store *st, const char *what)
{
    log_error("store: %s: %s", what, sqlite3_errmsg(st->db));
    return -1;
}

static int open_txn(struct store *st)
{
    if (st->in_txn)
        return 0;
    sqlite3_stmt *s = stmt(st, S_BEGIN);
    if (sqlite3_step(s) != SQLITE_DONE) {
        sqlite3_reset(s);
        return report(st, "begin");
    }
    sqlite3_reset(s);
    st->in_txn = true;
    return 0;
}

/* Every write goes through here so it lands in the turn's transaction. */
static int ensure_txn(struct store *st)
{
    if (open_txn(st) < 0)
        return -1;
    st->dirty = true;
    if (st->lazy_depth == 0)
        st->urgent = true;
    else if (st->lazy_since_ms == 0)
        st->lazy_since_ms = clock_mono_ms();
    return 0;
}

/* Steps a write statement that returns no rows. */
static int step_write(struct store *st, sqlite3_stmt *s, const char *what)
{
    st->writes++;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return report(st, what);
    return 0;
}

void store_lazy_begin(struct store *st) { st->lazy_depth++; }

void store_lazy_end(struct store *st) { st->lazy_depth--; }

long store_commit_due_ms(const struct store *st)
{
    if (!st->dirty)
        return -1;
    if (st->urgent)
        return 0;
    int64_t left = st->lazy_since_ms + STORE_LAZY_MS - clock_mono_ms();
    return left > 0 ? (long)left : 0;
}

int store_flush(struct store *st)
{
    st->urgent = false;
    st->lazy_since_ms = 0;
    if (!st->in_txn)
        return 0;
    sqlite3_stmt *s = stmt(st, S_COMMIT);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        report(st, "commit");
        sqlite3_step(stmt(st, S_ROLLBACK));
        sqlite3_reset(st->stmt[S_ROLLBACK]);
        st->in_txn = st->dirty = false;
        return -1;
    }
    st->in_txn = st->dirty = false;
    return 0;
}

uint64_t store_write_count(const struct store *st) { return st->writes; }

bool store_in_txn(const struct store *st) { return st->dirty; }

int store_schema_latest(void) { return NMIGRATIONS; }

int store_schema_version(struct store *st)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    return v;
}

static int migrate(struct store *st, int target, char **err)
{
    int current = store_schema_version(st);
    if (current < 0) {
        *err = xasprintf("cannot read schema version: %s",
                         sqlite3_errmsg(st->db));
        return -1;
    }
    if (current > NMIGRATIONS) {
        *err = xasprintf("the database has schema version %d, newer than "
                         "this isthmus knows (%d); upgrade isthmus",
                         current, NMIGRATIONS);
        return -1;
    }
    for (int v = current; v < target; v++) {
        /* Each step is atomic: a crash mid-migration leaves version v. */
        char *sql = xasprintf("BEGIN; %s PRAGMA user_version = %d; COMMIT;",
                              migrations[v], v + 1);
        char *msg = NULL;
        int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
        free(sql);
        if (rc != SQLITE_OK) {
            *err = xasprintf("migration to schema version %d failed: %s",
                             v + 1, msg ? msg : "unknown error");
            sqlite3_free(msg);
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        if (v + 1 > current)
            log_info("store: migrated to schema version %d", v + 1);
    }
    return 0;
}

int store_open_at_version(const char *path, int version, struct store **out,
                          char **err)
{
    if (wal_vfs_register() < 0) {
        *err = xstrdup("SQLite has no default VFS");
        return -1;
    }
    struct store *st = xcalloc(1, sizeof *st);
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        WAL_VFS_NAME) != SQLITE_OK) {
        *err = xasprintf("cannot open %s: %s", path,
                         st->db ? sqlite3_errmsg(st->db) : "out of memory");
        sqlite3_close(st->db);
        free(st);
        return -1;
    }
    /* WAL lets readers (an operator's sqlite3 shell, backups) run beside
     * the gateway; synchronous=NORMAL is durable across process crashes in
     * WAL mode, which is what the delivery guarantees need. */
    char *msg = NULL;
    if (sqlite3_exec(st->db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                     "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        *err = xasprintf("cannot set up %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(st->db);
        free(st);
        return -1;
    }
    if (migrate(st, version, err) < 0) {
        sqlite3_close(st->db);
        free(st);
        return -1;
    }
    st->checkpointer = checkpointer_start(path, err);
    if (!st->checkpointer) {
        sqlite3_close(st->db);
        free(st);
        return -1;
    }
    sqlite3_wal_autocheckpoint(st->db, 0);
    sqlite3_wal_hook(st->db, on_wal_commit, st);
    if (version == NMIGRATIONS) {
        for (int i = 0; i < S_COUNT; i++) {
            if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
                                   SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                                   NULL) != SQLITE_OK) {
                *err = xasprintf("cannot prepare statement %d: %s", i,
                                 sqlite3_errmsg(st->db));
                store_close(st);
                return -1;
            }
        }
    }
    *out = st;
    return 0;
}

int store_open(const char *path, struct store **out, char **err)
{
    return store_open_at_version(path, NMIGRATIONS, out, err);
}

void store_close(struct store *st)
{
    if (!st)
        return;
    if (st->stmt[S_COMMIT])
        store_flush(st);
    checkpointer_stop(st->checkpointer);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    free(st);
}

/* ------------------------------------------------------------- txns -- */

int store_txn_seen(struct store *st, const char *txn_id, const char *digest)
{
    sqlite3_stmt *s = stmt(st, S_TXN_SEEN);
    bind_text(s, 1, txn_id);
    bind_text(s, 2, digest);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return report(st, "txn lookup");
}

int store_txn_mark(struct store *st, const char *txn_id, const char *digest,
                   int64_t now_ms)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_TXN_MARK);
    bind_text(s, 1, txn_id);
    sqlite3_bind_int64(s, 2, now_ms);
    bind_text(s, 3, digest);
    return step_write(st, s, "txn mark");
}

int store_txn_highest(struct store *st, int64_t *out)
{
    sqlite3_stmt *s = stmt(st, S_TXN_HIGHEST);
    int rc = sqlite3_step(s);
    int found = 0;
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *out = sqlite3_column_int64(s, 0);
        found = 1;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return report(st, "highest txn");
    return found;
}

int store_txn_prune(struct store *st, int64_t older_than_ms)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_TXN_PRUNE);
    sqlite3_bind_int64(s, 1, older_than_ms);
    return step_write(st, s, "txn prune");
}

/* ----------------------------------------------------------- ghosts -- */

int store_ghost_get(struct store *st, const char *mxid, struct store_ghost *out)
{
    sqlite3_stmt *s = stmt(st, S_GHOST_GET);
    bind_text(s, 1, mxid);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->mxid = dup_col(s, 0);
        out->jid = dup_col(s, 1);
        out->displayname = dup_col(s, 2);
        out->registered = sqlite3_column_int(s, 3);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "ghost lookup");
}

int store_ghost_put(struct store *st, const struct store_ghost *g)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_GHOST_PUT);
    bind_text(s, 1, g->mxid);
    bind_text(s, 2, g->jid);
    bind_text(s, 3, g->displayname);
    sqlite3_bind_int(s, 4, g->registered);
    return step_write(st, s, "ghost put");
}

void store_ghost_free(struct store_ghost *g)
{
    free(g->mxid);
    free(g->jid);
    free(g->displayname);
    memset(g, 0, sizeof *g);
}

/* ------------------------------------------------------------ rooms -- */

static int read_room(struct store *st, sqlite3_stmt *s, struct store_room *out,
                     const char *what)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->room_id = dup_col(s, 0);
        out->mode = sqlite3_column_int(s, 1);
        out->xmpp_jid = dup_col(s, 2);
        out->matrix_user = dup_col(s, 3);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, what);
}

int store_room_get(struct store *st, const char *room_id,
                   struct store_room *out)
{
    sqlite3_stmt *s = stmt(st, S_ROOM_GET);
    bind_text(s, 1, room_id);
    return read_room(st, s, out, "room lookup");
}

int store_room_find_dm(struct store *st, const char *xmpp_jid,
                       const char *matrix_user, struct store_room *out)
{
    sqlite3_stmt *s = stmt(st, S_ROOM_FIND_DM);
    bind_text(s, 1, xmpp_jid);
    bind_text(s, 2, matrix_user);
    return read_room(st, s, out, "DM lookup");
}

int store_room_put(struct store *st, const struct store_room *r,
                   int64_t now_ms)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_ROOM_PUT);
    bind_text(s, 1, r->room_id);
    sqlite3_bind_int(s, 2, r->mode);
    bind_text(s, 3, r->xmpp_jid);
    bind_text(s, 4, r->matrix_user);
    sqlite3_bind_int64(s, 5, now_ms);
    return step_write(st, s, "room put");
}

int store_room_delete(struct store *st, const char *room_id)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_ROOM_DELETE);
    bind_text(s, 1, room_id);
    return step_write(st, s, "room delete");
}

void store_room_free(struct store_room *r)
{
    free(r->room_id);
    free(r->xmpp_jid);
    free(r->matrix_user);
    memset(r, 0, sizeof *r);
}

/* --------------------------------------------------------- messages -- */

int store_message_put(struct store *st, const struct store_message *m)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_MSG_PUT);
    bind_text(s, 1, m->event_id);
    bind_text(s, 2, m->room_id);
    bind_text(s, 3, m->xmpp_jid);
    bind_text(s, 4, m->stanza_id);
    /* Most rows carry the same id twice (a bridged event's stanza is sent
     * with id = origin-id = event id): storing it once spares an entry in
     * the origin index, a random page written per message. */
    bool same = m->origin_id && m->stanza_id &&
                strcmp(m->origin_id, m->stanza_id) == 0;
    bind_text(s, 5, same ? NULL : m->origin_id);
    sqlite3_bind_int(s, 6, m->direction);
    sqlite3_bind_int64(s, 7, m->ts);
    bind_text(s, 8, m->replaces);
    bind_text(s, 9, m->sender);
    return step_write(st, s, "message put");
}

int store_message_set_stanza_id(struct store *st, const char *event_id,
                                const char *stanza_id)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_MSG_SET_STANZA);
    bind_text(s, 1, event_id);
    bind_text(s, 2, stanza_id);
    return step_write(st, s, "message stanza id");
}

/* A messages row selected as event_id, room_id, xmpp_jid, stanza_id,
 * origin_id, direction, ts, replaces, sender (columns 0-8). */
static void fill_message(sqlite3_stmt *s, struct store_message *out)
{
    out->event_id = dup_col(s, 0);
    out->room_id = dup_col(s, 1);
    out->xmpp_jid = dup_col(s, 2);
    out->stanza_id = dup_col(s, 3);
    /* No origin id of its own: the stanza id is the one the sender chose
     * (see store_message_put). */
    out->origin_id = dup_col(s, sqlite3_column_type(s, 4) == SQLITE_NULL ? 3 : 4);
    out->direction = sqlite3_column_int(s, 5);
    out->ts = sqlite3_column_int64(s, 6);
    out->replaces = dup_col(s, 7);
    out->sender = dup_col(s, 8);
}

static int read_message(struct store *st, sqlite3_stmt *s,
                        struct store_message *out)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        fill_message(s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "message lookup");
}

int store_message_by_event(struct store *st, const char *event_id,
                           struct store_message *out)
{
    sqlite3_stmt *s = stmt(st, S_MSG_BY_EVENT);
    bind_text(s, 1, event_id);
    return read_message(st, s, out);
}

int store_message_by_stanza(struct store *st, const char *xmpp_jid,
                            const char *id, struct store_message *out)
{
    sqlite3_stmt *s = stmt(st, S_MSG_BY_STANZA);
    bind_text(s, 1, xmpp_jid);
    bind_text(s, 2, id);
    return read_message(st, s, out);
}

int store_message_order(struct store *st, const char *event_id,
                        struct store_order *out)
{
    sqlite3_stmt *s = stmt(st, S_MSG_ORDER);
    bind_text(s, 1, event_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->ts = sqlite3_column_int64(s, 0);
        out->seq = sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "message order");
}

int store_message_last_from_xmpp(struct store *st, const char *room_id,
                                 const struct store_order *at,
                                 struct store_message *out,
                                 struct store_order *order)
{
    sqlite3_stmt *s = stmt(st, S_MSG_LAST_FROM_XMPP);
    bind_text(s, 1, room_id);
    sqlite3_bind_int64(s, 2, at->ts);
    sqlite3_bind_int64(s, 3, at->seq);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? 0 : report(st, "last message from XMPP");
    }
    fill_message(s, out);
    order->ts = out->ts;
    order->seq = sqlite3_column_int64(s, 9);
    sqlite3_reset(s);
    return 1;
}

void store_message_free(struct store_message *m)
{
    free(m->event_id);
    free(m->room_id);
    free(m->xmpp_jid);
    free(m->stanza_id);
    free(m->origin_id);
    free(m->replaces);
    free(m->sender);
    memset(m, 0, sizeof *m);
}

/* --------------------------------------------------- read positions -- */

int store_read_advance(struct store *st, const char *room_id,
                       const char *person, const char *event_id,
                       const struct store_order *at, int64_t now_ms)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_READ_ADVANCE);
    bind_text(s, 1, room_id);
    bind_text(s, 2, person);
    bind_text(s, 3, event_id);
    sqlite3_bind_int64(s, 4, at->ts);
    sqlite3_bind_int64(s, 5, at->seq);
    sqlite3_bind_int64(s, 6, now_ms);
    if (step_write(st, s, "read position") < 0)
        return -1;
    return sqlite3_changes(st->db) > 0 ? 1 : 0;
}

int store_read_get(struct store *st, const char *room_id, const char *person,
                   char **event_id, struct store_order *at)
{
    sqlite3_stmt *s = stmt(st, S_READ_GET);
    bind_text(s, 1, room_id);
    bind_text(s, 2, person);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *event_id = dup_col(s, 0);
        at->ts = sqlite3_column_int64(s, 1);
        at->seq = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "read position lookup");
}

/* ----------------------------------------------------------- outbox -- */

int64_t store_outbox_add(struct store *st, const char *queue, int kind,
                         const char *payload, int64_t now_ms)
{
    if (ensure_txn(st) < 0)
        return -1;
    /* New work never waits: a stanza is sent only once its row is
     * committed, and an XMPP message is lost if the gateway dies before. */
    st->urgent = true;
    sqlite3_stmt *s = stmt(st, S_OUTBOX_ADD);
    bind_text(s, 1, queue);
    sqlite3_bind_int(s, 2, kind);
    bind_text(s, 3, payload);
    sqlite3_bind_int64(s, 4, now_ms);
    if (step_write(st, s, "outbox add") < 0)
        return -1;
    return sqlite3_last_insert_rowid(st->db);
}

static void read_item(sqlite3_stmt *s, struct store_outbox_item *out)
{
    out->id = sqlite3_column_int64(s, 0);
    out->queue = dup_col(s, 1);
    out->kind = sqlite3_column_int(s, 2);
    out->payload = dup_col(s, 3);
    out->created_ts = sqlite3_column_int64(s, 4);
    out->attempts = sqlite3_column_int(s, 5);
}

int store_outbox_head(struct store *st, const char *queue,
                      struct store_outbox_item *out)
{
    sqlite3_stmt *s = stmt(st, S_OUTBOX_HEAD);
    bind_text(s, 1, queue);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_item(s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "outbox head");
}

int store_outbox_scan(struct store *st, int kind, int64_t after_id, int limit,
                      void (*fn)(const struct store_outbox_item *, void *),
                      void *ud)
{
    /* Collect first: fn may write to the store, which would disturb a
     * statement that is still stepping. */
    sqlite3_stmt *s = stmt(st, S_OUTBOX_SCAN);
    sqlite3_bind_int(s, 1, kind);
    sqlite3_bind_int64(s, 2, after_id);
    sqlite3_bind_int(s, 3, limit);
    struct store_outbox_item *items = NULL;
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        items = xrealloc(items, (size_t)(n + 1) * sizeof *items);
        read_item(s, &items[n++]);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        for (int i = 0; i < n; i++)
            store_outbox_item_free(&items[i]);
        free(items);
        return report(st, "outbox scan");
    }
    for (int i = 0; i < n; i++) {
        fn(&items[i], ud);
        store_outbox_item_free(&items[i]);
    }
    free(items);
    return n;
}

int store_outbox_delete(struct store *st, int64_t id)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_OUTBOX_DELETE);
    sqlite3_bind_int64(s, 1, id);
    return step_write(st, s, "outbox delete");
}

int store_outbox_delete_range(struct store *st, int kind, int64_t first_id,
                              int64_t last_id)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_OUTBOX_DELETE_RANGE);
    sqlite3_bind_int(s, 1, kind);
    sqlite3_bind_int64(s, 2, first_id);
    sqlite3_bind_int64(s, 3, last_id);
    return step_write(st, s, "outbox delete range");
}

int store_outbox_count(struct store *st)
{
    sqlite3_stmt *s = stmt(st, S_OUTBOX_COUNT);
    int n = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return n;
}

/* ---------------------------------------------------------- inbound -- */

int store_inbound_get(struct store *st, const char *xmpp_jid,
                      const char *stanza_id, char **event_id)
{
    if (event_id)
        *event_id = NULL;
    sqlite3_stmt *s = stmt(st, S_INBOUND_GET);
    bind_text(s, 1, xmpp_jid);
    bind_text(s, 2, stanza_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && event_id)
        *event_id = dup_col(s, 0);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "inbound lookup");
}

int store_inbound_add(struct store *st, const char *xmpp_jid,
                      const char *stanza_id, int64_t now_ms)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_INBOUND_ADD);
    bind_text(s, 1, xmpp_jid);
    bind_text(s, 2, stanza_id);
    sqlite3_bind_int64(s, 3, now_ms);
    return step_write(st, s, "inbound add");
}

int store_inbound_delivered(struct store *st, const char *xmpp_jid,
                            const char *stanza_id, const char *event_id)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_INBOUND_DONE);
    bind_text(s, 1, xmpp_jid);
    bind_text(s, 2, stanza_id);
    bind_text(s, 3, event_id);
    return step_write(st, s, "inbound delivered");
}

int store_inbound_prune(struct store *st, int64_t older_than_ms)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_INBOUND_PRUNE);
    sqlite3_bind_int64(s, 1, older_than_ms);
    return step_write(st, s, "inbound prune");
}

/* -------------------------------------------------------- occupants -- */

int store_occupant_put(struct store *st, const struct store_occupant *o)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_OCC_PUT);
    bind_text(s, 1, o->occupant_jid);
    bind_text(s, 2, o->muc_jid);
    bind_text(s, 3, o->room_id);
    bind_text(s, 4, o->nick);
    bind_text(s, 5, o->ghost);
    return step_write(st, s, "occupant put");
}

static void read_occupant(sqlite3_stmt *s, struct store_occupant *o)
{
    o->occupant_jid = dup_col(s, 0);
    o->muc_jid = dup_col(s, 1);
    o->room_id = dup_col(s, 2);
    o->nick = dup_col(s, 3);
    o->ghost = dup_col(s, 4);
}

int store_occupant_get(struct store *st, const char *occupant_jid,
                       const char *muc_jid, struct store_occupant *out)
{
    sqlite3_stmt *s = stmt(st, S_OCC_GET);
    bind_text(s, 1, occupant_jid);
    bind_text(s, 2, muc_jid);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_occupant(s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "occupant lookup");
}

int store_occupant_delete(struct store *st, const char *occupant_jid,
                          const char *muc_jid)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_OCC_DELETE);
    bind_text(s, 1, occupant_jid);
    bind_text(s, 2, muc_jid);
    return step_write(st, s, "occupant delete");
}

int store_occupants_in_room(struct store *st, const char *room_id,
                            struct store_occupant **out)
{
    sqlite3_stmt *s = stmt(st, S_OCC_LIST);
    bind_text(s, 1, room_id);
    int n = 0, rc;
    *out = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        read_occupant(s, &(*out)[n++]);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? n : report(st, "occupant list");
}

int store_occupants_of_ghost(struct store *st, const char *room_id,
                             const char *ghost)
{
    sqlite3_stmt *s = stmt(st, S_OCC_COUNT_GHOST);
    bind_text(s, 1, room_id);
    bind_text(s, 2, ghost);
    int n = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return n;
}

void store_occupant_free(struct store_occupant *o)
{
    free(o->occupant_jid);
    free(o->muc_jid);
    free(o->room_id);
    free(o->nick);
    free(o->ghost);
    memset(o, 0, sizeof *o);
}

void store_occupants_free(struct store_occupant *list, int n)
{
    for (int i = 0; i < n; i++)
        store_occupant_free(&list[i]);
    free(list);
}

/* ---------------------------------------------------------- members -- */

int store_member_put(struct store *st, const char *room_id, const char *mxid,
                     const char *nick, long level)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_MEMBER_PUT);
    bind_text(s, 1, room_id);
    bind_text(s, 2, mxid);
    bind_text(s, 3, nick);
    sqlite3_bind_int64(s, 4, level);
    return step_write(st, s, "member put");
}

int store_member_delete(struct store *st, const char *room_id,
                        const char *mxid)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_MEMBER_DELETE);
    bind_text(s, 1, room_id);
    bind_text(s, 2, mxid);
    return step_write(st, s, "member delete");
}

int store_members_clear(struct store *st, const char *room_id)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_MEMBER_CLEAR);
    bind_text(s, 1, room_id);
    return step_write(st, s, "members clear");
}

int store_members_in_room(struct store *st, const char *room_id,
                          struct store_member **out)
{
    sqlite3_stmt *s = stmt(st, S_MEMBER_LIST);
    bind_text(s, 1, room_id);
    int n = 0, rc;
    *out = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        (*out)[n].mxid = dup_col(s, 0);
        (*out)[n].nick = dup_col(s, 1);
        (*out)[n].level = sqlite3_column_int64(s, 2);
        n++;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? n : report(st, "member list");
}

int store_member_get(struct store *st, const char *room_id, const char *mxid,
                     struct store_member *out)
{
    sqlite3_stmt *s = stmt(st, S_MEMBER_GET);
    bind_text(s, 1, room_id);
    bind_text(s, 2, mxid);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->mxid = dup_col(s, 0);
        out->nick = dup_col(s, 1);
        out->level = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "member lookup");
}

void store_members_free(struct store_member *list, int n)
{
    for (int i = 0; i < n; i++) {
        free(list[i].mxid);
        free(list[i].nick);
    }
    free(list);
}

void store_outbox_item_free(struct store_outbox_item *it)
{
    free(it->queue);
    free(it->payload);
    memset(it, 0, sizeof *it);
}

/* ------------------------------------------------------------ portals -- */

int store_room_find_portal(struct store *st, const char *muc_jid,
                           struct store_room *out)
{
    sqlite3_stmt *s = stmt(st, S_ROOM_FIND_PORTAL);
    bind_text(s, 1, muc_jid);
    return read_room(st, s, out, "portal lookup");
}

int store_room_subject_get(struct store *st, const char *room_id,
                           char **subject)
{
    sqlite3_stmt *s = stmt(st, S_ROOM_SUBJECT_GET);
    bind_text(s, 1, room_id);
    int rc = sqlite3_step(s);
    *subject = rc == SQLITE_ROW ? dup_col(s, 0) : NULL;
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "subject lookup");
}

int store_room_subject_set(struct store *st, const char *room_id,
                           const char *subject)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_ROOM_SUBJECT_SET);
    bind_text(s, 1, room_id);
    bind_text(s, 2, subject);
    return step_write(st, s, "subject update");
}

int store_room_last_ts(struct store *st, const char *room_id, int64_t *ts)
{
    sqlite3_stmt *s = stmt(st, S_ROOM_LAST_TS);
    bind_text(s, 1, room_id);
    int rc = sqlite3_step(s), found = 0;
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *ts = sqlite3_column_int64(s, 0);
        found = 1;
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? found
                                                 : report(st, "last message");
}

int store_portal_user_put(struct store *st, const struct store_portal_user *u)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_PU_PUT);
    bind_text(s, 1, u->room_id);
    bind_text(s, 2, u->mxid);
    bind_text(s, 3, u->muc_jid);
    bind_text(s, 4, u->nick);
    sqlite3_bind_int(s, 5, u->attempt);
    sqlite3_bind_int(s, 6, u->joined);
    bind_text(s, 7, u->base_nick);
    return step_write(st, s, "portal user put");
}

static void read_portal_user(sqlite3_stmt *s, struct store_portal_user *u)
{
    u->room_id = dup_col(s, 0);
    u->mxid = dup_col(s, 1);
    u->muc_jid = dup_col(s, 2);
    u->nick = dup_col(s, 3);
    u->attempt = sqlite3_column_int(s, 4);
    u->joined = sqlite3_column_int(s, 5);
    u->base_nick = dup_col(s, 6);
}

static int read_one_portal_user(struct store *st, sqlite3_stmt *s,
                                struct store_portal_user *out)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_portal_user(s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "portal user lookup");
}

int store_portal_user_get(struct store *st, const char *muc_jid,
                          const char *mxid, struct store_portal_user *out)
{
    sqlite3_stmt *s = stmt(st, S_PU_GET);
    bind_text(s, 1, muc_jid);
    bind_text(s, 2, mxid);
    return read_one_portal_user(st, s, out);
}

int store_portal_user_by_nick(struct store *st, const char *muc_jid,
                              const char *nick, struct store_portal_user *out)
{
    sqlite3_stmt *s = stmt(st, S_PU_BY_NICK);
    bind_text(s, 1, muc_jid);
    bind_text(s, 2, nick);
    return read_one_portal_user(st, s, out);
}

int store_portal_user_delete(struct store *st, const char *room_id,
                             const char *mxid)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_PU_DELETE);
    bind_text(s, 1, room_id);
    bind_text(s, 2, mxid);
    return step_write(st, s, "portal user delete");
}

int store_portal_users_all(struct store *st, struct store_portal_user **out)
{
    sqlite3_stmt *s = stmt(st, S_PU_ALL);
    int n = 0, rc;
    *out = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        read_portal_user(s, &(*out)[n++]);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? n : report(st, "portal user list");
}

void store_portal_user_free(struct store_portal_user *u)
{
    free(u->room_id);
    free(u->mxid);
    free(u->muc_jid);
    free(u->nick);
    free(u->base_nick);
    memset(u, 0, sizeof *u);
}

void store_portal_users_free(struct store_portal_user *list, int n)
{
    for (int i = 0; i < n; i++)
        store_portal_user_free(&list[i]);
    free(list);
}

/* ---------------------------------------------------------- reactions -- */

int store_reaction_put(struct store *st, const struct store_reaction *r)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_REACT_PUT);
    bind_text(s, 1, r->target_event_id);
    bind_text(s, 2, r->sender);
    bind_text(s, 3, r->key);
    bind_text(s, 4, r->event_id);
    bind_text(s, 5, r->room_id);
    return step_write(st, s, "reaction put");
}

int store_reactions_of(struct store *st, const char *target_event_id,
                       const char *sender, struct store_reaction **out)
{
    sqlite3_stmt *s = stmt(st, S_REACT_LIST);
    bind_text(s, 1, target_event_id);
    bind_text(s, 2, sender);
    int n = 0, rc;
    *out = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        struct store_reaction *r = &(*out)[n++];
        memset(r, 0, sizeof *r);
        r->key = dup_col(s, 0);
        r->event_id = dup_col(s, 1);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        store_reactions_free(*out, n);
        *out = NULL;
        return report(st, "reaction list");
    }
    return n;
}

int store_reaction_by_event(struct store *st, const char *event_id,
                            struct store_reaction *out)
{
    sqlite3_stmt *s = stmt(st, S_REACT_BY_EVENT);
    bind_text(s, 1, event_id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->target_event_id = dup_col(s, 0);
        out->sender = dup_col(s, 1);
        out->key = dup_col(s, 2);
        out->event_id = dup_col(s, 3);
        out->room_id = dup_col(s, 4);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "reaction lookup");
}

int store_reaction_delete(struct store *st, const char *event_id)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_REACT_DELETE);
    bind_text(s, 1, event_id);
    return step_write(st, s, "reaction delete");
}

void store_reaction_free(struct store_reaction *r)
{
    free(r->target_event_id);
    free(r->sender);
    free(r->key);
    free(r->event_id);
    free(r->room_id);
    memset(r, 0, sizeof *r);
}

void store_reactions_free(struct store_reaction *list, int n)
{
    for (int i = 0; i < n; i++)
        store_reaction_free(&list[i]);
    free(list);
}

/* ------------------------------------------------------------ presence -- */

int store_presence_put(struct store *st, const char *person,
                       const char *source, int state, const char *status,
                       int64_t now_ms)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_PRES_PUT);
    bind_text(s, 1, person);
    bind_text(s, 2, source);
    sqlite3_bind_int(s, 3, state);
    bind_text(s, 4, status);
    sqlite3_bind_int64(s, 5, now_ms);
    return step_write(st, s, "presence put");
}

int store_presence_get(struct store *st, const char *person,
                       struct store_presence **out)
{
    sqlite3_stmt *s = stmt(st, S_PRES_GET);
    bind_text(s, 1, person);
    int n = 0, rc;
    *out = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        struct store_presence *p = &(*out)[n++];
        p->source = dup_col(s, 0);
        p->state = sqlite3_column_int(s, 1);
        p->status = dup_col(s, 2);
        p->ts = sqlite3_column_int64(s, 3);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        store_presence_free(*out, n);
        *out = NULL;
        return report(st, "presence get");
    }
    return n;
}

void store_presence_free(struct store_presence *list, int n)
{
    for (int i = 0; i < n; i++) {
        free(list[i].source);
        free(list[i].status);
    }
    free(list);
}

int store_presence_sub_put(struct store *st, const char *mxid,
                           const char *jid)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_PRES_SUB_PUT);
    bind_text(s, 1, mxid);
    bind_text(s, 2, jid);
    return step_write(st, s, "presence subscription put");
}

int store_presence_sub_delete(struct store *st, const char *mxid,
                              const char *jid)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_PRES_SUB_DELETE);
    bind_text(s, 1, mxid);
    bind_text(s, 2, jid);
    return step_write(st, s, "presence subscription delete");
}

int store_presence_watchers(struct store *st, const char *mxid, char ***out)
{
    sqlite3_stmt *s = stmt(st, S_PRES_WATCHERS);
    bind_text(s, 1, mxid);
    int n = 0, rc;
    *out = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char *jid = dup_col(s, 0);
        if (!jid)
            continue;
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        (*out)[n++] = jid;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        store_strings_free(*out, n);
        *out = NULL;
        return report(st, "presence watchers");
    }
    return n;
}

int store_presence_xmpp_present(struct store *st, char ***out)
{
    sqlite3_stmt *s = stmt(st, S_PRES_PRESENT);
    int n = 0, rc;
    *out = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char *person = dup_col(s, 0);
        if (!person)
            continue;
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        (*out)[n++] = person;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        store_strings_free(*out, n);
        *out = NULL;
        return report(st, "present XMPP users");
    }
    return n;
}

void store_strings_free(char **list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static int read_presence_rooms(struct store *st, sqlite3_stmt *s,
                               struct store_presence_room **out);

int store_presence_rooms(struct store *st, const char *mxid,
                         struct store_presence_room **out)
{
    sqlite3_stmt *s = stmt(st, S_PRES_ROOMS);
    bind_text(s, 1, mxid);
    return read_presence_rooms(st, s, out);
}

int store_ghost_rooms(struct store *st, const char *ghost,
                      struct store_presence_room **out)
{
    sqlite3_stmt *s = stmt(st, S_GHOST_ROOMS);
    bind_text(s, 1, ghost);
    return read_presence_rooms(st, s, out);
}

static int read_presence_rooms(struct store *st, sqlite3_stmt *s,
                               struct store_presence_room **out)
{
    int n = 0, rc;
    *out = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        struct store_presence_room *r = &(*out)[n++];
        r->room_id = dup_col(s, 0);
        r->muc_jid = dup_col(s, 1);
        r->nick = dup_col(s, 2);
        r->mode = sqlite3_column_int(s, 3);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        store_presence_rooms_free(*out, n);
        *out = NULL;
        return report(st, "presence rooms");
    }
    return n;
}

void store_presence_rooms_free(struct store_presence_room *list, int n)
{
    for (int i = 0; i < n; i++) {
        free(list[i].room_id);
        free(list[i].muc_jid);
        free(list[i].nick);
    }
    free(list);
}

/* ------------------------------------------------------------- avatars -- */

int store_avatar_get(struct store *st, const char *mxc,
                     struct store_avatar *out)
{
    sqlite3_stmt *s = stmt(st, S_AVATAR_GET);
    bind_text(s, 1, mxc);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->mxc = dup_col(s, 0);
        out->sha1 = dup_col(s, 1);
        out->type = dup_col(s, 2);
        out->len = (size_t)sqlite3_column_bytes(s, 3);
        out->data = xmalloc(out->len ? out->len : 1);
        if (out->len)
            memcpy(out->data, sqlite3_column_blob(s, 3), out->len);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "avatar get");
}

int store_avatar_put(struct store *st, const struct store_avatar *a)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_AVATAR_PUT);
    bind_text(s, 1, a->mxc);
    bind_text(s, 2, a->sha1);
    bind_text(s, 3, a->type);
    sqlite3_bind_blob(s, 4, a->data, (int)a->len, SQLITE_TRANSIENT);
    return step_write(st, s, "avatar put");
}

void store_avatar_free(struct store_avatar *a)
{
    free(a->mxc);
    free(a->sha1);
    free(a->type);
    free(a->data);
    memset(a, 0, sizeof *a);
}

int store_avatar_of_get(struct store *st, const char *who, char **mxc,
                        char **sha1)
{
    sqlite3_stmt *s = stmt(st, S_AVATAR_OF_GET);
    bind_text(s, 1, who);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *mxc = dup_col(s, 0);
        *sha1 = dup_col(s, 1);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "avatar_of get");
}

int store_avatar_of_put(struct store *st, const char *who, const char *mxc,
                        const char *sha1)
{
    if (ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = stmt(st, S_AVATAR_OF_PUT);
    bind_text(s, 1, who);
    bind_text(s, 2, mxc);
    bind_text(s, 3, sha1);
    return step_write(st, s, "avatar_of put");
}

int store_member_by_nick(struct store *st, const char *room_id,
                         const char *nick, char **mxid)
{
    sqlite3_stmt *s = stmt(st, S_MEMBER_BY_NICK);
    bind_text(s, 1, room_id);
    bind_text(s, 2, nick);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *mxid = dup_col(s, 0);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : report(st, "member by nick");
}
