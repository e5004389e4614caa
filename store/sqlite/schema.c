/* The schema, as the steps that build it, in SQLite's dialect (WITHOUT
 * ROWID, AUTOINCREMENT, PRAGMA user_version as the version: see
 * connection.c). */
#include "store/sqlite/sqlite_db.h"

/* Each entry migrates from version i to i+1. Only ever append: a database
 * written by an older isthmus is brought forward step by step. */
const char *const sqldb_migrations[] = {
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
    /* 12: a resend is the same sender, the same recipient and the same id:
     * clients that number their messages use the same id for different
     * contacts, and keyed on sender and id alone the second message was
     * taken for a resend of the first and never bridged. */
    "CREATE TABLE inbound_by_peer ("
    "  xmpp_jid TEXT NOT NULL,"
    "  peer TEXT NOT NULL,"
    "  stanza_id TEXT NOT NULL,"
    "  received_ts INTEGER NOT NULL,"
    "  event_id TEXT,"
    "  PRIMARY KEY (xmpp_jid, peer, stanza_id));"
    "INSERT INTO inbound_by_peer SELECT xmpp_jid, '', stanza_id, received_ts, "
    "  event_id FROM inbound;"
    "DROP TABLE inbound;"
    "ALTER TABLE inbound_by_peer RENAME TO inbound;"
    "CREATE INDEX inbound_age ON inbound(received_ts);",
    /* 13: small named values the gateway keeps between runs (when it was
     * last alive, for the catch-up from the archives). */
    "CREATE TABLE settings ("
    "  name TEXT PRIMARY KEY,"
    "  value INTEGER NOT NULL) WITHOUT ROWID;",
    /* 14: end-to-bridge encryption: ghost devices, Olm and Megolm
     * sessions (pickles sealed), the message indexes each session used
     * (a replayed ciphertext is refused), and encrypted events waiting
     * for their key. */
    "CREATE TABLE crypto_devices ("
    "  mxid TEXT PRIMARY KEY,"
    "  device_id TEXT NOT NULL,"
    "  account TEXT NOT NULL,"
    "  cross_signing TEXT NOT NULL,"
    "  ready INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE olm_sessions ("
    "  mxid TEXT NOT NULL,"
    "  sender_key TEXT NOT NULL,"
    "  session_id TEXT NOT NULL,"
    "  pickle TEXT NOT NULL,"
    "  last_used INTEGER NOT NULL,"
    "  PRIMARY KEY (mxid, sender_key, session_id));"
    "CREATE TABLE megolm_inbound ("
    "  room_id TEXT NOT NULL,"
    "  session_id TEXT NOT NULL,"
    "  sender_key TEXT NOT NULL,"
    "  sender_ed25519 TEXT,"
    "  pickle TEXT NOT NULL,"
    "  received_ts INTEGER NOT NULL,"
    "  PRIMARY KEY (room_id, session_id));"
    "CREATE TABLE megolm_indexes ("
    "  room_id TEXT NOT NULL,"
    "  session_id TEXT NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  PRIMARY KEY (room_id, session_id, idx)) WITHOUT ROWID;"
    "CREATE TABLE megolm_waiting ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  room_id TEXT NOT NULL,"
    "  session_id TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  received_ts INTEGER NOT NULL);"
    "CREATE INDEX megolm_waiting_session ON megolm_waiting(room_id, "
    "  session_id, seq);"
    "CREATE INDEX megolm_waiting_age ON megolm_waiting(received_ts);"
    /* and for sending: which rooms are encrypted (algorithm NULL: known
     * to be clear), the devices of the Matrix users the ghosts share
     * keys with, each ghost's outbound session per room and whom it was
     * shared with */
    "CREATE TABLE room_encryption ("
    "  room_id TEXT PRIMARY KEY,"
    "  algorithm TEXT,"
    "  rotation_ms INTEGER NOT NULL,"
    "  rotation_msgs INTEGER NOT NULL);"
    "CREATE TABLE device_lists ("
    "  user_id TEXT PRIMARY KEY,"
    "  stale INTEGER NOT NULL);"
    "CREATE TABLE device_keys ("
    "  user_id TEXT NOT NULL,"
    "  device_id TEXT NOT NULL,"
    "  curve25519 TEXT NOT NULL,"
    "  ed25519 TEXT NOT NULL,"
    "  PRIMARY KEY (user_id, device_id));"
    "CREATE TABLE megolm_outbound ("
    "  room_id TEXT NOT NULL,"
    "  mxid TEXT NOT NULL,"
    "  session_id TEXT NOT NULL,"
    "  pickle TEXT NOT NULL,"
    "  created_ts INTEGER NOT NULL,"
    "  messages INTEGER NOT NULL,"
    "  PRIMARY KEY (room_id, mxid));"
    "CREATE TABLE megolm_shared ("
    "  session_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  device_id TEXT NOT NULL,"
    "  PRIMARY KEY (session_id, user_id, device_id)) WITHOUT ROWID;",
    /* 14 -> 15: the message index each device was given a session at, so
     * that a key request from it is answered from there and no
     * earlier. */
    "ALTER TABLE megolm_shared ADD COLUMN first_index INTEGER NOT NULL "
    "DEFAULT 0;",
    /* 15 -> 16: OMEMO, each puppet's device and sessions (sealed
     * records), and the device lists of the XMPP users it talks to. */
    "CREATE TABLE omemo_records ("
    "  owner TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  id INTEGER NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (owner, kind, name, id)) WITHOUT ROWID;",
    /* 16 -> 17: who verified whose devices across the gateway (the
     * `verify` command), and which new devices they were told of. */
    "CREATE TABLE verifications ("
    "  verifier TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  device TEXT NOT NULL,"
    "  verified INTEGER NOT NULL,"
    "  PRIMARY KEY (verifier, subject, device)) WITHOUT ROWID;"
    "CREATE INDEX verifications_by_subject ON verifications(subject);",
};

const int sqldb_migration_count =
    (int)(sizeof sqldb_migrations / sizeof sqldb_migrations[0]);
