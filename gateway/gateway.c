/* Set-up, tear-down and the one-thread event loop (DESIGN.md §2).
 *
 * One poll() watches three fds: the XMPP socket, libmicrohttpd's epoll fd
 * and the Matrix client's epoll set of curl's sockets (and a fourth, for
 * the signals that stop it: common/wakeup.h). Each turn serves
 * whatever is ready on all three, then, before sleeping, commits the turn's
 * store transaction, answers the transactions that waited for that commit,
 * and sends the stanzas it released. */
#include "gateway/gateway.h"
#include "gateway/features/catchup.h"
#include "gateway/features/e2ee.h"
#include "gateway/features/omemo.h"

#include "gateway/base/effects.h"
#include "gateway/base/matrix_calls.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/edges/matrix_inbound.h"
#include "gateway/edges/to_matrix.h"
#include "gateway/edges/xmpp_inbound.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "gateway/features/media.h"
#include "gateway/base/metrics.h"
#include "gateway/portal/portal.h"
#include "gateway/portal/ops.h"
#include "gateway/portal/state.h"
#include "gateway/features/presence.h"
#include "gateway/base/queues.h"
#include "gateway/core/ratelimit.h"
#include "gateway/core/registration.h"
#include "gateway/base/store_key.h"

#include <poll.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The loop sleeps until the earliest thing it has to do at a time (each
 * part reports its own), and never longer than this: a safety net for a
 * timer that is not reported, which then runs at most this late. An idle
 * gateway wakes once per interval, each wake-up costing about 0.1 ms of
 * CPU on a small VM. */
#define MAX_POLL_MS 1000
/* At shutdown, requests under way are looked at this often. */
#define DRAIN_POLL_MS 100
/* How long requests under way may take to finish at shutdown. */
#define DRAIN_MS 3000

/* Who runs each kind of durable work in the outbox: the loop, on top,
 * hands this to the queues, so that they never call up. */
static const struct queue_worker queue_workers[] = {
    { OUTBOX_XMPP_INBOUND, to_matrix_process },
    { OUTBOX_MATRIX_JOIN, matrix_join_process },
    { OUTBOX_PORTAL_OP, portal_op_process },
    { OUTBOX_MATRIX_CALL, matrix_call_process },
    { 0, NULL },
};

/* ------------------------------------------------- component callbacks -- */

static void on_stanza(xmpp_stanza_t *st, void *ud)
{
    xmpp_inbound_stanza(ud, st);
}

static void on_connected(void *ud)
{
    struct gateway *gw = ud;
    /* Whatever waited while we were away goes out now, after the joins
     * that let Matrix users speak in their MUCs again. */
    portal_rejoin_all(gw);
    gw->stanza_outbox_dirty = true;
    catchup_on_connected(gw);
}

static void on_disconnected(void *ud)
{
    catchup_on_disconnected(ud);
}

/* ----------------------------------------------------- libstrophe logs -- */

static void strophe_log(void *ud, xmpp_log_level_t level, const char *area,
                        const char *msg)
{
    (void)ud;
    /* libstrophe logs whole stanzas at debug level: bodies included, so
     * they stay at debug. */
    if (level >= XMPP_LEVEL_ERROR)
        log_error("libstrophe %s: %s", area, msg);
    else if (level == XMPP_LEVEL_WARN)
        log_warn("libstrophe %s: %s", area, msg);
    else if (log_get_level() >= LOG_DEBUG)
        log_debug("libstrophe %s: %s", area, msg);
}

static xmpp_log_t strophe_logger = { strophe_log, NULL };

/* --------------------------------------------------------- start-up ping -- */

static void on_ping(const struct mx_response *r, void *ud)
{
    (void)ud;
    char why[MX_REASON_MAX];
    if (r->status == 200)
        log_info("matrix: the homeserver reached the appservice (ping ok)");
    else if (r->status == 403 || r->status == 401)
        log_error("matrix: the homeserver refused our as_token (%s): is "
                  "the registration file the one the homeserver loads?",
                  mx_response_reason(r, why, sizeof why));
    else
        log_warn("matrix: appservice ping failed (%s): check [appservice] "
                 "url and that the homeserver can reach it",
                 mx_response_reason(r, why, sizeof why));
}

static void ping_homeserver(struct gateway *gw)
{
    char *txn = xasprintf("isthmus-start-%lld", (long long)gateway_now_ms());
    mx_appservice_ping(gw->mx, gw->cfg.as_id, txn, 5, on_ping, NULL);
    free(txn);
}

/* ----------------------------------------------------------- lifecycle -- */

/* Message text in the outbox is sealed with the operator's key file
 * (gateway/store_key.h), made here on the first start if missing. */
static int open_store_key(struct gateway *gw, char **err)
{
    char *path = store_key_path(gw->cfg.store_key_file, gw->cfg.store_path);
    unsigned char key[STORE_KEY_BYTES];
    int made = store_key_create(path, err);
    if (made > 0)
        log_info("store: created the store key file %s; keep it with the "
                 "database: without it, work waiting in the outbox cannot "
                 "be read", path);
    int rc = made < 0 ? -1 : store_key_read(path, key, err);
    if (rc == 0)
        store_set_seal_key(gw->store, key);
    sodium_memzero(key, sizeof key);
    free(path);
    return rc;
}

int gateway_init(struct gateway *gw, struct config *cfg, char **err)
{
    memset(gw, 0, sizeof *gw);
    gw->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    /* First, so that gateway_free never closes an fd it did not open. */
    if (wakeup_open(&gw->stop_wakeup, err) < 0)
        return -1;
    if (sodium_init() < 0) {
        *err = xstrdup("libsodium failed to initialise");
        return -1;
    }
    if (registration_read_tokens(gw->cfg.registration_file, &gw->cfg.as_token,
                                 &gw->cfg.hs_token, err) < 0)
        return -1;
    /* What the registration lacks for encrypted rooms was told by
     * config_check, before the start. */
    gw->ids = (struct ids){ gw->cfg.user_prefix, gw->cfg.alias_prefix,
                            gw->cfg.server_name, gw->cfg.component_jid,
                            gw->cfg.bot_localpart };
    gw->bot_mxid = xasprintf("@%s:%s", gw->cfg.bot_localpart,
                             gw->cfg.server_name);
    gw->started_ms = gateway_now_ms();

    char *serr = NULL;
    if (store_open(gw->cfg.store_path, &gw->store, &serr) < 0) {
        *err = xasprintf("store %s: %s", gw->cfg.store_path, serr);
        free(serr);
        return -1;
    }
    if (open_store_key(gw, err) < 0)
        return -1;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    gw->multi = curl_multi_init();
    /* Keep-alive: a few reused connections to the homeserver. */
    curl_multi_setopt(gw->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 16L);
    gw->mx = mx_client_new(gw->multi, gw->cfg.homeserver_url, gw->cfg.as_token);
    gw->media = media_new(gw);

    gw->e2ee = e2ee_new(matrix_inbound_dispatch);
    gw->send_event = e2ee_send_event;
    gw->omemo = gw->cfg.e2ee_omemo ? omemo_state_new() : NULL;
    gw->seal_stanza = omemo_xmpp_encrypt;
    gw->as = as_server_new(gw->cfg.bind_address, gw->cfg.bind_port,
                           gw->cfg.hs_token, (size_t)gw->cfg.max_request_bytes,
                           &matrix_inbound_handlers, gw, err);
    if (!gw->as)
        return -1;

    xmpp_initialize();
    gw->xmpp = xmpp_ctx_new(NULL, &strophe_logger);
    gw->catchup = catchup_new(xmpp_inbound_take_in);
    static const struct component_callbacks cb = { on_stanza, on_connected,
                                                   on_disconnected };
    gw->component = component_new(gw->xmpp, gw->cfg.component_jid,
                                  gw->cfg.component_secret, gw->cfg.xmpp_host,
                                  (unsigned short)gw->cfg.xmpp_port, &cb, gw);
    if (store_txn_highest(gw->store, &gw->highest_txn) != 1)
        gw->highest_txn = -1;
    gw->gap_refused_txn = -1;
    gw->unsaved_txn = -1;
    gw->queues = queues_new(queue_workers);
    gw->portal = portal_state_new();
    gw->presence = presence_pending_new();
    gw->senders = ratelimit_new(gw->cfg.sender_rate, gw->cfg.sender_burst);

    log_info("isthmus %s: appservice on %s:%d, homeserver %s, component %s "
             "via %s:%d, store %s", PACKAGE_VERSION, gw->cfg.bind_address,
             gw->cfg.bind_port, gw->cfg.homeserver_url, gw->cfg.component_jid,
             gw->cfg.xmpp_host, gw->cfg.xmpp_port, gw->cfg.store_path);
    int pending = store_outbox_count(gw->store);
    if (pending > 0)
        log_info("store: replaying %d outbox items from before the restart",
                 pending);
    gw->stanza_outbox_dirty = pending > 0;
    queues_replay(gw);
    ping_homeserver(gw);
    return 0;
}

/* Clients resend within minutes; a week of ids is plenty. */
#define INBOUND_KEEP_MS (7LL * 24 * 3600 * 1000)
#define PRUNE_INTERVAL_MS (3600LL * 1000)

static int64_t next_prune;

static void housekeeping(struct gateway *gw)
{
    int64_t now = gateway_now_ms();
    if (gw->ping_due_ms && now >= gw->ping_due_ms) {
        gw->ping_due_ms = 0;
        ping_homeserver(gw);
    }
    if (now < next_prune)
        return;
    next_prune = now + PRUNE_INTERVAL_MS;
    store_inbound_prune(gw->store, now - INBOUND_KEEP_MS);
    store_txn_prune(gw->store, now - INBOUND_KEEP_MS);
}

/* Stores the number of the last transaction that changed nothing, so that
 * gap detection starts from it after a restart. Only done when a commit
 * happens anyway (or at shutdown): it is never worth a commit of its own. */
static void save_txn_number(struct gateway *gw, bool force)
{
    if (gw->unsaved_txn < 0 ||
        (!force && store_commit_due_ms(gw->store) != 0))
        return;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)gw->unsaved_txn);
    /* A digest no transaction has: the row serves gap detection only. */
    store_txn_mark(gw->store, id, "no-effects", gateway_now_ms());
    gw->unsaved_txn = -1;
}

static void before_sleep(struct gateway *gw)
{
    housekeeping(gw);
    presence_tick(gw);
    catchup_tick(gw);
    e2ee_tick(gw);
    save_txn_number(gw, false);
    bool waiting = as_server_awaiting_commit(gw->as) > 0;
    bool writes = store_in_txn(gw->store);
    /* Stanzas do not wait for the commit (see to_xmpp.c): a stanza is a
     * message someone waits for. */
    to_xmpp_write(gw);
    int commit = 0;
    /* Also with nothing written: the commit ends the turn's reads. */
    if (store_commit_due_ms(gw->store) <= 0 || waiting) {
        int64_t commit_us = metrics_now_us();
        commit = store_flush(gw->store) == 0 ? 1 : -1;
        if (writes)
            metrics_observe_us(HIST_COMMIT, metrics_now_us() - commit_us);
    }
    /* else only writes that may wait were made: they ride on a later
     * commit (store_may_wait_begin). */
    to_xmpp_flush(gw, commit);
    if (waiting)
        as_server_committed(gw->as, commit >= 0);
}

/* What the turn released goes out now rather than one turn later: the
 * answers to transactions, and the calls to the homeserver made during
 * the turn. Either may start new work (a new request read, a call that
 * failed at once): its store writes make the next turn come at once. */
static void push_out(struct gateway *gw)
{
    as_server_send_answers(gw->as);
    mx_client_kick(gw->mx);
    component_flush(gw->component);
    /* For libstrophe's own writes, which it makes only here. */
    xmpp_run_once(gw->xmpp, 0);
}

/* On the way out, requests to the homeserver already under way get a
 * moment to finish (and their results to be stored), rather than being
 * cut off and replayed at the next start. New work is not taken: the
 * appservice listener is not read any more, and the XMPP stream is
 * closed. */
static void drain(struct gateway *gw)
{
    /* Work waiting on an XMPP answer (a vCard for a new ghost) goes on
     * without it now, so that what it does next is drained too. */
    component_cancel_pending(gw->component);
    int64_t deadline = gateway_now_ms() + DRAIN_MS;
    while (mx_client_pending(gw->mx) > 0) {
        int64_t left = deadline - gateway_now_ms();
        if (left <= 0) {
            log_warn("%d requests to the homeserver were still under way at "
                     "shutdown; their work is replayed at the next start",
                     mx_client_pending(gw->mx));
            break;
        }
        mx_client_run(gw->mx);
        before_sleep(gw);
        xmpp_run_once(gw->xmpp, 0);
        long timeout = mx_client_next_timeout(gw->mx);
        if (timeout < 0 || timeout > left)
            timeout = (long)left;
        if (timeout > DRAIN_POLL_MS)
            timeout = DRAIN_POLL_MS;
        struct pollfd fd = { mx_client_fd(gw->mx), POLLIN, 0 };
        poll(&fd, 1, (int)timeout);
    }
}

/* Until the earliest timed work: a commit that may wait (work started
 * after the commit waits for the next one), a call to retry or curl's
 * timers, the listener's timeouts, the component's iq timeouts and
 * reconnection, presence coalescing, pruning. */
static long sleep_ms(struct gateway *gw)
{
    long due[] = {
        store_commit_due_ms(gw->store),
        mx_client_next_timeout(gw->mx),
        as_server_timeout(gw->as),
        component_next_timeout_ms(gw->component),
        presence_next_due_ms(gw),
        e2ee_next_due_ms(gw),
        clock_ms_until(next_prune, gateway_now_ms()),
        gw->ping_due_ms ? clock_ms_until(gw->ping_due_ms, gateway_now_ms())
                        : -1,
    };
    long timeout = MAX_POLL_MS;
    for (size_t i = 0; i < sizeof due / sizeof due[0]; i++)
        if (due[i] >= 0 && due[i] < timeout)
            timeout = due[i];
    return timeout;
}

void gateway_run(struct gateway *gw)
{
    while (!gw->stop) {
        int64_t woke_us = metrics_now_us();
        as_server_run(gw->as);
        mx_client_run(gw->mx);
        component_run(gw->component);
        before_sleep(gw);
        push_out(gw);
        metrics_observe_us(HIST_LOOP_TURN, metrics_now_us() - woke_us);

        struct pollfd fds[4];
        nfds_t nfds = 0;
        int xfd = component_fd(gw->component);
        if (xfd >= 0)
            fds[nfds++] = (struct pollfd){
                xfd, POLLIN | (component_wants_write(gw->component) ? POLLOUT
                                                                   : 0), 0 };
        int afd = as_server_fd(gw->as);
        if (afd >= 0)
            fds[nfds++] = (struct pollfd){ afd, POLLIN, 0 };
        fds[nfds++] = (struct pollfd){ mx_client_fd(gw->mx), POLLIN, 0 };
        fds[nfds++] = (struct pollfd){ wakeup_fd(&gw->stop_wakeup), POLLIN,
                                       0 };
        if (!gw->stop) /* asked for during the turn: no sleep first */
            poll(fds, nfds, (int)sleep_ms(gw));
    }
    log_info("shutting down");
    /* Matrix users leave their MUCs as a client would; they rejoin, with
     * what they missed, when the gateway is back. */
    if (component_is_connected(gw->component))
        portal_leave_all(gw);
}

void gateway_request_stop(struct gateway *gw)
{
    gw->stop = 1;
    wakeup_post(&gw->stop_wakeup);
}

void gateway_free(struct gateway *gw)
{
    if (gw->component) {
        component_disconnect(gw->component);
        /* Closing the stream reads what the server still sent (occupants
         * leaving...), which may start work: drained with the rest. */
        if (gw->mx && gw->as && gw->store && gw->queues && gw->presence)
            drain(gw);
        component_free(gw->component);
    }
    catchup_free(gw->catchup); /* after the component: its iqs are gone */
    gw->catchup = NULL;
    if (gw->as)
        as_server_free(gw->as);
    media_free(gw->media); /* after the server: its streams are gone */
    if (gw->store) {
        save_txn_number(gw, true);
        store_flush(gw->store);
    }
    to_xmpp_free(gw);
    mx_client_free(gw->mx);
    e2ee_free(gw->e2ee); /* after the client: its calls hold device jobs */
    omemo_state_free(gw->omemo);
    gw->omemo = NULL;
    gw->e2ee = NULL;
    queues_free(gw->queues);
    portal_state_free(gw->portal);
    presence_pending_free(gw->presence);
    ratelimit_free(gw->senders);
    if (gw->multi)
        curl_multi_cleanup(gw->multi);
    if (gw->xmpp) {
        xmpp_ctx_free(gw->xmpp);
        xmpp_shutdown();
    }
    store_close(gw->store);
    curl_global_cleanup();
    if (gw->cfg.as_token)
        sodium_memzero(gw->cfg.as_token, strlen(gw->cfg.as_token));
    if (gw->cfg.hs_token)
        sodium_memzero(gw->cfg.hs_token, strlen(gw->cfg.hs_token));
    config_free(&gw->cfg);
    free(gw->bot_mxid);
    wakeup_close(&gw->stop_wakeup);
}
