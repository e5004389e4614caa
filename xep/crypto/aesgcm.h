/* XEP-0454: a file shared in an OMEMO conversation is uploaded encrypted
 * (AES-256-GCM, the 16-byte tag after the ciphertext), and the link sent
 * inside the encrypted message is aesgcm://host/path#<IV><key> (hex), an
 * https:// URL whose fragment never reaches a server. */
#ifndef ISTHMUS_XEP_CRYPTO_AESGCM_H
#define ISTHMUS_XEP_CRYPTO_AESGCM_H

#include <stddef.h>
#include <stdint.h>

#define AESGCM_KEY_LEN 32
#define AESGCM_IV_LEN 12     /* what is sent; 16-byte IVs are read too */
#define AESGCM_IV_MAX 16
#define AESGCM_TAG_LEN 16

/* Whether url is an aesgcm:// link (any case). */
int aesgcm_is_url(const char *url);
/* aesgcm://<url without its scheme>#<hex IV><hex key> for an http(s)://
 * url; caller frees. */
char *aesgcm_url_make(const char *url, const uint8_t key[AESGCM_KEY_LEN],
                      const uint8_t iv[AESGCM_IV_LEN]);
/* The https:// URL (caller frees), key and IV of an aesgcm:// link: 0, or
 * -1 when it is malformed. */
int aesgcm_url_parse(const char *link, char **https_url,
                     uint8_t key[AESGCM_KEY_LEN], uint8_t iv[AESGCM_IV_MAX],
                     size_t *iv_len);

/* Encryption as the file streams: each piece in place, then the tag. */
struct aesgcm_stream;
struct aesgcm_stream *aesgcm_stream_new(const uint8_t key[AESGCM_KEY_LEN],
                                        const uint8_t *iv, size_t iv_len);
void aesgcm_stream_update(struct aesgcm_stream *s, uint8_t *data,
                          size_t len);
void aesgcm_stream_final(struct aesgcm_stream *s,
                         uint8_t tag[AESGCM_TAG_LEN]);
void aesgcm_stream_free(struct aesgcm_stream *s);

/* Opens a whole downloaded file (ciphertext ‖ tag) in place: the length
 * of the plaintext now at data, or -1 when the tag does not match (an
 * altered or cut file, or the wrong key). */
long aesgcm_file_open(uint8_t *data, size_t len,
                      const uint8_t key[AESGCM_KEY_LEN], const uint8_t *iv,
                      size_t iv_len);

#endif
