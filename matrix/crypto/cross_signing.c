#include "matrix/crypto/cross_signing.h"

#include "common/mem.h"
#include "matrix/crypto/account.h"
#include "matrix/crypto/canonical.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

enum { MASTER, SELF, USER, N_KEYS };
static const char *const usages[N_KEYS] = { "master", "self_signing",
                                            "user_signing" };

struct mx_cross_signing {
    /* sodium_malloc'd: secret keys stay out of swap and core dumps. */
    unsigned char (*sk)[crypto_sign_SECRETKEYBYTES];
    char pub[N_KEYS][MX_ED25519_TEXT];
};

static struct mx_cross_signing *from_seeds(const unsigned char *seeds)
{
    struct mx_cross_signing *x = xcalloc(1, sizeof *x);
    x->sk = sodium_malloc(N_KEYS * sizeof *x->sk);
    if (!x->sk)
        abort();
    for (int k = 0; k < N_KEYS; k++) {
        unsigned char pk[crypto_sign_PUBLICKEYBYTES];
        crypto_sign_seed_keypair(pk, x->sk[k],
                                 seeds + k * crypto_sign_SEEDBYTES);
        char *b = mx_base64(pk, sizeof pk);
        strcpy(x->pub[k], b);
        free(b);
    }
    return x;
}

struct mx_cross_signing *mx_cross_signing_new(void)
{
    unsigned char *seeds = sodium_malloc(N_KEYS * crypto_sign_SEEDBYTES);
    if (!seeds)
        abort();
    randombytes_buf(seeds, N_KEYS * crypto_sign_SEEDBYTES);
    struct mx_cross_signing *x = from_seeds(seeds);
    sodium_free(seeds);
    return x;
}

void mx_cross_signing_free(struct mx_cross_signing *x)
{
    if (!x)
        return;
    sodium_free(x->sk);
    free(x);
}

char *mx_cross_signing_save(const struct mx_cross_signing *x)
{
    unsigned char seeds[N_KEYS * crypto_sign_SEEDBYTES];
    for (int k = 0; k < N_KEYS; k++)
        crypto_sign_ed25519_sk_to_seed(seeds + k * crypto_sign_SEEDBYTES,
                                       x->sk[k]);
    char *text = mx_base64(seeds, sizeof seeds);
    sodium_memzero(seeds, sizeof seeds);
    return text;
}

struct mx_cross_signing *mx_cross_signing_load(const char *text,
                                               const char **err)
{
    unsigned char seeds[N_KEYS * crypto_sign_SEEDBYTES];
    if (mx_unbase64(text, seeds, sizeof seeds) != (long)sizeof seeds) {
        *err = "not three cross-signing seeds";
        return NULL;
    }
    struct mx_cross_signing *x = from_seeds(seeds);
    sodium_memzero(seeds, sizeof seeds);
    return x;
}

const char *mx_cross_signing_master(const struct mx_cross_signing *x)
{
    return x->pub[MASTER];
}

const char *mx_cross_signing_self(const struct mx_cross_signing *x)
{
    return x->pub[SELF];
}

/* Signs obj's canonical JSON with key k, as user_id's ed25519:{pub}. */
static void sign_with(const struct mx_cross_signing *x, int k, json_t *obj,
                      const char *user_id)
{
    char *text = mx_canonical_json(obj);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const unsigned char *)text,
                         strlen(text), x->sk[k]);
    char *b = mx_base64(sig, sizeof sig);
    char *key_id = xasprintf("ed25519:%s", x->pub[k]);
    mx_signature_add(obj, user_id, key_id, b);
    free(key_id);
    free(b);
    free(text);
}

static json_t *key_object(const struct mx_cross_signing *x, int k,
                          const char *user_id)
{
    char *key_id = xasprintf("ed25519:%s", x->pub[k]);
    json_t *obj = json_pack("{s:s, s:[s], s:{s:s}}", "user_id", user_id,
                            "usage", usages[k], "keys", key_id, x->pub[k]);
    free(key_id);
    if (k != MASTER)
        sign_with(x, MASTER, obj, user_id);
    return obj;
}

json_t *mx_cross_signing_upload(const struct mx_cross_signing *x,
                                const char *user_id)
{
    return json_pack("{s:o, s:o, s:o}", "master_key",
                     key_object(x, MASTER, user_id), "self_signing_key",
                     key_object(x, SELF, user_id), "user_signing_key",
                     key_object(x, USER, user_id));
}

void mx_cross_signing_sign_device(const struct mx_cross_signing *x,
                                  json_t *device_keys, const char *user_id)
{
    sign_with(x, SELF, device_keys, user_id);
}

int mx_ed25519_verify(const char *key, const char *text,
                      const char *signature)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
    if (mx_unbase64(key, pk, sizeof pk) != (long)sizeof pk ||
        mx_unbase64(signature, sig, sizeof sig) != (long)sizeof sig)
        return -1;
    return crypto_sign_verify_detached(sig, (const unsigned char *)text,
                                       strlen(text), pk) == 0
               ? 0
               : -1;
}
