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
#include "tests/unit/xmpp_peer.h"
#include "xep/component.h"
#include "xep/component_cause.h"

#include <errno.h>
#include <netinet/in.h>

#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fixture {
    xmpp_ctx_t *ctx;
    struct xmpp_peer srv;
    struct component *c;
};

static void on_stanza(xmpp_stanza_t *st, void *ud)
{
    (void)st;
    (void)ud;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_peer_listen(&f->srv);
    static const struct component_callbacks cb = {
        on_stanza, xmpp_peer_no_event, xmpp_peer_no_event };
    f->c = component_new(f->ctx, "gw.test", "secret", "127.0.0.1",
                         f->srv.port, &cb, f);
    xmpp_peer_handshake(&f->srv, f->c);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    component_free(f->c);
    xmpp_ctx_free(f->ctx);
    xmpp_peer_close(&f->srv);
    free(f);
    return 0;
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
    int64_t deadline = clock_mono_ms() + XMPP_PEER_WAIT_MS;
    while (f->srv.got.len < strlen(want) && clock_mono_ms() < deadline)
        xmpp_peer_wait_read(&f->srv);
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
    int64_t deadline = clock_mono_ms() + XMPP_PEER_WAIT_MS;
    while (f->srv.got.len < want.len && clock_mono_ms() < deadline) {
        xmpp_peer_read(&f->srv);
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
    xmpp_peer_hang_up(&f->srv, f->c);
    assert_int_equal(component_send_xml(f->c, "<message/>", 10), -1);
    assert_false(component_wants_write(f->c));

    /* The next connection starts with an empty output. */
    xmpp_peer_handshake(&f->srv, f->c);
    static const char last[] = "<message id='after'/>";
    assert_int_equal(component_send_xml(f->c, last, strlen(last)), 0);
    component_flush(f->c);
    int64_t deadline = clock_mono_ms() + XMPP_PEER_WAIT_MS;
    while (f->srv.got.len < strlen(last) && clock_mono_ms() < deadline)
        xmpp_peer_wait_read(&f->srv);
    assert_string_equal(f->srv.got.data, last);
}

/* The loop sleeps until component_next_timeout_ms: an iq's timeout and
 * the next connection attempt are reported, and sleeping exactly that
 * long is enough for them to happen. */
static void on_iq_answer(xmpp_stanza_t *result, void *ud)
{
    *(int *)ud = result ? 1 : -1;
}

static void timed_work_is_reported_to_the_loop(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(component_next_timeout_ms(f->c), -1); /* nothing */

    xmpp_stanza_t *iq = xmpp_iq_new(f->ctx, "get", "q1");
    int answer = 0;
    assert_int_equal(component_send_iq(f->c, iq, 300, on_iq_answer, &answer),
                     0);
    xmpp_stanza_release(iq);
    long due = component_next_timeout_ms(f->c);
    assert_true(due > 200 && due <= 300);
    for (int turns = 0; turns < 5 && answer == 0; turns++) {
        poll(NULL, 0, (int)component_next_timeout_ms(f->c));
        component_run(f->c);
    }
    assert_int_equal(answer, -1); /* timed out, in at most a few turns */
    assert_int_equal(component_next_timeout_ms(f->c), -1);

    /* Disconnected: the next attempt is due within the back-off. */
    xmpp_peer_hang_up(&f->srv, f->c);
    due = component_next_timeout_ms(f->c);
    assert_true(due >= 0 && due <= 60000);
}

/* component_query builds the iq: type, addresses, a fresh id and its one
 * child; the answer with that id reaches the callback and no other. */
struct query_answer {
    int calls;
    char *text; /* the answer's <query/> namespace */
};

static void on_query_answer(xmpp_stanza_t *result, void *ud)
{
    struct query_answer *a = ud;
    a->calls++;
    xmpp_stanza_t *q = result ? xmpp_stanza_get_child_by_name(result, "query")
                              : NULL;
    a->text = q ? strdup(xmpp_stanza_get_ns(q)) : NULL;
}

static void a_query_is_built_sent_and_answered(void **state)
{
    struct fixture *f = *state;
    struct query_answer a = { 0 };
    assert_int_equal(component_query(
                         f->c,
                         &(struct component_query){
                             .to = "room@muc.test", .name = "query",
                             .ns = "http://jabber.org/protocol/disco#info" },
                         5000, on_query_answer, &a),
                     0);
    component_flush(f->c);
    xmpp_peer_pump_until(&f->srv, f->c, "</iq>");
    const char *got = f->srv.got.data;
    assert_non_null(strstr(got, "type=\"get\""));
    assert_non_null(strstr(got, "from=\"gw.test\""));
    assert_non_null(strstr(got, "to=\"room@muc.test\""));
    assert_non_null(
        strstr(got, "<query xmlns=\"http://jabber.org/protocol/disco#info\"/>"));
    const char *id = strstr(got, "id=\"");
    assert_non_null(id);
    id += 4;
    char idbuf[64];
    size_t n = strcspn(id, "\"");
    assert_true(n > 0 && n < sizeof idbuf);
    memcpy(idbuf, id, n);
    idbuf[n] = '\0';

    /* An answer with another id is not ours; the one with ours is. */
    char reply[512];
    snprintf(reply, sizeof reply,
             "<iq type='result' id='other' from='room@muc.test' to='gw.test'/>"
             "<iq type='result' id='%s' from='room@muc.test' to='gw.test'>"
             "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
             idbuf);
    xmpp_peer_write(&f->srv, reply);
    for (int turns = 0; turns < 100 && a.calls == 0; turns++) {
        poll(NULL, 0, 10);
        component_run(f->c);
    }
    assert_int_equal(a.calls, 1);
    assert_string_equal(a.text, "http://jabber.org/protocol/disco#info");
    free(a.text);

    /* A set, as someone else, with a ready payload the caller keeps. */
    xmpp_stanza_t *payload = xmpp_stanza_new(f->ctx);
    xmpp_stanza_set_name(payload, "moderate");
    xmpp_stanza_set_ns(payload, "urn:xmpp:message-moderate:1");
    struct query_answer b = { 0 };
    assert_int_equal(component_query(
                         f->c,
                         &(struct component_query){
                             .type = "set", .from = "bob%hs@gw.test/matrix",
                             .to = "room@muc.test", .payload = payload },
                         5000, on_query_answer, &b),
                     0);
    xmpp_stanza_release(payload);
    component_flush(f->c);
    xmpp_peer_pump_until(&f->srv, f->c, "message-moderate:1\"/>");
    assert_non_null(strstr(f->srv.got.data, "type=\"set\""));
    assert_non_null(strstr(f->srv.got.data, "from=\"bob%hs@gw.test/matrix\""));

    /* Disconnected: nothing is sent and the callback never runs. */
    xmpp_peer_hang_up(&f->srv, f->c);
    struct query_answer c = { 0 };
    assert_int_equal(component_query(f->c,
                                     &(struct component_query){
                                         .to = "x.test", .name = "ping",
                                         .ns = "urn:xmpp:ping" },
                                     5000, on_query_answer, &c),
                     -1);
    assert_int_equal(c.calls, 0);
    component_cancel_pending(f->c);
    assert_int_equal(b.calls, 1); /* ended with NULL, as on a timeout */
    assert_null(b.text);
}

/* The log names why the link went down, never a bare code: what the
 * component logs goes to stderr, read back here. */
struct capture {
    int saved;
    FILE *tmp;
};

static void capture_start(struct capture *cap)
{
    fflush(stderr);
    cap->tmp = tmpfile();
    assert_non_null(cap->tmp);
    cap->saved = dup(2);
    dup2(fileno(cap->tmp), 2);
}

/* What was logged so far; caller frees. */
static char *capture_text(struct capture *cap)
{
    fflush(stderr);
    long n = lseek(fileno(cap->tmp), 0, SEEK_END);
    char *text = calloc(1, (size_t)n + 1);
    assert_int_equal(pread(fileno(cap->tmp), text, (size_t)n, 0), n);
    return text;
}

static char *capture_end(struct capture *cap)
{
    char *text = capture_text(cap);
    dup2(cap->saved, 2);
    close(cap->saved);
    fclose(cap->tmp);
    return text;
}

/* Runs c until the log holds want; returns the log. */
static char *run_until_logged(struct capture *cap, struct component *c,
                              const char *want)
{
    int64_t deadline = clock_mono_ms() + XMPP_PEER_WAIT_MS;
    for (;;) {
        component_run(c);
        char *text = capture_text(cap);
        if (strstr(text, want) || clock_mono_ms() >= deadline)
            return text;
        free(text);
        poll(NULL, 0, 5);
    }
}

static void expect_logged(const char *text, const char *want)
{
    if (!strstr(text, want))
        fail_msg("expected \"%s\" in the log, got \"%s\"", want, text);
    assert_null(strstr(text, "error 0"));
}

static void a_hang_up_is_named(void **state)
{
    struct fixture *f = *state;
    struct capture cap;
    capture_start(&cap);
    xmpp_peer_hang_up(&f->srv, f->c);
    char *text = capture_end(&cap);
    expect_logged(text, "component: disconnected: connection closed by the "
                        "server");
    free(text);
}

/* An operator's reconnect: what was sent before goes out first, the
 * drop is logged as asked (no fault), and the next attempt comes at
 * once. */
static void a_reconnect_writes_first_then_drops(void **state)
{
    struct fixture *f = *state;
    static const char before[] = "<message id='answer'/>";
    assert_int_equal(component_send_xml(f->c, before, strlen(before)), 0);
    component_reconnect(f->c);
    assert_int_equal(component_next_timeout_ms(f->c), 0);
    struct capture cap;
    capture_start(&cap);
    component_run(f->c);
    xmpp_peer_pump_until(&f->srv, f->c, "</stream:stream>");
    char *text = capture_end(&cap);
    const char *got = f->srv.got.data;
    const char *answer = strstr(got, before), *end = strstr(got, "</stream");
    assert_non_null(answer);
    assert_true(answer < end); /* the answer before the stream's end */
    close(f->srv.conn);
    f->srv.conn = -1;
    free(text);
    /* The server hangs up in turn; the component, not stopping, plans
     * its next attempt at the shortest backoff. */
    capture_start(&cap);
    text = run_until_logged(&cap, f->c, "reconnecting in");
    free(capture_end(&cap));
    expect_logged(text, "component: disconnected, as asked");
    expect_logged(text, "reconnecting in 500 ms");
    assert_null(strstr(text, "warn"));
    free(text);
    assert_false(component_is_connected(f->c));
}

static const struct component_callbacks quiet = {
    on_stanza, xmpp_peer_no_event, xmpp_peer_no_event };

static void a_refused_connection_is_named(void **state)
{
    (void)state;
    /* A port nothing listens on: bound, then closed. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    struct component *c = component_new(ctx, "gw.test", "secret",
                                        "127.0.0.1", ntohs(a.sin_port),
                                        &quiet, NULL);
    struct capture cap;
    capture_start(&cap);
    free(run_until_logged(&cap, c, "could not connect"));
    char *text = capture_end(&cap);
    expect_logged(text, ": connection refused (is the XMPP server running");
    free(text);
    component_free(c);
    xmpp_ctx_free(ctx);
}

static void a_handshake_cut_short_is_named(void **state)
{
    (void)state;
    struct xmpp_peer srv;
    xmpp_peer_listen(&srv);
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    struct component *c = component_new(ctx, "gw.test", "secret",
                                        "127.0.0.1", srv.port, &quiet, NULL);
    struct capture cap;
    capture_start(&cap);
    /* The server takes the connection, reads the stream header and hangs
     * up, as one does that dislikes the component's name. */
    xmpp_peer_pump_until(&srv, c, "<stream:stream");
    close(srv.conn);
    srv.conn = -1;
    free(run_until_logged(&cap, c, "could not connect"));
    char *text = capture_end(&cap);
    expect_logged(text, "connection closed by the server during the "
                        "handshake (wrong secret");
    free(text);
    component_free(c);
    xmpp_ctx_free(ctx);
    xmpp_peer_close(&srv);
}

static void every_cause_is_words(void **state)
{
    (void)state;
    assert_string_equal(component_cause(0, COMPONENT_CONNECTING),
                        "connection refused");
    assert_non_null(strstr(component_cause(0, COMPONENT_HANDSHAKE),
                           "handshake refused (wrong secret"));
    assert_string_equal(component_cause(ETIMEDOUT, COMPONENT_CONNECTING),
                        "timed out while connecting");
    assert_string_equal(component_cause(ETIMEDOUT, COMPONENT_CONNECTED),
                        "timed out");
    assert_string_equal(component_cause(ECONNRESET, COMPONENT_CONNECTED),
                        "connection closed by the server");
    /* Anything else, as the C library says it. */
    assert_string_equal(component_cause(EACCES, COMPONENT_CONNECTING),
                        strerror(EACCES));
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
        cmocka_unit_test_setup_teardown(timed_work_is_reported_to_the_loop,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_query_is_built_sent_and_answered,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_hang_up_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(a_reconnect_writes_first_then_drops,
                                        setup, teardown),
        cmocka_unit_test(a_refused_connection_is_named),
        cmocka_unit_test(a_handshake_cut_short_is_named),
        cmocka_unit_test(every_cause_is_words),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmpp_shutdown();
    return rc;
}
