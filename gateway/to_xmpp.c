/* Stanzas for XMPP wait in the outbox until the turn that produced them has
 * committed; then they are sent in order over the one component connection
 * and removed. A crash between sending and removing resends them with the
 * same ids, which clients deduplicate. */
#include "gateway/gateway.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/metrics.h"
#include "xep/message.h"

#include <stdlib.h>
#include <string.h>

#define FLUSH_BATCH 256

/* When each recent stanza's transaction arrived, by outbox id, for the
 * latency histogram. Ids are sequential, so a small ring is enough; a
 * stanza that waited through an outage simply finds its slot reused. */
#define TIMING_SLOTS 4096
static struct {
    int64_t id;
    int64_t start_us;
} timings[TIMING_SLOTS];

int to_xmpp_enqueue(struct gateway *gw, const char *queue, xmpp_stanza_t *st)
{
    char *xml = xmsg_stanza_to_xml(st);
    if (!xml)
        return -1;
    int64_t id = store_outbox_add(gw->store, queue, OUTBOX_STANZA, xml,
                                  gateway_now_ms());
    free(xml);
    if (id < 0)
        return -1;
    if (gw->txn_start_us && component_is_connected(gw->component)) {
        timings[id % TIMING_SLOTS].id = id;
        timings[id % TIMING_SLOTS].start_us = gw->txn_start_us;
    }
    gw->stanza_outbox_dirty = true;
    return 0;
}

struct flush {
    struct gateway *gw;
    int64_t last_id;
};

/* The payload is what xml_serialize made of a stanza this gateway built,
 * so it goes out as it is: parsing it again only to serialise it again
 * cost more than the rest of the way to XMPP. A row that is not even
 * shaped like an element (damaged storage) is dropped rather than sent
 * into the stream. */
static bool looks_like_element(const char *xml, size_t len)
{
    return len >= 4 && xml[0] == '<' && xml[len - 1] == '>';
}

static void send_item(const struct store_outbox_item *it, void *ud)
{
    struct flush *f = ud;
    f->last_id = it->id;
    size_t len = strlen(it->payload);
    if (!looks_like_element(it->payload, len)) {
        log_error("to_xmpp: outbox item %lld is not a stanza; dropping it",
                  (long long)it->id);
    } else {
        component_send_xml(f->gw->component, it->payload, len);
        metrics_inc(CNT_TO_XMPP);
        if (timings[it->id % TIMING_SLOTS].id == it->id) {
            metrics_observe_us(HIST_TO_XMPP, metrics_now_us() -
                               timings[it->id % TIMING_SLOTS].start_us);
            timings[it->id % TIMING_SLOTS].id = 0;
        }
    }
    store_outbox_delete(f->gw->store, it->id);
}

void to_xmpp_flush(struct gateway *gw)
{
    if (!gw->stanza_outbox_dirty || !component_is_connected(gw->component))
        return;
    struct flush f = { gw, 0 };
    int n;
    do {
        n = store_outbox_scan(gw->store, OUTBOX_STANZA, f.last_id, FLUSH_BATCH,
                              send_item, &f);
    } while (n == FLUSH_BATCH);
    gw->stanza_outbox_dirty = false;
}
