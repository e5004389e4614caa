/* The store's state for sending encrypted events (store/crypto.h, its
 * "sending" part): rooms' encryption, other users' devices, and the
 * ghosts' outbound Megolm sessions with whom each was shared. */
#include "store/store_internal.h"

#include "common/log.h"
#include "common/mem.h"
#include "store/seal.h"

#include <stdlib.h>
#include <string.h>

int store_room_encryption_get(struct store *st, const char *room_id,
                              struct store_room_encryption *out)
{
    memset(out, 0, sizeof *out);
    struct db_stmt *s = db_stmt(st->db, S_ROOM_ENC_GET);
    db_bind_text(s, 1, room_id);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->algorithm = db_column_dup(s, 0);
        out->rotation_ms = db_column_int64(s, 1);
        out->rotation_msgs = db_column_int64(s, 2);
    }
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "room encryption");
}

int store_room_encryption_put(struct store *st, const char *room_id,
                              const struct store_room_encryption *e)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_ROOM_ENC_PUT);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, e->algorithm);
    db_bind_int64(s, 3, e->rotation_ms);
    db_bind_int64(s, 4, e->rotation_msgs);
    return store_step_write(st, s, "room encryption");
}

int store_device_list_current(struct store *st, const char *user_id)
{
    struct db_stmt *s = db_stmt(st->db, S_DEVLIST_GET);
    db_bind_text(s, 1, user_id);
    int rc = db_step(s);
    int stale = rc == DB_ROW ? db_column_int(s, 0) : 1;
    db_reset(s);
    if (rc == DB_ERROR)
        return store_report(st, "device list");
    return stale ? 0 : 1;
}

int store_device_list_stale(struct store *st, const char *user_id)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_DEVLIST_STALE);
    db_bind_text(s, 1, user_id);
    return store_step_write(st, s, "device list stale");
}

int store_device_keys_set(struct store *st, const char *user_id,
                          const struct store_device_key *keys, int n)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_DEVKEYS_CLEAR);
    db_bind_text(s, 1, user_id);
    if (store_step_write(st, s, "device keys clear") < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        s = db_stmt(st->db, S_DEVKEYS_ADD);
        db_bind_text(s, 1, user_id);
        db_bind_text(s, 2, keys[i].device_id);
        db_bind_text(s, 3, keys[i].curve25519);
        db_bind_text(s, 4, keys[i].ed25519);
        if (store_step_write(st, s, "device key") < 0)
            return -1;
    }
    s = db_stmt(st->db, S_DEVLIST_PUT);
    db_bind_text(s, 1, user_id);
    return store_step_write(st, s, "device list");
}

int store_device_keys_of(struct store *st, const char *user_id,
                         struct store_device_key **out)
{
    struct db_stmt *s = db_stmt(st->db, S_DEVKEYS_OF);
    db_bind_text(s, 1, user_id);
    *out = NULL;
    int n = 0, rc;
    while ((rc = db_step(s)) == DB_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        (*out)[n].user_id = db_column_dup(s, 0);
        (*out)[n].device_id = db_column_dup(s, 1);
        (*out)[n].curve25519 = db_column_dup(s, 2);
        (*out)[n].ed25519 = db_column_dup(s, 3);
        n++;
    }
    db_reset(s);
    if (rc != DB_DONE) {
        store_device_keys_free(*out, n);
        *out = NULL;
        return store_report(st, "device keys");
    }
    return n;
}

void store_device_keys_free(struct store_device_key *keys, int n)
{
    for (int i = 0; i < n; i++) {
        free(keys[i].user_id);
        free(keys[i].device_id);
        free(keys[i].curve25519);
        free(keys[i].ed25519);
    }
    free(keys);
}

int store_megolm_out_get(struct store *st, const char *room_id,
                         const char *mxid, struct store_megolm_out *out)
{
    memset(out, 0, sizeof *out);
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_OUT_GET);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, mxid);
    int rc = db_step(s);
    int result = rc == DB_DONE ? 0 : -1;
    if (rc == DB_ROW) {
        out->session_id = db_column_dup(s, 0);
        out->created_ts = db_column_int64(s, 2);
        out->messages = db_column_int64(s, 3);
        const char *why = "no store key is set";
        const char *stored = db_column_text(s, 1);
        result = st->seal && stored &&
                         seal_open(st->seal, stored, &out->pickle, &why) == 0
                     ? 1
                     : -1;
        if (result < 0)
            log_error("store: an outbound Megolm session does not open: %s",
                      why);
    } else if (rc != DB_DONE) {
        store_report(st, "outbound megolm session");
    }
    db_reset(s);
    if (result != 1)
        store_megolm_out_free(out);
    return result;
}

int store_megolm_out_put(struct store *st, const char *room_id,
                         const char *mxid, const struct store_megolm_out *m)
{
    if (!st->seal) {
        log_error("store: no store key is set; encryption keys are never "
                  "kept in clear");
        return -1;
    }
    if (store_ensure_txn(st) < 0)
        return -1;
    char *sealed = seal_text(st->seal, m->pickle);
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_OUT_PUT);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, mxid);
    db_bind_text(s, 3, m->session_id);
    db_bind_text(s, 4, sealed);
    db_bind_int64(s, 5, m->created_ts);
    db_bind_int64(s, 6, m->messages);
    free(sealed);
    return store_step_write(st, s, "outbound megolm session");
}

int store_megolm_out_advance(struct store *st, const char *room_id,
                             const char *mxid, const char *session_id,
                             const char *pickle, int64_t messages)
{
    if (!st->seal || store_ensure_txn(st) < 0)
        return -1;
    char *sealed = seal_text(st->seal, pickle);
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_OUT_ADVANCE);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, mxid);
    db_bind_text(s, 3, session_id);
    db_bind_text(s, 4, sealed);
    db_bind_int64(s, 5, messages);
    free(sealed);
    return store_step_write(st, s, "outbound megolm advance");
}

void store_megolm_out_free(struct store_megolm_out *m)
{
    free(m->session_id);
    free(m->pickle);
    memset(m, 0, sizeof *m);
}

int store_megolm_out_drop_room(struct store *st, const char *room_id)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_OUT_DROP_ROOM);
    db_bind_text(s, 1, room_id);
    return store_step_write(st, s, "outbound megolm drop");
}

int store_megolm_shared_list(struct store *st, const char *session_id,
                             char ***out)
{
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_SHARED_LIST);
    db_bind_text(s, 1, session_id);
    return store_read_strings(st, s, out, "megolm shared");
}

int store_megolm_shared_add(struct store *st, const char *session_id,
                            const char *user_id, const char *device_id,
                            int64_t first_index)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_SHARED_ADD);
    db_bind_text(s, 1, session_id);
    db_bind_text(s, 2, user_id);
    db_bind_text(s, 3, device_id);
    db_bind_int64(s, 4, first_index);
    return store_step_write(st, s, "megolm shared");
}

int store_megolm_shared_index(struct store *st, const char *session_id,
                              const char *user_id, const char *device_id,
                              int64_t *first_index)
{
    struct db_stmt *s = db_stmt(st->db, S_MEGOLM_SHARED_INDEX);
    db_bind_text(s, 1, session_id);
    db_bind_text(s, 2, user_id);
    db_bind_text(s, 3, device_id);
    int rc = db_step(s);
    if (rc == DB_ROW)
        *first_index = db_column_int64(s, 0);
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "megolm shared index");
}
