/* Inserts that wait for the commit, or for the first statement that could
 * see them.
 *
 * A transaction from the homeserver can carry a hundred messages for XMPP,
 * and the stanza of the last one should not wait for the rows of the 99
 * before it: storing a message and its outbox row costs about as much as
 * everything else done for it together. So those two inserts only record
 * their values here, and run in a row just before the commit. Nothing is
 * lost by it: the commit is what makes a row count, and the rows are
 * written, in the order they were asked for, inside the same transaction.
 *
 * Nothing may read past them either. Any statement whose SQL names a table
 * that a waiting insert writes (messages, outbox) first runs the waiting
 * inserts (see db_stmt): an edit of a message from earlier in the same
 * transaction finds its row. The tables are found in the SQL text once, at
 * opening, so a statement added later cannot forget to say so.
 *
 * An insert that fails here fails the commit (db_commit rolls back and
 * returns -1), as a failed commit always did: the turn's work is then done
 * again from the homeserver's retry or the outbox. */
#include "store/sqlite/sqlite_db.h"

#include "common/mem.h"

#include <sqlite3.h>

#include <stdlib.h>
#include <string.h>

enum { V_NULL, V_INT, V_TEXT };

struct deferred_value {
    int type;
    int64_t i;        /* V_INT */
    size_t off, len;  /* V_TEXT: in the arena */
};

/* Rows hold at most this many values: raise it for a longer insert. */
#define MAX_VALUES 9

struct db_row {
    enum stmt_id stmt;
    int n;
    struct deferred_value v[MAX_VALUES];
};

struct sqldb_deferred {
    struct db_row *rows;
    size_t n, cap;
    /* The texts of every waiting row, one after another: one buffer that
     * grows to the largest transaction and is then reused, rather than an
     * allocation per value. */
    char *arena;
    size_t used, arena_cap;
};

/* The tables that deferrable inserts write; see db_defer. */
static const char *const deferred_tables[] = { "messages", "outbox" };

bool sqldb_sees_deferred(enum stmt_id id, const char *sql)
{
    /* The deferred inserts themselves, and the outbox's next id, which is
     * read only before any outbox row has been deferred. */
    if (id == S_MSG_PUT || id == S_OUTBOX_ADD || id == S_OUTBOX_NEXT_ID)
        return false;
    for (size_t i = 0; i < sizeof deferred_tables / sizeof *deferred_tables;
         i++)
        if (strstr(sql, deferred_tables[i]))
            return true;
    return false;
}

struct db_row *db_defer(struct db *db, enum stmt_id stmt)
{
    if (!db->deferred)
        db->deferred = xcalloc(1, sizeof *db->deferred);
    struct sqldb_deferred *d = db->deferred;
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        d->rows = xrealloc(d->rows, d->cap * sizeof *d->rows);
    }
    struct db_row *r = &d->rows[d->n++];
    r->stmt = stmt;
    r->n = 0;
    return r;
}

static struct deferred_value *next_value(struct db_row *r)
{
    if (r->n >= MAX_VALUES)
        abort(); /* a programming error: raise MAX_VALUES */
    return &r->v[r->n++];
}

void db_defer_text(struct db *db, struct db_row *r, const char *v)
{
    struct deferred_value *dv = next_value(r);
    if (!v) {
        dv->type = V_NULL;
        return;
    }
    struct sqldb_deferred *d = db->deferred;
    size_t len = strlen(v);
    if (d->used + len + 1 > d->arena_cap) {
        size_t cap = d->arena_cap ? d->arena_cap : 4096;
        while (cap < d->used + len + 1)
            cap *= 2;
        d->arena = xrealloc(d->arena, cap);
        d->arena_cap = cap;
    }
    memcpy(d->arena + d->used, v, len + 1);
    dv->type = V_TEXT;
    dv->off = d->used;
    dv->len = len;
    d->used += len + 1;
}

void db_defer_int(struct db_row *r, int64_t v)
{
    struct deferred_value *dv = next_value(r);
    dv->type = V_INT;
    dv->i = v;
}

int sqldb_settle(struct db *db)
{
    struct sqldb_deferred *d = db->deferred;
    if (!d || d->n == 0)
        return 0;
    int rc = 0;
    for (size_t k = 0; k < d->n && rc == 0; k++) {
        const struct db_row *r = &d->rows[k];
        /* The driver's own statements: db_stmt hands out the
         * sqlite3_stmt itself (statement.c). */
        sqlite3_stmt *s = (sqlite3_stmt *)db_stmt(db, r->stmt);
        for (int i = 0; i < r->n; i++) {
            const struct deferred_value *v = &r->v[i];
            if (v->type == V_INT)
                sqlite3_bind_int64(s, i + 1, v->i);
            else if (v->type == V_TEXT)
                /* The arena stays put until the loop ends. */
                sqlite3_bind_text(s, i + 1, d->arena + v->off, (int)v->len,
                                  SQLITE_STATIC);
            else
                sqlite3_bind_null(s, i + 1);
        }
        int step = sqlite3_step(s);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        if (step != SQLITE_DONE) {
            sqldb_report(db, "a deferred insert");
            rc = -1;
        }
    }
    /* After a failure the rest are dropped with the transaction. */
    d->n = 0;
    d->used = 0;
    if (rc < 0)
        db->settle_failed = true;
    return rc;
}

size_t db_deferred_count(const struct db *db)
{
    return db->deferred ? db->deferred->n : 0;
}

void sqldb_deferred_drop(struct db *db)
{
    if (db->deferred)
        db->deferred->n = db->deferred->used = 0;
    db->settle_failed = false;
}

void sqldb_deferred_free(struct db *db)
{
    if (!db->deferred)
        return;
    free(db->deferred->rows);
    free(db->deferred->arena);
    free(db->deferred);
    db->deferred = NULL;
}
