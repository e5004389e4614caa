/* Ordered work queues over the store's outbox.
 *
 * Each queue (one per conversation) runs one item at a time, oldest first,
 * so messages within a conversation are never reordered; different queues
 * run in parallel. An item stays in the outbox until its worker calls
 * queues_done(), so a crash at any point replays it. */
#ifndef ISTHMUS_QUEUES_H
#define ISTHMUS_QUEUES_H

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>

struct gateway;
struct xmsg;
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
/* queues_kick for an item written from a message that has just arrived
 * (the item_id the outbox gave it): if its worker starts on it at once,
 * it takes the message as the edge parsed it (queues_take_live) instead
 * of parsing the stored copy again. st and m stay the caller's; m is left
 * empty if the worker took it. */
void queues_kick_live(struct gateway *gw, const char *queue, int64_t item_id,
                      xmpp_stanza_t *st, struct xmsg *m);
/* For a worker starting on item_id: if it is the live item, moves its
 * parsed message into *out (the caller frees it with xmsg_free) and gives
 * a new reference to its stanza in *st (the caller releases it), and
 * returns true; else false, and the worker parses the stored copy. */
bool queues_take_live(struct gateway *gw, int64_t item_id, struct xmsg *out,
                      xmpp_stanza_t **st);
/* The worker finished the item (delivered, or failed for good): remove it
 * and start the next. */
void queues_done(struct gateway *gw, const char *queue, int64_t item_id);
/* Kicks every queue that has items in the outbox (after a restart). */
void queues_replay(struct gateway *gw);
/* Queues currently running an item. */
int queues_busy_count(const struct queues *q);

#endif
