/* Coalescing of changes per key (a person): however often a key changes,
 * it is flushed at most once per window, with whatever is latest then.
 * The first change after a quiet window goes out at once, so a single
 * change is not delayed. Pure code: the caller gives the clock. */
#ifndef ISTHMUS_GATEWAY_COALESCE_H
#define ISTHMUS_GATEWAY_COALESCE_H

#include <stdint.h>

struct coalesce;

/* Caller frees with coalesce_free. */
struct coalesce *coalesce_new(int64_t window_ms);
void coalesce_free(struct coalesce *c);
/* key changed at now_ms. */
void coalesce_mark(struct coalesce *c, const char *key, int64_t now_ms);
/* Calls fn once for each key that is due at now_ms, at most max times (0:
 * no limit), and forgets that it was pending; keys left over stay due for
 * the next run. Returns how many were flushed. */
int coalesce_run(struct coalesce *c, int64_t now_ms, int max,
                 void (*fn)(const char *key, void *ud), void *ud);
/* When the earliest pending key is due (on the caller's clock), or -1 if
 * none is pending: the loop sleeps until then. */
int64_t coalesce_next_due(const struct coalesce *c);
/* How many keys the coalescer remembers (pending, or flushed within the
 * last window). */
int coalesce_size(const struct coalesce *c);

#endif
