/* See catchup.h. The server sends its XEP-0356 advertisement right after
 * the handshake, before it reads anything from us: a ping to our own
 * address, answered through the server after it, tells that the
 * advertisement has come if there is one. Only then can the gateway say
 * which guarantee holds. */
#include "gateway/features/catchup.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "xep/component.h"
#include "xep/disco.h"
#include "xep/privilege.h"

#include <stdlib.h>
#include <string.h>

#define NS_MAM2 "urn:xmpp:mam:2"
#define SETTLE_TIMEOUT_MS 15000

struct catchup {
    enum priv_iq_type mam;  /* what the last advertisement granted */
    bool advertised;        /* an advertisement came on this connection */
    unsigned epoch;         /* one per connection, for stale answers */
    bool told;              /* the start-up line was written */
};

struct catchup *catchup_new(void)
{
    return xcalloc(1, sizeof(struct catchup));
}

void catchup_free(struct catchup *c)
{
    free(c);
}

bool catchup_archive_permitted(const struct gateway *gw)
{
    return gw->catchup && privilege_allows(gw->catchup->mam, "set");
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
             "%s: isthmus may read its users' archives", NS_MAM2);
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
}

void catchup_on_connected(struct gateway *gw)
{
    struct catchup *c = gw->catchup;
    c->epoch++;
    c->advertised = false;
    c->mam = PRIV_IQ_NONE;
    if (c->told)
        return;
    struct component_query q = { .to = component_jid(gw->component),
                                 .name = "ping", .ns = NS_PING };
    if (component_query(gw->component, &q, SETTLE_TIMEOUT_MS, on_settled,
                        gw) < 0)
        log_debug("catchup: disconnected before the settling ping");
}

bool catchup_take_stanza(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *name = xmpp_stanza_get_name(st);
    if (!gw->catchup || !name || strcmp(name, "message") != 0 ||
        !privilege_is_advertisement(st))
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
    log_debug("catchup: %s advertised XEP-0356 permissions (%s: %d)", from,
              NS_MAM2, (int)c->mam);
    return true;
}
