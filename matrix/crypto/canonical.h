/* Matrix canonical JSON and the signatures made over it: what a device's
 * keys, one-time keys and cross-signing keys are signed on. */
#ifndef ISTHMUS_MATRIX_CRYPTO_CANONICAL_H
#define ISTHMUS_MATRIX_CRYPTO_CANONICAL_H

#include <jansson.h>

/* The canonical form of obj (keys sorted, no whitespace, UTF-8 as is),
 * leaving out its "signatures" and "unsigned", which a signature never
 * covers. Caller frees. */
char *mx_canonical_json(const json_t *obj);

/* Adds signatures.{user_id}.{key_id} = signature to obj (an object),
 * keeping the ones already there. */
void mx_signature_add(json_t *obj, const char *user_id, const char *key_id,
                      const char *signature);

/* Unpadded base64, as every key and signature in Matrix is written.
 * Caller frees. */
char *mx_base64(const unsigned char *data, size_t len);
/* The bytes of unpadded (or padded) base64 text into out (at most max):
 * their number, or -1 when text is not base64 or too long. */
long mx_unbase64(const char *text, unsigned char *out, size_t max);

#endif
