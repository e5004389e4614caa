#include "gateway/fanout.h"

#include "common/mem.h"
#include "gateway/muc_gateway.h"
#include "gateway/portal.h"

#include <stdlib.h>
#include <string.h>

static bool is_ours(struct gateway *gw, const char *mxid)
{
    return ids_is_ghost(&gw->ids, mxid) || strcmp(mxid, gw->bot_mxid) == 0;
}

static void queue_one(struct gateway *gw, const char *room_id,
                      const char *from, const char *to, const char *type,
                      const char *id, fanout_fill_cb fill, void *ud)
{
    xmpp_stanza_t *st = xmpp_message_new(gw->xmpp, type, to, id);
    xmpp_stanza_set_from(st, from);
    fill(gw, st, ud);
    char *queue = xasprintf("m2x %s", room_id);
    to_xmpp_enqueue(gw, queue, st);
    free(queue);
    xmpp_stanza_release(st);
}

int fanout_send(struct gateway *gw, const struct store_room *room,
                const char *sender, enum fanout_as as, const char *id,
                fanout_fill_cb fill, void *ud)
{
    int sent = 0;
    if (room->mode == ROOM_GATEWAY) {
        char *from;
        if (as == FANOUT_AS_ROOM) {
            from = xstrdup(room->xmpp_jid);
        } else {
            char *nick = muc_gateway_nick(gw, room->room_id, sender);
            from = xasprintf("%s/%s", room->xmpp_jid, nick);
            free(nick);
        }
        struct store_occupant *all;
        int n = store_occupants_in_room(gw->store, room->room_id, &all);
        for (int i = 0; i < n; i++, sent++)
            queue_one(gw, room->room_id, from, all[i].occupant_jid,
                      "groupchat", id, fill, ud);
        store_occupants_free(all, n);
        free(from);
        return sent;
    }
    if (is_ours(gw, sender))
        return 0;
    char *from = NULL;
    const char *why;
    if (room->mode == ROOM_DM) {
        if (ids_matrix_to_jid(&gw->ids, sender, &from, &why) == 0) {
            queue_one(gw, room->room_id, from, room->xmpp_jid, "chat", id,
                      fill, ud);
            sent++;
        }
    } else if (room->mode == ROOM_PORTAL) {
        struct store_portal_user u;
        if (store_portal_user_get(gw->store, room->xmpp_jid, sender, &u) ==
            1) {
            if ((from = portal_occupant_of(gw, sender))) {
                queue_one(gw, room->room_id, from, room->xmpp_jid,
                          "groupchat", id, fill, ud);
                sent++;
            }
            store_portal_user_free(&u);
        }
    }
    free(from);
    return sent;
}
