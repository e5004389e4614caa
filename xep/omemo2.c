/* OMEMO 2's XML (XEP-0384 v0.8+, urn:xmpp:omemo:2): the encrypted element
 * with its keys grouped by JID, the SCE envelope (XEP-0420) its payload
 * holds, the device list and the bundles node. */
#include "xep/omemo.h"
#include "xep/omemo_xml.h"

#include "common/mem.h"
#include "common/strbuf.h"
#include "xep/encrypted.h"
#include "xep/xml.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PUBSUB_V2 "http://jabber.org/protocol/pubsub"

xmpp_stanza_t *omemo2_encrypted_of(xmpp_stanza_t *msg)
{
    return xmpp_stanza_get_child_by_name_and_ns(msg, "encrypted",
                                                NS_OMEMO2_EL);
}

static bool named(xmpp_stanza_t *c, const char *name)
{
    const char *n = xmpp_stanza_is_tag(c) ? xmpp_stanza_get_name(c) : NULL;
    return n && strcmp(n, name) == 0;
}

int omemo2_message_parse(xmpp_stanza_t *enc, const char *for_jid,
                         struct omemo_message *out, const char **why)
{
    memset(out, 0, sizeof *out);
    xmpp_stanza_t *header = xmpp_stanza_get_child_by_name(enc, "header");
    if (!header ||
        !omemo_xml_u32(xmpp_stanza_get_attribute(header, "sid"), &out->sid)) {
        *why = "the OMEMO 2 header or its sid is missing";
        return -1;
    }
    for (xmpp_stanza_t *ks = xmpp_stanza_get_children(header); ks;
         ks = xmpp_stanza_get_next(ks)) {
        const char *jid = xmpp_stanza_get_attribute(ks, "jid");
        if (!named(ks, "keys") || !jid || strcmp(jid, for_jid) != 0)
            continue;
        for (xmpp_stanza_t *k = xmpp_stanza_get_children(ks); k;
             k = xmpp_stanza_get_next(k)) {
            if (!named(k, "key"))
                continue;
            if (out->n_keys == OMEMO_MAX_KEYS) {
                *why = "the OMEMO 2 message has too many keys";
                goto bad;
            }
            struct omemo_key_el el = { 0 };
            const char *kex = xmpp_stanza_get_attribute(k, "kex");
            long n = omemo_xml_bytes(k, OMEMO_MAX_KEY_BYTES, &el.data);
            if (!omemo_xml_u32(xmpp_stanza_get_attribute(k, "rid"), &el.rid) ||
                n <= 0) {
                free(el.data);
                *why = "an OMEMO 2 key element is malformed";
                goto bad;
            }
            el.len = (size_t)n;
            el.prekey = kex && (strcmp(kex, "true") == 0 ||
                                strcmp(kex, "1") == 0);
            out->keys = xrealloc(out->keys, (size_t)(out->n_keys + 1) *
                                                sizeof *out->keys);
            out->keys[out->n_keys++] = el;
        }
    }
    xmpp_stanza_t *payload = xmpp_stanza_get_child_by_name(enc, "payload");
    if (payload) {
        long n = omemo_xml_bytes(payload, OMEMO_MAX_PAYLOAD, &out->payload);
        if (n < 0) {
            *why = "the OMEMO 2 payload is not base64 (or too large)";
            goto bad;
        }
        out->payload_len = (size_t)n;
    }
    return 0;
bad:
    omemo_message_free(out);
    return -1;
}

void omemo2_message_add(xmpp_ctx_t *ctx, xmpp_stanza_t *msg,
                        const struct omemo_message *m, const char *to_jid)
{
    xmpp_stanza_t *enc = xml_add_child(ctx, msg, "encrypted", NS_OMEMO2_EL);
    xmpp_stanza_t *header = xml_add_child(ctx, enc, "header", NULL);
    omemo_xml_set_u32(header, "sid", m->sid);
    xmpp_stanza_t *keys = xml_add_child(ctx, header, "keys", NULL);
    xmpp_stanza_set_attribute(keys, "jid", to_jid);
    for (int i = 0; i < m->n_keys; i++) {
        xmpp_stanza_t *k;
        omemo_xml_add_b64(ctx, keys, "key", m->keys[i].data, m->keys[i].len,
                          &k);
        omemo_xml_set_u32(k, "rid", m->keys[i].rid);
        if (m->keys[i].prekey)
            xmpp_stanza_set_attribute(k, "kex", "true");
    }
    if (m->payload)
        omemo_xml_add_b64(ctx, enc, "payload", m->payload, m->payload_len,
                          NULL);
    if (!xmpp_stanza_get_child_by_name_and_ns(msg, "store", "urn:xmpp:hints"))
        xml_add_child(ctx, msg, "store", "urn:xmpp:hints");
}

/* --------------------------------------------------------- envelope -- */

/* Namespaces whose elements say something about the text. */
static const char *const inside_ns[] = {
    "urn:xmpp:message-correct:0", "urn:xmpp:reply:0", NS_FALLBACK,
    "urn:xmpp:reactions:0", "urn:xmpp:message-retract:0",
    "urn:xmpp:message-retract:1", "http://jabber.org/protocol/xhtml-im",
    "urn:xmpp:styling:0", "urn:xmpp:reference:0", NULL,
};

bool omemo2_inside(xmpp_stanza_t *c)
{
    if (!xmpp_stanza_is_tag(c))
        return false;
    const char *name = xmpp_stanza_get_name(c), *ns = xmpp_stanza_get_ns(c);
    if (name && strcmp(name, "body") == 0 &&
        (!ns || strcmp(ns, "jabber:client") == 0 ||
         strcmp(ns, "jabber:component:accept") == 0))
        return true;
    for (int i = 0; ns && inside_ns[i]; i++)
        if (strcmp(ns, inside_ns[i]) == 0)
            return true;
    return false;
}

bool omemo2_has_inside(xmpp_stanza_t *msg)
{
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(msg); c;
         c = xmpp_stanza_get_next(c))
        if (omemo2_inside(c))
            return true;
    return false;
}

char *omemo2_envelope(xmpp_ctx_t *ctx, xmpp_stanza_t *msg, const char *from,
                      const char *to)
{
    xmpp_stanza_t *env = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(env, "envelope");
    xmpp_stanza_set_ns(env, NS_SCE);
    xmpp_stanza_t *content = xml_add_child(ctx, env, "content", NULL);
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(msg); c;
         c = xmpp_stanza_get_next(c)) {
        if (!omemo2_inside(c))
            continue;
        xmpp_stanza_t *copy = xmpp_stanza_copy(c);
        if (strcmp(xmpp_stanza_get_name(copy), "body") == 0)
            xmpp_stanza_set_ns(copy, "jabber:client");
        xmpp_stanza_add_child(content, copy);
        xmpp_stanza_release(copy);
    }
    /* Padding hides the length of the text (XEP-0420: 0-200 chars). */
    char pad[201];
    size_t n = randombytes_uniform(200) + 1;
    for (size_t i = 0; i < n; i++)
        pad[i] = "abcdefghijklmnopqrstuvwxyz0123456789"[randombytes_uniform(36)];
    pad[n] = '\0';
    xml_add_text_child(ctx, env, "rpad", NULL, pad);
    xmpp_stanza_set_attribute(xml_add_child(ctx, env, "from", NULL), "jid",
                              from);
    xmpp_stanza_set_attribute(xml_add_child(ctx, env, "to", NULL), "jid", to);
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    xmpp_stanza_set_attribute(xml_add_child(ctx, env, "time", NULL), "stamp",
                              stamp);
    char *text = xml_serialize(env);
    xmpp_stanza_release(env);
    return text;
}

/* Whether jid (bare or full) is the bare JID bare. */
static bool same_bare(const char *jid, const char *bare)
{
    size_t n = strcspn(jid, "/");
    return n == strlen(bare) && strncmp(jid, bare, n) == 0;
}

int omemo2_envelope_open(xmpp_ctx_t *ctx, const char *text,
                         xmpp_stanza_t *msg, const char *from, const char *to,
                         const char **why)
{
    xmpp_stanza_t *env = xmpp_stanza_new_from_string(ctx, text);
    const char *ns = env ? xmpp_stanza_get_ns(env) : NULL;
    if (!env || !named(env, "envelope") || !ns || strcmp(ns, NS_SCE) != 0) {
        if (env)
            xmpp_stanza_release(env);
        *why = "the OMEMO 2 payload is not an SCE envelope";
        return -1;
    }
    xmpp_stanza_t *content = xmpp_stanza_get_child_by_name(env, "content");
    xmpp_stanza_t *f = xmpp_stanza_get_child_by_name(env, "from");
    xmpp_stanza_t *t = xmpp_stanza_get_child_by_name(env, "to");
    const char *fj = f ? xmpp_stanza_get_attribute(f, "jid") : NULL;
    const char *tj = t ? xmpp_stanza_get_attribute(t, "jid") : NULL;
    int rc = -1;
    /* The affixes bind the envelope to this conversation: a payload
     * lifted from another message (another sender, another recipient)
     * does not pass here. */
    if (!content)
        *why = "the SCE envelope has no content";
    else if (fj && !same_bare(fj, from))
        *why = "the SCE envelope names another sender";
    else if (tj && !same_bare(tj, to))
        *why = "the SCE envelope names another recipient";
    else
        rc = 0;
    for (xmpp_stanza_t *c = rc == 0 ? xmpp_stanza_get_children(content)
                                    : NULL;
         c; c = xmpp_stanza_get_next(c)) {
        if (!xmpp_stanza_is_tag(c))
            continue;
        xmpp_stanza_t *copy = xmpp_stanza_copy(c);
        xmpp_stanza_add_child(msg, copy);
        xmpp_stanza_release(copy);
    }
    xmpp_stanza_release(env);
    return rc;
}

static bool drop_v2_part(xmpp_stanza_t *c, void *ud)
{
    (void)ud;
    const char *ns = xmpp_stanza_get_ns(c);
    return omemo2_inside(c) ||
           (ns && named(c, "encrypted") &&
            (strcmp(ns, NS_OMEMO2_EL) == 0 ||
             strcmp(ns, NS_OMEMO_AXOLOTL) == 0)) ||
           (ns && named(c, "encryption") && strcmp(ns, NS_EME) == 0) ||
           (ns && named(c, "x") && strcmp(ns, "jabber:x:oob") == 0);
}

xmpp_stanza_t *omemo2_message_stripped(xmpp_ctx_t *ctx, xmpp_stanza_t *msg)
{
    return xml_copy_without(ctx, msg, drop_v2_part, NULL);
}

/* ----------------------------------------------- devices and bundles -- */

xmpp_stanza_t *omemo2_devices_build(xmpp_ctx_t *ctx, const uint32_t *ids,
                                    int n)
{
    xmpp_stanza_t *list = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(list, "devices");
    xmpp_stanza_set_ns(list, NS_OMEMO2_EL);
    for (int i = 0; i < n; i++)
        omemo_xml_set_u32(xml_add_child(ctx, list, "device", NULL), "id",
                          ids[i]);
    return list;
}

int omemo2_devices_parse(xmpp_stanza_t *el, uint32_t **ids)
{
    *ids = NULL;
    const char *ns = el ? xmpp_stanza_get_ns(el) : NULL;
    if (!ns || !named(el, "devices") || strcmp(ns, NS_OMEMO2_EL) != 0)
        return -1;
    int n = 0;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(el);
         c && n < OMEMO_MAX_KEYS; c = xmpp_stanza_get_next(c)) {
        uint32_t id;
        if (!named(c, "device") ||
            !omemo_xml_u32(xmpp_stanza_get_attribute(c, "id"), &id) ||
            id == 0)
            continue;
        *ids = xrealloc(*ids, (size_t)(n + 1) * sizeof **ids);
        (*ids)[n++] = id;
    }
    return n;
}

xmpp_stanza_t *omemo2_bundle_build(xmpp_ctx_t *ctx,
                                   const struct omemo_bundle *b)
{
    xmpp_stanza_t *bundle = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(bundle, "bundle");
    xmpp_stanza_set_ns(bundle, NS_OMEMO2_EL);
    xmpp_stanza_t *el;
    omemo_xml_add_b64(ctx, bundle, "spk", b->signed_prekey, 32, &el);
    omemo_xml_set_u32(el, "id", b->signed_prekey_id);
    omemo_xml_add_b64(ctx, bundle, "spks", b->signature, OMEMO_SIG_LEN, NULL);
    omemo_xml_add_b64(ctx, bundle, "ik", b->identity, 32, NULL);
    xmpp_stanza_t *pks = xml_add_child(ctx, bundle, "prekeys", NULL);
    for (int i = 0; i < b->n_prekeys; i++) {
        omemo_xml_add_b64(ctx, pks, "pk", b->prekeys[i].key, 32, &el);
        omemo_xml_set_u32(el, "id", b->prekeys[i].id);
    }
    return bundle;
}

int omemo2_bundle_parse(xmpp_stanza_t *el, struct omemo_bundle *out,
                        const char **why)
{
    memset(out, 0, sizeof *out);
    out->version = OMEMO_2;
    xmpp_stanza_t *spk = xmpp_stanza_get_child_by_name(el, "spk");
    if (!spk ||
        !omemo_xml_u32(xmpp_stanza_get_attribute(spk, "id"),
                       &out->signed_prekey_id) ||
        omemo_xml_fixed(spk, out->signed_prekey, 32) < 0 ||
        omemo_xml_fixed(xmpp_stanza_get_child_by_name(el, "spks"),
                        out->signature, OMEMO_SIG_LEN) < 0 ||
        omemo_xml_fixed(xmpp_stanza_get_child_by_name(el, "ik"),
                        out->identity, 32) < 0) {
        *why = "the OMEMO 2 bundle's signed pre-key or identity key is "
               "malformed";
        return -1;
    }
    xmpp_stanza_t *pks = xmpp_stanza_get_child_by_name(el, "prekeys");
    for (xmpp_stanza_t *c = pks ? xmpp_stanza_get_children(pks) : NULL;
         c && out->n_prekeys < OMEMO_MAX_KEYS; c = xmpp_stanza_get_next(c)) {
        struct omemo_prekey_pub pk;
        if (!named(c, "pk") ||
            !omemo_xml_u32(xmpp_stanza_get_attribute(c, "id"), &pk.id) ||
            omemo_xml_fixed(c, pk.key, 32) < 0)
            continue;
        out->prekeys = xrealloc(out->prekeys, (size_t)(out->n_prekeys + 1) *
                                                  sizeof *out->prekeys);
        out->prekeys[out->n_prekeys++] = pk;
    }
    if (out->n_prekeys == 0) {
        omemo_bundle_free(out);
        *why = "the OMEMO 2 bundle offers no pre-key";
        return -1;
    }
    return 0;
}

uint32_t omemo2_requested_item(xmpp_stanza_t *items)
{
    xmpp_stanza_t *item = items ? xmpp_stanza_get_child_by_name(items, "item")
                                : NULL;
    uint32_t id = 0;
    if (item && omemo_xml_u32(xmpp_stanza_get_attribute(item, "id"), &id))
        return id;
    return 0;
}

xmpp_stanza_t *omemo2_items_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                   const char *node, const char *item_id,
                                   xmpp_stanza_t *payload)
{
    xmpp_stanza_t *item;
    xmpp_stanza_t *r = xml_items_result(ctx, iq, node, item_id, &item);
    xmpp_stanza_add_child(item, payload);
    xmpp_stanza_release(payload);
    return r;
}
