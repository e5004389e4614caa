#include "matrix/crypto/device_keys.h"

#include "common/mem.h"
#include "matrix/crypto/canonical.h"
#include "matrix/crypto/cross_signing.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Whether obj carries user_id's signature key_id over its canonical
 * form, made with key. */
static bool signed_by(json_t *obj, const char *user_id, const char *key_id,
                      const char *key)
{
    const char *sig = json_string_value(json_object_get(
        json_object_get(json_object_get(obj, "signatures"), user_id),
        key_id));
    if (!sig)
        return false;
    char *text = mx_canonical_json(obj);
    bool ok = mx_ed25519_verify(key, text, sig) == 0;
    free(text);
    return ok;
}

static bool has_string(json_t *arr, const char *want)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return true;
    }
    return false;
}

int mx_device_keys_check(json_t *obj, const char *user_id,
                         const char *device_id, struct mx_device_info *out,
                         const char **why)
{
    memset(out, 0, sizeof *out);
    const char *u = json_string_value(json_object_get(obj, "user_id"));
    const char *d = json_string_value(json_object_get(obj, "device_id"));
    if (!u || !d || strcmp(u, user_id) != 0 || strcmp(d, device_id) != 0) {
        *why = "the device keys name another user or device";
        return -1;
    }
    json_t *algs = json_object_get(obj, "algorithms");
    if (!has_string(algs, "m.olm.v1.curve25519-aes-sha2") ||
        !has_string(algs, "m.megolm.v1.aes-sha2")) {
        *why = "the device does not speak Olm and Megolm";
        return -1;
    }
    char *ck = xasprintf("curve25519:%s", device_id);
    char *ek = xasprintf("ed25519:%s", device_id);
    json_t *keys = json_object_get(obj, "keys");
    out->curve25519 = json_string_value(json_object_get(keys, ck));
    out->ed25519 = json_string_value(json_object_get(keys, ek));
    bool ok = out->curve25519 && out->ed25519 &&
              signed_by(obj, user_id, ek, out->ed25519);
    free(ck);
    free(ek);
    if (!ok) {
        *why = "the device's keys are missing or not signed by it";
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

const char *mx_claimed_key_check(json_t *keys, const char *user_id,
                                 const char *device_id, const char *ed25519,
                                 const char **why)
{
    const char *id;
    json_t *entry;
    char *key_id = xasprintf("ed25519:%s", device_id);
    const char *found = NULL;
    json_object_foreach(keys, id, entry) {
        if (strncmp(id, "signed_curve25519:", 18) != 0)
            continue;
        const char *k = json_string_value(json_object_get(entry, "key"));
        if (k && signed_by(entry, user_id, key_id, ed25519)) {
            found = k;
            break;
        }
    }
    free(key_id);
    if (!found)
        *why = "no one-time key signed by the device";
    return found;
}
