/* The SQL of every statement of the catalogue (store/statements.h), in
 * SQLite's dialect, prepared once when the store opens. Only bound
 * parameters: no value is ever written into the SQL text. What is
 * SQLite's own here: INSERT OR IGNORE / OR REPLACE, GLOB, rowid as a
 * message's place (S_MSG_ORDER, S_MSG_LAST_FROM_XMPP: the seq column) and
 * sqlite_sequence (S_OUTBOX_NEXT_ID). */
#include "store/sqlite/sqlite_db.h"

/* A messages row as messages.c's fill_message reads it. */
#define MSG_COLS "event_id, room_id, xmpp_jid, stanza_id, origin_id, " \
                 "direction, ts, replaces, sender"

const char *const sqldb_stmt_sql[S_COUNT] = {
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
     * planner uses them. ?3, when not NULL, keeps the search to one
     * room: the same id may name messages to different people. */
    [S_MSG_BY_STANZA] = "SELECT " MSG_COLS " FROM messages WHERE "
                        "event_id = ?2 AND xmpp_jid = ?1 AND "
                        "(origin_id = ?2 OR stanza_id = ?2) AND "
                        "(?3 IS NULL OR room_id = ?3) "
                        "UNION ALL SELECT " MSG_COLS " FROM messages WHERE "
                        "xmpp_jid = ?1 AND stanza_id = ?2 AND "
                        "stanza_id <> event_id AND "
                        "(?3 IS NULL OR room_id = ?3) "
                        "UNION ALL SELECT " MSG_COLS " FROM messages WHERE "
                        "xmpp_jid = ?1 AND origin_id = ?2 AND "
                        "origin_id IS NOT NULL AND "
                        "(?3 IS NULL OR room_id = ?3) "
                        "ORDER BY ts DESC LIMIT 1",
    /* Ids are handed out by the store (outbox.c), never reused. */
    [S_OUTBOX_ADD] = "INSERT INTO outbox(id, queue, kind, payload, "
                     "created_ts) VALUES (?1, ?2, ?3, ?4, ?5)",
    /* What AUTOINCREMENT would give next: past every id ever used, even
     * of rows since deleted. */
    [S_OUTBOX_NEXT_ID] = "SELECT MAX(IFNULL((SELECT seq FROM sqlite_sequence "
                         "WHERE name = 'outbox'), 0), IFNULL((SELECT "
                         "MAX(id) FROM outbox), 0)) + 1",
    [S_OUTBOX_HEAD] = "SELECT id, queue, kind, payload, created_ts, attempts "
                      "FROM outbox WHERE queue = ?1 ORDER BY id LIMIT 1",
    [S_OUTBOX_SCAN] = "SELECT id, queue, kind, payload, created_ts, attempts "
                      "FROM outbox WHERE kind = ?1 AND id > ?2 ORDER BY id "
                      "LIMIT ?3",
    [S_OUTBOX_DELETE] = "DELETE FROM outbox WHERE id = ?1",
    [S_OUTBOX_COUNT] = "SELECT COUNT(*) FROM outbox",
    [S_OUTBOX_DELETE_RANGE] = "DELETE FROM outbox WHERE kind = ?1 AND "
                              "id BETWEEN ?2 AND ?3",
    /* Rows from before schema 12 have the peer '' (who it went to was not
     * kept): they still match any peer, until they are pruned (a week), so
     * an upgrade never bridges a resend twice. */
    [S_INBOUND_GET] = "SELECT event_id FROM inbound WHERE xmpp_jid = ?1 AND "
                      "peer IN (?2, '') AND stanza_id = ?3 "
                      "ORDER BY peer DESC LIMIT 1",
    [S_INBOUND_ADD] = "INSERT OR IGNORE INTO inbound(xmpp_jid, peer, "
                      "stanza_id, received_ts) VALUES (?1, ?2, ?3, ?4)",
    [S_INBOUND_DONE] = "UPDATE inbound SET event_id = ?4 WHERE xmpp_jid = ?1 "
                       "AND peer IN (?2, '') AND stanza_id = ?3",
    [S_INBOUND_PRUNE] = "DELETE FROM inbound WHERE received_ts < ?1",
    [S_INBOUND_SENDERS] = "SELECT DISTINCT xmpp_jid FROM inbound WHERE "
                          "received_ts >= ?1 ORDER BY xmpp_jid",
    [S_SETTING_GET] = "SELECT value FROM settings WHERE name = ?1",
    [S_SETTING_PUT] = "INSERT INTO settings(name, value) VALUES (?1, ?2) "
                      "ON CONFLICT DO UPDATE SET value = excluded.value",
    /* End-to-bridge encryption (store/crypto.c); pickles arrive sealed. */
    [S_XDEV_GET] = "SELECT mxid, device_id, account, cross_signing, ready "
                   "FROM crypto_devices WHERE mxid = ?1",
    [S_XDEV_PUT] = "INSERT INTO crypto_devices(mxid, device_id, account, "
                   "cross_signing, ready) VALUES (?1, ?2, ?3, ?4, ?5) "
                   "ON CONFLICT DO UPDATE SET device_id = excluded.device_id, "
                   "account = excluded.account, cross_signing = "
                   "excluded.cross_signing, ready = excluded.ready",
    /* Bounded: a device that opened many sessions is tried on its latest
     * few, as other clients do. */
    [S_OLM_LIST] = "SELECT pickle FROM olm_sessions WHERE mxid = ?1 AND "
                   "sender_key = ?2 ORDER BY last_used DESC LIMIT 10",
    [S_OLM_PUT] = "INSERT INTO olm_sessions(mxid, sender_key, session_id, "
                  "pickle, last_used) VALUES (?1, ?2, ?3, ?4, ?5) "
                  "ON CONFLICT DO UPDATE SET pickle = excluded.pickle, "
                  "last_used = excluded.last_used",
    [S_MEGOLM_IN_GET] = "SELECT room_id, session_id, sender_key, "
                        "sender_ed25519, pickle FROM megolm_inbound WHERE "
                        "room_id = ?1 AND session_id = ?2",
    [S_MEGOLM_IN_PUT] = "INSERT INTO megolm_inbound(room_id, session_id, "
                        "sender_key, sender_ed25519, pickle, received_ts) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO "
                        "UPDATE SET sender_key = excluded.sender_key, "
                        "sender_ed25519 = excluded.sender_ed25519, "
                        "pickle = excluded.pickle",
    [S_MEGOLM_INDEX_GET] = "SELECT event_id FROM megolm_indexes WHERE "
                           "room_id = ?1 AND session_id = ?2 AND idx = ?3",
    [S_MEGOLM_INDEX_PUT] = "INSERT OR IGNORE INTO megolm_indexes(room_id, "
                           "session_id, idx, event_id) VALUES (?1, ?2, ?3, "
                           "?4)",
    [S_MEGOLM_WAIT_ADD] = "INSERT INTO megolm_waiting(room_id, session_id, "
                          "event, received_ts) VALUES (?1, ?2, ?3, ?4)",
    [S_MEGOLM_WAIT_SESSION] = "SELECT seq, room_id, session_id, event, "
                              "received_ts FROM megolm_waiting WHERE "
                              "room_id = ?1 AND session_id = ?2 ORDER BY seq "
                              "LIMIT ?3",
    [S_MEGOLM_WAIT_OLD] = "SELECT seq, room_id, session_id, event, "
                          "received_ts FROM megolm_waiting WHERE "
                          "received_ts < ?1 ORDER BY seq LIMIT ?2",
    [S_MEGOLM_WAIT_DONE] = "DELETE FROM megolm_waiting WHERE seq = ?1",
    [S_MEGOLM_WAIT_COUNT] = "SELECT COUNT(*) FROM megolm_waiting",
    [S_ROOM_ENC_GET] = "SELECT algorithm, rotation_ms, rotation_msgs FROM "
                       "room_encryption WHERE room_id = ?1",
    [S_ROOM_ENC_PUT] = "INSERT INTO room_encryption(room_id, algorithm, "
                       "rotation_ms, rotation_msgs) VALUES (?1, ?2, ?3, ?4) "
                       "ON CONFLICT DO UPDATE SET algorithm = "
                       "excluded.algorithm, rotation_ms = "
                       "excluded.rotation_ms, rotation_msgs = "
                       "excluded.rotation_msgs",
    [S_DEVLIST_GET] = "SELECT stale FROM device_lists WHERE user_id = ?1",
    [S_DEVLIST_PUT] = "INSERT INTO device_lists(user_id, stale) VALUES "
                      "(?1, 0) ON CONFLICT DO UPDATE SET stale = 0",
    [S_DEVLIST_STALE] = "UPDATE device_lists SET stale = 1 WHERE "
                        "user_id = ?1",
    [S_DEVKEYS_OF] = "SELECT user_id, device_id, curve25519, ed25519 FROM "
                     "device_keys WHERE user_id = ?1 ORDER BY device_id",
    [S_DEVKEYS_CLEAR] = "DELETE FROM device_keys WHERE user_id = ?1",
    [S_DEVKEYS_ADD] = "INSERT OR REPLACE INTO device_keys(user_id, "
                      "device_id, curve25519, ed25519) VALUES (?1, ?2, ?3, "
                      "?4)",
    [S_MEGOLM_OUT_GET] = "SELECT session_id, pickle, created_ts, messages "
                         "FROM megolm_outbound WHERE room_id = ?1 AND "
                         "mxid = ?2",
    [S_MEGOLM_OUT_PUT] = "INSERT INTO megolm_outbound(room_id, mxid, "
                         "session_id, pickle, created_ts, messages) VALUES "
                         "(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO UPDATE SET "
                         "session_id = excluded.session_id, pickle = "
                         "excluded.pickle, created_ts = excluded.created_ts, "
                         "messages = excluded.messages",
    [S_MEGOLM_OUT_ADVANCE] = "UPDATE megolm_outbound SET pickle = ?4, "
                             "messages = ?5 WHERE room_id = ?1 AND mxid = ?2 "
                             "AND session_id = ?3",
    [S_MEGOLM_OUT_DROP_ROOM] = "DELETE FROM megolm_outbound WHERE "
                               "room_id = ?1",
    [S_MEGOLM_SHARED_LIST] = "SELECT user_id || '|' || device_id FROM "
                             "megolm_shared WHERE session_id = ?1",
    [S_MEGOLM_SHARED_ADD] = "INSERT OR IGNORE INTO megolm_shared(session_id, "
                            "user_id, device_id, first_index) VALUES (?1, "
                            "?2, ?3, ?4)",
    [S_MEGOLM_SHARED_INDEX] = "SELECT first_index FROM megolm_shared WHERE "
                              "session_id = ?1 AND user_id = ?2 AND "
                              "device_id = ?3",
    /* OMEMO (store/omemo.c): records arrive sealed. */
    [S_OMEMO_GET] = "SELECT value FROM omemo_records WHERE owner = ?1 AND "
                    "kind = ?2 AND name = ?3 AND id = ?4",
    [S_OMEMO_PUT] = "INSERT INTO omemo_records(owner, kind, name, id, value) "
                    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO UPDATE SET "
                    "value = excluded.value",
    [S_OMEMO_DEL] = "DELETE FROM omemo_records WHERE owner = ?1 AND kind = ?2 "
                    "AND name = ?3 AND id = ?4",
    [S_OMEMO_IDS] = "SELECT id FROM omemo_records WHERE owner = ?1 AND "
                    "kind = ?2 AND name = ?3 ORDER BY id",
    /* Verifications (store/trust.c). */
    [S_VERIFY_GET] = "SELECT verified FROM verifications WHERE verifier = ?1 "
                     "AND subject = ?2 AND device = ?3",
    [S_VERIFY_PUT] = "INSERT INTO verifications(verifier, subject, device, "
                     "verified) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO "
                     "UPDATE SET verified = excluded.verified",
    [S_VERIFIERS_OF] = "SELECT DISTINCT verifier FROM verifications WHERE "
                       "subject = ?1 AND verified = 1 ORDER BY verifier",
    /* ?1 a bare JID or a Matrix id: the DMs it is one end of. */
    [S_ROOM_DMS_OF] = "SELECT room_id, mode, xmpp_jid, matrix_user FROM "
                      "rooms WHERE mode = 1 AND (xmpp_jid = ?1 OR "
                      "matrix_user = ?1) ORDER BY created_ts",
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
