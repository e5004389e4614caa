/* What the SQLite driver's files share (store/driver.h is the API they
 * implement): connection.c opens, migrates and closes, and copies the
 * write-ahead log back with checkpointer.c; statement.c runs statements;
 * txn.c holds the loop turn's transaction and when it is committed;
 * deferred.c the inserts that wait for the commit; statements.c and
 * schema.c the SQL. */
#ifndef ISTHMUS_STORE_SQLITE_DB_H
#define ISTHMUS_STORE_SQLITE_DB_H

#include "store/driver.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* The write-ahead log is copied back into the database by a thread once
 * it holds WAL_CHECKPOINT_PAGES pages; under writes so steady that the
 * thread never catches up, the committing loop copies it back itself at
 * WAL_MAX_PAGES. So the log never grows much past that. */
#define WAL_CHECKPOINT_PAGES 1000
#define WAL_MAX_PAGES (4 * WAL_CHECKPOINT_PAGES)

/* The migrations, in schema.c. */
extern const char *const sqldb_migrations[];
extern const int sqldb_migration_count;
/* The SQL of each statement of the catalogue, in statements.c. */
extern const char *const sqldb_stmt_sql[S_COUNT];

struct db {
    sqlite3 *conn;
    sqlite3_stmt *stmt[S_COUNT]; /* NULL below the latest schema */
    sqlite3_stmt *begin, *commit, *rollback;
    bool in_txn; /* a transaction is open: reads or writes this turn */
    bool dirty;  /* ...and it has written something */
    bool urgent; /* ...that must be committed before the turn ends */
    int64_t may_wait_since_ms; /* the oldest write that may wait, or 0 */
    struct checkpointer *checkpointer;
    /* Inserts waiting for the commit (deferred.c), and whether one of
     * them failed, which fails the commit. */
    struct sqldb_deferred *deferred;
    bool settle_failed;
    /* Which statements must run the waiting inserts first. */
    bool sees_deferred[S_COUNT];
};

/* Logs SQLite's last error with what; returns -1. */
int sqldb_report(struct db *db, const char *what);
/* Deferred inserts (deferred.c): runs the waiting ones in order; 0, or -1
 * (logged, and the next commit fails). */
int sqldb_settle(struct db *db);
bool sqldb_sees_deferred(enum stmt_id id, const char *sql);
/* Forgets the waiting inserts, as a rollback does. */
void sqldb_deferred_drop(struct db *db);
void sqldb_deferred_free(struct db *db);

#endif
