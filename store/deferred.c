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
 * inserts (see store_stmt): an edit of a message from earlier in the same
 * transaction finds its row. The tables are found in the SQL text once, at
 * opening, so a statement added later cannot forget to say so.
 *
 * An insert that fails here fails the commit (store_flush rolls back and
 * returns -1), as a failed commit always did: the turn's work is then done
 * again from the homeserver's retry or the outbox. */
#include "store/store_internal.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

enum { V_NULL, V_INT, V_TEXT };

struct deferred_value {
    int type;
    int64_t i;        /* V_INT */
    size_t off, len;  /* V_TEXT: in the arena */
};

struct deferred_row {
    enum stmt_id stmt;
    int n;
    struct deferred_value v[STORE_DEFER_MAX_VALUES];
};

struct store_deferred {
    struct deferred_row *rows;
    size_t n, cap;
    /* The texts of every waiting row, one after another: one buffer that
     * grows to the largest transaction and is then reused, rather than an
     * allocation per value. */
    char *arena;
    size_t used, arena_cap;
};

/* The tables that deferrable inserts write; see store_defer_begin. */
static const char *const deferred_tables[] = { "messages", "outbox" };

bool store_stmt_sees_deferred(enum stmt_id id, const char *sql)
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

struct deferred_row *store_defer_begin(struct store *st, enum stmt_id stmt)
{
    if (!st->deferred)
        st->deferred = xcalloc(1, sizeof *st->deferred);
    struct store_deferred *d = st->deferred;
    if (d->n == d->cap) {
        d->cap = d->cap ? 2 * d->cap : 64;
        d->rows = xrealloc(d->rows, d->cap * sizeof *d->rows);
    }
    struct deferred_row *r = &d->rows[d->n++];
    r->stmt = stmt;
    r->n = 0;
    st->writes++;
    return r;
}

static struct deferred_value *next_value(struct deferred_row *r)
{
    if (r->n >= STORE_DEFER_MAX_VALUES)
        abort(); /* a programming error: raise STORE_DEFER_MAX_VALUES */
    return &r->v[r->n++];
}

void store_defer_text(struct store *st, struct deferred_row *r, const char *v)
{
    struct deferred_value *dv = next_value(r);
    if (!v) {
        dv->type = V_NULL;
        return;
    }
    struct store_deferred *d = st->deferred;
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

void store_defer_int(struct deferred_row *r, int64_t v)
{
    struct deferred_value *dv = next_value(r);
    dv->type = V_INT;
    dv->i = v;
}

int store_settle(struct store *st)
{
    struct store_deferred *d = st->deferred;
    if (!d || d->n == 0)
        return 0;
    int rc = 0;
    for (size_t k = 0; k < d->n && rc == 0; k++) {
        const struct deferred_row *r = &d->rows[k];
        sqlite3_stmt *s = store_stmt(st, r->stmt);
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
            store_report(st, "a deferred insert");
            rc = -1;
        }
    }
    /* After a failure the rest are dropped with the transaction. */
    d->n = 0;
    d->used = 0;
    if (rc < 0)
        st->settle_failed = true;
    return rc;
}

size_t store_deferred_count(const struct store *st)
{
    return st->deferred ? st->deferred->n : 0;
}

void store_deferred_free(struct store *st)
{
    if (!st->deferred)
        return;
    free(st->deferred->rows);
    free(st->deferred->arena);
    free(st->deferred);
    st->deferred = NULL;
}
