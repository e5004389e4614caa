/* End-to-bridge encryption state: what store/crypto.h declares. Pickles
 * and key seeds are sealed on the way in and opened on the way out. */
#include "store/store_internal.h"

#include "common/log.h"
#include "common/mem.h"
#include "store/seal.h"

#include <stdlib.h>
#include <string.h>

/* The sealed form of a secret, or NULL (logged) when no key is set. */
static char *seal_secret(struct store *st, const char *plain)
{
    if (!st->seal) {
        log_error("store: no store key is set; encryption keys are never "
                  "kept in clear");
        return NULL;
    }
    return seal_text(st->seal, plain);
}

/* Opens column col of the current row into *out: 0, or -1 (logged). */
static int open_secret(struct store *st, struct db_stmt *s, int col,
                       char **out)
{
    const char *stored = db_column_text(s, col);
    const char *why = "no store key is set";
    if (stored && st->seal && seal_open(st->seal, stored, out, &why) == 0)
        return 0;
    log_error("store: an encryption key does not open: %s", why);
    *out = NULL;
    return -1;
}

/* ------------------------------------------------------------ devices -- */

int store_crypto_device_get(struct store *st, const char *mxid,
                            struct store_crypto_device *out)
{
    memset(out, 0, sizeof *out);
    struct db_stmt *s = db_stmt(st->db, S_XDEV_GET);
    db_bind_text(s, 1, mxid);
    int rc = db_step(s);
    int result = 0;
    if (rc == DB_ROW) {
        out->mxid = db_column_dup(s, 0);
        out->device_id = db_column_dup(s, 1);
        out->ready = db_column_int(s, 4);
        result = open_secret(st, s, 2, &out->account) == 0 &&
                         open_secret(st, s, 3, &out->cross_signing) == 0
                     ? 1
                     : -1;
    } else if (rc != DB_DONE) {
        result = store_report(st, "crypto device lookup");
    }
    db_reset(s);
    if (result != 1)
        store_crypto_device_free(out);
    return result;
}

int store_crypto_device_put(struct store *st,
                            const struct store_crypto_device *d)
{
    char *account = seal_secret(st, d->account);
    char *xsign = account ? seal_secret(st, d->cross_signing) : NULL;
    if (!xsign || store_ensure_txn(st) < 0) {
        free(account);
        free(xsign);
        return -1;
    }
    struct db_stmt *s = db_stmt(st->db, S_XDEV_PUT);
    db_bind_text(s, 1, d->mxid);
    db_bind_text(s, 2, d->device_id);
    db_bind_text(s, 3, account);
    db_bind_text(s, 4, xsign);
    db_bind_int(s, 5, d->ready);
    free(account);
    free(xsign);
    return store_step_write(st, s, "crypto device");
}

void store_crypto_device_free(struct store_crypto_device *d)
{
    free(d->mxid);
    free(d->device_id);
    free(d->account);
    free(d->cross_signing);
    memset(d, 0, sizeof *d);
}

/* ------------------------------------------------------- olm sessions -- */

int store_olm_sessions(struct store *st, const char *mxid,
                       const char *sender_key, char ***out)
{
    struct db_stmt *s = db_stmt(st->db, S_OLM_LIST);
    db_bind_text(s, 1, mxid);
    db_bind_text(s, 2, sender_key);
    char **sealed = NULL;
    int n = store_read_strings(st, s, &sealed, "olm sessions");
    if (n <= 0) {
        *out = NULL;
        return n;
    }
    *out = xcalloc((size_t)n, sizeof **out);
    int kept = 0;
    for (int i = 0; i < n; i++) {
        const char *why;
        if (st->seal && seal_open(st->seal, sealed[i], &(*out)[kept], &why) ==
                            0)
            kept++;
        else
            log_error("store: an Olm session of %s does not open", mxid);
    }
    store_strings_free(sealed, n);
    return kept;
}

int store_olm_session_put(struct store *st, const char *mxid,
                          const char *sender_key, const char *session_id,
                          const char *pickle, int64_t now_ms)
{
    char *sealed = seal_secret(st, pickle);
    if (!sealed || store_ensure_txn(st) < 0) {
        free(sealed);
        return -1;
    }
    struct db_stmt *s = db_stmt(st->db, S_OLM_PUT);
    db_bind_text(s, 1, mxid);
    db_bind_text(s, 2, sender_key);
    db_bind_text(s, 3, session_id);
    db_bind_text(s, 4, sealed);
    db_bind_int64(s, 5, now_ms);
    free(sealed);
    return store_step_write(st, s, "olm session");
}

/* ---------------------------------------------------- megolm sessions -- */

int store_megolm_in_get(struct store *st, const char *room_id,
                        const char *session_id, struct store_megolm_in *out)
{
    memset(out, 0, sizeof *out);
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_IN_GET);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, session_id);
    int rc = db_step(s);
    int result = 0;
    if (rc == DB_ROW) {
        out->room_id = db_column_dup(s, 0);
        out->session_id = db_column_dup(s, 1);
        out->sender_key = db_column_dup(s, 2);
        out->sender_ed25519 = db_column_dup(s, 3);
        result = open_secret(st, s, 4, &out->pickle) == 0 ? 1 : -1;
    } else if (rc != DB_DONE) {
        result = store_report(st, "megolm session lookup");
    }
    db_reset(s);
    if (result != 1)
        store_megolm_in_free(out);
    return result;
}

int store_megolm_in_put(struct store *st, const struct store_megolm_in *m,
                        int64_t now_ms)
{
    char *sealed = seal_secret(st, m->pickle);
    if (!sealed || store_ensure_txn(st) < 0) {
        free(sealed);
        return -1;
    }
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_IN_PUT);
    db_bind_text(s, 1, m->room_id);
    db_bind_text(s, 2, m->session_id);
    db_bind_text(s, 3, m->sender_key);
    db_bind_text(s, 4, m->sender_ed25519);
    db_bind_text(s, 5, sealed);
    db_bind_int64(s, 6, now_ms);
    free(sealed);
    return store_step_write(st, s, "megolm session");
}

void store_megolm_in_free(struct store_megolm_in *m)
{
    free(m->room_id);
    free(m->session_id);
    free(m->sender_key);
    free(m->sender_ed25519);
    free(m->pickle);
    memset(m, 0, sizeof *m);
}

int store_megolm_index_claim(struct store *st, const char *room_id,
                             const char *session_id, int64_t index,
                             const char *event_id)
{
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_INDEX_GET);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, session_id);
    db_bind_int64(s, 3, index);
    int rc = db_step(s);
    int same = rc == DB_ROW && strcmp(db_column_text(s, 0), event_id) == 0;
    db_reset(s);
    if (rc == DB_ROW)
        return same ? 1 : 0;
    if (rc != DB_DONE)
        return store_report(st, "megolm index lookup");
    if (store_ensure_txn(st) < 0)
        return -1;
    s = db_stmt(st->db, S_MEGOLM_INDEX_PUT);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, session_id);
    db_bind_int64(s, 3, index);
    db_bind_text(s, 4, event_id);
    return store_step_write(st, s, "megolm index") < 0 ? -1 : 1;
}

/* ----------------------------------------------- events waiting a key -- */

int store_megolm_wait_add(struct store *st, const char *room_id,
                          const char *session_id, const char *event,
                          int64_t now_ms)
{
    /* Ciphertext only, but sealed like every stored event: what it says
     * of who wrote when is no one else's business either. */
    char *sealed = seal_secret(st, event);
    if (!sealed || store_ensure_txn(st) < 0) {
        free(sealed);
        return -1;
    }
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_WAIT_ADD);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, session_id);
    db_bind_text(s, 3, sealed);
    db_bind_int64(s, 4, now_ms);
    free(sealed);
    return store_step_write(st, s, "waiting event");
}

int store_megolm_waiting(struct store *st, const char *room_id,
                         const char *session_id, int64_t before_ms,
                         int limit, struct store_megolm_wait **out)
{
    struct db_stmt *s;
    if (session_id) {
        s = db_stmt(st->db, S_MEGOLM_WAIT_SESSION);
        db_bind_text(s, 1, room_id);
        db_bind_text(s, 2, session_id);
        db_bind_int(s, 3, limit);
    } else {
        s = db_stmt(st->db, S_MEGOLM_WAIT_OLD);
        db_bind_int64(s, 1, before_ms);
        db_bind_int(s, 2, limit);
    }
    *out = NULL;
    int n = 0, rc;
    while ((rc = db_step(s)) == DB_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        struct store_megolm_wait *w = &(*out)[n];
        w->seq = db_column_int64(s, 0);
        w->room_id = db_column_dup(s, 1);
        w->session_id = db_column_dup(s, 2);
        w->received_ts = db_column_int64(s, 4);
        if (open_secret(st, s, 3, &w->event) < 0)
            w->event = xstrdup(""); /* read as malformed, then dropped */
        n++;
    }
    db_reset(s);
    if (rc != DB_DONE) {
        store_megolm_waits_free(*out, n);
        *out = NULL;
        return store_report(st, "waiting events");
    }
    return n;
}

void store_megolm_waits_free(struct store_megolm_wait *w, int n)
{
    for (int i = 0; i < n; i++) {
        free(w[i].room_id);
        free(w[i].session_id);
        free(w[i].event);
    }
    free(w);
}

int store_megolm_wait_done(struct store *st, int64_t seq)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_WAIT_DONE);
    db_bind_int64(s, 1, seq);
    return store_step_write(st, s, "waiting event done");
}

int store_megolm_wait_count(struct store *st)
{
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_WAIT_COUNT);
    int rc = db_step(s);
    int n = rc == DB_ROW ? db_column_int(s, 0) : -1;
    db_reset(s);
    return n < 0 ? store_report(st, "waiting event count") : n;
}
