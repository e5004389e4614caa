/* Gateway mode: XMPP users in Matrix rooms through MUC JIDs
 * (#alias%server@gw, !room%server@gw). */
#ifndef ISTHMUS_MUC_GATEWAY_H
#define ISTHMUS_MUC_GATEWAY_H

#include "gateway/base/context.h"
#include "matrix/event.h"

/* A presence to room%server@gw/nick: join, leave or update. target is the
 * Matrix alias or room id the MUC JID names. */
void muc_gateway_presence(struct gateway *gw, xmpp_stanza_t *st,
                          const char *target);
/* After the occupant's message became event_id: echo it to every resource
 * of the sender in the room, as a MUC service does, with its XEP-0066 file
 * link if it had one (oob_url and oob_desc may be NULL). */
void muc_gateway_reflect(struct gateway *gw, const struct store_occupant *o,
                         const char *id, const char *origin_id,
                         const char *body, const char *oob_url,
                         const char *oob_desc, const char *event_id);
/* An event from a transaction in a gateway-mode room. */
void muc_gateway_event(struct gateway *gw, const struct mx_event *ev,
                       const struct store_room *room);

/* The Matrix member behind the occupant JID room%server@gw/nick, as the
 * occupant `requester` (a full JID in the room) sees it; NULL when there
 * is none or the requester is not in the room. Caller frees. */
char *muc_gateway_member_at(struct gateway *gw, const char *requester,
                            const char *occupant_jid);

/* disco#items on the gateway's domain: the homeserver's public room
 * directory as MUC JIDs, paged with RSM (XEP-0059). */
void muc_gateway_directory(struct gateway *gw, xmpp_stanza_t *iq);

/* A stanza the gateway sent to an occupant bounced: the client is gone
 * (it may have vanished while the gateway was down), so it leaves. */
void muc_gateway_bounced(struct gateway *gw, const char *occupant_jid,
                         const char *muc_jid);

#endif
