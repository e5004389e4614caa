/* Sealing: what the store keeps of a message (outbox payloads: stanzas,
 * portal ops, Matrix calls) is written sealed with libsodium's
 * crypto_secretbox, so a copy of the database (a backup, a stolen disk,
 * the SQLite log) shows no message text. The key lives outside the
 * database, in the operator's key file (gateway/store_key.c).
 *
 * A sealed value is text, "sealed1:" and the base64 of nonce || box, so it
 * fits the TEXT columns and the store's text paths unchanged. Values that
 * do not start with that mark were written in clear by a version before
 * sealing and are read as they are. */
#ifndef ISTHMUS_STORE_SEAL_H
#define ISTHMUS_STORE_SEAL_H

#include <stdbool.h>
#include <stddef.h>

#define SEAL_KEY_BYTES 32

struct seal;

/* Copies the key into guarded memory (sodium_malloc, no core dumps).
 * Free with seal_free. */
struct seal *seal_new(const unsigned char key[SEAL_KEY_BYTES]);
void seal_free(struct seal *s);

/* The sealed form of plain (a NUL-terminated string), with a fresh random
 * nonce. Caller frees. */
char *seal_text(const struct seal *s, const char *plain);

/* Opens a stored value: a sealed one is authenticated and decrypted, one
 * written in clear before sealing existed is copied. On success *plain is
 * the text (caller frees) and 0 is returned; a sealed value that is
 * malformed, tampered with or sealed under another key returns -1 with
 * *why (static) set. */
int seal_open(const struct seal *s, const char *stored, char **plain,
              const char **why);

/* Whether a stored value carries the seal mark. */
bool seal_is_sealed(const char *stored);

#endif
