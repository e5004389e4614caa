/* libomemo-c's crypto provider and library context, and the legacy OMEMO
 * payload (AES-128-GCM). libsodium has neither AES-CBC nor AES-128-GCM,
 * so AES is OpenSSL's; random bytes are libsodium's. */
#include "xep/crypto/omemo_crypto.h"
#include "xep/crypto/omemo_internal.h"

#include "common/log.h"
#include "common/mem.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ provider -- */

static int random_bytes(uint8_t *data, size_t len, void *ud)
{
    (void)ud;
    randombytes_buf(data, len);
    return 0;
}

static int hmac_init(void **ctx, const uint8_t *key, size_t key_len, void *ud)
{
    (void)ud;
    crypto_auth_hmacsha256_state *s = xmalloc(sizeof *s);
    crypto_auth_hmacsha256_init(s, key, key_len);
    *ctx = s;
    return 0;
}

static int hmac_update(void *ctx, const uint8_t *data, size_t len, void *ud)
{
    (void)ud;
    return crypto_auth_hmacsha256_update(ctx, data, len);
}

static int hmac_final(void *ctx, signal_buffer **out, void *ud)
{
    (void)ud;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(ctx, mac);
    *out = signal_buffer_create(mac, sizeof mac);
    return *out ? 0 : SG_ERR_NOMEM;
}

static void hmac_cleanup(void *ctx, void *ud)
{
    (void)ud;
    if (ctx)
        sodium_memzero(ctx, sizeof(crypto_auth_hmacsha256_state));
    free(ctx);
}

static int sha512_init(void **ctx, void *ud)
{
    (void)ud;
    crypto_hash_sha512_state *s = xmalloc(sizeof *s);
    crypto_hash_sha512_init(s);
    *ctx = s;
    return 0;
}

static int sha512_update(void *ctx, const uint8_t *data, size_t len, void *ud)
{
    (void)ud;
    return crypto_hash_sha512_update(ctx, data, len);
}

/* The library reuses the context after a final: it starts afresh. */
static int sha512_final(void *ctx, signal_buffer **out, void *ud)
{
    (void)ud;
    uint8_t h[crypto_hash_sha512_BYTES];
    crypto_hash_sha512_final(ctx, h);
    crypto_hash_sha512_init(ctx);
    *out = signal_buffer_create(h, sizeof h);
    return *out ? 0 : SG_ERR_NOMEM;
}

static void sha512_cleanup(void *ctx, void *ud)
{
    (void)ud;
    free(ctx);
}

static const EVP_CIPHER *aes_cipher(int cipher, size_t key_len)
{
    bool cbc = cipher == SG_CIPHER_AES_CBC_PKCS5;
    if (cipher != SG_CIPHER_AES_CBC_PKCS5 &&
        cipher != SG_CIPHER_AES_CTR_NOPADDING)
        return NULL;
    switch (key_len) {
    case 16: return cbc ? EVP_aes_128_cbc() : EVP_aes_128_ctr();
    case 24: return cbc ? EVP_aes_192_cbc() : EVP_aes_192_ctr();
    case 32: return cbc ? EVP_aes_256_cbc() : EVP_aes_256_ctr();
    default: return NULL;
    }
}

static int aes_run(signal_buffer **out, int cipher, const uint8_t *key,
                   size_t key_len, const uint8_t *iv, size_t iv_len,
                   const uint8_t *in, size_t in_len, int encrypt)
{
    const EVP_CIPHER *c = aes_cipher(cipher, key_len);
    if (!c || iv_len != 16 || in_len > INT32_MAX - 32)
        return SG_ERR_INVAL;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return SG_ERR_NOMEM;
    uint8_t *buf = xmalloc(in_len + 32);
    int n1 = 0, n2 = 0, rc = SG_ERR_UNKNOWN;
    if (EVP_CipherInit_ex(ctx, c, NULL, key, iv, encrypt) == 1 &&
        EVP_CipherUpdate(ctx, buf, &n1, in, (int)in_len) == 1 &&
        EVP_CipherFinal_ex(ctx, buf + n1, &n2) == 1) {
        *out = signal_buffer_create(buf, (size_t)(n1 + n2));
        rc = *out ? 0 : SG_ERR_NOMEM;
    }
    sodium_memzero(buf, in_len + 32);
    free(buf);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

static int aes_encrypt(signal_buffer **out, int cipher, const uint8_t *key,
                       size_t key_len, const uint8_t *iv, size_t iv_len,
                       const uint8_t *plain, size_t len, void *ud)
{
    (void)ud;
    return aes_run(out, cipher, key, key_len, iv, iv_len, plain, len, 1);
}

static int aes_decrypt(signal_buffer **out, int cipher, const uint8_t *key,
                       size_t key_len, const uint8_t *iv, size_t iv_len,
                       const uint8_t *ct, size_t len, void *ud)
{
    (void)ud;
    return aes_run(out, cipher, key, key_len, iv, iv_len, ct, len, 0);
}

/* Debug only: libomemo-c's messages may name keys and ids. */
static void lib_log(int level, const char *message, size_t len, void *ud)
{
    (void)ud;
    (void)level;
    log_debug("omemo: libomemo-c: %.*s", (int)len, message);
}

struct omemo_lib *omemo_lib_new(void)
{
    if (sodium_init() < 0) {
        log_error("omemo: libsodium did not start");
        return NULL;
    }
    struct omemo_lib *lib = xcalloc(1, sizeof *lib);
    signal_crypto_provider p = {
        .random_func = random_bytes,
        .hmac_sha256_init_func = hmac_init,
        .hmac_sha256_update_func = hmac_update,
        .hmac_sha256_final_func = hmac_final,
        .hmac_sha256_cleanup_func = hmac_cleanup,
        .sha512_digest_init_func = sha512_init,
        .sha512_digest_update_func = sha512_update,
        .sha512_digest_final_func = sha512_final,
        .sha512_digest_cleanup_func = sha512_cleanup,
        .encrypt_func = aes_encrypt,
        .decrypt_func = aes_decrypt,
        .user_data = NULL,
    };
    if (signal_context_create(&lib->ctx, lib) != 0 ||
        signal_context_set_crypto_provider(lib->ctx, &p) != 0 ||
        signal_context_set_log_function(lib->ctx, lib_log) != 0) {
        log_error("omemo: libomemo-c did not start");
        omemo_lib_free(lib);
        return NULL;
    }
    return lib;
}

void omemo_lib_free(struct omemo_lib *lib)
{
    if (!lib)
        return;
    if (lib->ctx)
        signal_context_destroy(lib->ctx);
    free(lib);
}

/* ------------------------------------------------------------- payload -- */

static int gcm(int encrypt, const uint8_t *key, const uint8_t *iv,
               size_t iv_len, const uint8_t *in, size_t len, uint8_t *out,
               uint8_t tag[OMEMO_TAG_LEN])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return -1;
    int n = 0, ok = len <= INT32_MAX &&
                    EVP_CipherInit_ex(ctx, EVP_aes_128_gcm(), NULL, NULL,
                                      NULL, encrypt) == 1 &&
                    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN,
                                        (int)iv_len, NULL) == 1 &&
                    EVP_CipherInit_ex(ctx, NULL, NULL, key, iv, encrypt) == 1;
    if (ok && !encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, OMEMO_TAG_LEN,
                                 tag) == 1;
    ok = ok && EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 &&
         EVP_CipherFinal_ex(ctx, out + n, &n) == 1;
    if (ok && encrypt)
        ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, OMEMO_TAG_LEN,
                                 tag) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

int omemo_payload_encrypt(const char *plain, size_t len,
                          uint8_t key_tag[OMEMO_KEY_LEN + OMEMO_TAG_LEN],
                          uint8_t iv[OMEMO_IV_LEN], uint8_t **ct,
                          size_t *ct_len)
{
    randombytes_buf(key_tag, OMEMO_KEY_LEN);
    randombytes_buf(iv, OMEMO_IV_LEN);
    *ct = xmalloc(len ? len : 1);
    *ct_len = len;
    if (gcm(1, key_tag, iv, OMEMO_IV_LEN, (const uint8_t *)plain, len, *ct,
            key_tag + OMEMO_KEY_LEN) < 0) {
        free(*ct);
        *ct = NULL;
        return -1;
    }
    return 0;
}

int omemo_payload_decrypt(const uint8_t *key, size_t key_len,
                          const uint8_t *iv, size_t iv_len, const uint8_t *ct,
                          size_t ct_len, char **plain, const char **why)
{
    uint8_t tag[OMEMO_TAG_LEN];
    *plain = NULL;
    if (key_len == OMEMO_KEY_LEN + OMEMO_TAG_LEN) {
        memcpy(tag, key + OMEMO_KEY_LEN, OMEMO_TAG_LEN);
    } else if (key_len == OMEMO_KEY_LEN && ct_len >= OMEMO_TAG_LEN) {
        ct_len -= OMEMO_TAG_LEN;
        memcpy(tag, ct + ct_len, OMEMO_TAG_LEN);
    } else {
        *why = "the message key has an unexpected length";
        return -1;
    }
    if (iv_len < 8 || iv_len > 32) {
        *why = "the payload's IV has an unexpected length";
        return -1;
    }
    uint8_t *out = xmalloc(ct_len + 1);
    if (gcm(0, key, iv, iv_len, ct, ct_len, out, tag) < 0) {
        free(out);
        *why = "the payload does not match its key (altered, or not for "
               "this key)";
        return -1;
    }
    out[ct_len] = '\0';
    *plain = (char *)out;
    return 0;
}

/* ------------------------------------------------ OMEMO 2's payload -- */

/* HKDF-SHA-256 (RFC 5869) with a salt of 32 zero bytes, as OMEMO 2 uses
 * it: out_len bytes of key material from ikm and info. */
static void hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const char *info,
                        uint8_t *out, size_t out_len)
{
    uint8_t salt[32] = { 0 }, prk[32], t[32];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, salt, sizeof salt);
    crypto_auth_hmacsha256_update(&st, ikm, ikm_len);
    crypto_auth_hmacsha256_final(&st, prk);
    size_t done = 0, tlen = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        crypto_auth_hmacsha256_init(&st, prk, sizeof prk);
        crypto_auth_hmacsha256_update(&st, t, tlen);
        crypto_auth_hmacsha256_update(&st, (const uint8_t *)info,
                                      strlen(info));
        crypto_auth_hmacsha256_update(&st, &i, 1);
        crypto_auth_hmacsha256_final(&st, t);
        tlen = sizeof t;
        size_t n = out_len - done < sizeof t ? out_len - done : sizeof t;
        memcpy(out + done, t, n);
        done += n;
    }
    sodium_memzero(prk, sizeof prk);
    sodium_memzero(t, sizeof t);
}

/* enc key (32) ‖ auth key (32) ‖ IV (16) */
#define PAYLOAD_KEYS 80

static void payload_hmac(const uint8_t *keys, const uint8_t *ct, size_t len,
                         uint8_t out[16])
{
    uint8_t mac[32];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, keys + 32, 32);
    crypto_auth_hmacsha256_update(&st, ct, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, mac, 16);
}

static int cbc(int encrypt, const uint8_t *keys, const uint8_t *in,
               size_t len, uint8_t **out, size_t *out_len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx || len > INT32_MAX - 32)
        return -1;
    uint8_t *buf = xmalloc(len + 32);
    int n1 = 0, n2 = 0;
    int ok = EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), NULL, keys, keys + 64,
                               encrypt) == 1 &&
             EVP_CipherUpdate(ctx, buf, &n1, in, (int)len) == 1 &&
             EVP_CipherFinal_ex(ctx, buf + n1, &n2) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        sodium_memzero(buf, len + 32);
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = (size_t)(n1 + n2);
    return 0;
}

int omemo2_payload_encrypt(const char *plain, size_t len,
                           uint8_t key_hmac[OMEMO2_KEY_HMAC_LEN],
                           uint8_t **ct, size_t *ct_len)
{
    uint8_t keys[PAYLOAD_KEYS];
    randombytes_buf(key_hmac, 32);
    hkdf_sha256(key_hmac, 32, "OMEMO Payload", keys, sizeof keys);
    int rc = cbc(1, keys, (const uint8_t *)plain, len, ct, ct_len);
    if (rc == 0)
        payload_hmac(keys, *ct, *ct_len, key_hmac + 32);
    sodium_memzero(keys, sizeof keys);
    return rc;
}

int omemo2_payload_decrypt(const uint8_t *key_hmac, size_t key_len,
                           const uint8_t *ct, size_t ct_len, char **plain,
                           const char **why)
{
    *plain = NULL;
    if (key_len != OMEMO2_KEY_HMAC_LEN) {
        *why = "the message key has an unexpected length";
        return -1;
    }
    uint8_t keys[PAYLOAD_KEYS], mac[16];
    hkdf_sha256(key_hmac, 32, "OMEMO Payload", keys, sizeof keys);
    payload_hmac(keys, ct, ct_len, mac);
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc = -1;
    if (sodium_memcmp(mac, key_hmac + 32, 16) != 0)
        *why = "the payload does not match its key (altered, or not for "
               "this key)";
    else if (cbc(0, keys, ct, ct_len, &out, &out_len) < 0)
        *why = "the payload does not decrypt";
    else
        rc = 0;
    sodium_memzero(keys, sizeof keys);
    if (rc == 0) {
        *plain = xmalloc(out_len + 1);
        memcpy(*plain, out, out_len);
        (*plain)[out_len] = '\0';
        sodium_memzero(out, out_len);
        free(out);
    }
    return rc;
}
