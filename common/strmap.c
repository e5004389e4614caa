/* An insertion-ordered string map (see strmap.h). */
#include "common/strmap.h"

#include "common/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: short keys, no adversary that gains from collisions beyond a
 * slower join. */
static size_t hash(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t *slot_of(const struct strmap *m, const char *key)
{
    size_t mask = m->nslots - 1;
    for (size_t i = hash(key) & mask;; i = (i + 1) & mask) {
        size_t *s = &m->slots[i];
        if (*s == 0 || strcmp(m->entries[*s - 1].key, key) == 0)
            return s;
    }
}

static void grow(struct strmap *m)
{
    free(m->slots);
    m->nslots = m->nslots ? m->nslots * 2 : 16;
    m->slots = xcalloc(m->nslots, sizeof *m->slots);
    for (size_t k = 0; k < m->n; k++)
        *slot_of(m, m->entries[k].key) = k + 1;
}

const char *strmap_get(const struct strmap *m, const char *key)
{
    if (m->n == 0)
        return NULL;
    size_t *s = slot_of(m, key);
    return *s ? m->entries[*s - 1].value : NULL;
}

void strmap_put(struct strmap *m, const char *key, const char *value)
{
    if (2 * (m->n + 1) > m->nslots)
        grow(m);
    size_t *s = slot_of(m, key);
    if (*s) {
        struct strmap_entry *e = &m->entries[*s - 1];
        free(e->value);
        e->value = xstrdup(value);
        return;
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->entries = xrealloc(m->entries, m->cap * sizeof *m->entries);
    }
    m->entries[m->n] = (struct strmap_entry){ xstrdup(key), xstrdup(value) };
    *s = ++m->n;
}

void strmap_clear(struct strmap *m)
{
    for (size_t k = 0; k < m->n; k++) {
        free(m->entries[k].key);
        free(m->entries[k].value);
    }
    free(m->entries);
    free(m->slots);
    *m = (struct strmap)STRMAP_INIT;
}
