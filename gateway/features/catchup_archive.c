/* Reading the archives for the catch-up (see catchup.h): one XEP-0313
 * query per user, sent in the user's name through XEP-0356's
 * <privileged_iq/>, paged with RSM until the window is complete. The
 * server hands back each archived message as a privileged message
 * (<privilege><forwarded><message><result/>) and the query's <fin/> as the
 * privileged iq's answer, in that order. */
#include "gateway/features/catchup_state.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "xep/component.h"
#include "xep/mam_client.h"
#include "xep/message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX 100
#define PAGES_MAX 20
#define QUERY_TIMEOUT_MS 10000

/* One user's query, page after page. */
struct catchup_query {
    struct gateway *gw;
    unsigned epoch;
    char *user;
    char *queryid;
    int pages;
    void (*done)(struct gateway *gw);
    struct catchup_query *next;
};

/* Forgets q: the queries out are kept in the catch-up's state, to match
 * result messages by queryid and sender. */
static void query_free(struct catchup_query *q)
{
    struct catchup *c = q->gw->catchup;
    for (struct catchup_query **pp = c ? &c->queries : NULL; pp && *pp;
         pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    }
    free(q->user);
    free(q->queryid);
    free(q);
}

static void on_page(xmpp_stanza_t *result, void *ud);

static int ask_page(struct catchup_query *q, const char *after)
{
    struct gateway *gw = q->gw;
    struct catchup *c = gw->catchup;
    xmpp_stanza_t *query = mam_query_build(gw->xmpp, q->queryid,
                                           c->window_start, c->window_end,
                                           PAGE_MAX, after);
    char *inner_id = component_new_id(gw->component);
    xmpp_stanza_t *wrapped = privilege_wrap_iq(gw->xmpp, q->user, "set",
                                               inner_id, query);
    struct component_query cq = { .type = "set", .to = q->user,
                                  .payload = wrapped };
    int rc = component_query(gw->component, &cq, QUERY_TIMEOUT_MS, on_page,
                             q);
    xmpp_stanza_release(wrapped);
    xmpp_stanza_release(query);
    free(inner_id);
    q->pages++;
    return rc;
}

/* One query ended: when it was the last, the catch-up goes on. */
static void query_ended(struct catchup_query *q)
{
    struct gateway *gw = q->gw;
    void (*done)(struct gateway *) = q->done;
    bool current = gw->catchup && q->epoch == gw->catchup->epoch;
    query_free(q);
    if (current && --gw->catchup->queries_out == 0)
        done(gw);
}

static void on_page(xmpp_stanza_t *result, void *ud)
{
    struct catchup_query *q = ud;
    struct catchup *c = q->gw->catchup;
    /* A lost connection (or the shutdown) ends every query: the next
     * connection starts the catch-up again. */
    if (!c || q->epoch != c->epoch ||
        (!result && !component_is_connected(q->gw->component))) {
        query_free(q);
        return;
    }
    const char *why;
    xmpp_stanza_t *inner = privilege_unwrap_result(result, &why);
    bool complete = true;
    char *last = NULL;
    if (!inner || mam_fin_read(inner, &complete, &last) < 0) {
        /* The rest goes on without this archive: what it held is what a
         * gateway without the permission would have missed. */
        log_warn("catchup: could not read the archive of %s: %s", q->user,
                 inner ? "the answer has no <fin/>" : why);
    } else if (!complete && last && q->pages < PAGES_MAX) {
        int rc = ask_page(q, last);
        free(last);
        if (rc == 0)
            return;
    } else if (!complete) {
        log_warn("catchup: the archive of %s holds more than %d messages "
                 "in the window; the rest is not read", q->user,
                 PAGE_MAX * PAGES_MAX);
    }
    free(last);
    query_ended(q);
}

void catchup_archive_read(struct gateway *gw,
                          void (*done)(struct gateway *gw))
{
    struct catchup *c = gw->catchup;
    c->queries_out = c->nusers;
    for (int i = 0; i < c->nusers; i++) {
        struct catchup_query *q = xcalloc(1, sizeof *q);
        *q = (struct catchup_query){ .gw = gw, .epoch = c->epoch,
                             .user = xstrdup(c->users[i]), .done = done };
        char *id = component_new_id(gw->component);
        q->queryid = xasprintf("catchup-%s", id);
        free(id);
        q->next = c->queries;
        c->queries = q;
        if (ask_page(q, NULL) < 0) {
            /* Disconnected: the next connection starts again. */
            query_free(q);
            c->queries_out--;
        }
    }
    if (c->queries_out == 0)
        done(gw);
}

static void add_found(struct catchup *c, xmpp_stanza_t *msg, int64_t ts)
{
    if (c->nfound == c->capfound) {
        c->capfound = c->capfound ? 2 * c->capfound : 16;
        c->found = xrealloc(c->found, c->capfound * sizeof *c->found);
    }
    /* A result without a stamp counts as sent at the window's end (a
     * stamp of 0 would mean "live" to the edge). */
    c->found[c->nfound] = (struct catchup_found){
        xmpp_stanza_copy(msg), ts > 0 ? ts : c->window_end, c->nfound };
    c->nfound++;
}

static void add_delivered(struct catchup *c, const char *to, const char *id)
{
    if (!id)
        return;
    if (c->ndelivered == c->capdelivered) {
        c->capdelivered = c->capdelivered ? 2 * c->capdelivered : 16;
        c->delivered = xrealloc(c->delivered,
                                c->capdelivered * sizeof *c->delivered);
    }
    c->delivered[c->ndelivered++] =
        (struct catchup_delivered){ xstrdup(to), xstrdup(id) };
}

/* The domain part of a JID, or "" for none. */
static const char *domain_of(const char *jid, char *buf, size_t size)
{
    const char *at = strchr(jid, '@');
    const char *d = at ? at + 1 : jid;
    size_t n = strcspn(d, "/");
    snprintf(buf, size, "%.*s", (int)n, d);
    return buf;
}

/* An archived message of user's: one user sent to the gateway's
 * addresses is taken in (if the gateway missed it, the edge will know),
 * one the gateway sent to user counts as delivered. */
static void consider(struct gateway *gw, const char *user,
                     xmpp_stanza_t *msg, int64_t ts)
{
    struct catchup *c = gw->catchup;
    const char *from = xmpp_stanza_get_from(msg);
    const char *to = xmpp_stanza_get_to(msg);
    if (!from || !to)
        return;
    const char *ours = component_jid(gw->component);
    char fd[512], td[512];
    char *from_bare = ids_jid_bare(from), *to_bare = ids_jid_bare(to);
    if (strcmp(from_bare, user) == 0 &&
        strcmp(domain_of(to, td, sizeof td), ours) == 0) {
        add_found(c, msg, ts);
    } else if (strcmp(to_bare, user) == 0 &&
               strcmp(domain_of(from, fd, sizeof fd), ours) == 0) {
        struct xmsg m;
        const char *why;
        if (xmsg_parse(msg, &m, &why) == 0) {
            add_delivered(c, to_bare, m.id);
            if (m.origin_id && (!m.id || strcmp(m.origin_id, m.id) != 0))
                add_delivered(c, to_bare, m.origin_id);
            xmsg_free(&m);
        }
    }
    free(from_bare);
    free(to_bare);
}

bool catchup_archive_result(struct gateway *gw, xmpp_stanza_t *st)
{
    xmpp_stanza_t *fwd = privilege_forwarded_message(st);
    struct mam_result r;
    if (!fwd || mam_result_read(fwd, &r) < 0)
        return false;
    /* The server stamps the sender: the user whose archive was asked. A
     * queryid that is not ours (or no longer) is dropped. */
    const char *from = xmpp_stanza_get_from(st);
    char *from_bare = from ? ids_jid_bare(from) : NULL;
    struct catchup_query *q = gw->catchup ? gw->catchup->queries : NULL;
    while (q && !(r.queryid && strcmp(q->queryid, r.queryid) == 0))
        q = q->next;
    if (q && from_bare && strcmp(from_bare, q->user) == 0 &&
        gw->catchup && q->epoch == gw->catchup->epoch)
        consider(gw, q->user, r.message, r.ts_ms);
    else
        log_debug("catchup: dropped an archive result for no query of ours");
    free(from_bare);
    return true;
}

/* ---------------------------------------- the stanzas waiting -- */

struct waiting_scan {
    struct gateway *gw;
    int64_t last_id;
    catchup_waiting_fn *fn;
    void *ud;
};

static void visit_waiting(const struct store_outbox_item *it, void *ud)
{
    struct waiting_scan *sc = ud;
    sc->last_id = it->id;
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(sc->gw->xmpp,
                                                    it->payload);
    const char *to = st ? xmpp_stanza_get_to(st) : NULL;
    if (to) {
        char *bare = ids_jid_bare(to);
        sc->fn(it, bare, xmpp_stanza_get_id(st), sc->ud);
        free(bare);
    }
    if (st)
        xmpp_stanza_release(st);
}

void catchup_waiting_stanzas(struct gateway *gw, catchup_waiting_fn *fn,
                             void *ud)
{
    struct waiting_scan sc = { gw, 0, fn, ud };
    while (store_outbox_scan(gw->store, OUTBOX_STANZA, sc.last_id, 256,
                             visit_waiting, &sc) == 256)
        ;
}

struct skip {
    const struct catchup *c;
    int64_t *drop; /* outbox ids to delete after the scan */
    int ndrop;
};

static bool was_delivered(const struct catchup *c, const char *to,
                          const char *id)
{
    for (size_t i = 0; id && i < c->ndelivered; i++)
        if (strcmp(c->delivered[i].id, id) == 0 &&
            strcmp(c->delivered[i].to, to) == 0)
            return true;
    return false;
}

static void skip_if_delivered(const struct store_outbox_item *it,
                              const char *to, const char *id, void *ud)
{
    struct skip *sk = ud;
    if (!was_delivered(sk->c, to, id))
        return;
    sk->drop = xrealloc(sk->drop, (size_t)(sk->ndrop + 1) * sizeof *sk->drop);
    sk->drop[sk->ndrop++] = it->id;
}

int catchup_archive_skip_delivered(struct gateway *gw)
{
    if (!gw->catchup->ndelivered)
        return 0;
    struct skip sk = { gw->catchup, NULL, 0 };
    catchup_waiting_stanzas(gw, skip_if_delivered, &sk);
    for (int i = 0; i < sk.ndrop; i++)
        store_outbox_delete(gw->store, sk.drop[i]);
    free(sk.drop);
    return sk.ndrop;
}
