/* Presence per person and source, who watches whose, and avatars. */
#include "store/store_internal.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ presence -- */

int store_presence_put(struct store *st, const char *person,
                       const char *source, int state, const char *status,
                       int64_t now_ms)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_PRES_PUT);
    db_bind_text(s, 1, person);
    db_bind_text(s, 2, source);
    db_bind_int(s, 3, state);
    db_bind_text(s, 4, status);
    db_bind_int64(s, 5, now_ms);
    return store_step_write(st, s, "presence put");
}

int store_presence_get(struct store *st, const char *person,
                       struct store_presence **out)
{
    struct db_stmt *s = db_stmt(st->db, S_PRES_GET);
    db_bind_text(s, 1, person);
    int n = 0, rc;
    *out = NULL;
    while ((rc = db_step(s)) == DB_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        struct store_presence *p = &(*out)[n++];
        p->source = db_column_dup(s, 0);
        p->state = db_column_int(s, 1);
        p->status = db_column_dup(s, 2);
        p->ts = db_column_int64(s, 3);
    }
    db_reset(s);
    if (rc != DB_DONE) {
        store_presence_free(*out, n);
        *out = NULL;
        return store_report(st, "presence get");
    }
    return n;
}

void store_presence_free(struct store_presence *list, int n)
{
    for (int i = 0; i < n; i++) {
        free(list[i].source);
        free(list[i].status);
    }
    free(list);
}

int store_presence_sub_put(struct store *st, const char *mxid,
                           const char *jid)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_PRES_SUB_PUT);
    db_bind_text(s, 1, mxid);
    db_bind_text(s, 2, jid);
    return store_step_write(st, s, "presence subscription put");
}

int store_presence_sub_delete(struct store *st, const char *mxid,
                              const char *jid)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_PRES_SUB_DELETE);
    db_bind_text(s, 1, mxid);
    db_bind_text(s, 2, jid);
    return store_step_write(st, s, "presence subscription delete");
}

int store_presence_watchers(struct store *st, const char *mxid, char ***out)
{
    struct db_stmt *s = db_stmt(st->db, S_PRES_WATCHERS);
    db_bind_text(s, 1, mxid);
    return store_read_strings(st, s, out, "presence watchers");
}

int store_presence_xmpp_present(struct store *st, char ***out)
{
    struct db_stmt *s = db_stmt(st->db, S_PRES_PRESENT);
    return store_read_strings(st, s, out, "present XMPP users");
}

static int read_presence_rooms(struct store *st, struct db_stmt *s,
                               struct store_presence_room **out);

int store_presence_rooms(struct store *st, const char *mxid,
                         struct store_presence_room **out)
{
    struct db_stmt *s = db_stmt(st->db, S_PRES_ROOMS);
    db_bind_text(s, 1, mxid);
    return read_presence_rooms(st, s, out);
}

int store_ghost_rooms(struct store *st, const char *ghost,
                      struct store_presence_room **out)
{
    struct db_stmt *s = db_stmt(st->db, S_GHOST_ROOMS);
    db_bind_text(s, 1, ghost);
    return read_presence_rooms(st, s, out);
}

static int read_presence_rooms(struct store *st, struct db_stmt *s,
                               struct store_presence_room **out)
{
    int n = 0, rc;
    *out = NULL;
    while ((rc = db_step(s)) == DB_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        struct store_presence_room *r = &(*out)[n++];
        r->room_id = db_column_dup(s, 0);
        r->muc_jid = db_column_dup(s, 1);
        r->nick = db_column_dup(s, 2);
        r->mode = db_column_int(s, 3);
    }
    db_reset(s);
    if (rc != DB_DONE) {
        store_presence_rooms_free(*out, n);
        *out = NULL;
        return store_report(st, "presence rooms");
    }
    return n;
}

void store_presence_rooms_free(struct store_presence_room *list, int n)
{
    for (int i = 0; i < n; i++) {
        free(list[i].room_id);
        free(list[i].muc_jid);
        free(list[i].nick);
    }
    free(list);
}

/* ------------------------------------------------------------- avatars -- */

int store_avatar_get(struct store *st, const char *mxc,
                     struct store_avatar *out)
{
    struct db_stmt *s = db_stmt(st->db, S_AVATAR_GET);
    db_bind_text(s, 1, mxc);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->mxc = db_column_dup(s, 0);
        out->sha1 = db_column_dup(s, 1);
        out->type = db_column_dup(s, 2);
        const void *data = db_column_blob(s, 3, &out->len);
        out->data = xmalloc(out->len ? out->len : 1);
        if (out->len)
            memcpy(out->data, data, out->len);
    }
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "avatar get");
}

int store_avatar_put(struct store *st, const struct store_avatar *a)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_AVATAR_PUT);
    db_bind_text(s, 1, a->mxc);
    db_bind_text(s, 2, a->sha1);
    db_bind_text(s, 3, a->type);
    db_bind_blob(s, 4, a->data, a->len);
    return store_step_write(st, s, "avatar put");
}

void store_avatar_free(struct store_avatar *a)
{
    free(a->mxc);
    free(a->sha1);
    free(a->type);
    free(a->data);
    memset(a, 0, sizeof *a);
}

int store_avatar_of_get(struct store *st, const char *who, char **mxc,
                        char **sha1)
{
    struct db_stmt *s = db_stmt(st->db, S_AVATAR_OF_GET);
    db_bind_text(s, 1, who);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *mxc = db_column_dup(s, 0);
        *sha1 = db_column_dup(s, 1);
    }
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "avatar_of get");
}

int store_avatar_of_put(struct store *st, const char *who, const char *mxc,
                        const char *sha1)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_AVATAR_OF_PUT);
    db_bind_text(s, 1, who);
    db_bind_text(s, 2, mxc);
    db_bind_text(s, 3, sha1);
    return store_step_write(st, s, "avatar_of put");
}
