/* The router for the XMPP side: every stanza from the XMPP server goes
 * from here to the feature or room mode that handles it. */
#ifndef ISTHMUS_GATEWAY_XMPP_INBOUND_H
#define ISTHMUS_GATEWAY_XMPP_INBOUND_H

#include "gateway/base/context.h"

/* Handles one stanza from the component connection. */
void xmpp_inbound_stanza(struct gateway *gw, xmpp_stanza_t *st);

#endif
