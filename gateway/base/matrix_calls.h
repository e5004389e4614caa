/* Client-server API calls that must survive a restart: kept in the store's
 * outbox until the homeserver has answered, and made again after a crash
 * or while the homeserver is down. For calls whose loss would be seen (a
 * read receipt) but that no other job carries. */
#ifndef ISTHMUS_GATEWAY_MATRIX_CALLS_H
#define ISTHMUS_GATEWAY_MATRIX_CALLS_H

#include "matrix/request.h"

struct gateway;
struct store_outbox_item;

/* Queues req (consumed; built by matrix/api.h) on the ordered queue
 * `queue`; it runs after the turn commits. Returns 0, or -1 when the
 * store refused it (logged). */
int matrix_call_enqueue(struct gateway *gw, const char *queue,
                        struct mx_request *req);
/* Runs one queued call (the queues' dispatcher calls this). */
void matrix_call_process(struct gateway *gw,
                         const struct store_outbox_item *it);

#endif
