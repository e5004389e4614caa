/* Token buckets keyed by string (a sender's bare JID): `rate` tokens per
 * second, at most `burst` saved up. Memory stays bounded: buckets that
 * have refilled completely carry no information and are dropped. */
#ifndef ISTHMUS_RATELIMIT_H
#define ISTHMUS_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit;

/* Freed with ratelimit_free(). */
struct ratelimit *ratelimit_new(double rate, double burst);
void ratelimit_free(struct ratelimit *rl);
/* Takes one token for key at time now_ms; false if none is left. */
bool ratelimit_allow(struct ratelimit *rl, const char *key, int64_t now_ms);
/* Buckets currently held (for tests and metrics). */
int ratelimit_size(const struct ratelimit *rl);

#endif
