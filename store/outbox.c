/* The outbox: work written before it is done, in ordered queues, so that a
 * crash or an outage delays it and loses nothing. */
#include "store/store_internal.h"

#include "common/log.h"
#include "common/mem.h"
#include "store/seal.h"

#include <stdlib.h>
#include <string.h>

_Static_assert(STORE_KEY_BYTES == SEAL_KEY_BYTES, "one key size");

/* ----------------------------------------------------------- outbox -- */

/* The store gives outbox ids itself, so that a row can wait for the commit
 * (db_defer) while its id is already in use: a stanza's for its
 * confirmation, a request's as its transaction id. They only grow, even
 * past a rolled-back transaction, whose ids may already have been sent. */
static int64_t take_outbox_id(struct store *st)
{
    if (st->next_outbox_id == 0) {
        struct db_stmt *s = db_stmt(st->db, S_OUTBOX_NEXT_ID);
        if (db_step(s) == DB_ROW)
            st->next_outbox_id = db_column_int64(s, 0);
        db_reset(s);
        if (st->next_outbox_id <= 0) {
            st->next_outbox_id = 0;
            return store_report(st, "outbox next id");
        }
    }
    return st->next_outbox_id++;
}

void store_set_seal_key(struct store *st,
                        const unsigned char key[STORE_KEY_BYTES])
{
    seal_free(st->seal);
    st->seal = seal_new(key);
}

int64_t store_outbox_add(struct store *st, const char *queue, int kind,
                         const char *payload, int64_t now_ms)
{
    if (!st->seal) {
        log_error("store: no store key is set; the outbox takes no message "
                  "text in clear");
        return -1;
    }
    /* New work never waits, even where finished work may: an XMPP
     * message is lost if the gateway dies before its row is committed. */
    if (db_will_write(st->db, DB_DURABLE_NOW) < 0)
        return -1;
    int64_t id = take_outbox_id(st);
    if (id < 0)
        return -1;
    struct db_row *r = store_defer_begin(st, S_OUTBOX_ADD);
    db_defer_int(r, id);
    db_defer_text(st->db, r, queue);
    db_defer_int(r, kind);
    char *sealed = seal_text(st->seal, payload);
    db_defer_text(st->db, r, sealed);
    free(sealed);
    db_defer_int(r, now_ms);
    return id;
}

/* An item whose payload does not open (the key_file was replaced) gets an
 * empty payload, which its queue drops as malformed, with this error. */
static void open_payload(const struct store *st, int64_t id,
                         const char *stored, char **out)
{
    const char *why = NULL;
    if (!stored || !st->seal || seal_open(st->seal, stored, out, &why) < 0) {
        log_error("store: outbox item %lld cannot be read: %s", (long long)id,
                  why ? why : "no store key is set");
        *out = xstrdup("");
    }
}

static void read_item(const struct store *st, struct db_stmt *s,
                      struct store_outbox_item *out)
{
    out->id = db_column_int64(s, 0);
    out->queue = db_column_dup(s, 1);
    out->kind = db_column_int(s, 2);
    char *stored = db_column_dup(s, 3);
    open_payload(st, out->id, stored, &out->payload);
    free(stored);
    out->created_ts = db_column_int64(s, 4);
    out->attempts = db_column_int(s, 5);
}

int store_outbox_head(struct store *st, const char *queue,
                      struct store_outbox_item *out)
{
    struct db_stmt *s = db_stmt(st->db, S_OUTBOX_HEAD);
    db_bind_text(s, 1, queue);
    int rc = db_step(s);
    if (rc == DB_ROW)
        read_item(st, s, out);
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "outbox head");
}

int store_outbox_scan(struct store *st, int kind, int64_t after_id, int limit,
                      void (*fn)(const struct store_outbox_item *, void *),
                      void *ud)
{
    /* Collect first: fn may write to the store, which would disturb a
     * statement that is still stepping. */
    struct db_stmt *s = db_stmt(st->db, S_OUTBOX_SCAN);
    db_bind_int(s, 1, kind);
    db_bind_int64(s, 2, after_id);
    db_bind_int(s, 3, limit);
    struct store_outbox_item *items = NULL;
    int n = 0, rc;
    while ((rc = db_step(s)) == DB_ROW) {
        items = xrealloc(items, (size_t)(n + 1) * sizeof *items);
        read_item(st, s, &items[n++]);
    }
    db_reset(s);
    if (rc != DB_DONE) {
        for (int i = 0; i < n; i++)
            store_outbox_item_free(&items[i]);
        free(items);
        return store_report(st, "outbox scan");
    }
    for (int i = 0; i < n; i++) {
        fn(&items[i], ud);
        store_outbox_item_free(&items[i]);
    }
    free(items);
    return n;
}

int store_outbox_delete(struct store *st, int64_t id)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_OUTBOX_DELETE);
    db_bind_int64(s, 1, id);
    return store_step_write(st, s, "outbox delete");
}

int store_outbox_delete_range(struct store *st, int kind, int64_t first_id,
                              int64_t last_id)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_OUTBOX_DELETE_RANGE);
    db_bind_int(s, 1, kind);
    db_bind_int64(s, 2, first_id);
    db_bind_int64(s, 3, last_id);
    return store_step_write(st, s, "outbox delete range");
}

int store_outbox_count(struct store *st)
{
    struct db_stmt *s = db_stmt(st->db, S_OUTBOX_COUNT);
    int n = -1;
    if (db_step(s) == DB_ROW)
        n = db_column_int(s, 0);
    db_reset(s);
    return n;
}


void store_outbox_item_free(struct store_outbox_item *it)
{
    free(it->queue);
    free(it->payload);
    memset(it, 0, sizeof *it);
}
