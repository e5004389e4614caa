/* The router for the Matrix side: the appservice's requests (transactions,
 * user and alias queries, the media proxy, metrics) go from here to the
 * feature or room mode that handles them. */
#ifndef ISTHMUS_GATEWAY_MATRIX_INBOUND_H
#define ISTHMUS_GATEWAY_MATRIX_INBOUND_H

#include "gateway/base/context.h"

/* The appservice server's handlers (matrix/appservice.h). */
extern const struct as_handlers matrix_inbound_handlers;
/* Hands a room event to its handler by type, as the transaction's own
 * events are: for encrypted events released when their key comes. */
void matrix_inbound_dispatch(struct gateway *gw, const struct mx_event *ev);
/* Runs one queued OUTBOX_MATRIX_JOIN item. */
void matrix_join_process(struct gateway *gw,
                         const struct store_outbox_item *it);

#endif
