#include "gateway/base/queues.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "xep/message.h"

#include <stdlib.h>
#include <string.h>

struct busy {
    char *name;
    struct busy *next;
};

struct queues {
    const struct queue_worker *workers; /* the loop's table, by kind */
    struct busy *busy; /* few at once: one per conversation with work */
    int nbusy;
    /* The message being handled and its outbox item, during
     * queues_kick_live only. */
    int64_t live_item_id;
    xmpp_stanza_t *live_stanza;
    struct xmsg *live_msg;
};

struct queues *queues_new(const struct queue_worker *workers)
{
    struct queues *q = xcalloc(1, sizeof(struct queues));
    q->workers = workers;
    return q;
}

void queues_free(struct queues *q)
{
    if (!q)
        return;
    for (struct busy *b = q->busy, *n; b; b = n) {
        n = b->next;
        free(b->name);
        free(b);
    }
    free(q);
}

static struct busy **find(struct queues *q, const char *name)
{
    struct busy **pp = &q->busy;
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* The worker for the item's kind comes from the table the loop gave, so
 * this floor never names the features and edges that run items. */
static void dispatch(struct gateway *gw, const struct store_outbox_item *it)
{
    for (const struct queue_worker *w = gw->queues->workers; w && w->run;
         w++) {
        if (w->kind == it->kind) {
            w->run(gw, it);
            return;
        }
    }
    log_error("queues: item %lld has unknown kind %d; dropping it",
              (long long)it->id, it->kind);
    queues_done(gw, it->queue, it->id);
}

void queues_kick(struct gateway *gw, const char *queue)
{
    struct queues *q = gw->queues;
    if (*find(q, queue))
        return;
    struct store_outbox_item it;
    if (store_outbox_head(gw->store, queue, &it) != 1)
        return;
    struct busy *b = xcalloc(1, sizeof *b);
    b->name = xstrdup(queue);
    b->next = q->busy;
    q->busy = b;
    q->nbusy++;
    dispatch(gw, &it);
    store_outbox_item_free(&it);
}

void queues_kick_live(struct gateway *gw, const char *queue, int64_t item_id,
                      xmpp_stanza_t *st, struct xmsg *m)
{
    struct queues *q = gw->queues;
    q->live_item_id = item_id;
    q->live_stanza = st;
    q->live_msg = m;
    queues_kick(gw, queue);
    q->live_item_id = 0;
    q->live_stanza = NULL;
    q->live_msg = NULL;
}

bool queues_take_live(struct gateway *gw, int64_t item_id, struct xmsg *out,
                      xmpp_stanza_t **st)
{
    struct queues *q = gw->queues;
    if (!q->live_msg || q->live_item_id != item_id)
        return false;
    *out = *q->live_msg;
    memset(q->live_msg, 0, sizeof *q->live_msg); /* moved, not copied */
    q->live_msg = NULL;
    *st = q->live_stanza ? xmpp_stanza_clone(q->live_stanza) : NULL;
    return true;
}

void queues_done(struct gateway *gw, const char *queue, int64_t item_id)
{
    struct queues *q = gw->queues;
    /* Workers are written to run again after a crash (that is why items
     * stay until now), so the removal may wait for a later commit. */
    store_may_wait_begin(gw->store);
    store_outbox_delete(gw->store, item_id);
    store_may_wait_end(gw->store);
    struct busy **pp = find(q, queue);
    if (*pp) {
        struct busy *b = *pp;
        *pp = b->next;
        free(b->name);
        free(b);
        q->nbusy--;
    }
    queues_kick(gw, queue);
}

struct replay {
    struct gateway *gw;
    int64_t last_id;
};

static void kick_item_queue(const struct store_outbox_item *it, void *ud)
{
    struct replay *r = ud;
    r->last_id = it->id;
    /* Busy queues ignore further kicks: one store read per queue. */
    queues_kick(r->gw, it->queue);
}

void queues_replay(struct gateway *gw)
{
    const int kinds[] = { OUTBOX_XMPP_INBOUND, OUTBOX_MATRIX_JOIN,
                          OUTBOX_PORTAL_OP, OUTBOX_MATRIX_CALL };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        struct replay r = { gw, 0 };
        int n;
        do {
            n = store_outbox_scan(gw->store, kinds[k], r.last_id, 1000,
                                  kick_item_queue, &r);
        } while (n == 1000);
    }
}

int queues_busy_count(const struct queues *q)
{
    return q->nbusy;
}
