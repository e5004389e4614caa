/* The store's driver: what the per-table files (rooms.c, messages.c ...)
 * need from a database, and nothing of any one database. The SQLite
 * driver is in store/sqlite/; doc/STORE.md says what another must provide.
 *
 * The per-table files never write SQL: they name a statement of the
 * catalogue (store/statements.h), bind its parameters in order, step it
 * and read its columns. Each driver holds the SQL of every statement in
 * its own dialect, and the schema it runs on.
 *
 * The shape follows how the store runs: one connection, used by the event
 * loop's thread only; every statement of a loop turn inside the turn's one
 * transaction, which store_flush() commits; and a write may say how soon
 * it must be durable, so that most commits carry several turns' marks.
 *
 * Errors: functions returning int give 0 (or a count, or a step result)
 * and -1 on error; the reason is then db_errmsg()'s until the next call. */
#ifndef ISTHMUS_STORE_DRIVER_H
#define ISTHMUS_STORE_DRIVER_H

#include "store/statements.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A connection, and one of its prepared statements. */
struct db;
struct db_stmt;

/* ---- the connection */

/* Opens (creating if needed) the database at path and brings its schema to
 * `version` (db_schema_latest() in production; older ones for migration
 * tests, when the catalogue's statements are not prepared since they may
 * name what does not exist yet). 0, or -1 with *err set (caller frees). */
int db_open(const char *path, int version, struct db **out, char **err);
/* Commits anything pending (if the statements were prepared) and closes;
 * db may be NULL. */
void db_close(struct db *db);
/* The schema version this driver's migrations reach. */
int db_schema_latest(void);
/* The version the database has, or -1. */
int db_schema_version(struct db *db);
/* The last error on this connection. Owned by the connection: valid until
 * its next call; never NULL. */
const char *db_errmsg(struct db *db);
/* How many rows the last write statement changed (an upsert whose
 * condition kept the old row changed none). */
int64_t db_changes(struct db *db);

/* ---- statements */

/* The prepared statement of the catalogue, reset and with no parameter
 * bound, inside the current transaction (begun if none is open: a turn's
 * reads share one snapshot). Owned by the connection; use it before the
 * next db_stmt() for another statement could need it (writes waiting with
 * db_defer_* run first when the statement may read what they write). */
struct db_stmt *db_stmt(struct db *db, enum stmt_id id);

/* Parameters are numbered from 1, in the order the catalogue gives. Text
 * and blobs are copied: the caller's memory may go at once. A NULL text
 * binds the database's NULL. */
void db_bind_int(struct db_stmt *s, int idx, int v);
void db_bind_int64(struct db_stmt *s, int idx, int64_t v);
void db_bind_text(struct db_stmt *s, int idx, const char *v);
void db_bind_blob(struct db_stmt *s, int idx, const void *data, size_t len);
void db_bind_null(struct db_stmt *s, int idx);

enum db_step { DB_ERROR = -1, DB_DONE = 0, DB_ROW = 1 };
/* The next row (DB_ROW: columns readable), no more rows (DB_DONE), or an
 * error (DB_ERROR: db_errmsg tells, also after db_reset). */
int db_step(struct db_stmt *s);
/* Ends the statement's run (it keeps its bindings until db_stmt hands it
 * out again). Call it after the last step, before another statement. */
void db_reset(struct db_stmt *s);

/* Columns of the current row, numbered from 0. A NULL reads as 0 or as a
 * NULL pointer. */
int db_column_int(struct db_stmt *s, int col);
int64_t db_column_int64(struct db_stmt *s, int col);
bool db_column_is_null(struct db_stmt *s, int col);
/* Borrowed: owned by the statement, valid until its next step or reset. */
const char *db_column_text(struct db_stmt *s, int col);
/* A copy of a text column (xstrdup: the caller frees), or NULL. */
char *db_column_dup(struct db_stmt *s, int col);
/* Borrowed like db_column_text; *len gets its size (0 for NULL or an
 * empty blob, when the pointer may be NULL). */
const void *db_column_blob(struct db_stmt *s, int col, size_t *len);

/* ---- transactions and durability */

/* Opens a transaction unless one is open: 0, or -1. */
int db_begin(struct db *db);
/* Writes waiting with db_defer_* are written, then the transaction is
 * committed; if either fails it is rolled back (-1, logged). 0 also when
 * no transaction was open. */
int db_commit(struct db *db);
/* Drops the open transaction, if any, and the writes waiting in it. */
void db_rollback(struct db *db);

/* How soon a write must be durable: at the end of this loop turn, or
 * within STORE_MAY_WAIT_MS (store.h) when losing it in a crash only makes
 * finished work run again. */
enum db_durability { DB_DURABLE_NOW, DB_DURABLE_MAY_WAIT };
/* Called before every write: opens the transaction if needed and records
 * the write's durability. 0, or -1. */
int db_will_write(struct db *db, enum db_durability d);
/* True once db_will_write was called since the last commit. */
bool db_has_writes(const struct db *db);
/* When the commit is due: -1 nothing written, 0 now, else in that many
 * milliseconds. */
long db_commit_due_ms(const struct db *db);

/* ---- inserts that may wait for the commit
 * A row is begun with its statement (one that returns no rows), then given
 * its parameters in order. The driver may run it at once or keep it until
 * the commit or the first statement that could read what it writes; an
 * error then fails the commit. This is how a transaction's hundredth
 * stanza need not wait for the 99 rows before it (see sqlite/deferred.c).
 */
struct db_row;
/* Owned by the connection: fill it before the next call on db. */
struct db_row *db_defer(struct db *db, enum stmt_id id);
/* v is copied; NULL binds NULL. */
void db_defer_text(struct db *db, struct db_row *r, const char *v);
void db_defer_int(struct db_row *r, int64_t v);
/* How many rows wait (for tests). */
size_t db_deferred_count(const struct db *db);

#endif
