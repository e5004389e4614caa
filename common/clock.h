/* The monotonic clock, for deadlines, timeouts and durations: it never
 * jumps when the wall clock is set. */
#ifndef ISTHMUS_COMMON_CLOCK_H
#define ISTHMUS_COMMON_CLOCK_H

#include <stdint.h>

int64_t clock_mono_us(void);
int64_t clock_mono_ms(void);

#endif
