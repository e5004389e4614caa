/* Legacy OMEMO's XML (XEP-0384 v0.3, eu.siacs.conversations.axolotl):
 * the <encrypted/> element of a message, a device list and a bundle, and
 * the pubsub wrapping they travel in. Plain C structs in and out; the
 * cryptography is xep/crypto/'s and the decisions gateway/features/
 * omemo*.c's. */
#ifndef ISTHMUS_XEP_OMEMO_H
#define ISTHMUS_XEP_OMEMO_H

#include "xep/crypto/omemo_crypto.h"

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>

#define NS_OMEMO_AXOLOTL "eu.siacs.conversations.axolotl"
#define OMEMO_NODE_DEVICELIST "eu.siacs.conversations.axolotl.devicelist"
#define OMEMO_NODE_BUNDLES "eu.siacs.conversations.axolotl.bundles:"
#define NS_PUBSUB_EVENT "http://jabber.org/protocol/pubsub#event"

/* One <key/>: the message key encrypted for device rid. */
struct omemo_key_el {
    uint32_t rid;
    bool prekey;
    uint8_t *data; /* malloc'd */
    size_t len;
};

/* An <encrypted/> element. payload is NULL in a key-transport message
 * (one that only sets a session up). */
struct omemo_message {
    uint32_t sid;
    struct omemo_key_el *keys; /* malloc'd */
    int n_keys;
    uint8_t *iv; /* malloc'd */
    size_t iv_len;
    uint8_t *payload; /* malloc'd or NULL */
    size_t payload_len;
};

/* The message's legacy <encrypted/> element, or NULL. Borrowed. */
xmpp_stanza_t *omemo_encrypted_of(xmpp_stanza_t *msg);
/* 0, or -1 with *why (static text). omemo_message_free releases. */
int omemo_message_parse(xmpp_stanza_t *encrypted, struct omemo_message *out,
                        const char **why);
void omemo_message_free(struct omemo_message *m);
/* Adds the <encrypted/> element for m to msg, with the hints that belong
 * with it (XEP-0334 store, XEP-0380 name) and the usual fallback body. */
void omemo_message_add(xmpp_ctx_t *ctx, xmpp_stanza_t *msg,
                       const struct omemo_message *m);
/* A copy of msg without what omemo_message_add adds (the encrypted
 * element, the EME marker and the fallback body), and with oob without its
 * XEP-0066 data too: the decrypted text takes their place, or the
 * encrypted one theirs. Caller releases. */
xmpp_stanza_t *omemo_message_stripped(xmpp_ctx_t *ctx, xmpp_stanza_t *msg,
                                      bool oob);
/* The XEP-0066 URL msg carries, or NULL. Caller frees. */
char *omemo_oob_url(xmpp_stanza_t *msg);

/* The node a pubsub <items/> request or notification names, or NULL;
 * with *items_el set to the <items/> element. Borrowed. */
const char *omemo_pubsub_node(xmpp_stanza_t *iq_or_msg,
                              xmpp_stanza_t **items_el);
/* The device id of a bundles node name, or 0 when it is not one. */
uint32_t omemo_bundle_node_device(const char *node);

/* <list xmlns=axolotl><device id=.../>...</list>. */
xmpp_stanza_t *omemo_devicelist_build(xmpp_ctx_t *ctx, const uint32_t *ids,
                                      int n);
/* The ids of a <list/> (malloc'd in *ids, the caller frees): how many, or
 * -1 when el is not a device list. */
int omemo_devicelist_parse(xmpp_stanza_t *list, uint32_t **ids);
/* <bundle xmlns=axolotl>...</bundle>. */
xmpp_stanza_t *omemo_bundle_build(xmpp_ctx_t *ctx,
                                  const struct omemo_bundle *b);
/* 0, or -1 with *why; omemo_bundle_free releases. */
int omemo_bundle_parse(xmpp_stanza_t *bundle, struct omemo_bundle *out,
                       const char **why);

/* An iq result holding one item (id "current") of node, with payload
 * (consumed), in reply to iq. */
xmpp_stanza_t *omemo_items_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                  const char *node, xmpp_stanza_t *payload);
/* A headline message from `from` to `to` announcing payload (consumed) as
 * the item of node (a PEP notification). */
xmpp_stanza_t *omemo_notification(xmpp_ctx_t *ctx, const char *from,
                                  const char *to, const char *node,
                                  xmpp_stanza_t *payload);
/* The first item's payload of a pubsub items result or notification.
 * Borrowed. */
xmpp_stanza_t *omemo_first_item_payload(xmpp_stanza_t *items);

/* ---- OMEMO 2 (urn:xmpp:omemo:2, xep/omemo2.c) */

#define NS_OMEMO2_EL "urn:xmpp:omemo:2"
#define OMEMO2_NODE_DEVICES "urn:xmpp:omemo:2:devices"
#define OMEMO2_NODE_BUNDLES "urn:xmpp:omemo:2:bundles"
#define NS_SCE "urn:xmpp:sce:1"

/* The message's OMEMO 2 <encrypted/> element, or NULL. Borrowed. */
xmpp_stanza_t *omemo2_encrypted_of(xmpp_stanza_t *msg);
/* Reads the header's keys for one JID (for_jid, bare) and the payload
 * (iv stays empty: OMEMO 2 derives it). 0, or -1 with *why. */
int omemo2_message_parse(xmpp_stanza_t *encrypted, const char *for_jid,
                         struct omemo_message *out, const char **why);
/* Adds <encrypted xmlns=urn:xmpp:omemo:2> with m's keys for to_jid (and
 * the store hint, if msg has none yet). */
void omemo2_message_add(xmpp_ctx_t *ctx, xmpp_stanza_t *msg,
                        const struct omemo_message *m, const char *to_jid);
/* Whether a child of a message goes inside the SCE envelope (the body and
 * what is about its text: corrections, replies, reactions, retractions)
 * rather than in clear beside it. */
bool omemo2_inside(xmpp_stanza_t *child);
/* Whether msg has any such child (a reaction or a retraction has no
 * body, and still its place is inside). */
bool omemo2_has_inside(xmpp_stanza_t *msg);
/* The SCE envelope (XEP-0420) of msg's inside parts, from and to the bare
 * JIDs, with random padding, serialised; caller frees. */
char *omemo2_envelope(xmpp_ctx_t *ctx, xmpp_stanza_t *msg, const char *from,
                      const char *to);
/* Opens an envelope: its content's elements are added to msg. The from
 * affix must be from (the sender), a to affix to. 0, or -1 with *why. */
int omemo2_envelope_open(xmpp_ctx_t *ctx, const char *text,
                         xmpp_stanza_t *msg, const char *from, const char *to,
                         const char **why);
/* A copy of msg without its OMEMO 2 element and inside parts (what goes
 * into the envelope), and without the legacy parts: with both versions'
 * elements added after. Caller releases. */
xmpp_stanza_t *omemo2_message_stripped(xmpp_ctx_t *ctx, xmpp_stanza_t *msg);

/* <devices xmlns=urn:xmpp:omemo:2><device id/>...</devices>, and back:
 * how many ids (malloc'd in *ids), or -1 when el is not one. */
xmpp_stanza_t *omemo2_devices_build(xmpp_ctx_t *ctx, const uint32_t *ids,
                                    int n);
int omemo2_devices_parse(xmpp_stanza_t *el, uint32_t **ids);
/* <bundle xmlns=urn:xmpp:omemo:2>, and back (b->version is OMEMO_2). */
xmpp_stanza_t *omemo2_bundle_build(xmpp_ctx_t *ctx,
                                   const struct omemo_bundle *b);
int omemo2_bundle_parse(xmpp_stanza_t *el, struct omemo_bundle *out,
                        const char **why);
/* The item id a bundles request names (the device), or 0. */
uint32_t omemo2_requested_item(xmpp_stanza_t *items);
/* A pubsub items result holding one item with id item_id. */
xmpp_stanza_t *omemo2_items_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                   const char *node, const char *item_id,
                                   xmpp_stanza_t *payload);

#endif
