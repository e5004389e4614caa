#include "gateway/core/ratelimit.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

#define NBUCKETS 4096
#define PRUNE_EVERY 4096

struct bucket {
    char *key;
    double tokens;
    int64_t updated_ms;
    struct bucket *next;
};

struct ratelimit {
    double rate;  /* tokens per millisecond */
    double burst;
    struct bucket *slots[NBUCKETS];
    int size;
    unsigned calls;
};

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % NBUCKETS;
}

struct ratelimit *ratelimit_new(double rate, double burst)
{
    struct ratelimit *rl = xcalloc(1, sizeof *rl);
    rl->rate = rate / 1000.0;
    rl->burst = burst;
    return rl;
}

void ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return;
    for (int i = 0; i < NBUCKETS; i++)
        for (struct bucket *b = rl->slots[i], *n; b; b = n) {
            n = b->next;
            free(b->key);
            free(b);
        }
    free(rl);
}

static void refill(struct ratelimit *rl, struct bucket *b, int64_t now_ms)
{
    if (now_ms > b->updated_ms) {
        b->tokens += (double)(now_ms - b->updated_ms) * rl->rate;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->updated_ms = now_ms;
    }
}

static void prune(struct ratelimit *rl, int64_t now_ms)
{
    for (int i = 0; i < NBUCKETS; i++) {
        for (struct bucket **pp = &rl->slots[i]; *pp;) {
            struct bucket *b = *pp;
            refill(rl, b, now_ms);
            if (b->tokens >= rl->burst) {
                *pp = b->next;
                free(b->key);
                free(b);
                rl->size--;
            } else {
                pp = &b->next;
            }
        }
    }
}

bool ratelimit_allow(struct ratelimit *rl, const char *key, int64_t now_ms)
{
    if (++rl->calls % PRUNE_EVERY == 0)
        prune(rl, now_ms);
    unsigned h = hash(key);
    struct bucket *b = rl->slots[h];
    while (b && strcmp(b->key, key) != 0)
        b = b->next;
    if (!b) {
        b = xcalloc(1, sizeof *b);
        b->key = xstrdup(key);
        b->tokens = rl->burst;
        b->updated_ms = now_ms;
        b->next = rl->slots[h];
        rl->slots[h] = b;
        rl->size++;
    }
    refill(rl, b, now_ms);
    if (b->tokens < 1.0)
        return false;
    b->tokens -= 1.0;
    return true;
}

int ratelimit_size(const struct ratelimit *rl)
{
    return rl->size;
}
