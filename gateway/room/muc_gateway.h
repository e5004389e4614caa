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
/* An event from a transaction in a gateway-mode room. */
void muc_gateway_event(struct gateway *gw, const struct mx_event *ev,
                       const struct store_room *room);

/* A stanza the gateway sent to an occupant bounced: the client is gone
 * (it may have vanished while the gateway was down), so it leaves. */
void muc_gateway_bounced(struct gateway *gw, const char *occupant_jid,
                         const char *muc_jid);

/* The disco#info features of the MUC (muc_jid, bare or full) as the
 * requester sees it: members-only for a room whose Matrix join rule is
 * not public, which OMEMO clients need to offer encryption; open
 * otherwise, and for a requester who is not in the room. Static. */
const char *const *muc_gateway_features(struct gateway *gw,
                                        const char *requester,
                                        const char *muc_jid);

#endif
