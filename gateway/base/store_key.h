/* The store key file: the secret that seals message text in the store
 * (store/seal.h), kept by the operator outside the database ([store]
 * key_file). It holds 64 hex digits and must not be readable by everyone. */
#ifndef ISTHMUS_STORE_KEY_H
#define ISTHMUS_STORE_KEY_H

#include "store/store.h"

/* Creates the key file with a new random key, mode 0600. Returns 1 if it
 * was created, 0 if a file is already there (left as it is), -1 with *err
 * set (caller frees). libsodium must be initialised. */
int store_key_create(const char *path, char **err);

/* Reads the key. Refuses a file that others may read or write, one that is
 * not a regular file, and one that does not hold exactly 64 hex digits
 * (a trailing newline is allowed): -1 with *err set (caller frees). */
int store_key_read(const char *path, unsigned char key[STORE_KEY_BYTES],
                   char **err);

/* The key file's path: the configured one, or the database's path with
 * ".key" added. Caller frees. */
char *store_key_path(const char *key_file, const char *store_path);

#endif
