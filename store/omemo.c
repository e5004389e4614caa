/* OMEMO records: what store/omemo.h declares. A record is base64 text
 * sealed like every other key in the store. */
#include "store/store_internal.h"

#include "common/log.h"
#include "common/mem.h"
#include "store/seal.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void bind_key(struct db_stmt *s, const char *owner, int kind,
                     const char *name, uint32_t id)
{
    db_bind_text(s, 1, owner);
    db_bind_int(s, 2, kind);
    db_bind_text(s, 3, name);
    db_bind_int64(s, 4, id);
}

int store_omemo_get(struct store *st, const char *owner, int kind,
                    const char *name, uint32_t id, uint8_t **data,
                    size_t *len)
{
    *data = NULL;
    *len = 0;
    struct db_stmt *s = db_stmt(st->db, S_OMEMO_GET);
    bind_key(s, owner, kind, name, id);
    int rc = db_step(s), result = 0;
    if (rc == DB_ROW) {
        char *b64 = NULL;
        const char *why = "no store key is set";
        const char *stored = db_column_text(s, 0);
        result = -1;
        if (stored && st->seal && seal_open(st->seal, stored, &b64, &why) == 0) {
            size_t n = strlen(b64), got = 0;
            uint8_t *bin = xmalloc(n / 4 * 3 + 3);
            if (sodium_base642bin(bin, n / 4 * 3 + 3, b64, n, NULL, &got, NULL,
                                  sodium_base64_VARIANT_ORIGINAL) == 0) {
                *data = bin;
                *len = got;
                result = 1;
            } else {
                free(bin);
                why = "it is not base64";
            }
            sodium_memzero(b64, n);
            free(b64);
        }
        if (result < 0)
            log_error("store: an OMEMO record does not open: %s", why);
    } else if (rc != DB_DONE) {
        result = store_report(st, "OMEMO record lookup");
    }
    db_reset(s);
    return result;
}

int store_omemo_put(struct store *st, const char *owner, int kind,
                    const char *name, uint32_t id, const uint8_t *data,
                    size_t len)
{
    if (!st->seal) {
        log_error("store: no store key is set; encryption keys are never "
                  "kept in clear");
        return -1;
    }
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = xmalloc(n);
    sodium_bin2base64(b64, n, data, len, sodium_base64_VARIANT_ORIGINAL);
    char *sealed = seal_text(st->seal, b64);
    sodium_memzero(b64, n);
    free(b64);
    struct db_stmt *s = db_stmt(st->db, S_OMEMO_PUT);
    bind_key(s, owner, kind, name, id);
    db_bind_text(s, 5, sealed);
    int rc = db_step(s) == DB_DONE ? 0 : store_report(st, "OMEMO record");
    db_reset(s);
    free(sealed);
    return rc;
}

int store_omemo_del(struct store *st, const char *owner, int kind,
                    const char *name, uint32_t id)
{
    struct db_stmt *s = db_stmt(st->db, S_OMEMO_DEL);
    bind_key(s, owner, kind, name, id);
    int rc = db_step(s) == DB_DONE ? 0 : store_report(st, "OMEMO delete");
    db_reset(s);
    return rc;
}

int store_omemo_ids(struct store *st, const char *owner, int kind,
                    const char *name, uint32_t **ids)
{
    *ids = NULL;
    struct db_stmt *s = db_stmt(st->db, S_OMEMO_IDS);
    db_bind_text(s, 1, owner);
    db_bind_int(s, 2, kind);
    db_bind_text(s, 3, name);
    int n = 0, cap = 0, rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            *ids = xrealloc(*ids, (size_t)cap * sizeof **ids);
        }
        (*ids)[n++] = (uint32_t)db_column_int64(s, 0);
    }
    if (rc != DB_DONE) {
        free(*ids);
        *ids = NULL;
        n = store_report(st, "OMEMO ids");
    }
    db_reset(s);
    return n;
}
