#include "matrix/client.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "common/urlenc.h"
#include "matrix/json_read.h"
#include "matrix/json_write.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 60000
#define RESPONSE_MAX_BYTES (16 * 1024 * 1024)
/* Finished transfers leave their easy handle here for the next call:
 * enough for the usual number of calls in flight. */
#define SPARE_EASY_MAX 32

struct call {
    struct mx_transfer t; /* first: CURLOPT_PRIVATE points here */
    struct mx_client *client;
    char *method;
    char *path;
    char *body;           /* serialised JSON or raw bytes, or NULL */
    size_t body_len;
    char *content_type;   /* of the body; NULL for JSON */
    size_t max_response;
    int max_attempts;
    int attempts;
    int backoff_ms;
    int64_t retry_at_ms;  /* while waiting to retry */
    mx_done_cb cb;
    void *ud;
    CURL *easy;           /* while in flight */
    struct curl_slist *headers;
    struct strbuf response;
    bool too_big;
    struct call *next;    /* in the client's in-flight or waiting list */
};

/* curl is driven through its socket interface: it says which sockets it
 * wants watched (kept in an epoll set of our own, which the event loop
 * watches as one fd) and when its next timeout is due; we tell it exactly
 * which socket became ready. curl_multi_perform instead polls every
 * transfer's socket on every call, which under load cost more system
 * calls than everything else the gateway does. */
struct mx_client {
    CURLM *multi;
    int epfd;
    int64_t curl_due_ms;  /* curl's next timeout (monotonic), or -1 */
    char *base_url;
    char *auth_header;
    struct call *in_flight;
    struct call *waiting;
    int npending;
    CURL *spare[SPARE_EASY_MAX];
    int nspare;
};

char *mx_escape(const char *s)
{
    return url_escape(s);
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *ud,
                     void *socket_ud)
{
    (void)easy;
    struct mx_client *c = ud;
    if (what == CURL_POLL_REMOVE) {
        /* curl may already have closed it, which removed it too. */
        epoll_ctl(c->epfd, EPOLL_CTL_DEL, s, NULL);
        return 0;
    }
    struct epoll_event ev = { 0 };
    ev.data.fd = s;
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    /* curl drops a socket's pointer when it stops watching it (at the end
     * of each transfer, keeping the connection), so a NULL one means the
     * socket is not in the epoll set: no failed call to find that out. */
    int op = socket_ud ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(c->epfd, op, s, &ev) < 0) {
        int other = op == EPOLL_CTL_ADD ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(c->epfd, other, s, &ev) < 0) {
            log_error("matrix: cannot watch socket %d: %s", s,
                      strerror(errno));
            return 0;
        }
    }
    if (!socket_ud)
        curl_multi_assign(c->multi, s, c);
    return 0;
}

static int on_timer(CURLM *multi, long timeout_ms, void *ud)
{
    (void)multi;
    struct mx_client *c = ud;
    c->curl_due_ms = timeout_ms < 0 ? -1 : clock_mono_ms() + timeout_ms;
    return 0;
}

const char *mx_response_reason(const struct mx_response *r, char *buf,
                               size_t size)
{
    if (r->status == 0)
        snprintf(buf, size, "no answer from the homeserver: %s", r->error);
    else
        snprintf(buf, size, "HTTP %ld%s%s: %s", r->status,
                 r->errcode ? " " : "", r->errcode ? r->errcode : "",
                 r->error);
    return buf;
}

struct mx_client *mx_client_new(CURLM *multi, const char *base_url,
                                const char *as_token)
{
    struct mx_client *c = xcalloc(1, sizeof *c);
    c->multi = multi;
    c->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (c->epfd < 0) {
        log_error("matrix: epoll_create1: %s", strerror(errno));
        abort();
    }
    c->curl_due_ms = -1;
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, c);
    c->base_url = xstrdup(base_url);
    c->auth_header = xasprintf("Authorization: Bearer %s", as_token);
    return c;
}

int mx_client_fd(const struct mx_client *c)
{
    return c->epfd;
}

void mx_client_easy_common(CURL *e, curl_write_callback write, void *ud)
{
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, ud);
    curl_easy_setopt(e, CURLOPT_PRIVATE, ud);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
}

/* An easy handle for the next transfer: a spare one, cleared of the last
 * call's options, or a new one. */
static CURL *easy_get(struct mx_client *c)
{
    if (c->nspare > 0) {
        CURL *e = c->spare[--c->nspare];
        curl_easy_reset(e);
        return e;
    }
    CURL *e = curl_easy_init();
    if (!e) {
        log_error("matrix: curl_easy_init failed");
        abort();
    }
    return e;
}

static void easy_put(struct mx_client *c, CURL *e)
{
    curl_multi_remove_handle(c->multi, e);
    if (c->nspare < SPARE_EASY_MAX)
        c->spare[c->nspare++] = e;
    else
        curl_easy_cleanup(e);
}

static void call_free(struct call *call)
{
    if (call->easy) {
        curl_multi_remove_handle(call->client->multi, call->easy);
        curl_easy_cleanup(call->easy);
    }
    curl_slist_free_all(call->headers);
    strbuf_free(&call->response);
    free(call->method);
    free(call->path);
    free(call->body);
    free(call->content_type);
    free(call);
}

void mx_client_free(struct mx_client *c)
{
    if (!c)
        return;
    for (struct call *l = c->in_flight, *n; l; l = n) {
        n = l->next;
        call_free(l);
    }
    for (struct call *l = c->waiting, *n; l; l = n) {
        n = l->next;
        call_free(l);
    }
    for (int i = 0; i < c->nspare; i++)
        curl_easy_cleanup(c->spare[i]);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, NULL);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, NULL);
    close(c->epfd);
    /* The header holds the token: wipe before freeing. */
    memset(c->auth_header, 0, strlen(c->auth_header));
    free(c->auth_header);
    free(c->base_url);
    free(c);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct call *call = ud;
    size_t n = size * nmemb;
    size_t max = call->max_response ? call->max_response : RESPONSE_MAX_BYTES;
    if (call->response.len + n > max) {
        call->too_big = true;
        return 0; /* aborts the transfer */
    }
    strbuf_append(&call->response, ptr, n);
    return n;
}

static void start(struct call *call)
{
    struct mx_client *c = call->client;
    call->attempts++;
    strbuf_reset(&call->response);
    call->too_big = false;
    CURL *e = easy_get(c);
    char *url = xasprintf("%s%s", c->base_url, call->path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method);
    if (!call->headers) {
        call->headers = curl_slist_append(NULL, c->auth_header);
        char *ct = xasprintf("Content-Type: %s", call->content_type
                                                     ? call->content_type
                                                     : "application/json");
        call->headers = curl_slist_append(call->headers, ct);
        free(ct);
        call->headers = curl_slist_append(call->headers, "Expect:");
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->headers);
    if (call->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, call->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)call->body_len);
    }
    mx_client_easy_common(e, on_data, call);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    call->easy = e;
    call->next = c->in_flight;
    c->in_flight = call;
    curl_multi_add_handle(c->multi, e);
}

static void call_done(struct mx_transfer *t, CURLcode code);

static struct call *call_new(struct mx_client *c, const char *method,
                             const char *path)
{
    struct call *call = xcalloc(1, sizeof *call);
    call->t.done = call_done;
    call->client = c;
    call->method = xstrdup(method);
    call->path = xstrdup(path);
    return call;
}

static void call_begin(struct mx_client *c, struct call *call,
                       int max_attempts, mx_done_cb cb, void *ud)
{
    call->max_attempts = max_attempts;
    call->backoff_ms = BACKOFF_FIRST_MS;
    call->cb = cb;
    call->ud = ud;
    c->npending++;
    start(call);
}

void mx_client_call(struct mx_client *c, const char *method, const char *path,
                    json_t *body, int max_attempts, mx_done_cb cb, void *ud)
{
    struct call *call = call_new(c, method, path);
    if (body) {
        call->body = json_write_compact(body, &call->body_len);
        json_decref(body);
        if (!call->body)
            abort(); /* jansson only fails here on out-of-memory */
    }
    call_begin(c, call, max_attempts, cb, ud);
}

void mx_client_call_raw(struct mx_client *c, const char *method,
                        const char *path, const char *content_type,
                        char *data, size_t len, size_t max_response,
                        int max_attempts, mx_done_cb cb, void *ud)
{
    struct call *call = call_new(c, method, path);
    call->content_type = content_type ? xstrdup(content_type) : NULL;
    call->max_response = max_response;
    /* An empty upload still has to be sent as a body (POSTFIELDS set); a
     * call without a content type has none. */
    call->body = data ? data : content_type ? xstrdup("") : NULL;
    call->body_len = len;
    call_begin(c, call, max_attempts, cb, ud);
}

const char *mx_client_base_url(const struct mx_client *c)
{
    return c->base_url;
}

CURLM *mx_client_multi(const struct mx_client *c)
{
    return c->multi;
}

struct curl_slist *mx_client_auth_headers(const struct mx_client *c)
{
    return curl_slist_append(NULL, c->auth_header);
}

static void unlink_call(struct call **list, struct call *call)
{
    for (struct call **pp = list; *pp; pp = &(*pp)->next)
        if (*pp == call) {
            *pp = call->next;
            return;
        }
}

static bool is_transient(long status)
{
    return status == 0 || status == 429 || status >= 500;
}

static void finish(struct call *call, CURLcode code)
{
    struct mx_client *c = call->client;
    long status = 0;
    char *ctype = NULL;
    if (code == CURLE_OK) {
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
        const char *ct = NULL;
        curl_easy_getinfo(call->easy, CURLINFO_CONTENT_TYPE, &ct);
        ctype = ct ? xstrdup(ct) : NULL; /* the handle goes away below */
    }
    easy_put(c, call->easy);
    call->easy = NULL;
    unlink_call(&c->in_flight, call);

    json_t *body = NULL;
    if (call->response.len)
        body = json_read(call->response.data, call->response.len, NULL, 0);
    const char *errcode = NULL, *error = NULL;
    if (json_is_object(body)) {
        errcode = json_string_value(json_object_get(body, "errcode"));
        error = json_string_value(json_object_get(body, "error"));
    }
    if (!error)
        error = code != CURLE_OK ? curl_easy_strerror(code)
                : call->too_big  ? "response too large"
                                 : "no error message";

    if (is_transient(status) &&
        (call->max_attempts == 0 || call->attempts < call->max_attempts)) {
        int delay = call->backoff_ms;
        json_t *ra = json_is_object(body)
                         ? json_object_get(body, "retry_after_ms")
                         : NULL;
        if (json_is_integer(ra) && json_integer_value(ra) > 0)
            delay = (int)(json_integer_value(ra) > BACKOFF_MAX_MS
                              ? BACKOFF_MAX_MS
                              : json_integer_value(ra));
        struct mx_response told = { .status = status, .errcode = errcode,
                                    .error = error };
        char why[MX_REASON_MAX];
        log_warn("matrix: %s %.*s failed (%s); retry %d in %d ms",
                 call->method, (int)strcspn(call->path, "?"), call->path,
                 mx_response_reason(&told, why, sizeof why), call->attempts,
                 delay);
        call->backoff_ms = call->backoff_ms * 2 > BACKOFF_MAX_MS
                               ? BACKOFF_MAX_MS
                               : call->backoff_ms * 2;
        call->retry_at_ms = clock_mono_ms() + delay;
        call->next = c->waiting;
        c->waiting = call;
        json_decref(body);
        free(ctype);
        return;
    }
    struct mx_response r = { status, body, errcode, error,
                             (const unsigned char *)call->response.data,
                             call->response.len, ctype };
    if (status < 200 || status >= 300) {
        char why[MX_REASON_MAX];
        log_debug("matrix: %s %.*s -> %s", call->method,
                  (int)strcspn(call->path, "?"), call->path,
                  mx_response_reason(&r, why, sizeof why));
    }
    c->npending--;
    call->cb(&r, call->ud);
    json_decref(body);
    free(ctype);
    call_free(call);
}

static void call_done(struct mx_transfer *t, CURLcode code)
{
    finish((struct call *)t, code);
}

/* Starts the retries that are due, fires curl's timer if it is due, and
 * hands finished transfers to their callbacks. */
static void run_timers(struct mx_client *c)
{
    int64_t now = clock_mono_ms();
    for (struct call **pp = &c->waiting; *pp;) {
        struct call *call = *pp;
        if (call->retry_at_ms <= now) {
            *pp = call->next;
            start(call);
        } else {
            pp = &call->next;
        }
    }
    int running;
    if (c->curl_due_ms >= 0 && c->curl_due_ms <= clock_mono_ms()) {
        c->curl_due_ms = -1;
        curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct mx_transfer *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (t)
            t->done(t, msg->data.result);
    }
}

void mx_client_run(struct mx_client *c)
{
    int running;
    struct epoll_event evs[32];
    int n = epoll_wait(c->epfd, evs, 32, 0);
    for (int i = 0; i < n; i++) {
        int bits = 0;
        if (evs[i].events & (EPOLLIN | EPOLLHUP))
            bits |= CURL_CSELECT_IN;
        if (evs[i].events & EPOLLOUT)
            bits |= CURL_CSELECT_OUT;
        if (evs[i].events & EPOLLERR)
            bits |= CURL_CSELECT_ERR;
        curl_multi_socket_action(c->multi, evs[i].data.fd, bits, &running);
    }
    run_timers(c);
}

void mx_client_kick(struct mx_client *c)
{
    if (c->curl_due_ms >= 0 && c->curl_due_ms <= clock_mono_ms())
        run_timers(c);
}

long mx_client_next_timeout(struct mx_client *c)
{
    int64_t soonest = c->curl_due_ms >= 0 ? c->curl_due_ms : INT64_MAX;
    for (struct call *l = c->waiting; l; l = l->next)
        if (l->retry_at_ms < soonest)
            soonest = l->retry_at_ms;
    return clock_ms_until(soonest == INT64_MAX ? -1 : soonest,
                          clock_mono_ms());
}

int mx_client_pending(const struct mx_client *c)
{
    return c->npending;
}
