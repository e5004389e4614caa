/* A store in a fresh temporary directory, for the suites that test code
 * over a real store, and the temporary directory on its own. */
#ifndef ISTHMUS_TESTS_STORE_FIXTURE_H
#define ISTHMUS_TESTS_STORE_FIXTURE_H

#include "store/store.h"

struct store_fixture {
    char dir[64];
    char path[128]; /* dir/t.db */
    struct store *st;
};

/* The key the fixture's store seals its outbox with. */
extern const unsigned char store_fixture_key[STORE_KEY_BYTES];

/* Makes /tmp/isthmus-<name>-XXXXXX in dir (64 bytes): 0, or -1. */
int test_tmpdir_make(char *dir, const char *name);
/* Removes dir and everything in it: 0, or -1. */
int test_tmpdir_remove(const char *dir);

/* Makes the directory and opens the store in it: 0, or -1 with the reason
 * on stderr. */
int store_fixture_open(struct store_fixture *f, const char *name);
/* Closes the store (if open) and removes the directory: 0, or -1. */
int store_fixture_close(struct store_fixture *f);
/* Closes the store and opens it again with the same key, as a restart would (a cmocka
 * assertion fails if it cannot). */
void store_fixture_reopen(struct store_fixture *f);

#endif
