/* What the store's files share; callers use store.h only. store.c holds
 * the connection and its transaction, schema.c the migrations,
 * statements.c the SQL, and one file per kind of data the functions of
 * store.h. */
#ifndef ISTHMUS_STORE_INTERNAL_H
#define ISTHMUS_STORE_INTERNAL_H

#include "store/store.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* The migrations, in schema.c. */
extern const char *const store_migrations[];
extern const int store_migration_count;

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
    S_MEMBER_BY_NICK, S_GHOST_ROOMS, S_OUTBOX_NEXT_ID,
    S_COUNT
};

/* A messages row as fill_message reads it. */
#define MSG_COLS "event_id, room_id, xmpp_jid, stanza_id, origin_id, " \
                 "direction, ts, replaces, sender"

extern const char *const store_stmt_sql[S_COUNT];

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    bool in_txn; /* a transaction is open: reads or writes this turn */
    bool dirty;  /* ...and it has written something */
    bool urgent; /* ...that must be committed before the turn ends */
    int lazy_depth;        /* inside store_may_wait_begin/end */
    int64_t lazy_since_ms; /* the oldest write that may wait, or 0 */
    uint64_t writes;
    struct checkpointer *checkpointer;
    /* Inserts waiting for the commit (deferred.c), and whether one of
     * them failed, which fails the commit. */
    struct store_deferred *deferred;
    bool settle_failed;
    /* Which statements must run the waiting inserts first. */
    bool sees_deferred[S_COUNT];
    /* The id the next outbox row gets, once read (0 before): outbox ids
     * are handed out before their rows are written. */
    int64_t next_outbox_id;
};

/* The cached statement, reset and cleared, inside the turn's transaction
 * (opened if needed). */
sqlite3_stmt *store_stmt(struct store *st, enum stmt_id id);
/* Every write calls this first, so that it lands in the turn's
 * transaction and the commit knows how soon it is due. 0 or -1. */
int store_ensure_txn(struct store *st);
/* Steps a write statement that returns no rows; 0, or -1 (logged with
 * what). */
int store_step_write(struct store *st, sqlite3_stmt *s, const char *what);
/* Deferred inserts (deferred.c). A row is begun with its statement, then
 * given its values in parameter order; it runs at store_settle, which
 * store_flush calls before committing and store_stmt before any statement
 * for which store_stmt_sees_deferred was true at opening. */
#define STORE_DEFER_MAX_VALUES 9
struct deferred_row;
/* The row belongs to the store; fill it before the next store call. */
struct deferred_row *store_defer_begin(struct store *st, enum stmt_id stmt);
/* v is copied; NULL binds SQL NULL. */
void store_defer_text(struct store *st, struct deferred_row *r,
                      const char *v);
void store_defer_int(struct deferred_row *r, int64_t v);
/* Runs the waiting inserts in order; 0, or -1 (logged, and the next
 * commit fails). */
int store_settle(struct store *st);
size_t store_deferred_count(const struct store *st);
bool store_stmt_sees_deferred(enum stmt_id id, const char *sql);
void store_deferred_free(struct store *st);

/* Logs SQLite's last error with what; returns -1. */
int store_report(struct store *st, const char *what);
/* A copy of a text column, or NULL; caller frees. */
char *store_dup_col(sqlite3_stmt *s, int col);
/* Binds text, or NULL for a NULL pointer; SQLite copies it. */
void store_bind_text(sqlite3_stmt *s, int idx, const char *v);

#endif
