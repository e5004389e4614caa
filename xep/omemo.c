#include "xep/omemo.h"
#include "xep/omemo_xml.h"

#include "common/mem.h"
#include "xep/encrypted.h"
#include "xep/xml.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PUBSUB_OMEMO "http://jabber.org/protocol/pubsub"
/* What XEP-0384 clients put in the body for clients without OMEMO. */
#define FALLBACK_BODY                                                       \
    "I sent you an OMEMO encrypted message but your client doesn't seem "  \
    "to support that."
/* Bounds on what a peer may send, so that a hostile element costs little. */
#define MAX_KEYS OMEMO_MAX_KEYS
#define MAX_KEY_BYTES OMEMO_MAX_KEY_BYTES
#define MAX_PAYLOAD OMEMO_MAX_PAYLOAD

bool omemo_xml_u32(const char *s, uint32_t *out)
{
    if (!s || !*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
        return false;
    errno = 0;
    unsigned long v = strtoul(s, NULL, 10);
    if (errno || v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* The element's text decoded: its length or -1. */
long omemo_xml_bytes(xmpp_stanza_t *el, size_t max, uint8_t **out)
{
    char *text = xml_text(el);
    long n = xml_unbase64(text, max, out);
    free(text);
    return n;
}

xmpp_stanza_t *omemo_encrypted_of(xmpp_stanza_t *msg)
{
    return xmpp_stanza_get_child_by_name_and_ns(msg, "encrypted",
                                                NS_OMEMO_AXOLOTL);
}

void omemo_message_free(struct omemo_message *m)
{
    for (int i = 0; i < m->n_keys; i++)
        free(m->keys[i].data);
    free(m->keys);
    free(m->iv);
    free(m->payload);
    memset(m, 0, sizeof *m);
}

static int parse_key(xmpp_stanza_t *k, struct omemo_key_el *out)
{
    const char *pk = xmpp_stanza_get_attribute(k, "prekey");
    if (!omemo_xml_u32(xmpp_stanza_get_attribute(k, "rid"), &out->rid))
        return -1;
    out->prekey = pk && (strcmp(pk, "true") == 0 || strcmp(pk, "1") == 0);
    long n = omemo_xml_bytes(k, MAX_KEY_BYTES, &out->data);
    if (n <= 0) {
        free(out->data);
        out->data = NULL;
        return -1;
    }
    out->len = (size_t)n;
    return 0;
}

int omemo_message_parse(xmpp_stanza_t *enc, struct omemo_message *out,
                        const char **why)
{
    memset(out, 0, sizeof *out);
    xmpp_stanza_t *header = xmpp_stanza_get_child_by_name(enc, "header");
    if (!header ||
        !omemo_xml_u32(xmpp_stanza_get_attribute(header, "sid"), &out->sid)) {
        *why = "the OMEMO header or its sid is missing";
        return -1;
    }
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(header); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_get_name(c);
        if (!xmpp_stanza_is_tag(c) || !name)
            continue;
        if (strcmp(name, "key") == 0) {
            if (out->n_keys == MAX_KEYS) {
                *why = "the OMEMO message has too many keys";
                goto bad;
            }
            out->keys = xrealloc(out->keys,
                                 (size_t)(out->n_keys + 1) * sizeof *out->keys);
            memset(&out->keys[out->n_keys], 0, sizeof *out->keys);
            if (parse_key(c, &out->keys[out->n_keys]) < 0) {
                *why = "an OMEMO key element is malformed";
                goto bad;
            }
            out->n_keys++;
        } else if (strcmp(name, "iv") == 0 && !out->iv) {
            long n = omemo_xml_bytes(c, 64, &out->iv);
            if (n <= 0) {
                *why = "the OMEMO iv is not base64";
                goto bad;
            }
            out->iv_len = (size_t)n;
        }
    }
    if (!out->iv) {
        *why = "the OMEMO header has no iv";
        goto bad;
    }
    xmpp_stanza_t *payload = xmpp_stanza_get_child_by_name(enc, "payload");
    if (payload) {
        long n = omemo_xml_bytes(payload, MAX_PAYLOAD, &out->payload);
        if (n < 0) {
            *why = "the OMEMO payload is not base64 (or too large)";
            goto bad;
        }
        out->payload_len = (size_t)n;
    }
    return 0;
bad:
    omemo_message_free(out);
    return -1;
}

void omemo_xml_set_u32(xmpp_stanza_t *el, const char *attr, uint32_t v)
{
    char n[12];
    snprintf(n, sizeof n, "%u", v);
    xmpp_stanza_set_attribute(el, attr, n);
}

void omemo_xml_add_b64(xmpp_ctx_t *ctx, xmpp_stanza_t *parent, const char *name,
                    const uint8_t *data, size_t len, xmpp_stanza_t **el)
{
    char *b64 = xml_base64(data, len);
    xmpp_stanza_t *c = xml_add_text_child(ctx, parent, name, NULL, b64);
    free(b64);
    if (el)
        *el = c;
}

void omemo_message_add(xmpp_ctx_t *ctx, xmpp_stanza_t *msg,
                       const struct omemo_message *m)
{
    xmpp_stanza_t *enc = xml_add_child(ctx, msg, "encrypted",
                                       NS_OMEMO_AXOLOTL);
    xmpp_stanza_t *header = xml_add_child(ctx, enc, "header", NULL);
    omemo_xml_set_u32(header, "sid", m->sid);
    for (int i = 0; i < m->n_keys; i++) {
        xmpp_stanza_t *k;
        omemo_xml_add_b64(ctx, header, "key", m->keys[i].data, m->keys[i].len, &k);
        omemo_xml_set_u32(k, "rid", m->keys[i].rid);
        if (m->keys[i].prekey)
            xmpp_stanza_set_attribute(k, "prekey", "true");
    }
    omemo_xml_add_b64(ctx, header, "iv", m->iv, m->iv_len, NULL);
    if (m->payload)
        omemo_xml_add_b64(ctx, enc, "payload", m->payload, m->payload_len, NULL);
    xml_add_child(ctx, msg, "store", "urn:xmpp:hints");
    xmpp_stanza_t *eme = xml_add_child(ctx, msg, "encryption", NS_EME);
    xmpp_stanza_set_attribute(eme, "namespace", NS_OMEMO_AXOLOTL);
    xmpp_stanza_set_attribute(eme, "name", "OMEMO");
    if (m->payload)
        xml_add_text_child(ctx, msg, "body", NULL, FALLBACK_BODY);
}

/* Whether c is one of the parts omemo_message_add adds (or, with oob,
 * the XEP-0066 data, whose link a file share must not show in clear). */
static bool omemo_part(xmpp_stanza_t *c, bool oob)
{
    const char *name = xmpp_stanza_get_name(c), *ns = xmpp_stanza_get_ns(c);
    if (!xmpp_stanza_is_tag(c) || !name)
        return false;
    return strcmp(name, "body") == 0 ||
           (oob && ns && strcmp(name, "x") == 0 &&
            strcmp(ns, "jabber:x:oob") == 0) ||
           (ns && strcmp(name, "encrypted") == 0 &&
            strcmp(ns, NS_OMEMO_AXOLOTL) == 0) ||
           (ns && strcmp(name, "encryption") == 0 && strcmp(ns, NS_EME) == 0);
}

static bool drop_omemo_part(xmpp_stanza_t *child, void *ud)
{
    return omemo_part(child, *(const bool *)ud);
}

xmpp_stanza_t *omemo_message_stripped(xmpp_ctx_t *ctx, xmpp_stanza_t *msg,
                                      bool oob)
{
    return xml_copy_without(ctx, msg, drop_omemo_part, &oob);
}

char *omemo_oob_url(xmpp_stanza_t *msg)
{
    xmpp_stanza_t *x = xmpp_stanza_get_child_by_name_and_ns(msg, "x",
                                                            "jabber:x:oob");
    return x ? xml_child_text(x, "url", NULL) : NULL;
}

/* ---------------------------------------------------- device lists etc -- */

const char *omemo_pubsub_node(xmpp_stanza_t *st, xmpp_stanza_t **items_el)
{
    xmpp_stanza_t *ps = xmpp_stanza_get_child_by_name_and_ns(st, "pubsub",
                                                             NS_PUBSUB_OMEMO);
    if (!ps)
        ps = xmpp_stanza_get_child_by_name_and_ns(st, "event",
                                                  NS_PUBSUB_EVENT);
    xmpp_stanza_t *items = ps ? xmpp_stanza_get_child_by_name(ps, "items")
                              : NULL;
    if (items_el)
        *items_el = items;
    return items ? xmpp_stanza_get_attribute(items, "node") : NULL;
}

uint32_t omemo_bundle_node_device(const char *node)
{
    size_t n = strlen(OMEMO_NODE_BUNDLES);
    uint32_t id = 0;
    if (!node || strncmp(node, OMEMO_NODE_BUNDLES, n) != 0 ||
        !omemo_xml_u32(node + n, &id))
        return 0;
    return id;
}

xmpp_stanza_t *omemo_devicelist_build(xmpp_ctx_t *ctx, const uint32_t *ids,
                                      int n)
{
    xmpp_stanza_t *list = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(list, "list");
    xmpp_stanza_set_ns(list, NS_OMEMO_AXOLOTL);
    for (int i = 0; i < n; i++)
        omemo_xml_set_u32(xml_add_child(ctx, list, "device", NULL), "id", ids[i]);
    return list;
}

int omemo_devicelist_parse(xmpp_stanza_t *list, uint32_t **ids)
{
    *ids = NULL;
    const char *ns = list ? xmpp_stanza_get_ns(list) : NULL;
    const char *name = list ? xmpp_stanza_get_name(list) : NULL;
    if (!ns || !name || strcmp(ns, NS_OMEMO_AXOLOTL) != 0 ||
        strcmp(name, "list") != 0)
        return -1;
    int n = 0;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(list); c && n < MAX_KEYS;
         c = xmpp_stanza_get_next(c)) {
        uint32_t id;
        const char *cn = xmpp_stanza_get_name(c);
        if (!xmpp_stanza_is_tag(c) || !cn || strcmp(cn, "device") != 0 ||
            !omemo_xml_u32(xmpp_stanza_get_attribute(c, "id"), &id) || id == 0)
            continue;
        *ids = xrealloc(*ids, (size_t)(n + 1) * sizeof **ids);
        (*ids)[n++] = id;
    }
    return n;
}

xmpp_stanza_t *omemo_bundle_build(xmpp_ctx_t *ctx,
                                  const struct omemo_bundle *b)
{
    xmpp_stanza_t *bundle = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(bundle, "bundle");
    xmpp_stanza_set_ns(bundle, NS_OMEMO_AXOLOTL);
    xmpp_stanza_t *el;
    omemo_xml_add_b64(ctx, bundle, "signedPreKeyPublic", b->signed_prekey,
            OMEMO_PUBKEY_LEN, &el);
    omemo_xml_set_u32(el, "signedPreKeyId", b->signed_prekey_id);
    omemo_xml_add_b64(ctx, bundle, "signedPreKeySignature", b->signature, OMEMO_SIG_LEN,
            NULL);
    omemo_xml_add_b64(ctx, bundle, "identityKey", b->identity, OMEMO_PUBKEY_LEN, NULL);
    xmpp_stanza_t *pks = xml_add_child(ctx, bundle, "prekeys", NULL);
    for (int i = 0; i < b->n_prekeys; i++) {
        omemo_xml_add_b64(ctx, pks, "preKeyPublic", b->prekeys[i].key, OMEMO_PUBKEY_LEN,
                &el);
        omemo_xml_set_u32(el, "preKeyId", b->prekeys[i].id);
    }
    return bundle;
}

/* A fixed-size key from base64: 0 or -1. Some clients write the 32-byte
 * point without its 0x05 type byte; the library wants it. */
int omemo_xml_fixed(xmpp_stanza_t *el, uint8_t *out, size_t want)
{
    uint8_t *bin = NULL;
    long n = el ? omemo_xml_bytes(el, want, &bin) : -1;
    int rc = -1;
    if (n == (long)want) {
        memcpy(out, bin, want);
        rc = 0;
    } else if (want == OMEMO_PUBKEY_LEN && n == OMEMO_PUBKEY_LEN - 1) {
        out[0] = 0x05;
        memcpy(out + 1, bin, OMEMO_PUBKEY_LEN - 1);
        rc = 0;
    }
    free(bin);
    return rc;
}

int omemo_bundle_parse(xmpp_stanza_t *bundle, struct omemo_bundle *out,
                       const char **why)
{
    memset(out, 0, sizeof *out);
    xmpp_stanza_t *spk = xmpp_stanza_get_child_by_name(bundle,
                                                       "signedPreKeyPublic");
    if (!spk ||
        !omemo_xml_u32(xmpp_stanza_get_attribute(spk, "signedPreKeyId"),
                   &out->signed_prekey_id) ||
        omemo_xml_fixed(spk, out->signed_prekey, OMEMO_PUBKEY_LEN) < 0 ||
        omemo_xml_fixed(xmpp_stanza_get_child_by_name(bundle,
                                                "signedPreKeySignature"),
                  out->signature, OMEMO_SIG_LEN) < 0 ||
        omemo_xml_fixed(xmpp_stanza_get_child_by_name(bundle, "identityKey"),
                  out->identity, OMEMO_PUBKEY_LEN) < 0) {
        *why = "the bundle's signed pre-key or identity key is malformed";
        return -1;
    }
    xmpp_stanza_t *pks = xmpp_stanza_get_child_by_name(bundle, "prekeys");
    for (xmpp_stanza_t *c = pks ? xmpp_stanza_get_children(pks) : NULL;
         c && out->n_prekeys < MAX_KEYS; c = xmpp_stanza_get_next(c)) {
        struct omemo_prekey_pub pk;
        const char *name = xmpp_stanza_get_name(c);
        if (!xmpp_stanza_is_tag(c) || !name ||
            strcmp(name, "preKeyPublic") != 0 ||
            !omemo_xml_u32(xmpp_stanza_get_attribute(c, "preKeyId"), &pk.id) ||
            omemo_xml_fixed(c, pk.key, OMEMO_PUBKEY_LEN) < 0)
            continue;
        out->prekeys = xrealloc(out->prekeys, (size_t)(out->n_prekeys + 1) *
                                                  sizeof *out->prekeys);
        out->prekeys[out->n_prekeys++] = pk;
    }
    if (out->n_prekeys == 0) {
        omemo_bundle_free(out);
        *why = "the bundle offers no pre-key";
        return -1;
    }
    return 0;
}

xmpp_stanza_t *omemo_items_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                  const char *node, xmpp_stanza_t *payload)
{
    xmpp_stanza_t *item;
    xmpp_stanza_t *r = xml_items_result(ctx, iq, node, "current", &item);
    xmpp_stanza_add_child(item, payload);
    xmpp_stanza_release(payload);
    return r;
}

xmpp_stanza_t *omemo_notification(xmpp_ctx_t *ctx, const char *from,
                                  const char *to, const char *node,
                                  xmpp_stanza_t *payload)
{
    xmpp_stanza_t *m = xmpp_message_new(ctx, "headline", to, NULL);
    xmpp_stanza_set_from(m, from);
    xmpp_stanza_t *ev = xml_add_child(ctx, m, "event", NS_PUBSUB_EVENT);
    xmpp_stanza_t *items = xml_add_child(ctx, ev, "items", NULL);
    xmpp_stanza_set_attribute(items, "node", node);
    xmpp_stanza_t *item = xml_add_child(ctx, items, "item", NULL);
    xmpp_stanza_set_attribute(item, "id", "current");
    xmpp_stanza_add_child(item, payload);
    xmpp_stanza_release(payload);
    return m;
}

xmpp_stanza_t *omemo_first_item_payload(xmpp_stanza_t *items)
{
    xmpp_stanza_t *item = items ? xmpp_stanza_get_child_by_name(items, "item")
                                : NULL;
    for (xmpp_stanza_t *c = item ? xmpp_stanza_get_children(item) : NULL; c;
         c = xmpp_stanza_get_next(c))
        if (xmpp_stanza_is_tag(c))
            return c;
    return NULL;
}
