/* The monotonic clock, for deadlines, timeouts and durations: it never
 * jumps when the wall clock is set. */
#ifndef ISTHMUS_COMMON_CLOCK_H
#define ISTHMUS_COMMON_CLOCK_H

#include <stdint.h>

int64_t clock_mono_us(void);
int64_t clock_mono_ms(void);
/* A poll() timeout: the milliseconds from now until due, 0 if it has
 * passed, or -1 if due is negative (nothing is due). Both times are on
 * the same clock, whichever the caller keeps its deadlines on. */
long clock_ms_until(int64_t due, int64_t now);

#endif
