/* Stanzas to XMPP (gateway/to_xmpp.c) with a real store and a component
 * connection to this test playing the XMPP server: a transaction's stanzas
 * leave before its commit, and a commit that fails after some have left
 * loses nothing and removes nothing that was not confirmed. The failed
 * commit is a real one: the file-size limit makes the write of its log
 * frames fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/clock.h"
#include "gateway/base/context.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/base/metrics.h"
#include "tests/unit/store_fixture.h"
#include "tests/unit/xmpp_peer.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

struct fixture {
    struct store_fixture db;
    struct gateway gw;
    struct xmpp_peer srv;
    bool marker_seen; /* the component received the test's marker */
};

static void on_stanza(xmpp_stanza_t *st, void *ud)
{
    const char *id = xmpp_stanza_get_id(st);
    if (id && strcmp(id, "marker") == 0)
        ((struct fixture *)ud)->marker_seen = true;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (store_fixture_open(&f->db, "toxmpp") != 0)
        return -1;
    f->gw.store = f->db.st;
    f->gw.xmpp = xmpp_ctx_new(NULL, NULL);
    xmpp_peer_listen(&f->srv);
    static const struct component_callbacks cb = {
        on_stanza, xmpp_peer_no_event, xmpp_peer_no_event };
    f->gw.component = component_new(f->gw.xmpp, "gw.test", "secret",
                                    "127.0.0.1", f->srv.port, &cb, f);
    xmpp_peer_handshake(&f->srv, f->gw.component);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    /* The component first: it ends the pings in flight, which to_xmpp.c
     * hears about. */
    component_free(f->gw.component);
    to_xmpp_free(&f->gw);
    xmpp_ctx_free(f->gw.xmpp);
    xmpp_peer_close(&f->srv);
    int rc = store_fixture_close(&f->db);
    free(f);
    return rc;
}

static void enqueue(struct fixture *f, const char *body)
{
    xmpp_stanza_t *m = xmpp_message_new(f->gw.xmpp, "chat", "alice@x.test",
                                        body);
    xmpp_message_set_body(m, body);
    assert_int_equal(to_xmpp_enqueue(&f->gw, "m2x !room", m), 0);
    xmpp_stanza_release(m);
}

/* The end of a loop turn as before_sleep does it. */
static void end_turn(struct fixture *f, bool commit_ok)
{
    to_xmpp_write(&f->gw);
    int rc = store_flush(f->gw.store);
    assert_int_equal(rc, commit_ok ? 0 : -1);
    to_xmpp_flush(&f->gw, rc == 0 ? 1 : -1);
    component_flush(f->gw.component);
}

/* Reads until the peer has want, without running the component (nothing
 * the gateway wrote may depend on libstrophe's loop). */
static void peer_reads(struct fixture *f, const char *want)
{
    int64_t deadline = clock_mono_ms() + XMPP_PEER_WAIT_MS;
    while (!strstr(f->srv.got.data ? f->srv.got.data : "", want) &&
           clock_mono_ms() < deadline)
        xmpp_peer_wait_read(&f->srv);
    if (!strstr(f->srv.got.data ? f->srv.got.data : "", want))
        fail_msg("the server never read \"%s\"; it has \"%s\"", want,
                 f->srv.got.data);
}

/* The id of the last ping the peer read; caller frees. */
static char *last_ping_id(struct fixture *f)
{
    const char *iq = NULL;
    for (const char *p = f->srv.got.data; (p = strstr(p, "<iq ")); p++)
        iq = p;
    assert_non_null(iq);
    const char *id = strstr(iq, " id=");
    assert_non_null(id);
    char quote = id[4];
    const char *end = strchr(id + 5, quote);
    return strndup(id + 5, (size_t)(end - id - 5));
}

/* Answers a ping, then sends a marker message and runs the component until
 * it has read the marker, so that the answer has been handled. */
static void answer_ping(struct fixture *f, const char *id)
{
    char text[256];
    snprintf(text, sizeof text,
             "<iq type='result' id='%s' from='gw.test' to='gw.test'/>"
             "<message from='bob@x.test' to='gw.test' id='marker'/>", id);
    f->marker_seen = false;
    xmpp_peer_write(&f->srv, text);
    int64_t deadline = clock_mono_ms() + XMPP_PEER_WAIT_MS;
    while (!f->marker_seen && clock_mono_ms() < deadline) {
        component_run(f->gw.component);
        poll(NULL, 0, 1);
    }
    assert_true(f->marker_seen);
}

static void stanzas_leave_before_the_commit(void **state)
{
    struct fixture *f = *state;
    f->gw.txn_start = metrics_point_now();
    for (int i = 0; i < 8; i++) {
        char body[24];
        snprintf(body, sizeof body, "early-%d", i);
        enqueue(f, body);
    }
    /* No commit yet, and libstrophe's loop has not run. */
    assert_true(store_in_txn(f->gw.store));
    peer_reads(f, "early-7");
    for (int i = 0; i < 8; i++) {
        char body[24];
        snprintf(body, sizeof body, "early-%d", i);
        assert_non_null(strstr(f->srv.got.data, body));
    }
    end_turn(f, true);
    assert_int_equal(store_outbox_count(f->gw.store), 8);
}

/* Makes the next commit fail (the log cannot grow), runs fn's end of turn,
 * then lifts the limit. */
static void end_turn_with_failed_commit(struct fixture *f)
{
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f->db.path);
    struct stat sb;
    assert_int_equal(stat(wal, &sb), 0);
    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_IGN);
    lim = old;
    lim.rlim_cur = (rlim_t)sb.st_size;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    end_turn(f, false);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
}

static void a_failed_commit_loses_nothing(void **state)
{
    struct fixture *f = *state;
    /* A turn that commits: a ping asks the server to confirm its three. */
    enqueue(f, "first-1");
    enqueue(f, "first-2");
    enqueue(f, "first-3");
    end_turn(f, true);
    peer_reads(f, "<iq ");
    char *ping1 = last_ping_id(f);

    /* The next turn sends two more; the first ping's answer removes the
     * confirmed rows and a second ping goes out, covering the two. */
    enqueue(f, "second-4");
    enqueue(f, "second-5");
    to_xmpp_write(&f->gw);
    strbuf_reset(&f->srv.got);
    answer_ping(f, ping1);
    assert_int_equal(store_outbox_count(f->gw.store), 2);
    component_flush(f->gw.component);
    peer_reads(f, "<iq ");
    char *ping2 = last_ping_id(f);
    assert_string_not_equal(ping1, ping2);

    /* That turn's commit fails: the removal and the two rows are gone. */
    end_turn_with_failed_commit(f);
    assert_int_equal(store_outbox_count(f->gw.store), 3);

    /* New rows follow; the answer to the second ping, asked before the
     * failure, must not remove any of them. */
    enqueue(f, "third-4");
    enqueue(f, "third-5");
    answer_ping(f, ping2);
    assert_int_equal(store_outbox_count(f->gw.store), 5);

    /* Once committed, everything unconfirmed goes out again, in order. */
    strbuf_reset(&f->srv.got);
    end_turn(f, true);
    peer_reads(f, "third-5");
    const char *got = f->srv.got.data;
    const char *order[] = { "first-1", "first-2", "first-3", "third-4",
                            "third-5" };
    const char *at = got;
    for (size_t i = 0; i < 5; i++) {
        const char *p = strstr(at, order[i]);
        if (!p)
            fail_msg("\"%s\" was not sent again after \"%.*s\"", order[i],
                     (int)(at - got), got);
        at = p;
    }
    /* Its confirmation removes them all. */
    char *ping3 = last_ping_id(f);
    answer_ping(f, ping3);
    to_xmpp_flush(&f->gw, store_flush(f->gw.store) == 0 ? 1 : -1);
    assert_int_equal(store_outbox_count(f->gw.store), 0);
    free(ping1);
    free(ping2);
    free(ping3);
}

int main(void)
{
    xmpp_initialize();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(stanzas_leave_before_the_commit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_failed_commit_loses_nothing, setup,
                                        teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmpp_shutdown();
    return rc;
}
