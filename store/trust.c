/* Verifications: what store/trust.h declares. */
#include "store/store_internal.h"

#include "common/mem.h"

#include <stdlib.h>

static void bind_key(struct db_stmt *s, const char *verifier,
                     const char *subject, const char *device)
{
    db_bind_text(s, 1, verifier);
    db_bind_text(s, 2, subject);
    db_bind_text(s, 3, device);
}

int store_verification_get(struct store *st, const char *verifier,
                           const char *subject, const char *device)
{
    struct db_stmt *s = db_stmt(st->db, S_VERIFY_GET);
    bind_key(s, verifier, subject, device);
    int rc = db_step(s), out = STORE_DEVICE_UNKNOWN;
    if (rc == DB_ROW)
        out = db_column_int64(s, 0) ? STORE_DEVICE_VERIFIED
                                    : STORE_DEVICE_TOLD;
    else if (rc != DB_DONE)
        out = store_report(st, "verification lookup");
    db_reset(s);
    return out;
}

int store_verification_put(struct store *st, const char *verifier,
                           const char *subject, const char *device,
                           enum store_verification state)
{
    struct db_stmt *s = db_stmt(st->db, S_VERIFY_PUT);
    bind_key(s, verifier, subject, device);
    db_bind_int(s, 4, state == STORE_DEVICE_VERIFIED);
    int rc = db_step(s) == DB_DONE ? 0 : store_report(st, "verification");
    db_reset(s);
    return rc;
}

int store_verifiers_of(struct store *st, const char *subject, char ***out)
{
    *out = NULL;
    struct db_stmt *s = db_stmt(st->db, S_VERIFIERS_OF);
    db_bind_text(s, 1, subject);
    int n = 0, cap = 0, rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 8;
            *out = xrealloc(*out, (size_t)cap * sizeof **out);
        }
        (*out)[n++] = xstrdup(db_column_text(s, 0));
    }
    if (rc != DB_DONE) {
        for (int i = 0; i < n; i++)
            free((*out)[i]);
        free(*out);
        *out = NULL;
        n = store_report(st, "verifiers");
    }
    db_reset(s);
    return n;
}
