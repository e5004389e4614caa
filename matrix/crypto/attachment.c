#include "matrix/crypto/attachment.h"

#include "common/mem.h"
#include "matrix/crypto/canonical.h"
#include "matrix/crypto/internal.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static const char *field(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

/* The JWK's "k" is base64url; the rest of Matrix writes plain base64. */
static long unbase64url(const char *text, unsigned char *out, size_t max)
{
    size_t n = 0;
    if (sodium_base642bin(out, max, text, strlen(text), "=", &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return -1;
    return (long)n;
}

int mx_attachment_parse(const json_t *file, struct mx_attachment *out,
                        const char **why)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(file)) {
        *why = "content.file is not an object";
        return -1;
    }
    const char *v = field(file, "v"), *url = field(file, "url");
    json_t *key = json_object_get(file, "key");
    const char *alg = field(key, "alg"), *kty = field(key, "kty");
    const char *k = field(key, "k"), *iv = field(file, "iv");
    const char *sha = field(json_object_get(file, "hashes"), "sha256");
    if (!v || strcmp(v, "v2") != 0) {
        *why = "the encrypted file is of an unknown version (not v2)";
        return -1;
    }
    if (!url || !alg || strcmp(alg, "A256CTR") != 0 || !kty ||
        strcmp(kty, "oct") != 0) {
        *why = "the encrypted file has no URL or is not AES-CTR-256";
        return -1;
    }
    if (!k || !iv || !sha ||
        unbase64url(k, out->key, sizeof out->key) != MX_ATTACHMENT_KEY_LEN ||
        mx_unbase64(iv, out->iv, sizeof out->iv) != MX_ATTACHMENT_IV_LEN ||
        mx_unbase64(sha, out->sha256, sizeof out->sha256) !=
            MX_ATTACHMENT_HASH_LEN) {
        mx_attachment_clear(out);
        *why = "the encrypted file's key, iv or sha256 is malformed";
        return -1;
    }
    out->url = xstrdup(url);
    return 0;
}

void mx_attachment_clear(struct mx_attachment *a)
{
    free(a->url);
    sodium_memzero(a, sizeof *a);
}

/* --------------------------------------------------------- the cipher -- */

static EVP_CIPHER_CTX *ctr_new(const unsigned char key[MX_ATTACHMENT_KEY_LEN],
                               const unsigned char iv[MX_ATTACHMENT_IV_LEN])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        mx_crypto_fatal("attachment", "out of memory");
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, key, iv) != 1)
        mx_crypto_fatal("attachment", "AES-CTR-256 is not available");
    return ctx;
}

/* CTR needs no padding: out has exactly len bytes. OpenSSL takes int
 * lengths, so large buffers go in pieces. */
static void ctr_apply(EVP_CIPHER_CTX *ctx, const unsigned char *in,
                      size_t len, unsigned char *out)
{
    while (len) {
        int n = len > (1u << 30) ? (1 << 30) : (int)len, outl = 0;
        if (EVP_EncryptUpdate(ctx, out, &outl, in, n) != 1 || outl != n)
            mx_crypto_fatal("attachment", "AES-CTR-256 failed");
        in += n;
        out += n;
        len -= (size_t)n;
    }
}

json_t *mx_attachment_encrypt(unsigned char *data, size_t len)
{
    unsigned char key[MX_ATTACHMENT_KEY_LEN], iv[MX_ATTACHMENT_IV_LEN] = { 0 };
    unsigned char hash[MX_ATTACHMENT_HASH_LEN];
    randombytes_buf(key, sizeof key);
    /* A random nonce and a counter that starts at zero, as Element does:
     * readers that count in 64 bits (WebCrypto) and in 128 (OpenSSL)
     * then agree for any file size. */
    randombytes_buf(iv, 8);
    EVP_CIPHER_CTX *ctx = ctr_new(key, iv);
    ctr_apply(ctx, data, len, data);
    EVP_CIPHER_CTX_free(ctx);
    crypto_hash_sha256(hash, data, len);
    char k[sodium_base64_ENCODED_LEN(MX_ATTACHMENT_KEY_LEN,
                                     sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(k, sizeof k, key, sizeof key,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *iv64 = mx_base64(iv, sizeof iv), *hash64 = mx_base64(hash, sizeof hash);
    json_t *file = json_pack(
        "{s:s, s:{s:s, s:[ss], s:s, s:s, s:b}, s:s, s:{s:s}}", "v", "v2",
        "key", "kty", "oct", "key_ops", "encrypt", "decrypt", "alg",
        "A256CTR", "k", k, "ext", 1, "iv", iv64, "hashes", "sha256", hash64);
    if (!file)
        mx_crypto_fatal("attachment", "cannot build content.file");
    sodium_memzero(key, sizeof key);
    sodium_memzero(k, sizeof k);
    free(iv64);
    free(hash64);
    return file;
}

/* --------------------------------------------------------- the reader -- */

struct mx_attachment_reader {
    EVP_CIPHER_CTX *ctx;
    crypto_hash_sha256_state hash;
    unsigned char expected[MX_ATTACHMENT_HASH_LEN];
};

struct mx_attachment_reader *
mx_attachment_reader_new(const struct mx_attachment *a)
{
    struct mx_attachment_reader *r = xcalloc(1, sizeof *r);
    r->ctx = ctr_new(a->key, a->iv);
    crypto_hash_sha256_init(&r->hash);
    memcpy(r->expected, a->sha256, sizeof r->expected);
    return r;
}

void mx_attachment_reader_update(struct mx_attachment_reader *r,
                                 const unsigned char *in, size_t len,
                                 unsigned char *out)
{
    crypto_hash_sha256_update(&r->hash, in, len);
    ctr_apply(r->ctx, in, len, out);
}

int mx_attachment_reader_check(struct mx_attachment_reader *r)
{
    unsigned char got[MX_ATTACHMENT_HASH_LEN];
    crypto_hash_sha256_final(&r->hash, got);
    return sodium_memcmp(got, r->expected, sizeof got) == 0 ? 0 : -1;
}

void mx_attachment_reader_free(struct mx_attachment_reader *r)
{
    if (!r)
        return;
    EVP_CIPHER_CTX_free(r->ctx);
    sodium_memzero(r, sizeof *r);
    free(r);
}
