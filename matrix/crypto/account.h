/* A device's Olm account (libolm): its identity keys, one-time keys and
 * fallback key, and the signatures it makes. One per ghost device.
 *
 * libolm stays behind matrix/crypto/: nothing else includes <olm/olm.h>.
 * Pickles are libolm's own encoding under a fixed key; the store seals
 * them with the operator's key before they reach the disk. */
#ifndef ISTHMUS_MATRIX_CRYPTO_ACCOUNT_H
#define ISTHMUS_MATRIX_CRYPTO_ACCOUNT_H

#include <jansson.h>
#include <stddef.h>

struct mx_account;

/* Unpadded base64 Curve25519 and Ed25519 keys are 43 characters. */
#define MX_KEY_TEXT 44
#define MX_ED25519_TEXT MX_KEY_TEXT

/* A new account with fresh identity keys. Free with mx_account_free. */
struct mx_account *mx_account_new(void);
void mx_account_free(struct mx_account *a);

/* Caller frees. */
char *mx_account_pickle(const struct mx_account *a);
/* NULL with *err (static) when the pickle is not one. */
struct mx_account *mx_account_unpickle(const char *pickle, const char **err);

/* The identity keys (unpadded base64). */
const char *mx_account_curve25519(const struct mx_account *a);
const char *mx_account_ed25519(const struct mx_account *a);

/* The Ed25519 signature of text (unpadded base64). Caller frees. */
char *mx_account_sign(struct mx_account *a, const char *text);
/* Signs obj's canonical JSON as user_id's device_id
 * (signatures.{user}.ed25519:{device}). */
void mx_account_sign_json(struct mx_account *a, json_t *obj,
                          const char *user_id, const char *device_id);

/* The signed device keys to upload (keys/upload's device_keys). Caller
 * frees (json_decref). */
json_t *mx_account_device_keys(struct mx_account *a, const char *user_id,
                               const char *device_id);

/* Generates up to n more one-time keys (fewer when the account is full),
 * and returns every one not yet published, signed, as keys/upload's
 * one_time_keys ({"signed_curve25519:ID": {key, signatures}}). Caller
 * frees. */
json_t *mx_account_one_time_keys(struct mx_account *a, const char *user_id,
                                 const char *device_id, size_t n);
/* A fresh fallback key, signed, as keys/upload's fallback_keys (with
 * "fallback": true); with fresh = 0, the unpublished one if any, else
 * NULL. Caller frees. */
json_t *mx_account_fallback_key(struct mx_account *a, const char *user_id,
                                const char *device_id, int fresh);
/* What was returned above has reached the homeserver. */
void mx_account_mark_published(struct mx_account *a);
/* How many one-time keys an account can hold at most. */
size_t mx_account_max_one_time_keys(const struct mx_account *a);

/* libolm's handle, for session.c only. */
void *mx_account_olm(struct mx_account *a);

#endif
