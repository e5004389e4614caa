/* The store's side of its connection: opening and closing it, the writes
 * of a loop turn and how soon they must be durable. How a database does
 * any of it is its driver's (store/driver.h; SQLite's in store/sqlite/). */
#include "store/store_internal.h"
#include "store/seal.h"

#include "common/log.h"
#include "common/mem.h"

#include <stdlib.h>

int store_report(struct store *st, const char *what)
{
    log_error("store: %s: %s", what, db_errmsg(st->db));
    return -1;
}

/* Every write goes through here so it lands in the turn's transaction. */
int store_ensure_txn(struct store *st)
{
    return db_will_write(st->db, st->may_wait_depth > 0
                                     ? DB_DURABLE_MAY_WAIT
                                     : DB_DURABLE_NOW);
}

/* Steps a write statement that returns no rows. */
int store_step_write(struct store *st, struct db_stmt *s, const char *what)
{
    st->writes++;
    int rc = db_step(s);
    db_reset(s);
    if (rc != DB_DONE)
        return store_report(st, what);
    return 0;
}

struct db_row *store_defer_begin(struct store *st, enum stmt_id stmt)
{
    st->writes++;
    return db_defer(st->db, stmt);
}

size_t store_deferred_count(const struct store *st)
{
    return db_deferred_count(st->db);
}

void store_may_wait_begin(struct store *st) { st->may_wait_depth++; }

void store_may_wait_end(struct store *st) { st->may_wait_depth--; }

long store_commit_due_ms(const struct store *st)
{
    return db_commit_due_ms(st->db);
}

int store_flush(struct store *st) { return db_commit(st->db); }

uint64_t store_write_count(const struct store *st) { return st->writes; }

bool store_in_txn(const struct store *st) { return db_has_writes(st->db); }

int store_schema_latest(void) { return db_schema_latest(); }

int store_schema_version(struct store *st)
{
    return db_schema_version(st->db);
}

int store_open_at_version(const char *path, int version, struct store **out,
                          char **err)
{
    struct db *db;
    if (db_open(path, version, &db, err) < 0)
        return -1;
    struct store *st = xcalloc(1, sizeof *st);
    st->db = db;
    *out = st;
    return 0;
}

int store_open(const char *path, struct store **out, char **err)
{
    return store_open_at_version(path, db_schema_latest(), out, err);
}

void store_close(struct store *st)
{
    if (!st)
        return;
    db_close(st->db);
    seal_free(st->seal);
    free(st);
}

int store_read_strings(struct store *st, struct db_stmt *s, char ***out,
                       const char *what)
{
    int n = 0, rc;
    *out = NULL;
    while ((rc = db_step(s)) == DB_ROW) {
        char *v = db_column_dup(s, 0);
        if (!v)
            continue;
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        (*out)[n++] = v;
    }
    db_reset(s);
    if (rc != DB_DONE) {
        store_strings_free(*out, n);
        *out = NULL;
        return store_report(st, what);
    }
    return n;
}

void store_strings_free(char **list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}
