/* Portal mode: creating portal rooms. */
#ifndef ISTHMUS_GATEWAY_PORTAL_CREATE_H
#define ISTHMUS_GATEWAY_PORTAL_CREATE_H

#include "gateway/base/context.h"

/* A XEP-0249 direct or XEP-0045 mediated invitation to a Matrix user's
 * JID becomes an invitation to the portal room. */
bool portal_handle_invite(struct gateway *gw, xmpp_stanza_t *st);

/* The homeserver asks whether a #_xmpp_… alias exists: if the MUC does,
 * the portal room is created and req answered 200; else 404. */
void portal_alias_query(struct gateway *gw, struct as_request *req,
                        const char *alias);

#endif
