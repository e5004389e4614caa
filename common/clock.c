#include "common/clock.h"

#include <time.h>

int64_t clock_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t clock_mono_ms(void)
{
    return clock_mono_us() / 1000;
}

long clock_ms_until(int64_t due, int64_t now)
{
    if (due < 0)
        return -1;
    return due <= now ? 0 : (long)(due - now);
}
