#include "xep/component.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "xep/component_cause.h"
#include "xep/xml.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

struct pending_iq {
    char *id;
    int64_t deadline_ms;
    component_iq_cb cb;
    void *ud;
    struct pending_iq *next;
};

/* How often a connection being set up is looked at: libstrophe times the
 * connect and the handshake itself, with timers it does not expose. */
#define COMPONENT_SETUP_POLL_MS 100

struct component {
    xmpp_ctx_t *ctx;
    xmpp_conn_t *conn;       /* NULL between attempts */
    char *jid, *secret, *host;
    unsigned short port;
    struct component_callbacks cb;
    void *ud;
    int fd;                  /* captured through the sockopt callback */
    bool connected;
    bool connecting;
    bool reached;            /* this attempt's TCP connection came up */
    bool stopping;
    bool drop_asked;         /* component_reconnect: drop at the next run */
    bool dropping;           /* ... dropped: the disconnection is no fault */
    int64_t next_attempt_ms; /* when to try again while disconnected */
    int backoff_ms;
    uint64_t id_counter;
    struct pending_iq *pending;
    /* Stanzas on their way to the server. They do not go through
     * libstrophe's send queue: that is written only by xmpp_run_once(),
     * which also reads the stream and runs handlers, so the gateway could
     * not send a transaction's first stanzas while it still works on the
     * rest. Once connected, everything the gateway sends is here, so
     * libstrophe's queue only ever holds its own stream-level writes
     * (header and handshake before, the closing tag after). */
    struct strbuf out;
    size_t out_done;  /* bytes of out already written */
    bool out_broken;  /* a write failed: the stream is going down */
};

/* ---------------------------------------------------------------------
 * libstrophe bug workaround.
 *
 * Every libstrophe from 0.12 up to at least upstream HEAD of October 2025
 * leaves conn->sm_state NULL in xmpp_connect_component(); the first stanza
 * after the handshake then dereferences it in _handle_stream_stanza() and
 * the process segfaults. Only xmpp_connect_client() allocates the state.
 * We obtain one through the public API: a throwaway client connection to a
 * closed loopback port is refused at once (no traffic leaves loopback), and
 * afterwards its stream-management state can be taken and handed to the
 * component connection. Remove this once libstrophe allocates sm_state for
 * components.
 * ------------------------------------------------------------------- */

static void throwaway_handler(xmpp_conn_t *conn, xmpp_conn_event_t event,
                              int error, xmpp_stream_error_t *se, void *ud)
{
    (void)conn;
    (void)error;
    (void)se;
    if (event == XMPP_CONN_DISCONNECT || event == XMPP_CONN_FAIL)
        *(bool *)ud = true;
}

static int give_sm_state(xmpp_ctx_t *ctx, xmpp_conn_t *component_conn)
{
    xmpp_conn_t *tmp = xmpp_conn_new(ctx);
    xmpp_conn_set_jid(tmp, "sm-workaround@localhost");
    xmpp_conn_set_flags(tmp, XMPP_CONN_FLAG_DISABLE_TLS);
    bool done = false;
    /* Port 1 (tcpmux) on loopback is closed on any sane host. */
    if (xmpp_connect_client(tmp, "127.0.0.1", 1, throwaway_handler, &done) ==
        XMPP_EOK) {
        for (int i = 0; i < 200 && !done; i++)
            xmpp_run_once(ctx, 10);
    }
    xmpp_sm_state_t *sm = done ? xmpp_conn_get_sm_state(tmp) : NULL;
    xmpp_conn_release(tmp);
    if (!sm) {
        log_error("component: could not obtain a stream-management state "
                  "for the libstrophe component workaround");
        return -1;
    }
    if (xmpp_conn_set_sm_state(component_conn, sm) != XMPP_EOK) {
        xmpp_free_sm_state(sm);
        log_error("component: libstrophe refused the stream-management "
                  "state");
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------- */

/* libstrophe has no getter for its socket, but it hands a pointer to each
 * socket it creates to this callback, synchronously inside
 * xmpp_connect_component(). The callback has no userdata, so the fd is
 * parked here and collected right after that call returns. */
static int captured_fd = -1;

static int sockopt_cb(xmpp_conn_t *conn, void *sock)
{
    captured_fd = *(int *)sock;
    /* Stanzas are small writes, one after another: with Nagle's
     * algorithm the second waits for the server's delayed ACK of the
     * first, up to 40 ms on Linux. */
    int on = 1;
    setsockopt(captured_fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return xmpp_sockopt_cb_keepalive(conn, sock);
}

static void fail_pending(struct component *c)
{
    struct pending_iq *p = c->pending;
    c->pending = NULL;
    while (p) {
        struct pending_iq *next = p->next;
        p->cb(NULL, p->ud);
        free(p->id);
        free(p);
        p = next;
    }
}

/* Returns true if the stanza answered a tracked iq. */
static bool match_pending(struct component *c, xmpp_stanza_t *st)
{
    const char *name = xmpp_stanza_get_name(st);
    const char *type = xmpp_stanza_get_type(st);
    const char *id = xmpp_stanza_get_id(st);
    if (!name || strcmp(name, "iq") != 0 || !type || !id ||
        (strcmp(type, "result") != 0 && strcmp(type, "error") != 0))
        return false;
    for (struct pending_iq **pp = &c->pending; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->id, id) == 0) {
            struct pending_iq *p = *pp;
            *pp = p->next;
            p->cb(st, p->ud);
            free(p->id);
            free(p);
            return true;
        }
    }
    return false;
}

static int stanza_handler(xmpp_conn_t *conn, xmpp_stanza_t *st, void *ud)
{
    (void)conn;
    struct component *c = ud;
    if (!match_pending(c, st))
        c->cb.on_stanza(st, c->ud);
    return 1; /* keep the handler */
}

static void discard_output(struct component *c)
{
    strbuf_reset(&c->out);
    c->out_done = 0;
    c->out_broken = false;
}

static void schedule_retry(struct component *c)
{
    c->next_attempt_ms = clock_mono_ms() + c->backoff_ms;
    log_info("component: reconnecting in %d ms", c->backoff_ms);
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                       : c->backoff_ms * 2;
}

/* The condition a stream error names: its first child but <text/>. */
static const char *stream_condition(const xmpp_stream_error_t *se)
{
    for (xmpp_stanza_t *ch = se->stanza ? xmpp_stanza_get_children(se->stanza)
                                        : NULL;
         ch; ch = xmpp_stanza_get_next(ch)) {
        const char *name = xmpp_stanza_get_name(ch);
        if (name && strcmp(name, "text") != 0)
            return name;
    }
    return "no condition given";
}

static void conn_handler(xmpp_conn_t *conn, xmpp_conn_event_t event, int error,
                         xmpp_stream_error_t *se, void *ud)
{
    (void)conn;
    struct component *c = ud;
    if (event == XMPP_CONN_CONNECT) {
        c->connected = true;
        c->connecting = false;
        c->backoff_ms = BACKOFF_MIN_MS;
        log_info("component: connected to %s:%u as %s", c->host, c->port,
                 c->jid);
        c->cb.on_connected(c->ud);
        return;
    }
    bool was_connected = c->connected;
    c->connected = false;
    c->connecting = false;
    c->fd = -1;
    /* Unwritten stanzas are not lost: their senders send them again on
     * the next connection (the stanza outbox keeps them until the server
     * has confirmed them). */
    discard_output(c);
    enum component_stage stage = was_connected ? COMPONENT_CONNECTED
                                 : c->reached  ? COMPONENT_HANDSHAKE
                                               : COMPONENT_CONNECTING;
    if (se && se->type == XMPP_SE_NOT_AUTHORIZED)
        log_error("component: the XMPP server refused the handshake: check "
                  "that [xmpp] secret matches the server's component_secret "
                  "and that component_jid is declared there");
    else if (se && se->type == XMPP_SE_HOST_UNKNOWN)
        log_error("component: the XMPP server does not know %s: declare it "
                  "as a component there", c->jid);
    else if (c->stopping || c->dropping)
        log_info("component: disconnected, as asked");
    else {
        /* A stream error names its own cause (Prosody stopping says
         * system-shutdown); libstrophe's errno needs words. */
        char *cause = se ? xasprintf("the XMPP server closed the stream "
                                     "(%s%s%s)", stream_condition(se),
                                     se->text ? ": " : "",
                                     se->text ? se->text : "")
                         : xstrdup(component_cause(error, stage));
        if (!was_connected)
            log_warn("component: could not connect to %s:%u: %s%s", c->host,
                     c->port, cause,
                     stage == COMPONENT_CONNECTING && !se
                         ? " (is the XMPP server running, and is this its "
                           "component port?)"
                         : "");
        else
            log_warn("component: disconnected: %s", cause);
        free(cause);
    }
    c->dropping = false;
    fail_pending(c);
    if (was_connected)
        c->cb.on_disconnected(c->ud);
    if (!c->stopping)
        schedule_retry(c);
}

static void start_attempt(struct component *c)
{
    if (c->conn) {
        xmpp_conn_release(c->conn);
        c->conn = NULL;
    }
    c->conn = xmpp_conn_new(c->ctx);
    xmpp_conn_set_jid(c->conn, c->jid);
    xmpp_conn_set_pass(c->conn, c->secret);
    xmpp_conn_set_sockopt_callback(c->conn, sockopt_cb);
    xmpp_handler_add(c->conn, stanza_handler, NULL, NULL, NULL, c);
    if (give_sm_state(c->ctx, c->conn) < 0) {
        schedule_retry(c);
        return;
    }
    captured_fd = -1;
    if (xmpp_connect_component(c->conn, c->host, c->port, conn_handler, c) !=
        XMPP_EOK) {
        log_warn("component: cannot start a connection to %s:%u: the host "
                 "name does not resolve, or no socket could be made",
                 c->host, c->port);
        schedule_retry(c);
        return;
    }
    c->fd = captured_fd;
    c->connecting = true;
    c->reached = false;
}

/* Whether the attempt's TCP connection is up, asked before libstrophe
 * runs: once it fails, libstrophe closes the socket before saying so, and
 * says 0 both for a refused connect and for a refused handshake. */
static void note_reached(struct component *c)
{
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    if (c->connecting && !c->reached && c->fd >= 0 &&
        getpeername(c->fd, (struct sockaddr *)&peer, &len) == 0)
        c->reached = true;
}

struct component *component_new(xmpp_ctx_t *ctx, const char *jid,
                                const char *secret, const char *host,
                                unsigned short port,
                                const struct component_callbacks *cb, void *ud)
{
    struct component *c = xcalloc(1, sizeof *c);
    c->ctx = ctx;
    c->jid = xstrdup(jid);
    c->secret = xstrdup(secret);
    c->host = xstrdup(host);
    c->port = port;
    c->cb = *cb;
    c->ud = ud;
    c->fd = -1;
    c->backoff_ms = BACKOFF_MIN_MS;
    c->next_attempt_ms = 0;
    return c;
}

void component_cancel_pending(struct component *c)
{
    fail_pending(c);
}

void component_free(struct component *c)
{
    if (!c)
        return;
    c->stopping = true;
    fail_pending(c);
    if (c->conn)
        xmpp_conn_release(c->conn);
    strbuf_free(&c->out);
    free(c->jid);
    free(c->secret);
    free(c->host);
    free(c);
}

void component_disconnect(struct component *c)
{
    c->stopping = true;
    if (c->conn && (c->connected || c->connecting)) {
        /* What the gateway sent last (presence leaving MUCs) goes before
         * the stream's closing tag, which libstrophe writes. */
        for (int i = 0; i < 50 && component_wants_write(c); i++) {
            struct pollfd p = { c->fd, POLLOUT, 0 };
            poll(&p, 1, 10);
            component_flush(c);
        }
        xmpp_disconnect(c->conn);
        for (int i = 0; i < 50 && (c->connected || c->connecting); i++)
            xmpp_run_once(c->ctx, 10);
    }
}

/* The drop component_reconnect asked for: what was sent goes first,
 * then the stream closes; conn_handler then schedules the next attempt,
 * with the shortest backoff since the connection had come up. */
static void drop_if_asked(struct component *c)
{
    if (!c->drop_asked)
        return;
    c->drop_asked = false;
    if (!c->connected || !c->conn)
        return;
    log_info("component: dropping the connection, as asked, to reconnect");
    for (int i = 0; i < 50 && component_wants_write(c); i++) {
        struct pollfd p = { c->fd, POLLOUT, 0 };
        poll(&p, 1, 10);
        component_flush(c);
    }
    c->dropping = true;
    xmpp_disconnect(c->conn);
}

void component_reconnect(struct component *c)
{
    c->drop_asked = true;
}

void component_run(struct component *c)
{
    int64_t now = clock_mono_ms();
    drop_if_asked(c);
    if (!c->connected && !c->connecting && !c->stopping &&
        now >= c->next_attempt_ms)
        start_attempt(c);
    note_reached(c);
    xmpp_run_once(c->ctx, 0);
    /* Time out tracked iqs. */
    for (struct pending_iq **pp = &c->pending; *pp;) {
        if ((*pp)->deadline_ms <= now) {
            struct pending_iq *p = *pp;
            *pp = p->next;
            p->cb(NULL, p->ud);
            free(p->id);
            free(p);
        } else {
            pp = &(*pp)->next;
        }
    }
}

long component_next_timeout_ms(const struct component *c)
{
    if (c->stopping)
        return -1;
    if (c->drop_asked)
        return 0;
    if (c->connecting)
        return COMPONENT_SETUP_POLL_MS;
    int64_t due = c->connected ? -1 : c->next_attempt_ms;
    for (const struct pending_iq *p = c->pending; p; p = p->next)
        if (due < 0 || p->deadline_ms < due)
            due = p->deadline_ms;
    return clock_ms_until(due, clock_mono_ms());
}

int component_fd(const struct component *c)
{
    return c->fd;
}

bool component_is_connected(const struct component *c)
{
    return c->connected;
}

int component_send(struct component *c, xmpp_stanza_t *st)
{
    if (!c->connected)
        return -1;
    /* Our serialiser is several times cheaper than the one xmpp_send
     * uses. */
    xml_serialize_into(&c->out, st);
    return 0;
}

int component_send_xml(struct component *c, const char *xml, size_t len)
{
    if (!c->connected)
        return -1;
    strbuf_append(&c->out, xml, len);
    return 0;
}

int component_send_iq(struct component *c, xmpp_stanza_t *iq, int timeout_ms,
                      component_iq_cb cb, void *ud)
{
    const char *id = xmpp_stanza_get_id(iq);
    if (!c->connected || !id)
        return -1;
    struct pending_iq *p = xcalloc(1, sizeof *p);
    p->id = xstrdup(id);
    p->deadline_ms = clock_mono_ms() + timeout_ms;
    p->cb = cb;
    p->ud = ud;
    p->next = c->pending;
    c->pending = p;
    xml_serialize_into(&c->out, iq);
    return 0;
}

int component_query(struct component *c, const struct component_query *q,
                    int timeout_ms, component_iq_cb cb, void *ud)
{
    if (!c->connected)
        return -1;
    char *id = component_new_id(c);
    xmpp_stanza_t *iq = xmpp_iq_new(c->ctx, q->type ? q->type : "get", id);
    xmpp_stanza_set_from(iq, q->from ? q->from : c->jid);
    xmpp_stanza_set_to(iq, q->to);
    if (q->payload)
        xmpp_stanza_add_child(iq, q->payload);
    else
        xml_add_child(c->ctx, iq, q->name, q->ns);
    int rc = component_send_iq(c, iq, timeout_ms, cb, ud);
    xmpp_stanza_release(iq);
    free(id);
    return rc;
}

bool component_wants_write(const struct component *c)
{
    return c->connected && !c->out_broken && c->out_done < c->out.len;
}

void component_flush(struct component *c)
{
    while (component_wants_write(c)) {
        ssize_t n = send(c->fd, c->out.data + c->out_done,
                         c->out.len - c->out_done,
                         MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            c->out_done += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return; /* the loop polls for room */
        } else {
            /* libstrophe's next read sees the same failure and ends the
             * connection; until then there is nothing more to try. */
            log_warn("component: writing to the XMPP server failed: %s",
                     n < 0 ? strerror(errno) : "no progress");
            c->out_broken = true;
            return;
        }
    }
    if (c->out_done == c->out.len && c->out_done) {
        strbuf_reset(&c->out);
        c->out_done = 0;
    }
}

char *component_new_id(struct component *c)
{
    return xasprintf("isthmus-%llx-%llx", (unsigned long long)time(NULL),
                     (unsigned long long)++c->id_counter);
}

const char *component_jid(const struct component *c)
{
    return c->jid;
}
