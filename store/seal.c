#include "store/seal.h"

#include "common/mem.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEAL_MARK "sealed1:"
#define SEAL_MARK_LEN (sizeof SEAL_MARK - 1)
#define B64 sodium_base64_VARIANT_ORIGINAL

struct seal {
    unsigned char *key; /* sodium_malloc: guarded, locked, zeroed on free */
};

struct seal *seal_new(const unsigned char key[SEAL_KEY_BYTES])
{
    /* Idempotent; guarded memory needs it done. */
    if (sodium_init() < 0) {
        fprintf(stderr, "isthmus: libsodium failed to initialise\n");
        abort();
    }
    struct seal *s = xcalloc(1, sizeof *s);
    s->key = sodium_malloc(SEAL_KEY_BYTES);
    if (!s->key)
        out_of_memory(SEAL_KEY_BYTES);
    memcpy(s->key, key, SEAL_KEY_BYTES);
    sodium_mprotect_readonly(s->key);
    return s;
}

void seal_free(struct seal *s)
{
    if (!s)
        return;
    sodium_free(s->key);
    free(s);
}

bool seal_is_sealed(const char *stored)
{
    return strncmp(stored, SEAL_MARK, SEAL_MARK_LEN) == 0;
}

char *seal_text(const struct seal *s, const char *plain)
{
    size_t plen = strlen(plain);
    size_t raw_len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                     plen;
    unsigned char *raw = xmalloc(raw_len);
    randombytes_buf(raw, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(raw + crypto_secretbox_NONCEBYTES,
                          (const unsigned char *)plain, plen, raw, s->key);
    size_t b64_len = sodium_base64_ENCODED_LEN(raw_len, B64);
    char *out = xmalloc(SEAL_MARK_LEN + b64_len);
    memcpy(out, SEAL_MARK, SEAL_MARK_LEN);
    sodium_bin2base64(out + SEAL_MARK_LEN, b64_len, raw, raw_len, B64);
    free(raw);
    return out;
}

int seal_open(const struct seal *s, const char *stored, char **plain,
              const char **why)
{
    *plain = NULL;
    if (!seal_is_sealed(stored)) {
        *plain = xstrdup(stored);
        return 0;
    }
    const char *b64 = stored + SEAL_MARK_LEN;
    size_t b64_len = strlen(b64);
    size_t cap = b64_len / 4 * 3 + 3, raw_len = 0;
    unsigned char *raw = xmalloc(cap);
    if (sodium_base642bin(raw, cap, b64, b64_len, NULL, &raw_len, NULL,
                          B64) != 0 ||
        raw_len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
        free(raw);
        *why = "the sealed value is malformed";
        return -1;
    }
    size_t plen = raw_len - crypto_secretbox_NONCEBYTES -
                  crypto_secretbox_MACBYTES;
    unsigned char *out = xmalloc(plen + 1);
    if (crypto_secretbox_open_easy(out, raw + crypto_secretbox_NONCEBYTES,
                                   raw_len - crypto_secretbox_NONCEBYTES, raw,
                                   s->key) != 0) {
        free(raw);
        free(out);
        *why = "the sealed value does not open with this key (altered, or "
               "sealed under another key_file)";
        return -1;
    }
    free(raw);
    out[plen] = '\0';
    *plain = (char *)out;
    return 0;
}
