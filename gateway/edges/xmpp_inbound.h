/* The router for the XMPP side: every stanza from the XMPP server goes
 * from here to the feature or room mode that handles it. */
#ifndef ISTHMUS_GATEWAY_XMPP_INBOUND_H
#define ISTHMUS_GATEWAY_XMPP_INBOUND_H

#include "gateway/base/context.h"

/* Handles one stanza from the component connection. */
void xmpp_inbound_stanza(struct gateway *gw, xmpp_stanza_t *st);
/* Takes a message in as xmpp_inbound_stanza does, for the catch-up
 * (features/catchup.c): ts_ms is an archived message's stamp (it is then
 * taken in quietly: no error to its sender, no rate limit), or 0 for a
 * live message that waited. True when it was new. */
bool xmpp_inbound_take_in(struct gateway *gw, xmpp_stanza_t *st,
                          int64_t ts_ms);

#endif
