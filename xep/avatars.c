#include "xep/avatars.h"

#include "common/mem.h"
#include "xep/disco.h"
#include "xep/xml.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *avatar_presence_hash(xmpp_stanza_t *presence)
{
    xmpp_stanza_t *x = xmpp_stanza_get_child_by_name_and_ns(presence, "x",
                                                            NS_VCARD_UPDATE);
    if (!x)
        return NULL;
    char *photo = xml_child_text(x, "photo", NULL);
    if (!photo)
        return NULL; /* <x/> without <photo/>: not ready to say */
    /* a hash is 40 hex digits; anything else is treated as "no photo" */
    size_t n = strlen(photo);
    if (n != 40 || strspn(photo, "0123456789abcdefABCDEF") != n)
        photo[0] = '\0';
    for (char *p = photo; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    return photo;
}

void avatar_presence_add_hash(xmpp_ctx_t *ctx, xmpp_stanza_t *presence,
                              const char *sha1_hex)
{
    xmpp_stanza_t *x = xml_add_child(ctx, presence, "x", NS_VCARD_UPDATE);
    if (sha1_hex && *sha1_hex)
        xml_add_text_child(ctx, x, "photo", NULL, sha1_hex);
    else
        xml_add_child(ctx, x, "photo", NULL);
}

void avatar_vcard_add_photo(xmpp_ctx_t *ctx, xmpp_stanza_t *result,
                            const char *type, const unsigned char *data,
                            size_t len)
{
    xmpp_stanza_t *v = xmpp_stanza_get_child_by_name_and_ns(result, "vCard",
                                                            NS_VCARD);
    if (!v)
        return;
    char *b64 = xml_base64(data, len);
    xmpp_stanza_t *photo = xml_add_child(ctx, v, "PHOTO", NULL);
    xml_add_text_child(ctx, photo, "TYPE", NULL, type ? type : "image/png");
    xml_add_text_child(ctx, photo, "BINVAL", NULL, b64);
    free(b64);
}

int avatar_vcard_photo(xmpp_stanza_t *result, size_t max, unsigned char **data,
                       size_t *len, char **type, const char **why)
{
    xmpp_stanza_t *v = xmpp_stanza_get_child_by_name_and_ns(result, "vCard",
                                                            NS_VCARD);
    xmpp_stanza_t *photo = v ? xmpp_stanza_get_child_by_name(v, "PHOTO")
                             : NULL;
    char *b64 = photo ? xml_child_text(photo, "BINVAL", NULL) : NULL;
    if (!b64 || !*b64) {
        free(b64);
        *why = "the vCard has no photo";
        return -1;
    }
    size_t n = strlen(b64);
    /* base64 is 4/3 the size; reject before decoding anything huge */
    if (n / 4 * 3 > max + 3) {
        free(b64);
        *why = "the photo is too large";
        return -1;
    }
    unsigned char *bin = xmalloc(n / 4 * 3 + 3);
    size_t binlen = 0;
    if (sodium_base642bin(bin, n / 4 * 3 + 3, b64, n, " \t\r\n", &binlen,
                          NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
        binlen == 0 || binlen > max) {
        free(bin);
        free(b64);
        *why = "the photo is not valid base64";
        return -1;
    }
    free(b64);
    char *t = xml_child_text(photo, "TYPE", NULL);
    if (!t || !*t || strncmp(t, "image/", 6) != 0 || strchr(t, '\r') ||
        strchr(t, '\n')) {
        free(t);
        t = xstrdup("image/png");
    }
    *data = bin;
    *len = binlen;
    *type = t;
    return 0;
}

void avatar_sha1_hex(const unsigned char *data, size_t len, char out[41])
{
    unsigned char d[XMPP_SHA1_DIGEST_SIZE];
    xmpp_sha1_digest(data, len, d);
    sodium_bin2hex(out, 41, d, sizeof d);
}

const char *avatar_pubsub_items_node(xmpp_stanza_t *iq)
{
    xmpp_stanza_t *ps = xmpp_stanza_get_child_by_name_and_ns(iq, "pubsub",
                                                             NS_PUBSUB);
    xmpp_stanza_t *items = ps ? xmpp_stanza_get_child_by_name(ps, "items")
                              : NULL;
    return items ? xmpp_stanza_get_attribute(items, "node") : NULL;
}

xmpp_stanza_t *avatar_metadata_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                      const char *sha1_hex, size_t bytes,
                                      const char *type)
{
    xmpp_stanza_t *item;
    xmpp_stanza_t *r = xml_items_result(ctx, iq, NS_AVATAR_METADATA, sha1_hex,
                                    &item);
    xmpp_stanza_t *md = xml_add_child(ctx, item, "metadata",
                                      NS_AVATAR_METADATA);
    xmpp_stanza_t *info = xml_add_child(ctx, md, "info", NULL);
    char n[24];
    snprintf(n, sizeof n, "%zu", bytes);
    xmpp_stanza_set_attribute(info, "bytes", n);
    xmpp_stanza_set_attribute(info, "id", sha1_hex);
    xmpp_stanza_set_attribute(info, "type", type);
    return r;
}

xmpp_stanza_t *avatar_data_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                  const char *sha1_hex,
                                  const unsigned char *data, size_t len)
{
    xmpp_stanza_t *item;
    xmpp_stanza_t *r = xml_items_result(ctx, iq, NS_AVATAR_DATA, sha1_hex, &item);
    char *b64 = xml_base64(data, len);
    xml_add_text_child(ctx, item, "data", NS_AVATAR_DATA, b64);
    free(b64);
    return r;
}
