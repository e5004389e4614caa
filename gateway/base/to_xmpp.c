/* Stanzas for XMPP are given an outbox row and sent at once, in order,
 * over the one component connection: a transaction's first messages leave
 * while the gateway still works on the rest, and none waits for the
 * commit. Their rows are written at the commit (store/deferred.c), so the
 * last stanza of a long transaction does not wait for the rows of all
 * those before it either. They stay in the outbox until the XMPP server
 * has read them: after a batch, the gateway pings itself through the
 * server, and the server's routing of that ping back means it has taken
 * every stanza sent before it. Only then are their rows removed. A stanza
 * the server never took (it was stopped, killed or restarted with the
 * bytes in a socket buffer) is sent again after the reconnection.
 *
 * Sending before the commit doubles nothing that a crash did not already
 * double: if the gateway dies before its commit, the homeserver sends the
 * transaction again (it was not answered), and its stanzas go out again
 * with the same ids, which clients deduplicate, as after any crash before
 * a confirmation. A commit that fails instead rolls back rows that were
 * sent. Their ids are not given again (the store hands out outbox ids
 * itself, and only ever higher ones), so no answer can remove a row it
 * does not cover; still, every ping in flight is disowned and the outbox
 * is read again from its start, so that what was sent and what is stored
 * agree again.
 *
 * The outbox is read only when it may hold stanzas that were not sent as
 * they were written: after a start, a reconnection, or a failed commit. */
#include "gateway/base/to_xmpp.h"

#include "gateway/base/context.h"
#include "gateway/base/effects.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/metrics.h"
#include "xep/disco.h"
#include "xep/message.h"
#include "xep/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FLUSH_BATCH 256
/* A server that takes longer than this to route a ping is asked again. */
#define CONFIRM_TIMEOUT_MS 30000
/* Stanzas written in one system call while a transaction is worked on:
 * the first of them waits for the others to be made (about 10 us each,
 * their rows waiting for the commit), and each call costs about as much
 * as making one. Sending them all only before the commit measured the
 * same at 500 msg/s. */
#define EARLY_BATCH 8

struct to_xmpp {
    /* When the transaction behind each stanza not yet written arrived, for
     * the latency figures. */
    struct metrics_point *unwritten;
    size_t n, cap;
    /* A stanza went out whose row is not committed yet. */
    bool sent_uncommitted;
    /* Every stanza row up to sent_up_to has been handed to the current
     * connection (rows are sent in id order). A ping in flight covers the
     * rows up to its `covers`; its answer removes them. `epoch` changes
     * whenever the outbox is read again from the start, so that the answer
     * to a ping from before cannot remove rows sent only after it. */
    int64_t sent_up_to;
    int64_t confirmed_up_to;
    bool ping_out;
    unsigned epoch;
};

struct ping {
    struct gateway *gw;
    int64_t covers;
    unsigned epoch;
};

static struct to_xmpp *state(struct gateway *gw)
{
    if (!gw->to_xmpp)
        gw->to_xmpp = xcalloc(1, sizeof *gw->to_xmpp);
    return gw->to_xmpp;
}

void to_xmpp_free(struct gateway *gw)
{
    if (!gw->to_xmpp)
        return;
    free(gw->to_xmpp->unwritten);
    free(gw->to_xmpp);
    gw->to_xmpp = NULL;
}

void to_xmpp_write(struct gateway *gw)
{
    struct to_xmpp *t = state(gw);
    component_flush(gw->component);
    if (!t->n)
        return;
    /* One reading of the clocks for the batch: they are system calls. */
    struct metrics_point now = metrics_point_now();
    for (size_t i = 0; i < t->n; i++)
        metrics_observe_span(HIST_TO_XMPP, HIST_TO_XMPP_CPU,
                             t->unwritten[i], now);
    t->n = 0;
}

static void send_one(struct gateway *gw, int64_t id, const char *xml,
                     size_t len);

int to_xmpp_enqueue(struct gateway *gw, const char *queue, xmpp_stanza_t *st)
{
    /* Encrypted (where the recipient speaks OMEMO) before it is stored:
     * the outbox holds, and a resend sends, only the ciphertext. */
    xmpp_stanza_t *sealed = gw->seal_stanza ? gw->seal_stanza(gw, st) : st;
    char *xml = xmsg_stanza_to_xml(sealed);
    if (sealed != st)
        xmpp_stanza_release(sealed);
    if (!xml)
        return -1;
    int64_t id = store_outbox_add(gw->store, queue, OUTBOX_STANZA, xml,
                                  gateway_now_ms());
    if (id < 0) {
        free(xml);
        return -1;
    }
    if (gw->stanza_outbox_dirty || gw->stanza_outbox_held ||
        !component_is_connected(gw->component)) {
        /* It waits with the others; the flush reads them all back. */
        gw->stanza_outbox_dirty = true;
        free(xml);
        return 0;
    }
    struct to_xmpp *t = state(gw);
    send_one(gw, id, xml, strlen(xml));
    free(xml);
    t->sent_uncommitted = true;
    if (gw->txn_start.wall_us) {
        if (t->n == t->cap) {
            t->cap = t->cap ? 2 * t->cap : 64;
            t->unwritten = xrealloc(t->unwritten,
                                    t->cap * sizeof *t->unwritten);
        }
        t->unwritten[t->n++] = gw->txn_start;
        if (t->n >= EARLY_BATCH)
            to_xmpp_write(gw);
    }
    return 0;
}

static void ask_confirmation(struct gateway *gw);

static void on_confirmation(xmpp_stanza_t *result, void *ud)
{
    struct ping *p = ud;
    struct gateway *gw = p->gw;
    struct to_xmpp *t = state(gw);
    bool current = p->epoch == t->epoch;
    if (current)
        t->ping_out = false;
    if (current && result) {
        /* Any answer will do, an error too: it went through the server. */
        store_outbox_delete_range(gw->store, OUTBOX_STANZA, 0, p->covers);
        t->confirmed_up_to = p->covers;
    }
    free(p);
    if (current)
        ask_confirmation(gw); /* for what was sent meanwhile, or again */
}

/* The ping goes to the gateway's own address: the server routes it back,
 * in stream order, whatever modules it runs. */
static void ask_confirmation(struct gateway *gw)
{
    struct to_xmpp *t = state(gw);
    if (t->ping_out || t->sent_up_to <= t->confirmed_up_to ||
        gw->stanza_outbox_dirty || gw->stanza_outbox_held ||
        !component_is_connected(gw->component))
        return;
    struct ping *p = xmalloc(sizeof *p);
    *p = (struct ping){ gw, t->sent_up_to, t->epoch };
    struct component_query q = { .to = component_jid(gw->component),
                                 .name = "ping", .ns = NS_PING };
    if (component_query(gw->component, &q, CONFIRM_TIMEOUT_MS,
                        on_confirmation, p) == 0)
        t->ping_out = true;
    else
        free(p); /* disconnected: the reconnection sends them again */
}

/* The payload is what xml_serialize made of a stanza this gateway built,
 * so it goes out as it is: parsing it again only to serialise it again
 * cost more than the rest of the way to XMPP. A row that is not even
 * shaped like an element (damaged storage) is dropped rather than sent
 * into the stream (its row goes with the next confirmation). */
static void send_one(struct gateway *gw, int64_t id, const char *xml,
                     size_t len)
{
    state(gw)->sent_up_to = id;
    if (len < 4 || xml[0] != '<' || xml[len - 1] != '>') {
        log_error("to_xmpp: outbox item %lld is not a stanza; dropping it",
                  (long long)id);
        return;
    }
    component_send_xml(gw->component, xml, len);
    metrics_inc(CNT_TO_XMPP);
}

struct scan {
    struct gateway *gw;
    int64_t last_id;
};

static void send_stored(const struct store_outbox_item *it, void *ud)
{
    struct scan *sc = ud;
    sc->last_id = it->id;
    send_one(sc->gw, it->id, it->payload, strlen(it->payload));
}

/* Everything the outbox holds, oldest first: what waited and what the
 * server never confirmed. */
static void flush_stored(struct gateway *gw)
{
    struct to_xmpp *t = state(gw);
    t->epoch++;
    t->ping_out = false;
    t->sent_up_to = t->confirmed_up_to = 0;
    struct scan sc = { gw, 0 };
    int n;
    do {
        n = store_outbox_scan(gw->store, OUTBOX_STANZA, sc.last_id,
                              FLUSH_BATCH, send_stored, &sc);
    } while (n == FLUSH_BATCH);
}

void to_xmpp_flush(struct gateway *gw, int commit)
{
    struct to_xmpp *t = state(gw);
    if (commit < 0) {
        /* The turn's rows are gone with its transaction. If some were
         * sent, start again from what is stored: no answer to a ping asked
         * so far is trusted, and the outbox is sent again. */
        if (t->sent_uncommitted) {
            t->epoch++;
            t->ping_out = false;
            gw->stanza_outbox_dirty = true;
        }
        t->sent_uncommitted = false;
        return;
    }
    if (commit > 0)
        t->sent_uncommitted = false;
    if (!component_is_connected(gw->component))
        return;
    if (gw->stanza_outbox_dirty && !gw->stanza_outbox_held) {
        gw->stanza_outbox_dirty = false;
        flush_stored(gw);
        if (commit == 0)
            t->sent_uncommitted = true;
    }
    ask_confirmation(gw);
}
