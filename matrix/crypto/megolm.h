/* Megolm group sessions (libolm): how room events are encrypted. An
 * outbound session is one sender's ratchet in one room; every reader
 * holds an inbound copy of it, from the session key shared over Olm. */
#ifndef ISTHMUS_MATRIX_CRYPTO_MEGOLM_H
#define ISTHMUS_MATRIX_CRYPTO_MEGOLM_H

#include <stdbool.h>
#include <stdint.h>

struct mx_megolm_in;
struct mx_megolm_out;

/* ---- inbound */

/* From an m.room_key's session_key (exported = false) or an
 * m.forwarded_room_key's (exported = true). NULL with *err when the key
 * is not one. Free with mx_megolm_in_free. */
struct mx_megolm_in *mx_megolm_in_new(const char *session_key, bool exported,
                                      const char **err);
void mx_megolm_in_free(struct mx_megolm_in *s);
char *mx_megolm_in_pickle(const struct mx_megolm_in *s); /* caller frees */
struct mx_megolm_in *mx_megolm_in_unpickle(const char *pickle,
                                           const char **err);
const char *mx_megolm_in_id(const struct mx_megolm_in *s); /* owned by s */
uint32_t mx_megolm_in_first_index(struct mx_megolm_in *s);
/* The plaintext of ciphertext (caller frees) and its message index, or
 * NULL with *err. */
char *mx_megolm_decrypt(struct mx_megolm_in *s, const char *ciphertext,
                        uint32_t *index, const char **err);
/* The session exported from index on, as m.forwarded_room_key carries it
 * (caller frees), or NULL when the session does not reach back that far. */
char *mx_megolm_in_export(struct mx_megolm_in *s, uint32_t index);

/* ---- outbound */

struct mx_megolm_out *mx_megolm_out_new(void);
void mx_megolm_out_free(struct mx_megolm_out *s);
char *mx_megolm_out_pickle(const struct mx_megolm_out *s); /* caller frees */
struct mx_megolm_out *mx_megolm_out_unpickle(const char *pickle,
                                             const char **err);
const char *mx_megolm_out_id(const struct mx_megolm_out *s); /* owned */
/* The index the next message gets. */
uint32_t mx_megolm_out_index(const struct mx_megolm_out *s);
/* The key to share (m.room_key's session_key) at the current index.
 * Caller frees. */
char *mx_megolm_out_key(struct mx_megolm_out *s);
/* The ciphertext of plaintext at the current index, which it then
 * advances. Caller frees. */
char *mx_megolm_encrypt(struct mx_megolm_out *s, const char *plaintext);

#endif
