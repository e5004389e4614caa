/* A map from strings to strings that remembers the order keys were first
 * added in: for building sets of names (a room's nicks) in memory, where
 * a linear search would be quadratic in a large room. */
#ifndef ISTHMUS_STRMAP_H
#define ISTHMUS_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap_entry {
    char *key;
    char *value;
};

struct strmap {
    struct strmap_entry *entries; /* in the order keys were first added */
    size_t n;
    size_t cap;
    size_t *slots;  /* open addressing: index + 1 into entries, 0 empty */
    size_t nslots;  /* a power of two, at least twice n */
};

/* An empty map; needs no allocation until the first put. */
#define STRMAP_INIT { NULL, 0, 0, NULL, 0 }

/* The value stored under key (the map's), or NULL if there is none. */
const char *strmap_get(const struct strmap *m, const char *key);
/* Stores a copy of value under a copy of key; a key already there keeps
 * its place and gets the new value. */
void strmap_put(struct strmap *m, const char *key, const char *value);
/* Frees what the map holds and empties it. */
void strmap_clear(struct strmap *m);

#endif
