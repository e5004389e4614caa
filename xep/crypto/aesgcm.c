#include "xep/crypto/aesgcm.h"

#include "common/mem.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SCHEME "aesgcm://"

int aesgcm_is_url(const char *url)
{
    return url && strncasecmp(url, SCHEME, strlen(SCHEME)) == 0;
}

char *aesgcm_url_make(const char *url, const uint8_t key[AESGCM_KEY_LEN],
                      const uint8_t iv[AESGCM_IV_LEN])
{
    const char *rest = strstr(url, "://");
    rest = rest ? rest + 3 : url;
    char hex[2 * (AESGCM_IV_LEN + AESGCM_KEY_LEN) + 1];
    sodium_bin2hex(hex, 2 * AESGCM_IV_LEN + 1, iv, AESGCM_IV_LEN);
    sodium_bin2hex(hex + 2 * AESGCM_IV_LEN, 2 * AESGCM_KEY_LEN + 1, key,
                   AESGCM_KEY_LEN);
    char *link = xasprintf(SCHEME "%.*s#%s", (int)strcspn(rest, "#"), rest,
                           hex);
    sodium_memzero(hex, sizeof hex);
    return link;
}

int aesgcm_url_parse(const char *link, char **https_url,
                     uint8_t key[AESGCM_KEY_LEN], uint8_t iv[AESGCM_IV_MAX],
                     size_t *iv_len)
{
    *https_url = NULL;
    if (!aesgcm_is_url(link))
        return -1;
    const char *rest = link + strlen(SCHEME);
    const char *hash = strchr(rest, '#');
    if (!hash || hash == rest)
        return -1;
    size_t hexlen = strlen(hash + 1);
    /* 12-byte IVs (XEP-0454) and the 16-byte ones older clients sent. */
    size_t ivn = hexlen == 2 * (12 + AESGCM_KEY_LEN)   ? 12
                 : hexlen == 2 * (16 + AESGCM_KEY_LEN) ? 16
                                                       : 0;
    size_t got = 0;
    if (!ivn ||
        sodium_hex2bin(iv, AESGCM_IV_MAX, hash + 1, 2 * ivn, NULL, &got,
                       NULL) != 0 ||
        got != ivn ||
        sodium_hex2bin(key, AESGCM_KEY_LEN, hash + 1 + 2 * ivn,
                       2 * AESGCM_KEY_LEN, NULL, &got, NULL) != 0 ||
        got != AESGCM_KEY_LEN)
        return -1;
    *iv_len = ivn;
    *https_url = xasprintf("https://%.*s", (int)(hash - rest), rest);
    return 0;
}

struct aesgcm_stream {
    EVP_CIPHER_CTX *ctx;
};

struct aesgcm_stream *aesgcm_stream_new(const uint8_t key[AESGCM_KEY_LEN],
                                        const uint8_t *iv, size_t iv_len)
{
    struct aesgcm_stream *s = xcalloc(1, sizeof *s);
    s->ctx = EVP_CIPHER_CTX_new();
    if (!s->ctx ||
        EVP_EncryptInit_ex(s->ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len,
                            NULL) != 1 ||
        EVP_EncryptInit_ex(s->ctx, NULL, NULL, key, iv) != 1) {
        aesgcm_stream_free(s);
        out_of_memory(sizeof *s); /* OpenSSL only fails for lack of it */
    }
    return s;
}

void aesgcm_stream_update(struct aesgcm_stream *s, uint8_t *data, size_t len)
{
    /* GCM is a stream mode: the ciphertext is as long as the text, and
     * OpenSSL encrypts in place. Pieces are bounded by the proxy's. */
    int n = 0;
    while (len) {
        int chunk = len > (1u << 30) ? 1 << 30 : (int)len;
        EVP_EncryptUpdate(s->ctx, data, &n, data, chunk);
        data += chunk;
        len -= (size_t)chunk;
    }
}

void aesgcm_stream_final(struct aesgcm_stream *s, uint8_t tag[AESGCM_TAG_LEN])
{
    uint8_t none[16];
    int n = 0;
    EVP_EncryptFinal_ex(s->ctx, none, &n);
    EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_GCM_GET_TAG, AESGCM_TAG_LEN, tag);
}

void aesgcm_stream_free(struct aesgcm_stream *s)
{
    if (!s)
        return;
    EVP_CIPHER_CTX_free(s->ctx);
    free(s);
}

long aesgcm_file_open(uint8_t *data, size_t len,
                      const uint8_t key[AESGCM_KEY_LEN], const uint8_t *iv,
                      size_t iv_len)
{
    if (len < AESGCM_TAG_LEN || len - AESGCM_TAG_LEN > INT32_MAX)
        return -1;
    size_t n = len - AESGCM_TAG_LEN;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int out = 0, fin = 0;
    int ok = ctx &&
             EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL) ==
                 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len,
                                 NULL) == 1 &&
             EVP_DecryptInit_ex(ctx, NULL, NULL, key, iv) == 1 &&
             EVP_DecryptUpdate(ctx, data, &out, data, (int)n) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AESGCM_TAG_LEN,
                                 data + n) == 1 &&
             EVP_DecryptFinal_ex(ctx, data + out, &fin) == 1;
    EVP_CIPHER_CTX_free(ctx);
    if (!ok) {
        sodium_memzero(data, n); /* no unauthenticated plaintext left */
        return -1;
    }
    return (long)n;
}
