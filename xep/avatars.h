/* Avatars the vCard way: XEP-0153 photo hashes in presence and the PHOTO
 * of a vcard-temp vCard (XEP-0054). */
#ifndef ISTHMUS_XEP_AVATARS_H
#define ISTHMUS_XEP_AVATARS_H

#include <stddef.h>
#include <strophe.h>

#define NS_VCARD_UPDATE "vcard-temp:x:update"

/* The XEP-0153 hash a presence announces: NULL when it carries no
 * vcard-temp:x:update (the sender says nothing about avatars), "" for "no
 * photo", else the hex SHA-1. Caller frees. */
char *avatar_presence_hash(xmpp_stanza_t *presence);
/* Adds <x xmlns='vcard-temp:x:update'><photo>sha1_hex</photo></x> ("" for
 * no photo). */
void avatar_presence_add_hash(xmpp_ctx_t *ctx, xmpp_stanza_t *presence,
                              const char *sha1_hex);

/* Adds <PHOTO><TYPE/><BINVAL/></PHOTO> (base64 of data) to the vCard of a
 * vCard result built with vcard_result. */
void avatar_vcard_add_photo(xmpp_ctx_t *ctx, xmpp_stanza_t *result,
                            const char *type, const unsigned char *data,
                            size_t len);
/* The photo of a vCard result: 0 with *data (caller frees), *len and *type
 * (caller frees; "image/png" when the vCard names none) set; -1 with *why
 * when there is no usable photo or it is larger than max bytes. */
int avatar_vcard_photo(xmpp_stanza_t *result, size_t max, unsigned char **data,
                       size_t *len, char **type, const char **why);

/* ---- XEP-0084 (User Avatar) as the component serves it for its JIDs */
#define NS_PUBSUB "http://jabber.org/protocol/pubsub"
#define NS_AVATAR_METADATA "urn:xmpp:avatar:metadata"
#define NS_AVATAR_DATA "urn:xmpp:avatar:data"

/* The node of a pubsub <items/> request (pointing into iq), or NULL. */
const char *avatar_pubsub_items_node(xmpp_stanza_t *iq);
/* The result of an items request on the metadata node: one item, the
 * current avatar (sha1_hex, size, type). Caller releases. */
xmpp_stanza_t *avatar_metadata_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                      const char *sha1_hex, size_t bytes,
                                      const char *type);
/* The result of an items request on the data node: the image. Caller
 * releases. */
xmpp_stanza_t *avatar_data_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                  const char *sha1_hex,
                                  const unsigned char *data, size_t len);

/* Hex SHA-1 of data into out (41 bytes). */
void avatar_sha1_hex(const unsigned char *data, size_t len, char out[41]);

#endif
