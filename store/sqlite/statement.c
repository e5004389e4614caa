/* Running the catalogue's statements: the driver API's statement half
 * over sqlite3_stmt. A struct db_stmt is never defined: the pointer
 * handed out is the sqlite3_stmt itself, so a lookup costs no allocation
 * and no indirection. */
#include "store/sqlite/sqlite_db.h"

#include "common/log.h"
#include "common/mem.h"

#include <sqlite3.h>

static sqlite3_stmt *raw(struct db_stmt *s) { return (sqlite3_stmt *)s; }

/* Every statement of a loop turn, reads included, runs in the turn's one
 * transaction: a read outside one would be a transaction of its own, each
 * taking and releasing the log's read lock (system calls) and looking the
 * log up again. Only this connection writes, so the snapshot a turn reads
 * from is never stale, and its first write upgrades it without waiting. */
struct db_stmt *db_stmt(struct db *db, enum stmt_id id)
{
    if (db_begin(db) < 0)
        log_warn("store: statement %d runs outside a transaction", (int)id);
    if (db->sees_deferred[id] && db_deferred_count(db))
        sqldb_settle(db);
    sqlite3_stmt *s = db->stmt[id];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return (struct db_stmt *)s;
}

void db_bind_int(struct db_stmt *s, int idx, int v)
{
    sqlite3_bind_int(raw(s), idx, v);
}

void db_bind_int64(struct db_stmt *s, int idx, int64_t v)
{
    sqlite3_bind_int64(raw(s), idx, v);
}

void db_bind_text(struct db_stmt *s, int idx, const char *v)
{
    if (v)
        sqlite3_bind_text(raw(s), idx, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(raw(s), idx);
}

void db_bind_blob(struct db_stmt *s, int idx, const void *data, size_t len)
{
    sqlite3_bind_blob64(raw(s), idx, data, len, SQLITE_TRANSIENT);
}

void db_bind_null(struct db_stmt *s, int idx) { sqlite3_bind_null(raw(s), idx); }

int db_step(struct db_stmt *s)
{
    int rc = sqlite3_step(raw(s));
    if (rc == SQLITE_ROW)
        return DB_ROW;
    return rc == SQLITE_DONE ? DB_DONE : DB_ERROR;
}

void db_reset(struct db_stmt *s) { sqlite3_reset(raw(s)); }

int db_column_int(struct db_stmt *s, int col)
{
    return sqlite3_column_int(raw(s), col);
}

int64_t db_column_int64(struct db_stmt *s, int col)
{
    return sqlite3_column_int64(raw(s), col);
}

bool db_column_is_null(struct db_stmt *s, int col)
{
    return sqlite3_column_type(raw(s), col) == SQLITE_NULL;
}

const char *db_column_text(struct db_stmt *s, int col)
{
    return (const char *)sqlite3_column_text(raw(s), col);
}

char *db_column_dup(struct db_stmt *s, int col)
{
    const char *t = db_column_text(s, col);
    return t ? xstrdup(t) : NULL;
}

const void *db_column_blob(struct db_stmt *s, int col, size_t *len)
{
    /* The blob first, then its size: asking for the size first could
     * convert the value and move it (SQLite's documented order). */
    const void *p = sqlite3_column_blob(raw(s), col);
    *len = (size_t)sqlite3_column_bytes(raw(s), col);
    return p;
}
