/* Messages, their ids on both sides and their order; read positions;
 * reactions. */
#include "store/store_internal.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------- messages -- */

int store_message_put(struct store *st, const struct store_message *m)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    /* Written at the commit, or before anything reads messages
     * (db_defer): the stanza it came with leaves first. */
    struct db_row *r = store_defer_begin(st, S_MSG_PUT);
    db_defer_text(st->db, r, m->event_id);
    db_defer_text(st->db, r, m->room_id);
    db_defer_text(st->db, r, m->xmpp_jid);
    db_defer_text(st->db, r, m->stanza_id);
    /* Most rows carry the same id twice (a bridged event's stanza is sent
     * with id = origin-id = event id): storing it once spares an entry in
     * the origin index, a random page written per message. */
    bool same = m->origin_id && m->stanza_id &&
                strcmp(m->origin_id, m->stanza_id) == 0;
    db_defer_text(st->db, r, same ? NULL : m->origin_id);
    db_defer_int(r, m->direction);
    db_defer_int(r, m->ts);
    db_defer_text(st->db, r, m->replaces);
    db_defer_text(st->db, r, m->sender);
    return 0;
}

int store_message_set_stanza_id(struct store *st, const char *event_id,
                                const char *stanza_id)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_MSG_SET_STANZA);
    db_bind_text(s, 1, event_id);
    db_bind_text(s, 2, stanza_id);
    return store_step_write(st, s, "message stanza id");
}

/* A messages row selected as event_id, room_id, xmpp_jid, stanza_id,
 * origin_id, direction, ts, replaces, sender (columns 0-8). */
static void fill_message(struct db_stmt *s, struct store_message *out)
{
    out->event_id = db_column_dup(s, 0);
    out->room_id = db_column_dup(s, 1);
    out->xmpp_jid = db_column_dup(s, 2);
    out->stanza_id = db_column_dup(s, 3);
    /* No origin id of its own: the stanza id is the one the sender chose
     * (see store_message_put). */
    out->origin_id = db_column_dup(s, db_column_is_null(s, 4) ? 3 : 4);
    out->direction = db_column_int(s, 5);
    out->ts = db_column_int64(s, 6);
    out->replaces = db_column_dup(s, 7);
    out->sender = db_column_dup(s, 8);
}

static int read_message(struct store *st, struct db_stmt *s,
                        struct store_message *out)
{
    int rc = db_step(s);
    if (rc == DB_ROW)
        fill_message(s, out);
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "message lookup");
}

int store_message_by_event(struct store *st, const char *event_id,
                           struct store_message *out)
{
    struct db_stmt *s = db_stmt(st->db, S_MSG_BY_EVENT);
    db_bind_text(s, 1, event_id);
    return read_message(st, s, out);
}

int store_message_by_stanza(struct store *st, const char *xmpp_jid,
                            const char *id, struct store_message *out)
{
    return store_message_by_stanza_in(st, NULL, xmpp_jid, id, out);
}

int store_message_by_stanza_in(struct store *st, const char *room_id,
                               const char *xmpp_jid, const char *id,
                               struct store_message *out)
{
    struct db_stmt *s = db_stmt(st->db, S_MSG_BY_STANZA);
    db_bind_text(s, 1, xmpp_jid);
    db_bind_text(s, 2, id);
    db_bind_text(s, 3, room_id);
    return read_message(st, s, out);
}

int store_message_order(struct store *st, const char *event_id,
                        struct store_order *out)
{
    struct db_stmt *s = db_stmt(st->db, S_MSG_ORDER);
    db_bind_text(s, 1, event_id);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->ts = db_column_int64(s, 0);
        out->seq = db_column_int64(s, 1);
    }
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "message order");
}

int store_message_last_from_xmpp(struct store *st, const char *room_id,
                                 const struct store_order *at,
                                 struct store_message *out,
                                 struct store_order *order)
{
    struct db_stmt *s = db_stmt(st->db, S_MSG_LAST_FROM_XMPP);
    db_bind_text(s, 1, room_id);
    db_bind_int64(s, 2, at->ts);
    db_bind_int64(s, 3, at->seq);
    int rc = db_step(s);
    if (rc != DB_ROW) {
        db_reset(s);
        return rc == DB_DONE ? 0 : store_report(st, "last message from XMPP");
    }
    fill_message(s, out);
    order->ts = out->ts;
    order->seq = db_column_int64(s, 9);
    db_reset(s);
    return 1;
}

void store_message_free(struct store_message *m)
{
    free(m->event_id);
    free(m->room_id);
    free(m->xmpp_jid);
    free(m->stanza_id);
    free(m->origin_id);
    free(m->replaces);
    free(m->sender);
    memset(m, 0, sizeof *m);
}

/* --------------------------------------------------- read positions -- */

int store_read_advance(struct store *st, const char *room_id,
                       const char *person, const char *event_id,
                       const struct store_order *at, int64_t now_ms)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_READ_ADVANCE);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, person);
    db_bind_text(s, 3, event_id);
    db_bind_int64(s, 4, at->ts);
    db_bind_int64(s, 5, at->seq);
    db_bind_int64(s, 6, now_ms);
    if (store_step_write(st, s, "read position") < 0)
        return -1;
    return db_changes(st->db) > 0 ? 1 : 0;
}

int store_read_get(struct store *st, const char *room_id, const char *person,
                   char **event_id, struct store_order *at)
{
    struct db_stmt *s = db_stmt(st->db, S_READ_GET);
    db_bind_text(s, 1, room_id);
    db_bind_text(s, 2, person);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *event_id = db_column_dup(s, 0);
        at->ts = db_column_int64(s, 1);
        at->seq = db_column_int64(s, 2);
    }
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "read position lookup");
}

/* ---------------------------------------------------------- reactions -- */

int store_reaction_put(struct store *st, const struct store_reaction *r)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_REACT_PUT);
    db_bind_text(s, 1, r->target_event_id);
    db_bind_text(s, 2, r->sender);
    db_bind_text(s, 3, r->key);
    db_bind_text(s, 4, r->event_id);
    db_bind_text(s, 5, r->room_id);
    return store_step_write(st, s, "reaction put");
}

int store_reactions_of(struct store *st, const char *target_event_id,
                       const char *sender, struct store_reaction **out)
{
    struct db_stmt *s = db_stmt(st->db, S_REACT_LIST);
    db_bind_text(s, 1, target_event_id);
    db_bind_text(s, 2, sender);
    int n = 0, rc;
    *out = NULL;
    while ((rc = db_step(s)) == DB_ROW) {
        *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
        struct store_reaction *r = &(*out)[n++];
        memset(r, 0, sizeof *r);
        r->key = db_column_dup(s, 0);
        r->event_id = db_column_dup(s, 1);
    }
    db_reset(s);
    if (rc != DB_DONE) {
        store_reactions_free(*out, n);
        *out = NULL;
        return store_report(st, "reaction list");
    }
    return n;
}

int store_reaction_by_event(struct store *st, const char *event_id,
                            struct store_reaction *out)
{
    struct db_stmt *s = db_stmt(st->db, S_REACT_BY_EVENT);
    db_bind_text(s, 1, event_id);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        out->target_event_id = db_column_dup(s, 0);
        out->sender = db_column_dup(s, 1);
        out->key = db_column_dup(s, 2);
        out->event_id = db_column_dup(s, 3);
        out->room_id = db_column_dup(s, 4);
    }
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "reaction lookup");
}

int store_reaction_delete(struct store *st, const char *event_id)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_REACT_DELETE);
    db_bind_text(s, 1, event_id);
    return store_step_write(st, s, "reaction delete");
}

void store_reaction_free(struct store_reaction *r)
{
    free(r->target_event_id);
    free(r->sender);
    free(r->key);
    free(r->event_id);
    free(r->room_id);
    memset(r, 0, sizeof *r);
}

void store_reactions_free(struct store_reaction *list, int n)
{
    for (int i = 0; i < n; i++)
        store_reaction_free(&list[i]);
    free(list);
}
