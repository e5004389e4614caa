/* Per-sender token buckets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/core/ratelimit.h"

#include <stdio.h>

static void burst_then_rate(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(10, 5); /* 10/s, burst 5 */
    int allowed = 0;
    for (int i = 0; i < 20; i++)
        allowed += ratelimit_allow(rl, "a@x", 1000);
    assert_int_equal(allowed, 5);
    /* 100 ms later one more token has come back. */
    assert_true(ratelimit_allow(rl, "a@x", 1100));
    assert_false(ratelimit_allow(rl, "a@x", 1100));
    /* Someone else is not affected by a@x's flood. */
    assert_true(ratelimit_allow(rl, "b@x", 1100));
    /* A long pause refills to the burst, not beyond. */
    allowed = 0;
    for (int i = 0; i < 20; i++)
        allowed += ratelimit_allow(rl, "a@x", 100000);
    assert_int_equal(allowed, 5);
    ratelimit_free(rl);
}

static void clock_going_backwards_is_harmless(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(1, 1);
    assert_true(ratelimit_allow(rl, "a@x", 5000));
    assert_false(ratelimit_allow(rl, "a@x", 1000));
    assert_true(ratelimit_allow(rl, "a@x", 6000));
    ratelimit_free(rl);
}

static void memory_stays_bounded(void **state)
{
    (void)state;
    struct ratelimit *rl = ratelimit_new(100, 10);
    char key[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "user%d@x", i);
        /* Each sender sends once, a millisecond apart: their buckets are
         * full again 10 ms later and can be forgotten. */
        ratelimit_allow(rl, key, i);
    }
    assert_true(ratelimit_size(rl) < 10000);
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_rate),
        cmocka_unit_test(clock_going_backwards_is_harmless),
        cmocka_unit_test(memory_stays_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
