#include "matrix/appservice.h"

#include "common/log.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "matrix/json_read.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define API_PREFIX "/_matrix/app/v1"

struct as_request {
    struct as_server *server;
    struct MHD_Connection *conn;
    struct strbuf body;
    bool dispatched;
    bool suspended;
    bool answered;        /* a response has been queued with MHD */
    bool too_large;       /* the body passed max_body; being discarded */
    int status;           /* the response once decided; 0 = not yet */
    char *response;
    const char *content_type;
    /* A streamed answer (as_request_reply_stream). */
    as_stream_reader reader;
    void *reader_cls;
    char *stream_type;
    char *disposition;
    long long length;
    void (*gone)(void *cls);
    void *gone_cls;
    struct as_request *next_waiting; /* in server->awaiting_commit */
    struct as_request *next_live;    /* in server->live */
};

struct as_server {
    struct MHD_Daemon *daemon;
    unsigned char token_hash[crypto_generichash_BYTES];
    size_t max_body;
    struct as_handlers h;
    void *ud;
    struct as_request *awaiting_commit;
    struct as_request *live; /* every request not yet completed */
    int nawaiting;
    bool stopping; /* streams end with an error so connections can close */
    /* A connection was resumed since the last turn. libmicrohttpd does not
     * wake the loop's poll for it (its epoll fd stays quiet), so the next
     * poll must not sleep. */
    bool resumed;
};

/* ------------------------------------------------------------ replies -- */

static void resume(struct as_request *req)
{
    if (req->suspended) {
        req->suspended = false;
        req->server->resumed = true;
        MHD_resume_connection(req->conn);
    }
}

void as_request_reply_text(struct as_request *req, int status,
                           const char *content_type, const char *text)
{
    req->status = status;
    req->content_type = content_type;
    free(req->response);
    req->response = xstrdup(text);
    resume(req);
}

static void set_response(struct as_request *req, int status, json_t *body)
{
    req->status = status;
    req->content_type = "application/json";
    free(req->response);
    req->response = body ? json_dumps(body, JSON_COMPACT) : xstrdup("{}");
    json_decref(body);
    if (!req->response)
        abort(); /* out of memory in jansson */
    resume(req);
}

void as_request_reply(struct as_request *req, int status, json_t *body)
{
    set_response(req, status, body);
}

void as_request_reply_error(struct as_request *req, int status,
                            const char *errcode, const char *error)
{
    set_response(req, status,
                 json_pack("{s:s, s:s}", "errcode", errcode, "error", error));
}

void as_request_reply_after_commit(struct as_request *req)
{
    struct as_server *s = req->server;
    req->next_waiting = s->awaiting_commit;
    s->awaiting_commit = req;
    s->nawaiting++;
}

void as_server_committed(struct as_server *s, bool ok)
{
    struct as_request *r = s->awaiting_commit;
    s->awaiting_commit = NULL;
    s->nawaiting = 0;
    while (r) {
        struct as_request *next = r->next_waiting;
        if (ok)
            as_request_reply(r, 200, NULL);
        else
            as_request_reply_error(r, 500, "M_UNKNOWN",
                                   "the gateway could not store the "
                                   "transaction; retry");
        r = next;
    }
}

int as_server_awaiting_commit(const struct as_server *s)
{
    return s->nawaiting;
}

void as_request_reply_stream(struct as_request *req, int status,
                             const char *content_type,
                             const char *disposition, long long length,
                             as_stream_reader reader, void *cls)
{
    req->status = status;
    req->reader = reader;
    req->reader_cls = cls;
    req->stream_type = xstrdup(content_type);
    req->disposition = disposition ? xstrdup(disposition) : NULL;
    req->length = length;
    resume(req);
}

void as_request_on_gone(struct as_request *req, void (*gone)(void *cls),
                        void *cls)
{
    req->gone = gone;
    req->gone_cls = cls;
}

void as_request_pause(struct as_request *req)
{
    if (!req->suspended) {
        req->suspended = true;
        MHD_suspend_connection(req->conn);
    }
}

void as_request_resume(struct as_request *req)
{
    resume(req);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct as_request *req = cls;
    if (req->server->stopping)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    long n = req->reader(req->reader_cls, (unsigned long long)pos, buf, max);
    if (n == AS_STREAM_END)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return (ssize_t)n;
}

static enum MHD_Result queue_stream(struct as_request *req)
{
    struct MHD_Response *resp = MHD_create_response_from_callback(
        req->length < 0 ? MHD_SIZE_UNKNOWN : (uint64_t)req->length,
        64 * 1024, stream_read, req, NULL);
    MHD_add_response_header(resp, "Content-Type", req->stream_type);
    if (req->disposition)
        MHD_add_response_header(resp, "Content-Disposition",
                                req->disposition);
    /* What the proxy serves comes from anyone on Matrix: browsers must not
     * run it as a page of this origin. */
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "sandbox; default-src 'none'");
    enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)req->status,
                                            resp);
    MHD_destroy_response(resp);
    req->answered = true;
    return rc;
}

static enum MHD_Result queue(struct as_request *req)
{
    if (req->reader)
        return queue_stream(req);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        strlen(req->response), req->response, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", req->content_type);
    enum MHD_Result rc = MHD_queue_response(req->conn, (unsigned)req->status,
                                            resp);
    MHD_destroy_response(resp);
    req->answered = true;
    return rc;
}

/* ------------------------------------------------------------- routing -- */

/* Reads the hs_token from the Authorization header (or the legacy
 * access_token query parameter) and compares it in constant time: both
 * sides are hashed to a fixed length first so that neither the content nor
 * the length of the real token leaks through timing. */
static int check_auth(struct as_server *s, struct MHD_Connection *conn,
                      struct as_request *req)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   "Authorization");
    const char *token = NULL;
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        token = auth + 7;
    if (!token)
        token = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
                                            "access_token");
    if (!token) {
        log_warn("appservice: request without a token refused");
        as_request_reply_error(req, 401, "M_UNAUTHORIZED",
                               "no access token was given");
        return -1;
    }
    unsigned char h[crypto_generichash_BYTES];
    crypto_generichash(h, sizeof h, (const unsigned char *)token,
                       strlen(token), NULL, 0);
    if (sodium_memcmp(h, s->token_hash, sizeof h) != 0) {
        /* Never log the token itself. */
        log_warn("appservice: request with a wrong hs_token refused");
        as_request_reply_error(req, 403, "M_FORBIDDEN",
                               "the access token is not this gateway's "
                               "hs_token");
        return -1;
    }
    return 0;
}

static void route(struct as_server *s, struct as_request *req,
                  const char *url, const char *method)
{
    const char *rest = url;
    if (strncmp(url, API_PREFIX "/", strlen(API_PREFIX) + 1) == 0)
        rest = url + strlen(API_PREFIX);

    if (strncmp(rest, "/transactions/", 14) == 0) {
        if (strcmp(method, "PUT") != 0) {
            as_request_reply_error(req, 405, "M_UNRECOGNIZED",
                                   "transactions take PUT");
            return;
        }
        const char *txn_id = rest + 14;
        if (!*txn_id || strchr(txn_id, '/')) {
            as_request_reply_error(req, 400, "M_INVALID_PARAM",
                                   "the transaction id is malformed");
            return;
        }
        json_t *body = req->body.len ? json_read(req->body.data,
                                                 req->body.len, NULL, 0)
                                     : NULL;
        if (!body) {
            as_request_reply_error(req, 400, "M_NOT_JSON",
                                   "the transaction body is not JSON");
            return;
        }
        json_t *events = json_object_get(body, "events");
        if (!json_is_object(body) || (events && !json_is_array(events))) {
            json_decref(body);
            as_request_reply_error(req, 400, "M_BAD_JSON",
                                   "a transaction is an object whose events "
                                   "field is an array");
            return;
        }
        s->h.transaction(req, txn_id, body, s->ud);
        json_decref(body);
        return;
    }
    if (strncmp(rest, "/users/", 7) == 0) {
        if (strcmp(method, "GET") != 0) {
            as_request_reply_error(req, 405, "M_UNRECOGNIZED",
                                   "user queries take GET");
            return;
        }
        s->h.user_query(req, rest + 7, s->ud);
        return;
    }
    if (strncmp(rest, "/rooms/", 7) == 0) {
        if (strcmp(method, "GET") != 0) {
            as_request_reply_error(req, 405, "M_UNRECOGNIZED",
                                   "alias queries take GET");
            return;
        }
        s->h.alias_query(req, rest + 7, s->ud);
        return;
    }
    if (strcmp(rest, "/ping") == 0) {
        if (strcmp(method, "POST") != 0) {
            as_request_reply_error(req, 405, "M_UNRECOGNIZED",
                                   "ping takes POST");
            return;
        }
        as_request_reply(req, 200, NULL);
        return;
    }
    if (strncmp(rest, "/thirdparty/", 12) == 0) {
        as_request_reply_error(req, 404, "M_NOT_FOUND",
                               "this gateway has no third-party lookups");
        return;
    }
    as_request_reply_error(req, 404, "M_UNRECOGNIZED", "unknown endpoint");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    struct as_server *s = cls;
    struct as_request *req = *con_cls;
    if (!req) {
        req = xcalloc(1, sizeof *req);
        req->server = s;
        req->conn = conn;
        req->next_live = s->live;
        s->live = req;
        *con_cls = req;
        /* A request that arrives while the server stops (its last run
         * accepts connections too) is not started: nothing may be left
         * suspended when libmicrohttpd stops. */
        if (s->stopping) {
            as_request_reply_error(req, 503, "M_UNKNOWN",
                                   "the gateway is shutting down");
            return queue(req);
        }
        if (strcmp(url, "/metrics") == 0 && strcmp(method, "GET") == 0 &&
            s->h.metrics) {
            char *text = s->h.metrics(s->ud);
            as_request_reply_text(req, 200, "text/plain; version=0.0.4",
                                  text);
            free(text);
            return queue(req);
        }
        if (strncmp(url, AS_MEDIA_PREFIX, strlen(AS_MEDIA_PREFIX)) == 0 &&
            s->h.media) {
            req->dispatched = true;
            if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
                as_request_reply_text(req, 405, "text/plain",
                                      "media takes GET\n");
            else
                s->h.media(req, url, s->ud);
            if (req->status)
                return queue(req);
            req->suspended = true;
            MHD_suspend_connection(conn);
            return MHD_YES;
        }
        /* Refuse early, before reading any body. */
        if (check_auth(s, conn, req) < 0)
            return queue(req);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->max_body) {
            as_request_reply_error(req, 413, "M_TOO_LARGE",
                                   "the request body is too large");
            return queue(req);
        }
        return MHD_YES;
    }
    if (req->answered) {
        *upload_size = 0; /* an early answer is on its way; drop the body */
        return MHD_YES;
    }
    if (*upload_size) {
        /* libmicrohttpd cannot answer in the middle of a body whose size
         * was not announced (chunked): drop the rest and answer at its end,
         * holding no more than max_body bytes meanwhile. */
        if (req->too_large || req->body.len + *upload_size > s->max_body) {
            req->too_large = true;
            strbuf_free(&req->body);
        } else {
            strbuf_append(&req->body, upload, *upload_size);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (req->too_large && !req->status)
        as_request_reply_error(req, 413, "M_TOO_LARGE",
                               "the request body is too large");
    if (s->stopping && !req->status)
        as_request_reply_error(req, 503, "M_UNKNOWN",
                               "the gateway is shutting down");
    if (!req->dispatched && !req->status) {
        req->dispatched = true;
        route(s, req, url, method);
    }
    if (req->status)
        return queue(req);
    req->suspended = true;
    MHD_suspend_connection(conn);
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **con_cls, enum MHD_RequestTerminationCode code)
{
    (void)conn;
    (void)code;
    struct as_server *s = cls;
    struct as_request *req = *con_cls;
    if (!req)
        return;
    for (struct as_request **pp = &s->live; *pp; pp = &(*pp)->next_live)
        if (*pp == req) {
            *pp = req->next_live;
            break;
        }
    for (struct as_request **pp = &s->awaiting_commit; *pp;
         pp = &(*pp)->next_waiting)
        if (*pp == req) {
            *pp = req->next_waiting;
            s->nawaiting--;
            break;
        }
    if (req->gone)
        req->gone(req->gone_cls);
    strbuf_free(&req->body);
    free(req->response);
    free(req->stream_type);
    free(req->disposition);
    free(req);
    *con_cls = NULL;
}

struct as_server *as_server_new(const char *bind_address, int port,
                                const char *hs_token, size_t max_body,
                                const struct as_handlers *h, void *ud,
                                char **err)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, bind_address, &addr.sin_addr) != 1) {
        *err = xasprintf("[appservice] bind_address '%s' is not an IPv4 "
                         "address", bind_address);
        return NULL;
    }
    struct as_server *s = xcalloc(1, sizeof *s);
    crypto_generichash(s->token_hash, sizeof s->token_hash,
                       (const unsigned char *)hs_token, strlen(hs_token), NULL,
                       0);
    s->max_body = max_body;
    s->h = *h;
    s->ud = ud;
    s->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG,
        (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_END);
    if (!s->daemon) {
        *err = xasprintf("cannot listen on %s:%d (is the port in use?)",
                         bind_address, port);
        free(s);
        return NULL;
    }
    return s;
}

void as_server_free(struct as_server *s)
{
    if (!s)
        return;
    /* libmicrohttpd cannot stop with suspended connections. */
    as_server_committed(s, false);
    s->stopping = true;
    for (struct as_request *r = s->live; r; r = r->next_live) {
        if (!r->status)
            as_request_reply_error(r, 503, "M_UNKNOWN",
                                   "the gateway is shutting down");
        resume(r); /* paused streams */
    }
    MHD_run(s->daemon);
    MHD_stop_daemon(s->daemon);
    free(s);
}

int as_server_fd(struct as_server *s)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    return info ? info->epoll_fd : -1;
}

void as_server_run(struct as_server *s)
{
    s->resumed = false;
    MHD_run(s->daemon);
}

void as_server_send_answers(struct as_server *s)
{
    if (s->resumed)
        as_server_run(s);
}

long as_server_timeout(struct as_server *s)
{
    MHD_UNSIGNED_LONG_LONG t;
    if (s->resumed)
        return 0;
    if (MHD_get_timeout(s->daemon, &t) != MHD_YES)
        return -1;
    return t > 100000 ? 100000 : (long)t;
}
