/* Portal mode (see portal.h): the gateway is an ordinary MUC client for
 * every Matrix user of a portal room, and mirrors what the MUC tells those
 * clients into the Matrix room.
 *
 * Every Matrix user's occupant receives the same presences and messages
 * from the MUC, so everything mirrored here is either compared with stored
 * state first (presences, the subject) or deduplicated by the id the room
 * stamped on it (messages): N Matrix users never mean N copies. */
#include "gateway/portal/portal.h"

#include "gateway/portal/create.h"
#include "gateway/portal/messages.h"
#include "gateway/portal/occupants.h"
#include "gateway/portal/state.h"

#include "gateway/features/relations.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/base/effects.h"
#include "gateway/core/portal_pending.h"
#include "gateway/features/members.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "gateway/features/ghosts.h"
#include "gateway/features/media.h"
#include "gateway/features/presence.h"
#include "gateway/base/queues.h"
#include "gateway/features/reactions.h"
#include "gateway/features/markers.h"
#include "gateway/features/retractions.h"
#include "gateway/features/markers.h"
#include "gateway/features/chatstates.h"
#include "gateway/core/translate.h"
#include "matrix/event_state.h"
#include "xep/disco.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/reactions.h"
#include "xep/retractions.h"
#include "xep/xml.h"
#include <stdlib.h>
#include <string.h>

/* The portal whose MUC (the bare `from`) sent a stanza: 1 with *room
 * filled (store_room_free) and *mxid the Matrix user whose occupant `to`
 * is, or NULL when it is none of ours (caller frees); 0 when the MUC has
 * no portal. */
static int portal_of(struct gateway *gw, const char *from, const char *to,
                     struct store_room *room, char **mxid)
{
    *mxid = NULL;
    char *muc = ids_jid_bare(from);
    int found = store_room_find_portal(gw->store, muc, room);
    free(muc);
    if (found != 1)
        return 0;
    enum ids_matrix_kind kind;
    const char *why;
    if (ids_jid_to_matrix(&gw->ids, to, mxid, &kind, &why) == 0 &&
        kind != IDS_MATRIX_USER) {
        free(*mxid);
        *mxid = NULL;
    }
    return 1;
}

bool portal_xmpp_message(struct gateway *gw, xmpp_stanza_t *st,
                         struct xmsg *m)
{
    if (portal_handle_invite(gw, st))
        return true;
    /* Direct chats are most of the traffic: only what a room sends needs
     * the lookup below. */
    if (strcmp(m->type, "groupchat") != 0 && strcmp(m->type, "error") != 0)
        return false;
    struct store_room room;
    char *mxid;
    if (portal_of(gw, m->from, m->to, &room, &mxid) != 1)
        return false;
    if (mxid)
        portal_on_muc_message(gw, st, m, &room);
    free(mxid);
    store_room_free(&room);
    return true;
}

bool portal_xmpp_presence(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *from = xmpp_stanza_get_from(st);
    const char *to = xmpp_stanza_get_to(st);
    struct store_room room;
    char *mxid;
    if (!from || !to || portal_of(gw, from, to, &room, &mxid) != 1)
        return false;
    if (mxid)
        portal_on_muc_presence(gw, st, &room, mxid);
    free(mxid);
    store_room_free(&room);
    return true;
}

/* ------------------------------------------------------- restarts -- */

void portal_rejoin_all(struct gateway *gw)
{
    struct store_portal_user *list;
    int n = store_portal_users_all(gw->store, &list);
    for (int i = 0; i < n; i++) {
        struct store_portal_user *u = &list[i];
        char *occupant = members_portal_occupant(gw, u->mxid);
        if (!occupant)
            continue;
        /* Only what was said since the last bridged message: the rest
         * crossed already (and the message store catches the overlap). */
        int64_t last = -1;
        if (store_room_last_ts(gw->store, u->room_id, &last) != 1)
            last = -1;
        char *to = xasprintf("%s/%s", u->muc_jid, u->nick);
        xmpp_stanza_t *p = muc_join(gw->xmpp, occupant, to, last);
        gateway_send_now(gw, p);
        xmpp_stanza_release(p);
        portal_sync_start(gw->portal, u->muc_jid);
        free(to);
        free(occupant);
    }
    if (n > 0) {
        log_info("portal: rejoining %d MUC occupant(s) for Matrix users", n);
        store_portal_users_free(list, n);
    }
}

void portal_leave_all(struct gateway *gw)
{
    struct store_portal_user *list;
    int n = store_portal_users_all(gw->store, &list);
    for (int i = 0; i < n; i++) {
        char *occupant = members_portal_occupant(gw, list[i].mxid);
        if (!occupant)
            continue;
        char *to = xasprintf("%s/%s", list[i].muc_jid, list[i].nick);
        xmpp_stanza_t *p = xmpp_presence_new(gw->xmpp);
        xmpp_stanza_set_type(p, "unavailable");
        xmpp_stanza_set_from(p, occupant);
        xmpp_stanza_set_to(p, to);
        gateway_send_now(gw, p);
        xmpp_stanza_release(p);
        free(to);
        free(occupant);
    }
    if (n > 0)
        store_portal_users_free(list, n);
}
