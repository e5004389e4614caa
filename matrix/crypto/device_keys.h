/* Other users' device keys as keys/query and keys/claim return them,
 * checked before the gateway trusts them with a room key: each device
 * must have signed its own keys, and each one-time key must be signed by
 * the device it is claimed from (else the homeserver could slip in keys
 * of its own). */
#ifndef ISTHMUS_MATRIX_CRYPTO_DEVICE_KEYS_H
#define ISTHMUS_MATRIX_CRYPTO_DEVICE_KEYS_H

#include <jansson.h>

struct mx_device_info {
    const char *curve25519; /* borrowed from the checked object */
    const char *ed25519;
};

/* obj is one device's keys from keys/query (device_keys.{user}.{device}).
 * 0 with *out filled when it names that user and device, supports Olm and
 * Megolm, and carries a valid signature by its own Ed25519 key; -1 with
 * *why otherwise. */
int mx_device_keys_check(json_t *obj, const char *user_id,
                         const char *device_id, struct mx_device_info *out,
                         const char **why);

/* keys is keys/claim's one_time_keys.{user}.{device}: the Curve25519 key
 * of its signed_curve25519 entry, once its signature by the device's
 * ed25519 key holds (borrowed), or NULL with *why. */
const char *mx_claimed_key_check(json_t *keys, const char *user_id,
                                 const char *device_id, const char *ed25519,
                                 const char **why);

#endif
