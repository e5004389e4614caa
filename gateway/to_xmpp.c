/* Stanzas for XMPP wait in the outbox until the turn that produced them has
 * committed; then they are sent in order over the one component connection
 * and removed. A crash between sending and removing resends them with the
 * same ids, which clients deduplicate.
 *
 * The stanzas of the turn are also kept in memory, so that the flush right
 * after the commit sends them without reading back what the turn has just
 * written. The outbox is read only when it may hold stanzas the memory
 * does not: after a start, a reconnection, or a failed commit. */
#include "gateway/gateway.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/metrics.h"
#include "xep/message.h"

#include <stdlib.h>
#include <string.h>

#define FLUSH_BATCH 256

struct fresh_stanza {
    int64_t id;       /* its outbox item */
    char *xml;        /* owned */
    size_t len;
    int64_t start_us; /* when its transaction arrived, or 0 */
};

struct to_xmpp_fresh {
    struct fresh_stanza *v;
    size_t n, cap;
};

static void fresh_clear(struct to_xmpp_fresh *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].xml);
    f->n = 0;
}

void to_xmpp_free(struct gateway *gw)
{
    if (!gw->fresh)
        return;
    fresh_clear(gw->fresh);
    free(gw->fresh->v);
    free(gw->fresh);
    gw->fresh = NULL;
}

int to_xmpp_enqueue(struct gateway *gw, const char *queue, xmpp_stanza_t *st)
{
    char *xml = xmsg_stanza_to_xml(st);
    if (!xml)
        return -1;
    int64_t id = store_outbox_add(gw->store, queue, OUTBOX_STANZA, xml,
                                  gateway_now_ms());
    if (id < 0) {
        free(xml);
        return -1;
    }
    if (gw->stanza_outbox_dirty || !component_is_connected(gw->component)) {
        /* It waits with the others; the flush reads them all back. */
        gw->stanza_outbox_dirty = true;
        free(xml);
        return 0;
    }
    if (!gw->fresh)
        gw->fresh = xcalloc(1, sizeof *gw->fresh);
    struct to_xmpp_fresh *f = gw->fresh;
    if (f->n == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 64;
        f->v = xrealloc(f->v, f->cap * sizeof *f->v);
    }
    f->v[f->n++] = (struct fresh_stanza){ id, xml, strlen(xml),
                                          gw->txn_start_us };
    return 0;
}

/* The payload is what xml_serialize made of a stanza this gateway built,
 * so it goes out as it is: parsing it again only to serialise it again
 * cost more than the rest of the way to XMPP. A row that is not even
 * shaped like an element (damaged storage) is dropped rather than sent
 * into the stream. */
static void send_one(struct gateway *gw, int64_t id, const char *xml,
                     size_t len, int64_t start_us)
{
    if (len < 4 || xml[0] != '<' || xml[len - 1] != '>') {
        log_error("to_xmpp: outbox item %lld is not a stanza; dropping it",
                  (long long)id);
        return;
    }
    component_send_xml(gw->component, xml, len);
    metrics_inc(CNT_TO_XMPP);
    if (start_us)
        metrics_observe_us(HIST_TO_XMPP, metrics_now_us() - start_us);
}

struct scan {
    struct gateway *gw;
    int64_t first_id, last_id;
};

static void send_stored(const struct store_outbox_item *it, void *ud)
{
    struct scan *sc = ud;
    if (!sc->first_id)
        sc->first_id = it->id;
    sc->last_id = it->id;
    send_one(sc->gw, it->id, it->payload, strlen(it->payload), 0);
}

/* Everything the outbox holds, oldest first; the turn's copies in memory
 * are among it. */
static void flush_stored(struct gateway *gw)
{
    int n;
    int64_t after = 0;
    do {
        struct scan sc = { gw, 0, 0 };
        n = store_outbox_scan(gw->store, OUTBOX_STANZA, after, FLUSH_BATCH,
                              send_stored, &sc);
        if (n > 0) {
            store_outbox_delete_range(gw->store, OUTBOX_STANZA, sc.first_id,
                                      sc.last_id);
            after = sc.last_id;
        }
    } while (n == FLUSH_BATCH);
}

void to_xmpp_flush(struct gateway *gw, bool committed)
{
    struct to_xmpp_fresh *f = gw->fresh;
    if (!committed) {
        /* The turn's rows are gone with its transaction. */
        if (f)
            fresh_clear(f);
        return;
    }
    if (!component_is_connected(gw->component)) {
        if (f && f->n) {
            fresh_clear(f);
            gw->stanza_outbox_dirty = true;
        }
        return;
    }
    if (gw->stanza_outbox_dirty) {
        if (f)
            fresh_clear(f);
        flush_stored(gw);
        gw->stanza_outbox_dirty = false;
        return;
    }
    if (!f || !f->n)
        return;
    for (size_t i = 0; i < f->n; i++)
        send_one(gw, f->v[i].id, f->v[i].xml, f->v[i].len, f->v[i].start_us);
    /* Only this turn's stanzas lie in the range: any older one would have
     * set stanza_outbox_dirty. Rows of other kinds are left alone. */
    store_outbox_delete_range(gw->store, OUTBOX_STANZA, f->v[0].id,
                              f->v[f->n - 1].id);
    fresh_clear(f);
}
