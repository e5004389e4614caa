/* The component connection's own output (xep/component.c), against this
 * test playing the XMPP server's side of XEP-0114 over a loopback socket:
 * stanzas reach the server when the gateway flushes, without libstrophe's
 * loop running, and output the socket does not take at once is written
 * later, whole and in order; what is left when the connection drops is
 * dropped with it (the stanza outbox sends it again). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/strbuf.h"
#include "xep/component.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WAIT_MS 5000

struct server {
    int listener;
    int conn;
    unsigned short port;
    struct strbuf got; /* everything read from the component */
};

struct fixture {
    xmpp_ctx_t *ctx;
    struct server srv;
    struct component *c;
    bool connected;
};

static void on_stanza(xmpp_stanza_t *st, void *ud)
{
    (void)st;
    (void)ud;
}

static void on_connected(void *ud)
{
    ((struct fixture *)ud)->connected = true;
}

static void on_disconnected(void *ud)
{
    ((struct fixture *)ud)->connected = false;
}

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Reads what is there now; false once the peer has closed. */
static bool server_read(struct server *s)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(s->conn, buf, sizeof buf);
        if (n > 0)
            strbuf_append(&s->got, buf, (size_t)n);
        else if (n == 0)
            return false;
        else
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
}

static void server_write(struct server *s, const char *text)
{
    size_t len = strlen(text);
    assert_int_equal(write(s->conn, text, len), (ssize_t)len);
}

/* Runs the component and the server side until what the server has read
 * contains want, for at most WAIT_MS. */
static void pump_until(struct fixture *f, const char *want)
{
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    while (!strstr(f->srv.got.data ? f->srv.got.data : "", want)) {
        if (clock_mono_ms() > deadline)
            fail_msg("the server never read \"%s\"; it has \"%s\"", want,
                     f->srv.got.data ? f->srv.got.data : "");
        component_run(f->c);
        if (f->srv.conn < 0) {
            f->srv.conn = accept(f->srv.listener, NULL, NULL);
            if (f->srv.conn >= 0)
                set_nonblocking(f->srv.conn);
        } else {
            server_read(&f->srv);
        }
        poll(NULL, 0, 1);
    }
}

/* Accepts the component's connection and plays the server's side of the
 * XEP-0114 handshake (the secret is not checked). */
static void handshake(struct fixture *f)
{
    pump_until(f, "<stream:stream");
    server_write(&f->srv,
                 "<?xml version='1.0'?><stream:stream "
                 "xmlns:stream='http://etherx.jabber.org/streams' "
                 "xmlns='jabber:component:accept' from='gw.test' "
                 "id='s1'>");
    pump_until(f, "</handshake>");
    server_write(&f->srv, "<handshake/>");
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    while (!f->connected && clock_mono_ms() < deadline) {
        component_run(f->c);
        poll(NULL, 0, 1);
    }
    assert_true(f->connected);
    strbuf_reset(&f->srv.got);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->ctx = xmpp_ctx_new(NULL, NULL);
    f->srv.listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* A small receive buffer, so that the test can fill it. */
    int small = 4096;
    setsockopt(f->srv.listener, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    assert_int_equal(bind(f->srv.listener, (struct sockaddr *)&a, sizeof a),
                     0);
    assert_int_equal(listen(f->srv.listener, 1), 0);
    socklen_t len = sizeof a;
    getsockname(f->srv.listener, (struct sockaddr *)&a, &len);
    f->srv.port = ntohs(a.sin_port);
    set_nonblocking(f->srv.listener);
    f->srv.conn = -1;

    static const struct component_callbacks cb = { on_stanza, on_connected,
                                                   on_disconnected };
    f->c = component_new(f->ctx, "gw.test", "secret", "127.0.0.1",
                         f->srv.port, &cb, f);
    handshake(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    component_free(f->c);
    xmpp_ctx_free(f->ctx);
    if (f->srv.conn >= 0)
        close(f->srv.conn);
    close(f->srv.listener);
    strbuf_free(&f->srv.got);
    free(f);
    return 0;
}

/* Waits for the server's socket to have something, without running
 * libstrophe, and reads it. */
static void server_wait_read(struct server *s)
{
    struct pollfd p = { s->conn, POLLIN, 0 };
    assert_int_equal(poll(&p, 1, WAIT_MS), 1);
    server_read(s);
}

static void a_flush_writes_without_libstrophe_running(void **state)
{
    struct fixture *f = *state;
    static const char *stanzas[] = {
        "<message to='a@x' id='1'><body>one</body></message>",
        "<message to='a@x' id='2'><body>two</body></message>",
    };
    for (int i = 0; i < 2; i++)
        assert_int_equal(component_send_xml(f->c, stanzas[i],
                                            strlen(stanzas[i])), 0);
    component_flush(f->c);
    assert_false(component_wants_write(f->c));
    char want[256];
    snprintf(want, sizeof want, "%s%s", stanzas[0], stanzas[1]);
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    while (f->srv.got.len < strlen(want) && clock_mono_ms() < deadline)
        server_wait_read(&f->srv);
    assert_string_equal(f->srv.got.data, want);
}

static void output_the_socket_refuses_goes_later_in_order(void **state)
{
    struct fixture *f = *state;
    int small = 4096;
    setsockopt(component_fd(f->c), SOL_SOCKET, SO_SNDBUF, &small,
               sizeof small);
    /* More than both socket buffers hold while the server does not read. */
    struct strbuf want = STRBUF_INIT;
    char stanza[1100], pad[1001];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(stanza, sizeof stanza,
                         "<message id='%d'><body>%s</body></message>", i, pad);
        assert_int_equal(component_send_xml(f->c, stanza, (size_t)n), 0);
        strbuf_append(&want, stanza, (size_t)n);
    }
    component_flush(f->c);
    assert_true(component_wants_write(f->c));
    /* The server reads; the gateway writes when the socket has room. */
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    while (f->srv.got.len < want.len && clock_mono_ms() < deadline) {
        server_read(&f->srv);
        struct pollfd p = { component_fd(f->c), POLLOUT, 0 };
        if (component_wants_write(f->c) && poll(&p, 1, 1) == 1)
            component_flush(f->c);
        else
            poll(NULL, 0, 1);
    }
    assert_false(component_wants_write(f->c));
    assert_int_equal(f->srv.got.len, want.len);
    assert_memory_equal(f->srv.got.data, want.data, want.len);
    strbuf_free(&want);
}

static void a_disconnection_drops_what_was_not_written(void **state)
{
    struct fixture *f = *state;
    int small = 4096;
    setsockopt(component_fd(f->c), SOL_SOCKET, SO_SNDBUF, &small,
               sizeof small);
    char pad[1001];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < 2000 && !component_wants_write(f->c); i++) {
        assert_int_equal(component_send_xml(f->c, pad, sizeof pad - 1), 0);
        component_flush(f->c);
    }
    assert_true(component_wants_write(f->c));
    close(f->srv.conn);
    f->srv.conn = -1;
    int64_t deadline = clock_mono_ms() + WAIT_MS;
    while (f->connected && clock_mono_ms() < deadline) {
        component_run(f->c);
        poll(NULL, 0, 1);
    }
    assert_false(f->connected);
    assert_int_equal(component_send_xml(f->c, "<message/>", 10), -1);
    assert_false(component_wants_write(f->c));

    /* The next connection starts with an empty output. */
    handshake(f);
    static const char last[] = "<message id='after'/>";
    assert_int_equal(component_send_xml(f->c, last, strlen(last)), 0);
    component_flush(f->c);
    deadline = clock_mono_ms() + WAIT_MS;
    while (f->srv.got.len < strlen(last) && clock_mono_ms() < deadline)
        server_wait_read(&f->srv);
    assert_string_equal(f->srv.got.data, last);
}

int main(void)
{
    xmpp_initialize();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            a_flush_writes_without_libstrophe_running, setup, teardown),
        cmocka_unit_test_setup_teardown(
            output_the_socket_refuses_goes_later_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_disconnection_drops_what_was_not_written, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmpp_shutdown();
    return rc;
}
