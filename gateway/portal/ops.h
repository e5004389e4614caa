/* Portal mode: queued operations (OUTBOX_PORTAL_OP), run in order per
 * portal room. */
#ifndef ISTHMUS_GATEWAY_PORTAL_OPS_H
#define ISTHMUS_GATEWAY_PORTAL_OPS_H

#include "gateway/base/context.h"

/* Runs one queued portal operation (OUTBOX_PORTAL_OP); its queue is told
 * when it is done. */
void portal_op_process(struct gateway *gw, const struct store_outbox_item *it);

#endif
