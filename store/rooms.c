/* Rooms: which Matrix room is which conversation or MUC, and the portals'
 * state (subjects, the XMPP users sitting in them). */
#include "store/store_internal.h"

#include "common/mem.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ rooms -- */

static int read_room(struct store *st, sqlite3_stmt *s, struct store_room *out,
                     const char *what)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->room_id = store_dup_col(s, 0);
        out->mode = sqlite3_column_int(s, 1);
        out->xmpp_jid = store_dup_col(s, 2);
        out->matrix_user = store_dup_col(s, 3);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : store_report(st, what);
}

int store_room_get(struct store *st, const char *room_id,
                   struct store_room *out)
{
    sqlite3_stmt *s = store_stmt(st, S_ROOM_GET);
    store_bind_text(s, 1, room_id);
    return read_room(st, s, out, "room lookup");
}

int store_room_find_dm(struct store *st, const char *xmpp_jid,
                       const char *matrix_user, struct store_room *out)
{
    sqlite3_stmt *s = store_stmt(st, S_ROOM_FIND_DM);
    store_bind_text(s, 1, xmpp_jid);
    store_bind_text(s, 2, matrix_user);
    return read_room(st, s, out, "DM lookup");
}

int store_room_put(struct store *st, const struct store_room *r,
                   int64_t now_ms)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = store_stmt(st, S_ROOM_PUT);
    store_bind_text(s, 1, r->room_id);
    sqlite3_bind_int(s, 2, r->mode);
    store_bind_text(s, 3, r->xmpp_jid);
    store_bind_text(s, 4, r->matrix_user);
    sqlite3_bind_int64(s, 5, now_ms);
    return store_step_write(st, s, "room put");
}

int store_room_delete(struct store *st, const char *room_id)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = store_stmt(st, S_ROOM_DELETE);
    store_bind_text(s, 1, room_id);
    return store_step_write(st, s, "room delete");
}

void store_room_free(struct store_room *r)
{
    free(r->room_id);
    free(r->xmpp_jid);
    free(r->matrix_user);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ portals -- */

int store_room_find_portal(struct store *st, const char *muc_jid,
                           struct store_room *out)
{
    sqlite3_stmt *s = store_stmt(st, S_ROOM_FIND_PORTAL);
    store_bind_text(s, 1, muc_jid);
    return read_room(st, s, out, "portal lookup");
}

int store_room_subject_get(struct store *st, const char *room_id,
                           char **subject)
{
    sqlite3_stmt *s = store_stmt(st, S_ROOM_SUBJECT_GET);
    store_bind_text(s, 1, room_id);
    int rc = sqlite3_step(s);
    *subject = rc == SQLITE_ROW ? store_dup_col(s, 0) : NULL;
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : store_report(st, "subject lookup");
}

int store_room_subject_set(struct store *st, const char *room_id,
                           const char *subject)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = store_stmt(st, S_ROOM_SUBJECT_SET);
    store_bind_text(s, 1, room_id);
    store_bind_text(s, 2, subject);
    return store_step_write(st, s, "subject update");
}

int store_room_last_ts(struct store *st, const char *room_id, int64_t *ts)
{
    sqlite3_stmt *s = store_stmt(st, S_ROOM_LAST_TS);
    store_bind_text(s, 1, room_id);
    int rc = sqlite3_step(s), found = 0;
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *ts = sqlite3_column_int64(s, 0);
        found = 1;
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? found
                                                 : store_report(st, "last message");
}

int store_portal_user_put(struct store *st, const struct store_portal_user *u)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = store_stmt(st, S_PU_PUT);
    store_bind_text(s, 1, u->room_id);
    store_bind_text(s, 2, u->mxid);
    store_bind_text(s, 3, u->muc_jid);
    store_bind_text(s, 4, u->nick);
    sqlite3_bind_int(s, 5, u->attempt);
    sqlite3_bind_int(s, 6, u->joined);
    store_bind_text(s, 7, u->base_nick);
    return store_step_write(st, s, "portal user put");
}

static void read_portal_user(sqlite3_stmt *s, struct store_portal_user *u)
{
    u->room_id = store_dup_col(s, 0);
    u->mxid = store_dup_col(s, 1);
    u->muc_jid = store_dup_col(s, 2);
    u->nick = store_dup_col(s, 3);
    u->attempt = sqlite3_column_int(s, 4);
    u->joined = sqlite3_column_int(s, 5);
    u->base_nick = store_dup_col(s, 6);
}

static int read_one_portal_user(struct store *st, sqlite3_stmt *s,
                                struct store_portal_user *out)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        read_portal_user(s, out);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : store_report(st, "portal user lookup");
}

int store_portal_user_get(struct store *st, const char *muc_jid,
                          const char *mxid, struct store_portal_user *out)
{
    sqlite3_stmt *s = store_stmt(st, S_PU_GET);
    store_bind_text(s, 1, muc_jid);
    store_bind_text(s, 2, mxid);
    return read_one_portal_user(st, s, out);
}

int store_portal_user_by_nick(struct store *st, const char *muc_jid,
                              const char *nick, struct store_portal_user *out)
{
    sqlite3_stmt *s = store_stmt(st, S_PU_BY_NICK);
    store_bind_text(s, 1, muc_jid);
    store_bind_text(s, 2, nick);
    return read_one_portal_user(st, s, out);
}

int store_portal_user_delete(struct store *st, const char *room_id,
                             const char *mxid)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    sqlite3_stmt *s = store_stmt(st, S_PU_DELETE);
    store_bind_text(s, 1, room_id);
    store_bind_text(s, 2, mxid);
    return store_step_write(st, s, "portal user delete");
}

int store_portal_users_all(struct store *st, struct store_portal_user **out)
{
    sqlite3_stmt *s = store_stmt(st, S_PU_ALL);
    int n = 0, rc;
    *out = NULL;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        read_portal_user(s, &(*out)[n++]);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? n : store_report(st, "portal user list");
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
