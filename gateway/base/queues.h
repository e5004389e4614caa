/* Ordered work queues over the store's outbox.
 *
 * Each queue (one per conversation) runs one item at a time, oldest first,
 * so messages within a conversation are never reordered; different queues
 * run in parallel. An item stays in the outbox until its worker calls
 * queues_done(), so a crash at any point replays it. */
#ifndef ISTHMUS_QUEUES_H
#define ISTHMUS_QUEUES_H

#include <stdint.h>

struct gateway;
struct store_outbox_item;

/* Runs one outbox item; it calls queues_done when the item is finished. */
typedef void queue_worker_fn(struct gateway *gw,
                             const struct store_outbox_item *it);
/* Which worker runs the items of one outbox kind (OUTBOX_*). */
struct queue_worker {
    int kind;
    queue_worker_fn *run;
};

/* workers: a table ended by an entry whose run is NULL, owned by the
 * caller and kept for the queues' life (a static table). Caller frees the
 * result with queues_free. */
struct queues *queues_new(const struct queue_worker *workers);
void queues_free(struct queues *q);
/* Starts the queue's head item unless the queue is already busy. */
void queues_kick(struct gateway *gw, const char *queue);
/* The worker finished the item (delivered, or failed for good): remove it
 * and start the next. */
void queues_done(struct gateway *gw, const char *queue, int64_t item_id);
/* Kicks every queue that has items in the outbox (after a restart). */
void queues_replay(struct gateway *gw);
/* Queues currently running an item. */
int queues_busy_count(const struct queues *q);

#endif
