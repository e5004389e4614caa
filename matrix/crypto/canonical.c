#include "matrix/crypto/canonical.h"

#include "common/mem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

char *mx_canonical_json(const json_t *obj)
{
    json_t *copy = json_copy((json_t *)obj);
    json_object_del(copy, "signatures");
    json_object_del(copy, "unsigned");
    /* Jansson writes UTF-8 as is unless told JSON_ENSURE_ASCII, and its
     * compact form has no whitespace: with sorted keys that is the
     * canonical form for the integers, strings and objects keys hold. */
    char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(copy);
    if (!text)
        abort(); /* only out of memory */
    return text;
}

void mx_signature_add(json_t *obj, const char *user_id, const char *key_id,
                      const char *signature)
{
    json_t *sigs = json_object_get(obj, "signatures");
    if (!json_is_object(sigs)) {
        sigs = json_object();
        json_object_set_new(obj, "signatures", sigs);
    }
    json_t *mine = json_object_get(sigs, user_id);
    if (!json_is_object(mine)) {
        mine = json_object();
        json_object_set_new(sigs, user_id, mine);
    }
    json_object_set_new(mine, key_id, json_string(signature));
}

char *mx_base64(const unsigned char *data, size_t len)
{
    size_t cap = sodium_base64_encoded_len(
        len, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    char *out = xmalloc(cap);
    sodium_bin2base64(out, cap, data, len,
                      sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    return out;
}

long mx_unbase64(const char *text, unsigned char *out, size_t max)
{
    size_t n = 0;
    /* "=" is ignored so that padded text, which some clients send, reads
     * too. */
    if (sodium_base642bin(out, max, text, strlen(text), "=", &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0)
        return -1;
    return (long)n;
}
