/* See catchup.h. The server sends its XEP-0356 advertisement right after
 * the handshake, before it reads anything from us: a ping to our own
 * address, answered through the server after it, tells that the
 * advertisement has come if there is one. Only then can the gateway say
 * which guarantee holds, and start the catch-up if it may. */
#include "gateway/features/catchup_state.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "xep/component.h"
#include "xep/disco.h"
#include "xep/mam.h"

#include <stdlib.h>
#include <string.h>

#define NS_MAM2 "urn:xmpp:mam:2"
#define SETTLE_TIMEOUT_MS 15000
/* How often the "alive" mark is written, and so how far past it a message
 * may have been written into a dying gateway's socket. */
#define ALIVE_EVERY_MS 2000
#define ALIVE_SETTING "alive_at"
/* The window read around the moment the link went down: messages in
 * flight then were sent seconds before; later ones were bounced by the
 * server (the sender was told), and are not bridged behind their back. */
#define LOOKBACK_MS (60 * 1000)
#define GRACE_MS (ALIVE_EVERY_MS + 3000)
/* "Active just before": took in a message this long before the end. */
#define ACTIVE_MS (10 * 60 * 1000)

struct catchup *catchup_new(catchup_take_in_fn *take_in)
{
    struct catchup *c = xcalloc(1, sizeof(struct catchup));
    c->take_in = take_in;
    return c;
}

static void clear_run(struct catchup *c)
{
    store_strings_free(c->users, c->nusers);
    c->users = NULL;
    c->nusers = 0;
    for (size_t i = 0; i < c->nfound; i++)
        xmpp_stanza_release(c->found[i].st);
    free(c->found);
    c->found = NULL;
    c->nfound = c->capfound = 0;
    for (size_t i = 0; i < c->ndelivered; i++) {
        free(c->delivered[i].to);
        free(c->delivered[i].id);
    }
    free(c->delivered);
    c->delivered = NULL;
    c->ndelivered = c->capdelivered = 0;
    c->queries_out = 0;
    c->running = false;
}

void catchup_free(struct catchup *c)
{
    if (!c)
        return;
    clear_run(c);
    for (size_t i = 0; i < c->ndeferred; i++)
        xmpp_stanza_release(c->deferred[i]);
    free(c->deferred);
    free(c->server);
    free(c);
}

bool catchup_archive_permitted(const struct gateway *gw)
{
    return gw->catchup && privilege_allows(gw->catchup->mam, "set");
}

/* The previous run's mark, read before this run writes its own. */
static void read_alive(struct gateway *gw)
{
    struct catchup *c = gw->catchup;
    if (c->alive_read)
        return;
    c->alive_read = true;
    int64_t v;
    if (store_setting_get(gw->store, ALIVE_SETTING, &v) == 1)
        c->previous_alive = v;
}

void catchup_tick(struct gateway *gw)
{
    struct catchup *c = gw->catchup;
    if (!c)
        return;
    read_alive(gw);
    int64_t now = gateway_now_ms();
    if (now - c->alive_written < ALIVE_EVERY_MS)
        return;
    c->alive_written = now;
    /* Not worth a commit of its own while work is done: it rides on the
     * next one (at most 100 ms away). */
    store_may_wait_begin(gw->store);
    store_setting_put(gw->store, ALIVE_SETTING, now);
    store_may_wait_end(gw->store);
}

void catchup_on_disconnected(struct gateway *gw)
{
    if (gw->catchup)
        gw->catchup->link_lost_at = gateway_now_ms();
}

/* Says once per process what a crash of the link can cost. Logged at
 * warn without the permission: it is a weaker promise than the README's
 * "nothing lost, nothing doubled", and an operator should see it. */
static void tell(struct gateway *gw)
{
    struct catchup *c = gw->catchup;
    if (c->told)
        return;
    c->told = true;
    if (!c->advertised || c->mam == PRIV_IQ_NONE) {
        log_warn("delivery: the XMPP server grants no XEP-0356 iq permission "
                 "for %s to %s, so isthmus cannot read its users' archives: "
                 "a message an XMPP user sends at the moment isthmus dies can "
                 "be lost (XEP-0114 has no acknowledgement; a client that "
                 "resends what got no XEP-0184 receipt is safe), and a "
                 "message to XMPP being written at that moment can arrive "
                 "twice, with the same id (see the README, Delivery)",
                 NS_MAM2, component_jid(gw->component));
        return;
    }
    if (!privilege_allows(c->mam, "set")) {
        log_warn("delivery: the XMPP server grants %s only for iq get; a MAM "
                 "query is an iq set: grant \"set\" or \"both\". Until then "
                 "a message sent at the moment isthmus dies can be lost, and "
                 "one to XMPP can arrive twice (see the README, Delivery)",
                 NS_MAM2);
        return;
    }
    log_info("delivery: the XMPP server grants XEP-0356 iq permission for "
             "%s: after a crash or a lost link, isthmus reads its users' "
             "archives for what crossed at that moment", NS_MAM2);
}

/* Stanzas to XMPP go out again, the outbox read from its start, and the
 * live messages that waited are taken in after what the archives gave. */
static void release(struct gateway *gw)
{
    struct catchup *c = gw->catchup;
    gw->stanza_outbox_held = false;
    gw->stanza_outbox_dirty = true;
    size_t n = c->ndeferred;
    xmpp_stanza_t **deferred = c->deferred;
    c->deferred = NULL;
    c->ndeferred = c->capdeferred = 0;
    for (size_t i = 0; i < n; i++) {
        c->take_in(gw, deferred[i], 0);
        xmpp_stanza_release(deferred[i]);
    }
    free(deferred);
}

static int by_stamp(const void *a, const void *b)
{
    const struct catchup_found *x = a, *y = b;
    if (x->ts != y->ts)
        return (x->ts > y->ts) - (x->ts < y->ts);
    return (x->order > y->order) - (x->order < y->order);
}

static void on_read(struct gateway *gw)
{
    struct catchup *c = gw->catchup;
    int skipped = catchup_archive_skip_delivered(gw);
    /* By stamp, and in the order the archives gave for equal stamps
     * (qsort is not stable). */
    if (c->nfound > 1)
        qsort(c->found, c->nfound, sizeof *c->found, by_stamp);
    int taken = 0;
    for (size_t i = 0; i < c->nfound; i++)
        taken += c->take_in(gw, c->found[i].st, c->found[i].ts);
    log_info("catchup: read %d archive(s): %d message(s) to Matrix the "
             "gateway had missed were bridged, %d stanza(s) to XMPP already "
             "delivered were not sent again", c->nusers, taken, skipped);
    clear_run(c);
    release(gw);
}

/* Whose archives to read: the server's users who sent the gateway a
 * message shortly before the end, and the recipients of what waits in the
 * stanza outbox. Only users of the server that granted the permission. */
static void add_user(struct catchup *c, const char *jid)
{
    const char *at = strchr(jid, '@');
    if (!at || strchr(jid, '/') || !c->server || strcmp(at + 1, c->server))
        return;
    for (int i = 0; i < c->nusers; i++)
        if (strcmp(c->users[i], jid) == 0)
            return;
    c->users = xrealloc(c->users, (size_t)(c->nusers + 1) * sizeof *c->users);
    c->users[c->nusers++] = xstrdup(jid);
}

struct recipients {
    struct catchup *c;
    int64_t oldest_ts;
};

/* A waiting stanza's recipient is read too; the window reaches back to
 * the oldest one. */
static void note_recipient(const struct store_outbox_item *it,
                           const char *to, const char *id, void *ud)
{
    (void)id;
    struct recipients *r = ud;
    add_user(r->c, to);
    if (!r->oldest_ts || it->created_ts < r->oldest_ts)
        r->oldest_ts = it->created_ts;
}

static void start(struct gateway *gw)
{
    struct catchup *c = gw->catchup;
    read_alive(gw);
    int64_t end = c->link_lost_at ? c->link_lost_at : c->previous_alive;
    if (!end) {
        release(gw); /* a first start: nothing crossed before */
        return;
    }
    c->running = true;
    c->window_end = end + GRACE_MS;
    c->window_start = end - LOOKBACK_MS;
    char **senders;
    int n = store_inbound_senders(gw->store, end - ACTIVE_MS, &senders);
    for (int i = 0; i < n; i++)
        add_user(c, senders[i]);
    if (n > 0)
        store_strings_free(senders, n);
    struct recipients r = { c, 0 };
    catchup_waiting_stanzas(gw, note_recipient, &r);
    if (r.oldest_ts && r.oldest_ts - GRACE_MS < c->window_start)
        c->window_start = r.oldest_ts - GRACE_MS;
    if (!c->nusers) {
        clear_run(c);
        release(gw);
        return;
    }
    char from[40], to[40];
    mam_format_datetime(c->window_start, from, sizeof from);
    mam_format_datetime(c->window_end, to, sizeof to);
    log_info("catchup: reading the archives of %d user(s) of %s, from %s "
             "to %s", c->nusers, c->server, from, to);
    catchup_archive_read(gw, on_read);
}

static void on_settled(xmpp_stanza_t *result, void *ud)
{
    /* An answer, an error or a timeout all come after the advertisement;
     * a disconnection does not tell: the next connection asks again. */
    struct gateway *gw = ud;
    if (!gw->catchup ||
        (!result && !component_is_connected(gw->component)))
        return;
    tell(gw);
    if (catchup_archive_permitted(gw))
        start(gw);
    else
        release(gw);
}

void catchup_on_connected(struct gateway *gw)
{
    struct catchup *c = gw->catchup;
    c->epoch++;
    c->advertised = false;
    c->mam = PRIV_IQ_NONE;
    clear_run(c);
    /* What waits for XMPP waits a moment more: the advertisement decides
     * whether the archives are read first. */
    gw->stanza_outbox_held = true;
    struct component_query q = { .to = component_jid(gw->component),
                                 .name = "ping", .ns = NS_PING };
    if (component_query(gw->component, &q, SETTLE_TIMEOUT_MS, on_settled,
                        gw) < 0)
        log_debug("catchup: disconnected before the settling ping");
}

bool catchup_defer(struct gateway *gw, xmpp_stanza_t *st, const char *from)
{
    struct catchup *c = gw->catchup;
    if (!c || !c->running)
        return false;
    char *from_bare = ids_jid_bare(from);
    bool read = false;
    for (int i = 0; i < c->nusers && !read; i++)
        read = strcmp(c->users[i], from_bare) == 0;
    free(from_bare);
    if (!read)
        return false;
    if (c->ndeferred == c->capdeferred) {
        c->capdeferred = c->capdeferred ? 2 * c->capdeferred : 16;
        c->deferred = xrealloc(c->deferred,
                               c->capdeferred * sizeof *c->deferred);
    }
    c->deferred[c->ndeferred++] = xmpp_stanza_clone(st);
    return true;
}

bool catchup_take_stanza(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *name = xmpp_stanza_get_name(st);
    if (!gw->catchup || !name || strcmp(name, "message") != 0)
        return false;
    if (catchup_archive_result(gw, st))
        return true;
    if (!privilege_is_advertisement(st))
        return false;
    /* Only the server itself advertises: a bare domain, not a user. */
    const char *from = xmpp_stanza_get_from(st);
    if (!from || strchr(from, '@') || strchr(from, '/')) {
        log_debug("catchup: ignored a <privilege/> message not from a "
                  "server");
        return true;
    }
    struct catchup *c = gw->catchup;
    c->advertised = true;
    c->mam = privilege_iq_permission(st, NS_MAM2);
    free(c->server);
    c->server = xstrdup(from);
    log_debug("catchup: %s advertised XEP-0356 permissions (%s: %d)", from,
              NS_MAM2, (int)c->mam);
    return true;
}
