#include "matrix/client.h"

#include "common/log.h"
#include "common/mem.h"
#include "common/strbuf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_FIRST_MS 250
#define BACKOFF_MAX_MS 60000
#define RESPONSE_MAX_BYTES (16 * 1024 * 1024)

struct call {
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

struct mx_client {
    CURLM *multi;
    char *base_url;
    char *auth_header;
    struct call *in_flight;
    struct call *waiting;
    int npending;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *mx_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    struct strbuf sb = STRBUF_INIT;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            strbuf_putc(&sb, (char)*p);
        } else {
            char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            strbuf_append(&sb, e, 3);
        }
    }
    return strbuf_detach(&sb);
}

struct mx_client *mx_client_new(CURLM *multi, const char *base_url,
                                const char *as_token)
{
    struct mx_client *c = xcalloc(1, sizeof *c);
    c->multi = multi;
    c->base_url = xstrdup(base_url);
    c->auth_header = xasprintf("Authorization: Bearer %s", as_token);
    return c;
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
    CURL *e = curl_easy_init();
    if (!e) {
        log_error("matrix: curl_easy_init failed");
        abort();
    }
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
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)call->body_len);
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 120000L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    call->easy = e;
    call->next = c->in_flight;
    c->in_flight = call;
    curl_multi_add_handle(c->multi, e);
}

void mx_client_call(struct mx_client *c, const char *method, const char *path,
                    json_t *body, int max_attempts, mx_done_cb cb, void *ud)
{
    struct call *call = xcalloc(1, sizeof *call);
    call->client = c;
    call->method = xstrdup(method);
    call->path = xstrdup(path);
    if (body) {
        call->body = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        if (!call->body)
            abort(); /* jansson only fails here on out-of-memory */
        call->body_len = strlen(call->body);
    }
    call->max_attempts = max_attempts;
    call->backoff_ms = BACKOFF_FIRST_MS;
    call->cb = cb;
    call->ud = ud;
    c->npending++;
    start(call);
}

void mx_client_call_raw(struct mx_client *c, const char *method,
                        const char *path, const void *data, size_t len,
                        const char *content_type, size_t max_response,
                        int max_attempts, mx_done_cb cb, void *ud)
{
    struct call *call = xcalloc(1, sizeof *call);
    call->client = c;
    call->method = xstrdup(method);
    call->path = xstrdup(path);
    if (data) {
        call->body = xmalloc(len ? len : 1);
        memcpy(call->body, data, len);
        call->body_len = len;
    }
    call->content_type = content_type ? xstrdup(content_type) : NULL;
    call->max_response = max_response;
    call->max_attempts = max_attempts;
    call->backoff_ms = BACKOFF_FIRST_MS;
    call->cb = cb;
    call->ud = ud;
    c->npending++;
    start(call);
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
    curl_multi_remove_handle(c->multi, call->easy);
    curl_easy_cleanup(call->easy);
    call->easy = NULL;
    unlink_call(&c->in_flight, call);

    json_t *body = NULL;
    if (call->response.len)
        body = json_loadb(call->response.data, call->response.len, 0, NULL);
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
        log_warn("matrix: %s %.*s failed (%ld, %s); retry %d in %d ms",
                 call->method, (int)strcspn(call->path, "?"), call->path,
                 status, error, call->attempts, delay);
        call->backoff_ms = call->backoff_ms * 2 > BACKOFF_MAX_MS
                               ? BACKOFF_MAX_MS
                               : call->backoff_ms * 2;
        call->retry_at_ms = mono_ms() + delay;
        call->next = c->waiting;
        c->waiting = call;
        json_decref(body);
        free(ctype);
        return;
    }
    if (status < 200 || status >= 300)
        log_debug("matrix: %s %.*s -> %ld %s", call->method,
                  (int)strcspn(call->path, "?"), call->path, status,
                  errcode ? errcode : "");
    struct mx_response r = { status, body, errcode, error,
                             (const unsigned char *)call->response.data,
                             call->response.len, ctype };
    c->npending--;
    call->cb(&r, call->ud);
    json_decref(body);
    free(ctype);
    call_free(call);
}

void mx_client_run(struct mx_client *c)
{
    int64_t now = mono_ms();
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
    curl_multi_perform(c->multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct call *call = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        if (call)
            finish(call, msg->data.result);
    }
}

long mx_client_next_timeout(struct mx_client *c)
{
    if (!c->waiting)
        return -1;
    int64_t now = mono_ms(), soonest = INT64_MAX;
    for (struct call *l = c->waiting; l; l = l->next)
        if (l->retry_at_ms < soonest)
            soonest = l->retry_at_ms;
    return soonest <= now ? 0 : (long)(soonest - now);
}

int mx_client_pending(const struct mx_client *c)
{
    return c->npending;
}
