/* OMEMO's PEP: the puppets' device lists and bundles, which the
 * component serves itself (the XMPP server's PEP serves only its own
 * users), and the XMPP users' own, fetched from their servers so that
 * what a Matrix user says reaches every one of their devices. */
#include "gateway/features/omemo_state.h"
#include "gateway/features/trust.h"

#include "gateway/base/context.h"
#include "gateway/base/effects.h"

#include "common/log.h"
#include "common/mem.h"
#include "xep/component.h"
#include "store/store.h"
#include "xep/omemo.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FETCH_TIMEOUT_MS 15000
/* How long what a user's devices were is taken as current. */
#define MEET_AGAIN_MS (10 * 60 * 1000)

/* ------------------------------------------------- serving the puppets -- */

/* What a node serves from the puppet's device d; NULL for none. */
static xmpp_stanza_t *node_payload(struct gateway *gw,
                                   struct omemo_device *d, const char *node,
                                   xmpp_stanza_t *items)
{
    uint32_t id = omemo_device_id(d);
    const char *why;
    struct omemo_bundle b;
    xmpp_stanza_t *payload = NULL;
    if (strcmp(node, OMEMO_NODE_DEVICELIST) == 0)
        return omemo_devicelist_build(gw->xmpp, &id, 1);
    if (strcmp(node, OMEMO2_NODE_DEVICES) == 0)
        return omemo2_devices_build(gw->xmpp, &id, 1);
    uint32_t asked = omemo_bundle_node_device(node);
    if (asked == id && omemo_device_bundle(d, OMEMO_LEGACY, &b, &why) == 0) {
        payload = omemo_bundle_build(gw->xmpp, &b);
        omemo_bundle_free(&b);
    }
    /* One node of items, one per device: a request names the item, or
     * takes them all (the one). */
    uint32_t item = omemo2_requested_item(items);
    if (strcmp(node, OMEMO2_NODE_BUNDLES) == 0 && (!item || item == id) &&
        omemo_device_bundle(d, OMEMO_2, &b, &why) == 0) {
        payload = omemo2_bundle_build(gw->xmpp, &b);
        omemo_bundle_free(&b);
    }
    return payload;
}

static bool omemo_node(const char *node)
{
    return node && (strcmp(node, OMEMO_NODE_DEVICELIST) == 0 ||
                    omemo_bundle_node_device(node) ||
                    strcmp(node, OMEMO2_NODE_DEVICES) == 0 ||
                    strcmp(node, OMEMO2_NODE_BUNDLES) == 0);
}

bool omemo_pubsub_get(struct gateway *gw, xmpp_stanza_t *iq,
                      const char *puppet_jid)
{
    xmpp_stanza_t *items;
    const char *node = omemo_pubsub_node(iq, &items);
    if (!omemo_node(node))
        return false;
    struct omemo_owner owner;
    const char *why = NULL;
    struct omemo_device *d = omemo_puppet_open(gw, puppet_jid, &owner, &why);
    xmpp_stanza_t *payload = d ? node_payload(gw, d, node, items) : NULL;
    char item_id[12];
    snprintf(item_id, sizeof item_id, "%u", d ? omemo_device_id(d) : 0);
    omemo_puppet_close(d, &owner);
    xmpp_stanza_t *r;
    if (payload && strcmp(node, OMEMO2_NODE_BUNDLES) == 0) {
        r = omemo2_items_result(gw->xmpp, iq, node, item_id, payload);
    } else if (payload) {
        r = omemo_items_result(gw->xmpp, iq, node, payload);
    } else {
        /* No such device (or OMEMO is off): as PEP says of a node that
         * does not exist. */
        r = xmpp_iq_new(gw->xmpp, "error", xmpp_stanza_get_id(iq));
        xmpp_stanza_set_to(r, xmpp_stanza_get_from(iq));
        xmpp_stanza_set_from(r, xmpp_stanza_get_to(iq));
        xmpp_stanza_t *e = xmpp_stanza_new(gw->xmpp);
        xmpp_stanza_set_name(e, "error");
        xmpp_stanza_set_type(e, "cancel");
        xmpp_stanza_t *c = xmpp_stanza_new(gw->xmpp);
        xmpp_stanza_set_name(c, "item-not-found");
        xmpp_stanza_set_ns(c, "urn:ietf:params:xml:ns:xmpp-stanzas");
        xmpp_stanza_add_child(e, c);
        xmpp_stanza_release(c);
        xmpp_stanza_add_child(r, e);
        xmpp_stanza_release(e);
    }
    gateway_send_now(gw, r);
    xmpp_stanza_release(r);
    return true;
}

void omemo_announce(struct gateway *gw, const char *puppet_jid,
                    const char *to, bool create)
{
    if (!omemo_active(gw))
        return;
    uint8_t *identity = NULL;
    size_t len = 0;
    if (!create && store_omemo_get(gw->store, puppet_jid, OMEMO_REC_IDENTITY,
                                   "", 0, &identity, &len) != 1)
        return;
    if (identity)
        sodium_memzero(identity, len);
    free(identity);
    struct omemo_owner owner;
    const char *why;
    struct omemo_device *d = omemo_puppet_open(gw, puppet_jid, &owner, &why);
    if (d) {
        uint32_t id = omemo_device_id(d);
        xmpp_stanza_t *list = omemo_devicelist_build(gw->xmpp, &id, 1);
        xmpp_stanza_t *m = omemo_notification(gw->xmpp, puppet_jid, to,
                                              OMEMO_NODE_DEVICELIST, list);
        gateway_send_now(gw, m);
        xmpp_stanza_release(m);
        list = omemo2_devices_build(gw->xmpp, &id, 1);
        m = omemo_notification(gw->xmpp, puppet_jid, to, OMEMO2_NODE_DEVICES,
                               list);
        gateway_send_now(gw, m);
        xmpp_stanza_release(m);
    }
    omemo_puppet_close(d, &owner);
}

/* ---------------------------------------------- fetching a user's keys -- */

struct fetch {
    struct gateway *gw;
    char *puppet;
    char *user;
    char *key; /* "puppet user": the refresh this belongs to */
    int version; /* OMEMO_LEGACY or OMEMO_2 */
    uint32_t device;
    int *pending; /* answers still on their way, shared by the refresh */
};

static void fetch_free(struct fetch *f)
{
    free(f->puppet);
    free(f->user);
    free(f->key);
    free(f);
}

/* Asks user's PEP, as the puppet, for node's items (item_id: one of them,
 * or 0 for all). */
static int ask(struct gateway *gw, const char *puppet, const char *user,
               const char *node, uint32_t item_id, component_iq_cb cb,
               void *ud)
{
    xmpp_stanza_t *ps = xmpp_stanza_new(gw->xmpp);
    xmpp_stanza_set_name(ps, "pubsub");
    xmpp_stanza_set_ns(ps, "http://jabber.org/protocol/pubsub");
    xmpp_stanza_t *items = xmpp_stanza_new(gw->xmpp);
    xmpp_stanza_set_name(items, "items");
    xmpp_stanza_set_attribute(items, "node", node);
    if (item_id) {
        char id[12];
        snprintf(id, sizeof id, "%u", item_id);
        xmpp_stanza_t *item = xmpp_stanza_new(gw->xmpp);
        xmpp_stanza_set_name(item, "item");
        xmpp_stanza_set_attribute(item, "id", id);
        xmpp_stanza_add_child(items, item);
        xmpp_stanza_release(item);
    }
    xmpp_stanza_add_child(ps, items);
    xmpp_stanza_release(items);
    struct component_query q = { .from = puppet, .to = user, .payload = ps };
    int rc = component_query(gw->component, &q, FETCH_TIMEOUT_MS, cb, ud);
    xmpp_stanza_release(ps);
    return rc;
}

static void refresh_step_done(struct fetch *f)
{
    if (--*f->pending == 0) {
        omemo_refresh_done(f->gw, f->key);
        free(f->pending);
    }
    fetch_free(f);
}

static int parse_bundle(int version, xmpp_stanza_t *el,
                        struct omemo_bundle *b, const char **why)
{
    return version == OMEMO_2 ? omemo2_bundle_parse(el, b, why)
                              : omemo_bundle_parse(el, b, why);
}

static void on_bundle(xmpp_stanza_t *result, void *ud)
{
    struct fetch *f = ud;
    struct gateway *gw = f->gw;
    xmpp_stanza_t *items = NULL;
    const char *type = result ? xmpp_stanza_get_type(result) : NULL;
    if (type && strcmp(type, "result") == 0)
        omemo_pubsub_node(result, &items);
    xmpp_stanza_t *el = omemo_first_item_payload(items);
    struct omemo_bundle b;
    const char *why = "no answer";
    const char *v = f->version == OMEMO_2 ? "OMEMO 2" : "OMEMO";
    if (el && parse_bundle(f->version, el, &b, &why) == 0) {
        struct omemo_owner owner;
        struct omemo_device *d = omemo_puppet_open(gw, f->puppet, &owner,
                                                   &why);
        if (d && omemo_session_from_bundle(d, f->user, f->device, &b, &why) ==
                     0)
            log_info("omemo: %s has an %s session with device %u of %s",
                     f->puppet, v, f->device, f->user);
        else
            log_warn("omemo: no %s session with device %u of %s: %s", v,
                     f->device, f->user, why);
        omemo_puppet_close(d, &owner);
        omemo_bundle_free(&b);
    } else {
        log_info("omemo: no %s bundle for device %u of %s: %s", v, f->device,
                 f->user, el ? why : "the server has none");
    }
    refresh_step_done(f);
}

static void fetch_bundles(struct fetch *list_fetch, const uint32_t *ids, int n)
{
    struct gateway *gw = list_fetch->gw;
    struct omemo_owner owner;
    const char *why;
    int version = list_fetch->version;
    struct omemo_device *d = omemo_puppet_open(gw, list_fetch->puppet, &owner,
                                               &why);
    for (int i = 0; d && i < n; i++) {
        if (omemo_has_session(d, version, list_fetch->user, ids[i]))
            continue;
        struct fetch *f = xcalloc(1, sizeof *f);
        *f = (struct fetch){ gw, xstrdup(list_fetch->puppet),
                             xstrdup(list_fetch->user),
                             xstrdup(list_fetch->key), version, ids[i],
                             list_fetch->pending };
        char node[64];
        if (version == OMEMO_2)
            snprintf(node, sizeof node, "%s", OMEMO2_NODE_BUNDLES);
        else
            snprintf(node, sizeof node, "%s%u", OMEMO_NODE_BUNDLES, ids[i]);
        ++*f->pending;
        if (ask(gw, f->puppet, f->user, node,
                version == OMEMO_2 ? ids[i] : 0, on_bundle, f) < 0) {
            --*f->pending;
            fetch_free(f);
        }
    }
    omemo_puppet_close(d, &owner);
}

/* The device list replaces what was known of the user's devices. */
static void take_devicelist(struct gateway *gw, int version,
                            const char *user, const uint32_t *ids, int n)
{
    uint32_t *known = NULL;
    int k = omemo_user_devices(gw, version, user, &known);
    for (int i = 0; i < k; i++) {
        bool still = false;
        for (int j = 0; j < n && !still; j++)
            still = ids[j] == known[i];
        if (!still)
            omemo_user_device_del(gw, version, user, known[i]);
    }
    free(known);
    for (int i = 0; i < n; i++)
        omemo_user_device_add(gw, version, user, ids[i]);
    /* Who verified this user hears of a device they have not seen. */
    trust_xmpp_devices_seen(gw, user, ids, n);
}

static int parse_devices(int version, xmpp_stanza_t *el, uint32_t **ids)
{
    return version == OMEMO_2 ? omemo2_devices_parse(el, ids)
                              : omemo_devicelist_parse(el, ids);
}

static void on_devicelist(xmpp_stanza_t *result, void *ud)
{
    struct fetch *f = ud;
    struct gateway *gw = f->gw;
    const char *type = result ? xmpp_stanza_get_type(result) : NULL;
    const char *v = f->version == OMEMO_2 ? "OMEMO 2" : "OMEMO";
    xmpp_stanza_t *items = NULL;
    if (type && strcmp(type, "result") == 0) {
        omemo_pubsub_node(result, &items);
        uint32_t *ids = NULL;
        int n = parse_devices(f->version, omemo_first_item_payload(items),
                              &ids);
        if (n >= 0) {
            take_devicelist(gw, f->version, f->user, ids, n);
            log_info("omemo: %s has %d %s device(s)", f->user, n, v);
            fetch_bundles(f, ids, n);
        }
        free(ids);
    } else if (type && strcmp(type, "error") == 0) {
        /* No list (or not readable). Devices that wrote to a puppet are
         * kept: some clients (Profanity 0.13) write OMEMO without ever
         * publishing a list. An empty list, by contrast, empties it. */
        log_info("omemo: %s publishes no %s device list", f->user, v);
    }
    refresh_step_done(f);
}

void omemo_peer_refresh(struct gateway *gw, const char *puppet_jid,
                        const char *user_bare, omemo_ready_cb *cb, void *ud)
{
    if (!omemo_active(gw)) {
        if (cb)
            cb(gw, ud);
        return;
    }
    char *key = xasprintf("%s %s", puppet_jid, user_bare);
    if (!omemo_refresh_begin(gw->omemo, key, cb, ud)) {
        free(key);
        return;
    }
    /* Both versions' lists, one refresh: it ends when both have. */
    int *pending = xcalloc(1, sizeof(int));
    *pending = 2;
    static const int versions[] = { OMEMO_LEGACY, OMEMO_2 };
    for (int i = 0; i < 2; i++) {
        struct fetch *f = xcalloc(1, sizeof *f);
        *f = (struct fetch){ gw, xstrdup(puppet_jid), xstrdup(user_bare),
                             xstrdup(key), versions[i], 0, pending };
        if (ask(gw, puppet_jid, user_bare,
                versions[i] == OMEMO_2 ? OMEMO2_NODE_DEVICES
                                       : OMEMO_NODE_DEVICELIST,
                0, on_devicelist, f) < 0)
            refresh_step_done(f);
    }
    free(key);
}

void omemo_peer_meet(struct gateway *gw, const char *puppet_jid,
                     const char *user_bare, omemo_ready_cb *cb, void *ud)
{
    if (!omemo_active(gw)) {
        if (cb)
            cb(gw, ud);
        return;
    }
    char *key = xasprintf("%s %s", puppet_jid, user_bare);
    const char *last = strmap_get(&gw->omemo->met, key);
    int64_t now = gateway_now_ms();
    /* Again after a while: a user's new device that has not written yet
     * is learnt this way (servers push list changes only to contacts
     * whose presence shows they want them). */
    if (!last || now - strtoll(last, NULL, 10) > MEET_AGAIN_MS) {
        char stamp[24];
        snprintf(stamp, sizeof stamp, "%lld", (long long)now);
        strmap_put(&gw->omemo->met, key, stamp);
        omemo_peer_refresh(gw, puppet_jid, user_bare, cb, ud);
    } else if (cb) {
        cb(gw, ud);
    }
    free(key);
}

bool omemo_pubsub_event(struct gateway *gw, xmpp_stanza_t *msg)
{
    xmpp_stanza_t *items = NULL;
    const char *node = omemo_pubsub_node(msg, &items);
    const char *from = xmpp_stanza_get_from(msg);
    int version = !node || !from                             ? 0
                  : strcmp(node, OMEMO_NODE_DEVICELIST) == 0 ? OMEMO_LEGACY
                  : strcmp(node, OMEMO2_NODE_DEVICES) == 0   ? OMEMO_2
                                                             : 0;
    if (!version)
        return false;
    if (!omemo_active(gw))
        return true;
    uint32_t *ids = NULL;
    char *user = xstrndup(from, strcspn(from, "/"));
    int n = parse_devices(version, omemo_first_item_payload(items), &ids);
    if (n >= 0) {
        take_devicelist(gw, version, user, ids, n);
        log_info("omemo: %s announced %d %s device(s)", user, n,
                 version == OMEMO_2 ? "OMEMO 2" : "OMEMO");
        /* Sessions with the new ones now, so the next message reaches
         * them too. */
        const char *to = xmpp_stanza_get_to(msg);
        char *puppet = to ? xstrndup(to, strcspn(to, "/")) : NULL;
        if (puppet)
            omemo_peer_refresh(gw, puppet, user, NULL, NULL);
        free(puppet);
    }
    free(ids);
    free(user);
    return true;
}
