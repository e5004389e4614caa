/* The pipe that lets a signal handler end the loop's sleep. */
#include "common/wakeup.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <unistd.h>
#include <cmocka.h>

static int readable(const struct wakeup *w)
{
    struct pollfd p = { wakeup_fd(w), POLLIN, 0 };
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void a_post_makes_the_fd_readable(void **state)
{
    (void)state;
    struct wakeup w;
    char *err = NULL;
    assert_int_equal(wakeup_open(&w, &err), 0);
    assert_false(readable(&w));
    wakeup_post(&w);
    assert_true(readable(&w));
    wakeup_close(&w);
    assert_int_equal(wakeup_fd(&w), -1);
    wakeup_post(&w); /* closed: ignored, no write to a stale fd */
}

static struct wakeup from_handler;

static void handler(int sig)
{
    (void)sig;
    wakeup_post(&from_handler);
}

/* The case the pipe is for: the signal is handled while the loop is not
 * in poll() (here it never was), and a later poll() must still return at
 * once. */
static void a_signal_handled_outside_poll_still_wakes_it(void **state)
{
    (void)state;
    char *err = NULL;
    assert_int_equal(wakeup_open(&from_handler, &err), 0);
    struct sigaction sa = { .sa_handler = handler }, old;
    sigaction(SIGUSR1, &sa, &old);
    raise(SIGUSR1);
    struct pollfd p = { wakeup_fd(&from_handler), POLLIN, 0 };
    assert_int_equal(poll(&p, 1, 10000), 1);
    sigaction(SIGUSR1, &old, NULL);
    wakeup_close(&from_handler);
}

/* Many posts never block the poster, even when nobody reads; and a post
 * that fails (the pipe is full) leaves errno as the interrupted code had
 * it. */
static void a_full_pipe_does_not_block(void **state)
{
    (void)state;
    struct wakeup w;
    char *err = NULL;
    assert_int_equal(wakeup_open(&w, &err), 0);
    for (int i = 0; i < 200000; i++)
        wakeup_post(&w);
    assert_true(readable(&w));
    errno = EINTR;
    wakeup_post(&w);
    assert_int_equal(errno, EINTR);
    wakeup_close(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_post_makes_the_fd_readable),
        cmocka_unit_test(a_signal_handled_outside_poll_still_wakes_it),
        cmocka_unit_test(a_full_pipe_does_not_block),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
