/* Who is who and where: the gateway's ghosts, the occupants of MUCs and
 * the members of Matrix rooms. */
#include "store/store_internal.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- ghosts -- */

int store_ghost_get(struct store *st, const char *mxid, struct store_ghost *out)
{
    struct db_stmt *s = db_stmt(st->db, S_GHOST_GET);
    db_bind_text(s, 1, mxid);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->mxid = db_column_dup(s, 0);
        out->jid = db_column_dup(s, 1);
        out->displayname = db_column_dup(s, 2);
        out->registered = db_column_int(s, 3);
    }
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "ghost lookup");
}

int store_ghost_put(struct store *st, const struct store_ghost *g)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_GHOST_PUT);
    db_bind_text(s, 1, g->mxid);
    db_bind_text(s, 2, g->jid);
    db_bind_text(s, 3, g->displayname);
    db_bind_int(s, 4, g->registered);
    return store_step_write(st, s, "ghost put");
}

void store_ghost_free(struct store_ghost *g)
{
    free(g->mxid);
    free(g->jid);
    free(g->displayname);
    memset(g, 0, sizeof *g);
}

/* -------------------------------------------------------- occupants -- */

int store_occupant_put(struct store *st, const struct store_occupant *o)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_OCC_PUT);
    db_bind_text(s, 1, o->occupant_jid);
    db_bind_text(s, 2, o->muc_jid);
    db_bind_text(s, 3, o->room_id);
    db_bind_text(s, 4, o->nick);
    db_bind_text(s, 5, o->ghost);
    return store_step_write(st, s, "occupant put");
}

static void read_occupant(struct db_stmt *s, struct store_occupant *o)
{
    o->occupant_jid = db_column_dup(s, 0);
    o->muc_jid = db_column_dup(s, 1);
    o->room_id = db_column_dup(s, 2);
    o->nick = db_column_dup(s, 3);
    o->ghost = db_column_dup(s, 4);
}

int store_occupant_get(struct store *st, const char *occupant_jid,
                       const char *muc_jid, struct store_occupant *out)
{
    struct db_stmt *s = db_stmt(st->db, S_OCC_GET);
    db_bind_text(s, 1, occupant_jid);
    db_bind_text(s, 2, muc_jid);
    int rc = db_step(s);
    if (rc == DB_ROW)
        read_occupant(s, out);
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "occupant lookup");
}

int store_occupant_delete(struct store *st, const char *occupant_jid,
                          const char *muc_jid)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_OCC_DELETE);
    db_bind_text(s, 1, occupant_jid);
    db_bind_text(s, 2, muc_jid);
    return store_step_write(st, s, "occupant delete");
}

int store_occupants_in_room(struct store *st, const char *room_id,
                            struct store_occupant **out)
{
    struct db_stmt *s = db_stmt(st->db, S_OCC_LIST);
    db_bind_text(s, 1, room_id);
    int n = 0, rc;
    *out = NULL;
    while ((rc = db_step(s)) == DB_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        read_occupant(s, &(*out)[n++]);
    }
    db_reset(s);
    return rc == DB_DONE ? n : store_report(st, "occupant list");
}

int store_occupants_of_ghost(struct store *st, const char *room_id,
                             const char *ghost)
{
    struct db_stmt *s = db_stmt(st->db, S_OCC_COUNT_GHOST);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, ghost);
    int n = -1;
    if (db_step(s) == DB_ROW)
        n = db_column_int(s, 0);
    db_reset(s);
    return n;
}

void store_occupant_free(struct store_occupant *o)
{
    free(o->occupant_jid);
    free(o->muc_jid);
    free(o->room_id);
    free(o->nick);
    free(o->ghost);
    memset(o, 0, sizeof *o);
}

void store_occupants_free(struct store_occupant *list, int n)
{
    for (int i = 0; i < n; i++)
        store_occupant_free(&list[i]);
    free(list);
}

/* ---------------------------------------------------------- members -- */

int store_member_put(struct store *st, const char *room_id, const char *mxid,
                     const char *nick, long level)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_MEMBER_PUT);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, mxid);
    db_bind_text(s, 3, nick);
    db_bind_int64(s, 4, level);
    return store_step_write(st, s, "member put");
}

int store_member_delete(struct store *st, const char *room_id,
                        const char *mxid)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_MEMBER_DELETE);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, mxid);
    return store_step_write(st, s, "member delete");
}

int store_members_clear(struct store *st, const char *room_id)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_MEMBER_CLEAR);
    db_bind_text(s, 1, room_id);
    return store_step_write(st, s, "members clear");
}

int store_members_in_room(struct store *st, const char *room_id,
                          struct store_member **out)
{
    struct db_stmt *s = db_stmt(st->db, S_MEMBER_LIST);
    db_bind_text(s, 1, room_id);
    int n = 0, rc;
    *out = NULL;
    while ((rc = db_step(s)) == DB_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        (*out)[n].mxid = db_column_dup(s, 0);
        (*out)[n].nick = db_column_dup(s, 1);
        (*out)[n].level = db_column_int64(s, 2);
        n++;
    }
    db_reset(s);
    return rc == DB_DONE ? n : store_report(st, "member list");
}

int store_member_get(struct store *st, const char *room_id, const char *mxid,
                     struct store_member *out)
{
    struct db_stmt *s = db_stmt(st->db, S_MEMBER_GET);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, mxid);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->mxid = db_column_dup(s, 0);
        out->nick = db_column_dup(s, 1);
        out->level = db_column_int64(s, 2);
    }
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "member lookup");
}

void store_members_free(struct store_member *list, int n)
{
    for (int i = 0; i < n; i++) {
        free(list[i].mxid);
        free(list[i].nick);
    }
    free(list);
}

int store_member_by_nick(struct store *st, const char *room_id,
                         const char *nick, char **mxid)
{
    struct db_stmt *s = db_stmt(st->db, S_MEMBER_BY_NICK);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, nick);
    int rc = db_step(s);
    if (rc == DB_ROW)
        *mxid = db_column_dup(s, 0);
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "member by nick");
}
