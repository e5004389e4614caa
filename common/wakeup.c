#include "common/wakeup.h"

#include "common/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int wakeup_open(struct wakeup *w, char **err)
{
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        w->read_fd = w->write_fd = -1;
        *err = xasprintf("cannot make a pipe: %s", strerror(errno));
        return -1;
    }
    w->read_fd = fds[0];
    w->write_fd = fds[1];
    return 0;
}

void wakeup_post(struct wakeup *w)
{
    int saved = errno; /* a handler must not change the errno it found */
    if (w->write_fd >= 0) {
        ssize_t n = write(w->write_fd, "", 1);
        (void)n; /* a full pipe already wakes the loop: nothing is lost */
    }
    errno = saved;
}

int wakeup_fd(const struct wakeup *w)
{
    return w->read_fd;
}

void wakeup_close(struct wakeup *w)
{
    if (w->read_fd >= 0)
        close(w->read_fd);
    if (w->write_fd >= 0)
        close(w->write_fd);
    w->read_fd = w->write_fd = -1;
}
