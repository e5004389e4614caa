/* Rooms: which Matrix room is which conversation or MUC, and the portals'
 * state (subjects, the XMPP users sitting in them). */
#include "store/store_internal.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ rooms -- */

static int read_room(struct store *st, struct db_stmt *s, struct store_room *out,
                     const char *what)
{
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->room_id = db_column_dup(s, 0);
        out->mode = db_column_int(s, 1);
        out->xmpp_jid = db_column_dup(s, 2);
        out->matrix_user = db_column_dup(s, 3);
    }
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, what);
}

int store_room_get(struct store *st, const char *room_id,
                   struct store_room *out)
{
    struct db_stmt *s = db_stmt(st->db, S_ROOM_GET);
    db_bind_text(s, 1, room_id);
    return read_room(st, s, out, "room lookup");
}

int store_room_find_dm(struct store *st, const char *xmpp_jid,
                       const char *matrix_user, struct store_room *out)
{
    struct db_stmt *s = db_stmt(st->db, S_ROOM_FIND_DM);
    db_bind_text(s, 1, xmpp_jid);
    db_bind_text(s, 2, matrix_user);
    return read_room(st, s, out, "DM lookup");
}

int store_room_put(struct store *st, const struct store_room *r,
                   int64_t now_ms)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_ROOM_PUT);
    db_bind_text(s, 1, r->room_id);
    db_bind_int(s, 2, r->mode);
    db_bind_text(s, 3, r->xmpp_jid);
    db_bind_text(s, 4, r->matrix_user);
    db_bind_int64(s, 5, now_ms);
    return store_step_write(st, s, "room put");
}

int store_room_delete(struct store *st, const char *room_id)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_ROOM_DELETE);
    db_bind_text(s, 1, room_id);
    return store_step_write(st, s, "room delete");
}

void store_room_free(struct store_room *r)
{
    free(r->room_id);
    free(r->xmpp_jid);
    free(r->matrix_user);
    memset(r, 0, sizeof *r);
}

int store_room_dms_of(struct store *st, const char *who,
                      struct store_room **out)
{
    struct db_stmt *s = db_stmt(st->db, S_ROOM_DMS_OF);
    db_bind_text(s, 1, who);
    int n = 0, rc;
    *out = NULL;
    while ((rc = db_step(s)) == DB_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        struct store_room *r = &(*out)[n++];
        r->room_id = db_column_dup(s, 0);
        r->mode = db_column_int(s, 1);
        r->xmpp_jid = db_column_dup(s, 2);
        r->matrix_user = db_column_dup(s, 3);
    }
    db_reset(s);
    if (rc != DB_DONE) {
        store_rooms_free(*out, n);
        *out = NULL;
        return store_report(st, "DMs of a user");
    }
    return n;
}

void store_rooms_free(struct store_room *list, int n)
{
    for (int i = 0; i < n; i++)
        store_room_free(&list[i]);
    free(list);
}

/* ------------------------------------------------------------ portals -- */

int store_room_find_portal(struct store *st, const char *muc_jid,
                           struct store_room *out)
{
    struct db_stmt *s = db_stmt(st->db, S_ROOM_FIND_PORTAL);
    db_bind_text(s, 1, muc_jid);
    return read_room(st, s, out, "portal lookup");
}

int store_room_subject_get(struct store *st, const char *room_id,
                           char **subject)
{
    struct db_stmt *s = db_stmt(st->db, S_ROOM_SUBJECT_GET);
    db_bind_text(s, 1, room_id);
    int rc = db_step(s);
    *subject = rc == DB_ROW ? db_column_dup(s, 0) : NULL;
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "subject lookup");
}

int store_room_subject_set(struct store *st, const char *room_id,
                           const char *subject)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_ROOM_SUBJECT_SET);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, subject);
    return store_step_write(st, s, "subject update");
}

int store_room_last_ts(struct store *st, const char *room_id, int64_t *ts)
{
    struct db_stmt *s = db_stmt(st->db, S_ROOM_LAST_TS);
    db_bind_text(s, 1, room_id);
    int rc = db_step(s), found = 0;
    if (rc == DB_ROW && !db_column_is_null(s, 0)) {
        *ts = db_column_int64(s, 0);
        found = 1;
    }
    db_reset(s);
    return rc == DB_ROW || rc == DB_DONE ? found
                                                 : store_report(st, "last message");
}

int store_portal_user_put(struct store *st, const struct store_portal_user *u)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_PU_PUT);
    db_bind_text(s, 1, u->room_id);
    db_bind_text(s, 2, u->mxid);
    db_bind_text(s, 3, u->muc_jid);
    db_bind_text(s, 4, u->nick);
    db_bind_int(s, 5, u->attempt);
    db_bind_int(s, 6, u->joined);
    db_bind_text(s, 7, u->base_nick);
    return store_step_write(st, s, "portal user put");
}

static void read_portal_user(struct db_stmt *s, struct store_portal_user *u)
{
    u->room_id = db_column_dup(s, 0);
    u->mxid = db_column_dup(s, 1);
    u->muc_jid = db_column_dup(s, 2);
    u->nick = db_column_dup(s, 3);
    u->attempt = db_column_int(s, 4);
    u->joined = db_column_int(s, 5);
    u->base_nick = db_column_dup(s, 6);
}

static int read_one_portal_user(struct store *st, struct db_stmt *s,
                                struct store_portal_user *out)
{
    int rc = db_step(s);
    if (rc == DB_ROW)
        read_portal_user(s, out);
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "portal user lookup");
}

int store_portal_user_get(struct store *st, const char *muc_jid,
                          const char *mxid, struct store_portal_user *out)
{
    struct db_stmt *s = db_stmt(st->db, S_PU_GET);
    db_bind_text(s, 1, muc_jid);
    db_bind_text(s, 2, mxid);
    return read_one_portal_user(st, s, out);
}

int store_portal_user_by_nick(struct store *st, const char *muc_jid,
                              const char *nick, struct store_portal_user *out)
{
    struct db_stmt *s = db_stmt(st->db, S_PU_BY_NICK);
    db_bind_text(s, 1, muc_jid);
    db_bind_text(s, 2, nick);
    return read_one_portal_user(st, s, out);
}

int store_portal_user_delete(struct store *st, const char *room_id,
                             const char *mxid)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_PU_DELETE);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, mxid);
    return store_step_write(st, s, "portal user delete");
}

int store_portal_users_all(struct store *st, struct store_portal_user **out)
{
    struct db_stmt *s = db_stmt(st->db, S_PU_ALL);
    int n = 0, rc;
    *out = NULL;
    while ((rc = db_step(s)) == DB_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        read_portal_user(s, &(*out)[n++]);
    }
    db_reset(s);
    return rc == DB_DONE ? n : store_report(st, "portal user list");
}

void store_portal_user_free(struct store_portal_user *u)
{
    free(u->room_id);
    free(u->mxid);
    free(u->muc_jid);
    free(u->nick);
    free(u->base_nick);
    memset(u, 0, sizeof *u);
}

void store_portal_users_free(struct store_portal_user *list, int n)
{
    for (int i = 0; i < n; i++)
        store_portal_user_free(&list[i]);
    free(list);
}
