/* Portal mode: what its files share (see common.h). */
#include "gateway/portal/common.h"

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

/* ------------------------------------------------------------ helpers -- */

/* The nick to try after `attempt` conflicts. Caller frees. */
char *portal_nick_for_attempt(const char *base, int attempt)
{
    if (attempt == 0)
        return xstrdup(base);
    if (attempt == 1)
        return xasprintf("%s (Matrix)", base);
    return xasprintf("%s (Matrix %d)", base, attempt);
}

/* A Matrix user's name as a nick: the display name, else the localpart. */
char *portal_base_nick_of(const char *mxid, const char *displayname)
{
    if (displayname && *displayname)
        return xstrdup(displayname);
    const char *colon = strchr(mxid, ':');
    return colon ? xstrndup(mxid + 1, (size_t)(colon - mxid - 1))
                 : xstrdup(mxid);
}

/* Queues durable Matrix-side work for the portal room (ops.c runs it). */
void portal_op_enqueue(struct gateway *gw, const char *room_id,
                       const struct portal_op *op)
{
    portal_op_enqueue_live(gw, room_id, op, NULL, NULL);
}

void portal_op_enqueue_live(struct gateway *gw, const char *room_id,
                            const struct portal_op *op, xmpp_stanza_t *st,
                            struct xmsg *m)
{
    struct portal_op o = *op;
    o.room_id = room_id;
    json_t *doc = portal_op_encode(&o);
    char *payload = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    char *queue = xasprintf("portal %s", room_id);
    int64_t item_id = store_outbox_add(gw->store, queue, OUTBOX_PORTAL_OP,
                                       payload, gateway_now_ms());
    if (item_id >= 0 && m)
        queues_kick_live(gw, queue, item_id, st, m);
    else if (item_id >= 0)
        queues_kick(gw, queue);
    free(queue);
    free(payload);
}

/* Queues a stanza for the MUC after the turn's commit, in the room's
 * Matrix-to-XMPP order. */
void portal_send_to_muc(struct gateway *gw, const char *room_id,
                        xmpp_stanza_t *st)
{
    char *queue = xasprintf("m2x %s", room_id);
    to_xmpp_enqueue(gw, queue, st);
    free(queue);
    xmpp_stanza_release(st);
}

void portal_on_call_logged(const struct mx_response *r, void *ud)
{
    char *what = ud;
    if (r->status != 200)
        log_warn("portal: %s failed: %s", what, r->error);
    free(what);
}

/* A notice from the gateway's bot in a room. Best effort. */
void portal_bot_notice(struct gateway *gw, const char *room_id,
                       const char *txn_seed, const char *text)
{
    gateway_notice(gw, room_id, NULL, txn_seed, text);
}
