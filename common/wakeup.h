/* A way for a signal handler to end the loop's sleep.
 *
 * A handler that only sets a flag is seen when poll() returns. A signal
 * that arrives while the loop is busy, rather than in poll(), is therefore
 * seen only at the end of the next sleep, up to a second later; and in a
 * process with other threads the signal may not interrupt the loop's
 * thread at all. The handler also writes a byte to a pipe whose other
 * end the loop polls, so the next poll() returns at once. The loop only
 * stops after that, so nothing reads the byte: the fd stays readable. */
#ifndef ISTHMUS_WAKEUP_H
#define ISTHMUS_WAKEUP_H

struct wakeup {
    int read_fd, write_fd; /* -1 while closed */
};

/* Opens the pipe (both ends non-blocking). Returns 0, or -1 with *err set
 * (caller frees). */
int wakeup_open(struct wakeup *w, char **err);
/* Async-signal-safe, and safe to call from any thread; a closed wakeup is
 * ignored. Keeps errno. */
void wakeup_post(struct wakeup *w);
/* The fd to poll for POLLIN; -1 while closed. */
int wakeup_fd(const struct wakeup *w);
void wakeup_close(struct wakeup *w);

#endif
