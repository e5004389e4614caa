/* Typing notifications: Matrix m.typing <-> XEP-0085 chat states.
 *
 * Nothing here is stored: a typing notification lost in a crash is
 * harmless. The state kept in memory is bounded in time: a room's entry
 * goes when nobody types in it, a ghost's when its timeout passes. */
#include "gateway/features/chatstates.h"

#include "common/log.h"
#include "matrix/event_ephemeral.h"
#include "common/mem.h"
#include "gateway/features/conversation.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "xep/chatstates.h"

#include <stdlib.h>
#include <string.h>

/* How long a ghost types after <composing/> unless told otherwise: XMPP
 * clients send <paused/> after 30 s without a keystroke (XEP-0085 §5.1),
 * and one that vanishes must not leave the ghost typing. */
#define GHOST_TYPING_MS 30000
/* m.typing lists everyone typing in a room; more than this is noise. */
#define MAX_TYPISTS 32

/* Matrix -> XMPP: who typed in each room at its last m.typing, so that
 * only changes cross. */
struct room_typists {
    char *room_id;
    char **users;
    size_t n;
    struct room_typists *next;
};

/* XMPP -> Matrix: ghosts the homeserver was told are typing, until when. */
struct ghost_typing {
    char *room_id;
    char *ghost;
    int64_t until_ms;
    struct ghost_typing *next;
};

/* One gateway per process, so the state is the module's. */
static struct room_typists *rooms;
static struct ghost_typing *ghosts;

static void purge_expired(int64_t now);

/* ---------------------------------------------------- Matrix -> XMPP -- */

static bool contains(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static void free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static struct room_typists **room_find(const char *room_id)
{
    struct room_typists **p = &rooms;
    while (*p && strcmp((*p)->room_id, room_id) != 0)
        p = &(*p)->next;
    return p;
}

static void announce(struct gateway *gw, const struct store_room *room,
                     const char *mxid, enum chatstate state)
{
    char *from = conversation_matrix_from(gw, room, mxid);
    if (!from)
        return;
    const char *type = room->mode == ROOM_DM ? "chat" : "groupchat";
    xmpp_stanza_t *st = chatstate_message(gw->xmpp, from, room->xmpp_jid,
                                          type, state);
    conversation_send(gw, room, st, NULL, false);
    xmpp_stanza_release(st);
    free(from);
}

void typing_matrix_ephemeral(struct gateway *gw,
                             const struct mx_ephemeral *ev)
{
    struct mx_typing t;
    const char *why;
    if (mx_typing_parse(ev, &t, &why) < 0) {
        log_debug("typing: skipping an m.typing event: %s", why);
        return;
    }
    const char *room_id = t.room_id;
    purge_expired(gateway_now_ms()); /* whichever side is busier cleans */
    struct room_typists **slot = room_find(room_id);
    struct store_room room;
    if (store_room_get(gw->store, room_id, &room) != 1) {
        if (*slot) { /* the room is no longer bridged */
            struct room_typists *gone = *slot;
            *slot = gone->next;
            free_list(gone->users, gone->n);
            free(gone->room_id);
            free(gone);
        }
        return;
    }
    char **now = xcalloc(MAX_TYPISTS, sizeof *now);
    size_t n = 0;
    size_t i;
    for (i = 0; i < t.user_ids.n; i++) {
        const char *mxid = mx_str_list_at(&t.user_ids, i);
        /* Our ghosts type because XMPP users do: that is their echo. */
        if (!mxid || gateway_is_ours(gw, mxid) || n == MAX_TYPISTS ||
            contains(now, n, mxid))
            continue;
        now[n++] = xstrdup(mxid);
    }
    struct room_typists *prev = *slot;
    for (i = 0; i < n; i++)
        if (!prev || !contains(prev->users, prev->n, now[i]))
            announce(gw, &room, now[i], CHATSTATE_COMPOSING);
    if (prev)
        for (i = 0; i < prev->n; i++)
            if (!contains(now, n, prev->users[i]))
                announce(gw, &room, prev->users[i], CHATSTATE_PAUSED);
    if (!prev && n > 0) {
        prev = xcalloc(1, sizeof *prev);
        prev->room_id = xstrdup(room_id);
        *slot = prev;
    }
    if (prev) {
        free_list(prev->users, prev->n);
        prev->users = now;
        prev->n = n;
        if (n == 0) {
            *slot = prev->next;
            free_list(prev->users, 0);
            free(prev->room_id);
            free(prev);
        }
    } else {
        free(now);
    }
    store_room_free(&room);
}

/* ---------------------------------------------------- XMPP -> Matrix -- */

static void on_typing_set(const struct mx_response *r, void *ud)
{
    char *what = ud;
    if (r->status != 200)
        log_info("typing: %s: %s", what, r->error);
    free(what);
}

static void put_typing(struct gateway *gw, const char *room_id,
                       const char *ghost, bool typing)
{
    /* Stale soon: one retry is all a typing notification is worth. */
    mx_typing(gw->mx, room_id, ghost, typing, GHOST_TYPING_MS, 2,
              on_typing_set, xasprintf("%s typing in %s", ghost, room_id));
}

static void ghost_entry_free(struct ghost_typing *g)
{
    free(g->room_id);
    free(g->ghost);
    free(g);
}

/* Forgets ghosts whose typing the homeserver has already timed out. */
static void purge_expired(int64_t now)
{
    struct ghost_typing **p = &ghosts;
    while (*p) {
        if ((*p)->until_ms <= now) {
            struct ghost_typing *gone = *p;
            *p = gone->next;
            ghost_entry_free(gone);
        } else {
            p = &(*p)->next;
        }
    }
}

/* The ghost is typing in the room, or stopped: tell the homeserver when
 * that changes (or a long composing needs renewing). */
static void ghost_typing(struct gateway *gw, const char *room_id,
                         const char *ghost, bool typing)
{
    int64_t now = gateway_now_ms();
    purge_expired(now);
    struct ghost_typing **p = &ghosts;
    while (*p && (strcmp((*p)->room_id, room_id) != 0 ||
                  strcmp((*p)->ghost, ghost) != 0))
        p = &(*p)->next;
    if (typing) {
        if (*p && (*p)->until_ms - now > GHOST_TYPING_MS / 2)
            return; /* told recently; another copy of the same state */
        if (!*p) {
            *p = xcalloc(1, sizeof **p);
            (*p)->room_id = xstrdup(room_id);
            (*p)->ghost = xstrdup(ghost);
        }
        (*p)->until_ms = now + GHOST_TYPING_MS;
        put_typing(gw, room_id, ghost, true);
    } else if (*p) {
        struct ghost_typing *gone = *p;
        *p = gone->next;
        ghost_entry_free(gone);
        put_typing(gw, room_id, ghost, false);
    }
}

/* What a message says about its sender's typing: composing starts it;
 * another state or a message ends it. */
static int typing_of(const struct xmsg *m, bool *typing)
{
    enum chatstate cs = m->chatstate;
    if (cs == CHATSTATE_NONE && !m->body)
        return -1;
    *typing = cs == CHATSTATE_COMPOSING && !m->body;
    return 0;
}

void typing_xmpp_message(struct gateway *gw, const struct xmsg *m)
{
    bool typing;
    if (typing_of(m, &typing) < 0 || (!typing && !ghosts && m->body))
        return; /* a message, and no ghost types: nothing to end */
    char *room_id, *ghost;
    if (conversation_of_xmpp(gw, m, &room_id, &ghost) != 1)
        return;
    ghost_typing(gw, room_id, ghost, typing);
    if (strcmp(m->type, "groupchat") == 0 && !m->body) {
        /* The other XMPP occupants see it as in any MUC: their clients
         * learn nothing from the ghost's typing, which is ours. */
        struct store_room room;
        if (store_room_get(gw->store, room_id, &room) == 1) {
            struct store_occupant o;
            char *muc_jid = ids_jid_bare(m->to);
            if (store_occupant_get(gw->store, m->from, muc_jid, &o) == 1) {
                char *from = xasprintf("%s/%s", muc_jid, o.nick);
                xmpp_stanza_t *out = chatstate_message(
                    gw->xmpp, from, muc_jid, "groupchat", m->chatstate);
                conversation_send(gw, &room, out, ghost, false);
                xmpp_stanza_release(out);
                free(from);
                store_occupant_free(&o);
            }
            free(muc_jid);
            store_room_free(&room);
        }
    }
    free(room_id);
    free(ghost);
}

void typing_portal_message(struct gateway *gw, const struct store_room *room,
                           const struct xmsg *m)
{
    bool typing;
    if (typing_of(m, &typing) < 0 || (!typing && !ghosts && m->body))
        return;
    char *ghost = conversation_portal_ghost(gw, room, m);
    if (ghost)
        ghost_typing(gw, room->room_id, ghost, typing);
    free(ghost);
}
