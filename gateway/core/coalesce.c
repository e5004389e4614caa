#include "gateway/core/coalesce.h"

#include "common/mem.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A flat array searched linearly: it only holds keys that changed within
 * the last window, which stays small unless a whole large room changes
 * at once. */
struct entry {
    char *key;
    int64_t last_flush; /* INT64_MIN: never */
    int64_t due;
    bool pending;
};

struct coalesce {
    int64_t window;
    struct entry *e;
    int n, cap;
};

struct coalesce *coalesce_new(int64_t window_ms)
{
    struct coalesce *c = xcalloc(1, sizeof *c);
    c->window = window_ms;
    return c;
}

void coalesce_free(struct coalesce *c)
{
    if (!c)
        return;
    for (int i = 0; i < c->n; i++)
        free(c->e[i].key);
    free(c->e);
    free(c);
}

void coalesce_mark(struct coalesce *c, const char *key, int64_t now_ms)
{
    struct entry *e = NULL;
    for (int i = 0; i < c->n && !e; i++)
        if (strcmp(c->e[i].key, key) == 0)
            e = &c->e[i];
    if (!e) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 16;
            c->e = xrealloc(c->e, (size_t)c->cap * sizeof *c->e);
        }
        e = &c->e[c->n++];
        e->key = xstrdup(key);
        e->last_flush = INT64_MIN;
        e->pending = false;
    }
    if (e->pending)
        return; /* already due at the end of its window */
    e->pending = true;
    e->due = e->last_flush == INT64_MIN || now_ms - e->last_flush >= c->window
                 ? now_ms
                 : e->last_flush + c->window;
}

int coalesce_run(struct coalesce *c, int64_t now_ms, int max,
                 void (*fn)(const char *key, void *ud), void *ud)
{
    int flushed = 0;
    for (int i = 0; i < c->n;) {
        struct entry *e = &c->e[i];
        if (e->pending && e->due <= now_ms && (max <= 0 || flushed < max)) {
            e->pending = false;
            e->last_flush = now_ms;
            /* fn may mark keys again; index, not pointer, survives that */
            char *key = xstrdup(e->key);
            fn(key, ud);
            free(key);
            flushed++;
            e = &c->e[i];
        }
        if (!e->pending && now_ms - e->last_flush >= c->window) {
            free(e->key);
            c->e[i] = c->e[--c->n];
            continue;
        }
        i++;
    }
    return flushed;
}

int64_t coalesce_next_due(const struct coalesce *c)
{
    int64_t next = -1;
    for (int i = 0; i < c->n; i++)
        if (c->e[i].pending && (next < 0 || c->e[i].due < next))
            next = c->e[i].due;
    return next;
}

int coalesce_size(const struct coalesce *c)
{
    return c->n;
}
