/* A ghost's cross-signing keys: its master key, the self-signing key the
 * master signs, and the user-signing key. The self-signing key signs the
 * ghost's device, so that clients which show (or encrypt to) only devices
 * their owner has signed (MSC4153, Element's "exclude insecure devices")
 * treat the ghost's device as its own.
 *
 * Ed25519 from libsodium: each key is kept as its 32-byte seed. */
#ifndef ISTHMUS_MATRIX_CRYPTO_CROSS_SIGNING_H
#define ISTHMUS_MATRIX_CRYPTO_CROSS_SIGNING_H

#include <jansson.h>

struct mx_cross_signing;

/* Fresh keys. Free with mx_cross_signing_free. */
struct mx_cross_signing *mx_cross_signing_new(void);
void mx_cross_signing_free(struct mx_cross_signing *x);
/* The seeds as one text to keep (caller frees), and back: NULL with *err
 * when text is not what mx_cross_signing_save wrote. */
char *mx_cross_signing_save(const struct mx_cross_signing *x);
struct mx_cross_signing *mx_cross_signing_load(const char *text,
                                               const char **err);

/* The public keys (unpadded base64). Owned by x. */
const char *mx_cross_signing_master(const struct mx_cross_signing *x);
const char *mx_cross_signing_self(const struct mx_cross_signing *x);

/* The body of keys/device_signing/upload for user_id: master_key,
 * self_signing_key and user_signing_key, the last two signed by the
 * master. Caller frees. */
json_t *mx_cross_signing_upload(const struct mx_cross_signing *x,
                                const char *user_id);
/* Signs device_keys (an object, as mx_account_device_keys makes) with
 * the self-signing key. */
void mx_cross_signing_sign_device(const struct mx_cross_signing *x,
                                  json_t *device_keys, const char *user_id);

/* Checks an Ed25519 signature (unpadded base64) of text by key: 0 when
 * it holds, -1 otherwise. */
int mx_ed25519_verify(const char *key, const char *text,
                      const char *signature);

#endif
