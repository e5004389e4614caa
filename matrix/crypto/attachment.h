/* Encrypted attachments (the spec's "Sending encrypted attachments"): a
 * file in an encrypted room is uploaded as AES-CTR-256 ciphertext, and the
 * event's content.file carries the key (a JWK), the initial counter block
 * and the ciphertext's SHA-256, which the reader checks before trusting a
 * byte. */
#ifndef ISTHMUS_MATRIX_CRYPTO_ATTACHMENT_H
#define ISTHMUS_MATRIX_CRYPTO_ATTACHMENT_H

#include <jansson.h>
#include <stddef.h>

#define MX_ATTACHMENT_KEY_LEN 32
#define MX_ATTACHMENT_IV_LEN 16
#define MX_ATTACHMENT_HASH_LEN 32

/* What content.file says, checked. */
struct mx_attachment {
    char *url; /* the ciphertext's mxc URI */
    unsigned char key[MX_ATTACHMENT_KEY_LEN];
    unsigned char iv[MX_ATTACHMENT_IV_LEN];
    unsigned char sha256[MX_ATTACHMENT_HASH_LEN];
};

/* Reads content.file: 0, or -1 with *why (an unknown version or
 * algorithm, a key or hash of the wrong size). Free with
 * mx_attachment_clear, which also wipes the key. */
int mx_attachment_parse(const json_t *file, struct mx_attachment *out,
                        const char **why);
void mx_attachment_clear(struct mx_attachment *a);

/* Encrypts data in place under a fresh key and counter block: the
 * content.file object to send (a new reference), without its "url",
 * which the caller adds once the ciphertext is uploaded. */
json_t *mx_attachment_encrypt(unsigned char *data, size_t len);

/* A decryption as the ciphertext streams in. */
struct mx_attachment_reader;

/* Caller frees with mx_attachment_reader_free. */
struct mx_attachment_reader *
mx_attachment_reader_new(const struct mx_attachment *a);
/* Decrypts len bytes of ciphertext into out (len bytes too). */
void mx_attachment_reader_update(struct mx_attachment_reader *r,
                                 const unsigned char *in, size_t len,
                                 unsigned char *out);
/* Once all has passed: 0 when the ciphertext's hash is the one the event
 * named, -1 when it was altered (nothing read should be trusted). */
int mx_attachment_reader_check(struct mx_attachment_reader *r);
void mx_attachment_reader_free(struct mx_attachment_reader *r);

#endif
