/* History through MAM (XEP-0313) with RSM paging (XEP-0059), answered from
 * the Matrix room's history (GET /rooms/{room}/messages), read as the
 * requester's ghost so that Matrix's history visibility decides what they
 * may see. Serves gateway-mode MUC JIDs (#alias%server@gw, !id%server@gw)
 * and Matrix users' JIDs (bob%server@gw: the DM with that user). */
#ifndef ISTHMUS_GATEWAY_MAM_H
#define ISTHMUS_GATEWAY_MAM_H

#include "gateway/base/context.h"

/* An iq whose payload `query` is in urn:xmpp:mam:2, addressed to the
 * Matrix user, alias or room `target` (from ids_jid_to_matrix). A get is
 * answered with the query form's fields; a set with the archived messages
 * and then the iq result, or an iq error. May answer later (HTTP). */
void mam_query(struct gateway *gw, xmpp_stanza_t *iq, xmpp_stanza_t *query,
               const char *target);

#endif
