/* Portal mode, the MUC's messages -> Matrix. */
#ifndef ISTHMUS_GATEWAY_PORTAL_MESSAGES_H
#define ISTHMUS_GATEWAY_PORTAL_MESSAGES_H

#include "gateway/base/context.h"

/* A groupchat message (or error) from the MUC to a Matrix user's
 * occupant. */
struct xmsg;
void portal_on_muc_message(struct gateway *gw, xmpp_stanza_t *st,
                           struct xmsg *m, const struct store_room *room);

#endif
