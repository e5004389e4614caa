/* The store: everything a conversation needs to survive a restart
 * (DESIGN.md §5, doc/STORE.md). One transaction per loop turn, over a
 * driver (store/driver.h; SQLite's in store/sqlite/).
 *
 * Writes open a transaction lazily; store_flush() commits it. Reads see
 * the uncommitted writes of the turn. Callers never see SQL: each
 * function answers one question, so another backend (PostgreSQL) is a
 * driver of its own without touching them.
 *
 * Return values: 0 ok, -1 error (logged), and for lookups 1 = found,
 * 0 = not found. Strings filled into out-structs are owned by the caller and
 * released with the matching *_free function. */
#ifndef ISTHMUS_STORE_H
#define ISTHMUS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Opens (creating if needed) and migrates the database. *err: caller frees. */
int store_open(const char *path, struct store **out, char **err);
/* Commits anything pending and closes. */
void store_close(struct store *st);
/* Commits the open write transaction, if any. */
int store_flush(struct store *st);
/* How many writes were made since the store was opened: a caller compares
 * two readings to learn whether some work changed anything. */
uint64_t store_write_count(const struct store *st);
/* True while writes wait for store_flush() to commit them. */
bool store_in_txn(const struct store *st);
/* Durability. A write is durable once committed, and by default it is
 * committed at the end of its loop turn. Writes made between these two
 * calls (they nest) may instead wait up to STORE_MAY_WAIT_MS for a later
 * commit: the marks that a piece of work is finished, whose loss in a
 * crash only makes that work run again with the same ids. Most then ride
 * on a commit made for something else, so a message costs one commit
 * instead of two. New outbox work never waits. */
#define STORE_MAY_WAIT_MS 100
void store_may_wait_begin(struct store *st);
void store_may_wait_end(struct store *st);
/* When the open transaction must be committed: -1 if it wrote nothing, 0
 * now, else in that many milliseconds (only writes that may wait). */
long store_commit_due_ms(const struct store *st);
/* The schema version the code knows, and the one the file has. */
int store_schema_latest(void);
int store_schema_version(struct store *st);
/* For migration tests only: create a database at an older version. */
int store_open_at_version(const char *path, int version, struct store **out,
                          char **err);

/* ---- appservice transactions
 * A transaction is known by its id and a digest of what it carried: Synapse
 * numbers transactions 1, 2, 3... again after a restart, so an id alone
 * would make a new transaction look like a retry of an old one. */
int store_txn_seen(struct store *st, const char *txn_id,
                   const char *digest);  /* 1/0/-1 */
/* Records a transaction (replacing an older one with the same id). Rows
 * from before schema 5 have the digest "unknown", which matches none. */
int store_txn_mark(struct store *st, const char *txn_id, const char *digest,
                   int64_t now_ms);
/* The all-digit txn id applied last: 1 and *out set, 0 if none. */
int store_txn_highest(struct store *st, int64_t *out);
/* Forgets transactions older than the cut-off (homeservers retry within
 * hours), always keeping the latest numeric id. */
int store_txn_prune(struct store *st, int64_t older_than_ms);

/* ---- ghosts: Matrix users the gateway puppets for XMPP users */
struct store_ghost {
    char *mxid;
    char *jid;
    char *displayname; /* may be NULL */
    int registered;
};
int store_ghost_get(struct store *st, const char *mxid, struct store_ghost *out);
int store_ghost_put(struct store *st, const struct store_ghost *g);
void store_ghost_free(struct store_ghost *g);

/* ---- rooms: a Matrix room and what it is on the XMPP side */
enum store_room_mode { ROOM_DM = 1, ROOM_GATEWAY = 2, ROOM_PORTAL = 3 };
struct store_room {
    char *room_id;
    int mode;
    char *xmpp_jid;    /* DM: the XMPP user's bare JID; portal: the MUC */
    char *matrix_user; /* DM: the Matrix user */
};
int store_room_get(struct store *st, const char *room_id,
                   struct store_room *out);
/* The newest DM room between these two, if any. */
int store_room_find_dm(struct store *st, const char *xmpp_jid,
                       const char *matrix_user, struct store_room *out);
int store_room_put(struct store *st, const struct store_room *r,
                   int64_t now_ms);
int store_room_delete(struct store *st, const char *room_id);
void store_room_free(struct store_room *r);

/* The DMs `who` (a bare JID or a Matrix id) is one end of, oldest
 * first: returns how many (*out: caller frees with store_rooms_free), or
 * -1. */
int store_room_dms_of(struct store *st, const char *who,
                      struct store_room **out);
void store_rooms_free(struct store_room *list, int n);

/* The newest portal room of a MUC. */
int store_room_find_portal(struct store *st, const char *muc_jid,
                           struct store_room *out);
/* A portal's last known MUC subject; *subject (caller frees) may be NULL. */
int store_room_subject_get(struct store *st, const char *room_id,
                           char **subject);
int store_room_subject_set(struct store *st, const char *room_id,
                           const char *subject);
/* The timestamp of the room's newest bridged message (1 found, 0 none). */
int store_room_last_ts(struct store *st, const char *room_id, int64_t *ts);

/* ---- messages: event id <-> stanza ids, both ways */
enum store_direction { DIR_XMPP_TO_MATRIX = 1, DIR_MATRIX_TO_XMPP = 2 };
struct store_message {
    char *event_id;
    char *room_id;
    char *xmpp_jid;  /* the XMPP party of the conversation (bare) */
    char *stanza_id; /* id attribute, may be NULL */
    char *origin_id; /* XEP-0359 origin-id; read back as stanza_id when
                        the message had none, NULL when it had neither */
    int direction;
    int64_t ts;
    char *replaces;  /* a correction: the event id of the original, or NULL */
    char *sender;    /* the Matrix id that sent it (a ghost for XMPP users);
                      * NULL in rows from before schema 7 */
};
int store_message_put(struct store *st, const struct store_message *m);
int store_message_by_event(struct store *st, const char *event_id,
                           struct store_message *out);
/* Looks up by stanza id or origin-id, within one XMPP party's messages. */
int store_message_by_stanza(struct store *st, const char *xmpp_jid,
                            const char *id, struct store_message *out);
/* The same within one room (room_id; NULL: any): a client that numbers
 * its messages gives the same id to messages for different people. */
int store_message_by_stanza_in(struct store *st, const char *room_id,
                               const char *xmpp_jid, const char *id,
                               struct store_message *out);
/* The id the XMPP side knows a message by changed (a MUC stamped its own
 * stanza-id on it, which replies name). */
int store_message_set_stanza_id(struct store *st, const char *event_id,
                                const char *stanza_id);
void store_message_free(struct store_message *m);

/* ---- reactions: who reacted to which bridged message with what. The
 * sender is a Matrix id (an XMPP user's is their ghost), so both sides'
 * reactions live in one shape. */
struct store_reaction {
    char *target_event_id;
    char *sender;
    char *key;      /* the emoji */
    char *event_id; /* the m.reaction event */
    char *room_id;
};
int store_reaction_put(struct store *st, const struct store_reaction *r);
/* One person's reactions to one message, sorted by key: returns how many
 * (*out: caller frees with store_reactions_free; only key and event_id are
 * filled), or -1. */
int store_reactions_of(struct store *st, const char *target_event_id,
                       const char *sender, struct store_reaction **out);
/* The reaction that m.reaction event `event_id` made (1/0/-1). */
int store_reaction_by_event(struct store *st, const char *event_id,
                            struct store_reaction *out);
int store_reaction_delete(struct store *st, const char *event_id);
void store_reaction_free(struct store_reaction *r);
void store_reactions_free(struct store_reaction *list, int n);
/* Where a message stands in its room: by timestamp, ties broken by the
 * order the gateway stored them in. */
struct store_order {
    int64_t ts;
    int64_t seq;
};
/* The place of a bridged message (1 found, 0 not, -1). */
int store_message_order(struct store *st, const char *event_id,
                        struct store_order *out);
/* The newest message of the room that came from XMPP, at or before `at`
 * (1 found, 0 none, -1); *order gets its place. */
int store_message_last_from_xmpp(struct store *st, const char *room_id,
                                 const struct store_order *at,
                                 struct store_message *out,
                                 struct store_order *order);

/* ---- read positions: how far each person (a Matrix user, or an XMPP
 * user's ghost) has read in each room, as last told to the other side.
 * A position only moves forward. */
/* Moves the position to event_id at `at` if that is later than the stored
 * one: 1 moved, 0 not later (unchanged), -1 error. */
int store_read_advance(struct store *st, const char *room_id,
                       const char *person, const char *event_id,
                       const struct store_order *at, int64_t now_ms);
/* The position (1 found, 0 none, -1); *event_id: caller frees. */
int store_read_get(struct store *st, const char *room_id, const char *person,
                   char **event_id, struct store_order *at);

/* ---- outbox: work that must survive a crash until it is done
 * Payloads are sealed at rest (store/seal.h) with the key given here,
 * which the operator keeps outside the database; until one is given,
 * store_outbox_add fails. The store keeps a copy in guarded memory. */
#define STORE_KEY_BYTES 32
void store_set_seal_key(struct store *st,
                        const unsigned char key[STORE_KEY_BYTES]);
enum store_outbox_kind {
    OUTBOX_STANZA = 1,      /* payload: stanza XML to send to XMPP */
    OUTBOX_XMPP_INBOUND = 2,/* payload: stanza XML received, to bridge */
    OUTBOX_MATRIX_JOIN = 3, /* payload: JSON {room_id, user_id} */
    OUTBOX_PORTAL_OP = 4,   /* payload: JSON {op, room_id, ...} */
    OUTBOX_MATRIX_CALL = 5, /* payload: JSON {method, path, body} */
};
struct store_outbox_item {
    int64_t id;
    char *queue;
    int kind;
    char *payload;
    int64_t created_ts;
    int attempts;
};
int64_t store_outbox_add(struct store *st, const char *queue, int kind,
                         const char *payload, int64_t now_ms);
/* The oldest item of a queue. */
int store_outbox_head(struct store *st, const char *queue,
                      struct store_outbox_item *out);
/* Items of one kind with id > after_id, oldest first, at most limit; calls
 * fn for each. Returns the number visited or -1. */
int store_outbox_scan(struct store *st, int kind, int64_t after_id, int limit,
                      void (*fn)(const struct store_outbox_item *, void *),
                      void *ud);
int store_outbox_delete(struct store *st, int64_t id);
/* Every item of one kind with first_id <= id <= last_id: one statement for
 * a batch that went out together. */
int store_outbox_delete_range(struct store *st, int kind, int64_t first_id,
                              int64_t last_id);
int store_outbox_count(struct store *st);
void store_outbox_item_free(struct store_outbox_item *it);

/* ---- inbound: XMPP message ids already taken in, so that a client that
 * resends (no receipt came) is not bridged twice. A resend is the same
 * sender (xmpp_jid, bare), the same recipient (peer: the bare address it
 * was sent to) and the same id; anything else is a new message. */
/* 1 if seen; *event_id (caller frees; event_id may be NULL) is set once it
 * was delivered. */
int store_inbound_get(struct store *st, const char *xmpp_jid,
                      const char *peer, const char *stanza_id,
                      char **event_id);
int store_inbound_add(struct store *st, const char *xmpp_jid,
                      const char *peer, const char *stanza_id,
                      int64_t now_ms);
int store_inbound_delivered(struct store *st, const char *xmpp_jid,
                            const char *peer, const char *stanza_id,
                            const char *event_id);
/* Forgets ids older than the cut-off (clients resend within minutes). */
int store_inbound_prune(struct store *st, int64_t older_than_ms);
/* The XMPP users (bare JIDs) who sent a message that was taken in at or
 * after since_ms, sorted: *out is an array of n strings (free with
 * store_strings_free). Returns n, or -1. */
int store_inbound_senders(struct store *st, int64_t since_ms, char ***out);

/* ---- settings: small named numbers kept between runs */
/* 1 with *value set, 0 if never set, -1 on error. */
int store_setting_get(struct store *st, const char *name, int64_t *value);
/* Written with the next commit; it may wait for one made anyway. */
int store_setting_put(struct store *st, const char *name, int64_t value);

/* ---- occupants: XMPP users (one row per full JID) in gateway-mode MUCs */
struct store_occupant {
    char *occupant_jid; /* full JID of the XMPP user's resource */
    char *muc_jid;      /* bare JID of the MUC on the component */
    char *room_id;
    char *nick;
    char *ghost;        /* the user's ghost, a member of the room */
};
int store_occupant_put(struct store *st, const struct store_occupant *o);
int store_occupant_get(struct store *st, const char *occupant_jid,
                       const char *muc_jid, struct store_occupant *out);
int store_occupant_delete(struct store *st, const char *occupant_jid,
                          const char *muc_jid);
/* All occupants of a room; returns how many (array: store_occupants_free). */
int store_occupants_in_room(struct store *st, const char *room_id,
                            struct store_occupant **out);
/* How many resources sit in the room through this ghost. */
int store_occupants_of_ghost(struct store *st, const char *room_id,
                             const char *ghost);
void store_occupant_free(struct store_occupant *o);
void store_occupants_free(struct store_occupant *list, int n);

/* ---- members: Matrix members of gateway rooms and their MUC nicks */
struct store_member {
    char *mxid;
    char *nick;
    long level; /* power level; room creators of v12+ rooms count as 100 */
};
int store_member_put(struct store *st, const char *room_id, const char *mxid,
                     const char *nick, long level);
int store_member_delete(struct store *st, const char *room_id,
                        const char *mxid);
int store_members_clear(struct store *st, const char *room_id);
int store_members_in_room(struct store *st, const char *room_id,
                          struct store_member **out);
/* One member (1 found, 0 not); free with store_members_free(out, 1)'s
 * contents: free(out->mxid), free(out->nick). */
int store_member_get(struct store *st, const char *room_id, const char *mxid,
                     struct store_member *out);
void store_members_free(struct store_member *list, int n);

/* ---- portal users: Matrix users sitting in XMPP MUCs through portals.
 * (Portal mode keeps the MUC's XMPP occupants in the occupants table, with
 * occupant_jid = room@service/nick and muc_jid = room@service.) */
struct store_portal_user {
    char *room_id;
    char *mxid;
    char *muc_jid;
    char *nick;      /* the nick asked for or held in the MUC */
    char *base_nick; /* the display name it came from, before conflicts */
    int attempt;  /* nick conflicts met so far */
    int joined;   /* the MUC confirmed the join (status 110) */
};
int store_portal_user_put(struct store *st, const struct store_portal_user *u);
int store_portal_user_get(struct store *st, const char *muc_jid,
                          const char *mxid, struct store_portal_user *out);
int store_portal_user_by_nick(struct store *st, const char *muc_jid,
                              const char *nick, struct store_portal_user *out);
int store_portal_user_delete(struct store *st, const char *room_id,
                             const char *mxid);
/* Every portal user (for rejoining after a restart); returns how many. */
int store_portal_users_all(struct store *st, struct store_portal_user **out);
void store_portal_user_free(struct store_portal_user *u);
void store_portal_users_free(struct store_portal_user *list, int n);

/* ---- presence: the latest state of each source of a person (DESIGN.md
 * §6). person is a bare JID, an occupant JID or a Matrix ID; source an
 * XMPP resource, "matrix", or a MUC. */
struct store_presence {
    char *source;
    int state;    /* enum pstate (gateway/presence_state.h) */
    char *status; /* may be NULL */
    int64_t ts;
};
int store_presence_put(struct store *st, const char *person,
                       const char *source, int state, const char *status,
                       int64_t now_ms);
/* Every source of a person; returns how many, or -1 (array: caller frees
 * with store_presence_free). */
int store_presence_get(struct store *st, const char *person,
                       struct store_presence **out);
void store_presence_free(struct store_presence *list, int n);
/* XMPP users (bare JIDs) subscribed to a Matrix user's JID. */
int store_presence_sub_put(struct store *st, const char *mxid,
                           const char *jid);
int store_presence_sub_delete(struct store *st, const char *mxid,
                              const char *jid);
/* The bare JIDs that see a Matrix user's presence: subscribers and the
 * XMPP ends of the user's DMs. Returns how many, or -1 (array: caller
 * frees with store_strings_free). */
int store_presence_watchers(struct store *st, const char *mxid, char ***out);
void store_strings_free(char **list, int n);
/* The XMPP people (bare or occupant JIDs, not Matrix IDs) with a source
 * that is not offline. Returns how many, or -1 (store_strings_free). */
int store_presence_xmpp_present(struct store *st, char ***out);
/* The gateway-mode rooms (mode 2) and portals (mode 3) where a Matrix user
 * has a nick in a MUC. Returns how many, or -1 (array: caller frees with
 * store_presence_rooms_free). */
struct store_presence_room {
    char *room_id;
    char *muc_jid;
    char *nick;
    int mode;
};
int store_presence_rooms(struct store *st, const char *mxid,
                         struct store_presence_room **out);
void store_presence_rooms_free(struct store_presence_room *list, int n);
/* The rooms where a ghost sits for MUC occupants (gateway-mode rooms and
 * portals), with the nick it goes by there; same array as above. */
int store_ghost_rooms(struct store *st, const char *ghost,
                      struct store_presence_room **out);

/* ---- avatars: images cached by mxc URI (so none is fetched twice), and
 * whose avatar is which: a Matrix user's (who = mxid: its mxc, and the
 * hash once fetched) or a ghost's (who = ghost: the hash of the XMPP photo
 * it shows, and where it was uploaded) */
struct store_avatar {
    char *mxc;
    char *sha1; /* hex */
    char *type;
    unsigned char *data;
    size_t len;
};
int store_avatar_get(struct store *st, const char *mxc,
                     struct store_avatar *out);
int store_avatar_put(struct store *st, const struct store_avatar *a);
void store_avatar_free(struct store_avatar *a);
/* *mxc and *sha1 (caller frees) may each be NULL. */
int store_avatar_of_get(struct store *st, const char *who, char **mxc,
                        char **sha1);
int store_avatar_of_put(struct store *st, const char *who, const char *mxc,
                        const char *sha1);
/* The Matrix member of a gateway room going by nick (1 found; *mxid:
 * caller frees), for requests to an occupant JID. */
int store_member_by_nick(struct store *st, const char *room_id,
                         const char *nick, char **mxid);

#include "store/crypto.h"
#include "store/omemo.h"
#include "store/trust.h"

#endif
