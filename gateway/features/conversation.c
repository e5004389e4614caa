#include "gateway/features/conversation.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/base/effects.h"

#include "gateway/features/members.h"
#include "common/log.h"
#include "common/mem.h"
#include "xep/muc.h"

#include <stdlib.h>
#include <string.h>


int conversation_of_xmpp(struct gateway *gw, const struct xmsg *m,
                         char **room_id, char **ghost)
{
    *room_id = NULL;
    *ghost = NULL;
    char *target = NULL;
    enum ids_matrix_kind kind;
    const char *why;
    if (ids_jid_to_matrix(&gw->ids, m->to, &target, &kind, &why) < 0)
        return 0;
    bool groupchat = strcmp(m->type, "groupchat") == 0;
    int found = 0;
    if (groupchat && kind != IDS_MATRIX_USER) {
        char *muc_jid = ids_jid_bare(m->to);
        struct store_occupant o;
        if (store_occupant_get(gw->store, m->from, muc_jid, &o) == 1) {
            *room_id = xstrdup(o.room_id);
            *ghost = xstrdup(o.ghost);
            store_occupant_free(&o);
            found = 1;
        }
        free(muc_jid);
    } else if (!groupchat && kind == IDS_MATRIX_USER) {
        char *bare = ids_jid_bare(m->from);
        struct store_room dm;
        if (store_room_find_dm(gw->store, bare, target, &dm) == 1) {
            if (ids_jid_to_ghost(&gw->ids, m->from, ghost, &why) == 0) {
                *room_id = xstrdup(dm.room_id);
                found = 1;
            }
            store_room_free(&dm);
        }
        free(bare);
    }
    free(target);
    return found;
}

char *conversation_portal_ghost(struct gateway *gw,
                                const struct store_room *room,
                                const struct xmsg *m)
{
    const char *nick = ids_jid_resource(m->from);
    if (!nick || m->delay_ms > 0)
        return NULL; /* the room itself, or history replayed on a join */
    struct store_portal_user u;
    if (store_portal_user_by_nick(gw->store, room->xmpp_jid, nick, &u) == 1) {
        store_portal_user_free(&u);
        return NULL; /* one of our Matrix users, reflected */
    }
    char *occ_jid = xasprintf("%s/%s", room->xmpp_jid, nick);
    struct store_occupant o;
    char *ghost = NULL;
    if (store_occupant_get(gw->store, occ_jid, room->xmpp_jid, &o) == 1) {
        ghost = xstrdup(o.ghost);
        store_occupant_free(&o);
    }
    free(occ_jid);
    return ghost;
}

char *conversation_matrix_from(struct gateway *gw,
                               const struct store_room *room,
                               const char *mxid)
{
    char *jid = NULL;
    const char *why;
    if (room->mode == ROOM_GATEWAY) {
        char *nick = members_nick(gw, room->room_id, mxid, NULL);
        char *from = xasprintf("%s/%s", room->xmpp_jid, nick);
        free(nick);
        return from;
    }
    if (ids_matrix_to_jid(&gw->ids, mxid, &jid, &why) < 0) {
        log_debug("conversation: %s has no JID: %s", mxid, why);
        return NULL;
    }
    if (room->mode == ROOM_DM)
        return jid;
    free(jid);
    struct store_portal_user u;
    int in_muc = store_portal_user_get(gw->store, room->xmpp_jid, mxid, &u);
    char *from = NULL;
    if (in_muc == 1) {
        if (u.joined)
            from = members_portal_occupant(gw, mxid);
        store_portal_user_free(&u);
    }
    return from;
}

static void send_one(struct gateway *gw, const char *queue, xmpp_stanza_t *st,
                     bool durable)
{
    if (durable)
        to_xmpp_enqueue(gw, queue, st);
    else
        gateway_send_now(gw, st);
}

void conversation_send(struct gateway *gw, const struct store_room *room,
                       xmpp_stanza_t *st, const char *except_ghost,
                       bool durable)
{
    char *queue = xasprintf("m2x %s", room->room_id);
    if (room->mode == ROOM_GATEWAY) {
        struct store_occupant *all;
        int n = store_occupants_in_room(gw->store, room->room_id, &all);
        for (int i = 0; i < n; i++) {
            if (except_ghost && strcmp(all[i].ghost, except_ghost) == 0)
                continue;
            xmpp_stanza_set_to(st, all[i].occupant_jid);
            send_one(gw, queue, st, durable);
        }
        store_occupants_free(all, n);
    } else {
        xmpp_stanza_set_to(st, room->xmpp_jid);
        send_one(gw, queue, st, durable);
    }
    free(queue);
}

void conversation_tell(struct gateway *gw, const struct store_room *room,
                       const char *sender, bool from_room, const char *id,
                       conversation_fill_cb fill, void *ud)
{
    if (room->mode != ROOM_GATEWAY && gateway_is_ours(gw, sender))
        return;
    char *from = from_room && room->mode == ROOM_GATEWAY
                     ? xstrdup(room->xmpp_jid)
                     : conversation_matrix_from(gw, room, sender);
    if (!from)
        return;
    xmpp_stanza_t *st = xmpp_message_new(
        gw->xmpp, room->mode == ROOM_DM ? "chat" : "groupchat", NULL, id);
    xmpp_stanza_set_from(st, from);
    fill(gw, st, ud);
    conversation_send(gw, room, st, NULL, true);
    xmpp_stanza_release(st);
    free(from);
}
