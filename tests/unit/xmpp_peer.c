#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/xmpp_peer.h"

#include "common/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

void xmpp_peer_listen(struct xmpp_peer *p)
{
    *p = (struct xmpp_peer){ .conn = -1 };
    p->listener = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(p->listener >= 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int small = 4096; /* inherited by the accepted socket */
    setsockopt(p->listener, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    assert_int_equal(bind(p->listener, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(p->listener, 1), 0);
    socklen_t len = sizeof a;
    getsockname(p->listener, (struct sockaddr *)&a, &len);
    p->port = ntohs(a.sin_port);
    set_nonblocking(p->listener);
}

void xmpp_peer_close(struct xmpp_peer *p)
{
    if (p->conn >= 0)
        close(p->conn);
    close(p->listener);
    strbuf_free(&p->got);
}

bool xmpp_peer_read(struct xmpp_peer *p)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(p->conn, buf, sizeof buf);
        if (n > 0)
            strbuf_append(&p->got, buf, (size_t)n);
        else if (n == 0)
            return false;
        else
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
}

void xmpp_peer_wait_read(struct xmpp_peer *p)
{
    struct pollfd fd = { p->conn, POLLIN, 0 };
    if (poll(&fd, 1, XMPP_PEER_WAIT_MS) != 1)
        fail_msg("the component wrote nothing in %d ms; read so far: \"%s\"",
                 XMPP_PEER_WAIT_MS, p->got.data ? p->got.data : "");
    xmpp_peer_read(p);
}

void xmpp_peer_write(struct xmpp_peer *p, const char *text)
{
    size_t len = strlen(text);
    assert_int_equal(write(p->conn, text, len), (ssize_t)len);
}

void xmpp_peer_pump_until(struct xmpp_peer *p, struct component *c,
                          const char *want)
{
    int64_t deadline = clock_mono_ms() + XMPP_PEER_WAIT_MS;
    while (!strstr(p->got.data ? p->got.data : "", want)) {
        if (clock_mono_ms() > deadline)
            fail_msg("the server never read \"%s\"; it has \"%s\"", want,
                     p->got.data ? p->got.data : "");
        component_run(c);
        if (p->conn < 0) {
            p->conn = accept(p->listener, NULL, NULL);
            if (p->conn >= 0)
                set_nonblocking(p->conn);
        } else {
            xmpp_peer_read(p);
        }
        poll(NULL, 0, 1);
    }
}

void xmpp_peer_no_event(void *ud)
{
    (void)ud;
}

/* Runs the component until its connected state is the one wanted. */
static void run_until_connected(struct component *c, bool connected)
{
    int64_t deadline = clock_mono_ms() + XMPP_PEER_WAIT_MS;
    while (component_is_connected(c) != connected &&
           clock_mono_ms() < deadline) {
        component_run(c);
        poll(NULL, 0, 1);
    }
    if (component_is_connected(c) != connected)
        fail_msg("the component did not %s within %d ms",
                 connected ? "connect" : "notice the disconnection",
                 XMPP_PEER_WAIT_MS);
}

void xmpp_peer_handshake(struct xmpp_peer *p, struct component *c)
{
    xmpp_peer_pump_until(p, c, "<stream:stream");
    xmpp_peer_write(p, "<?xml version='1.0'?><stream:stream "
                       "xmlns:stream='http://etherx.jabber.org/streams' "
                       "xmlns='jabber:component:accept' from='gw.test' "
                       "id='s1'>");
    xmpp_peer_pump_until(p, c, "</handshake>");
    xmpp_peer_write(p, "<handshake/>");
    run_until_connected(c, true);
    strbuf_reset(&p->got);
}

void xmpp_peer_hang_up(struct xmpp_peer *p, struct component *c)
{
    close(p->conn);
    p->conn = -1;
    run_until_connected(c, false);
}
