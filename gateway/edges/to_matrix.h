/* Bridging a stored XMPP message (an OUTBOX_XMPP_INBOUND item) to
 * Matrix. */
#ifndef ISTHMUS_GATEWAY_TO_MATRIX_H
#define ISTHMUS_GATEWAY_TO_MATRIX_H

#include "gateway/base/context.h"

/* Runs one queued item; the item's queue is told when it is done. */
void to_matrix_process(struct gateway *gw, const struct store_outbox_item *it);

#endif
