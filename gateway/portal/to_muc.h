/* Portal mode, Matrix -> the MUC. */
#ifndef ISTHMUS_GATEWAY_PORTAL_TO_MUC_H
#define ISTHMUS_GATEWAY_PORTAL_TO_MUC_H

#include "gateway/base/context.h"
#include "matrix/event.h"

/* An event of a transaction in a portal room. */
void portal_matrix_event(struct gateway *gw, const struct mx_event *ev,
                         const struct store_room *room);

#endif
