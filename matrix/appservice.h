/* The application-service HTTP API the homeserver calls (Matrix
 * application-service API v1), served by libmicrohttpd without threads.
 *
 * Requests are authenticated here (hs_token, constant-time) and routed to
 * the gateway's handlers. A handler answers with as_request_reply*() now or
 * later; until it does, the connection is suspended. as_request_reply_after_
 * commit() defers the 200 until the gateway has committed its store
 * transaction (as_server_committed). */
#ifndef ISTHMUS_MATRIX_APPSERVICE_H
#define ISTHMUS_MATRIX_APPSERVICE_H

#include <jansson.h>
#include <stdbool.h>

struct as_server;
struct as_request;

struct as_handlers {
    void (*transaction)(struct as_request *req, const char *txn_id,
                        json_t *body, void *ud);
    void (*user_query)(struct as_request *req, const char *user_id, void *ud);
    void (*alias_query)(struct as_request *req, const char *alias, void *ud);
    /* GET /metrics, served without a token (counts only, no secrets).
     * Returns text the server frees. */
    char *(*metrics)(void *ud);
    /* GET or HEAD under /_isthmus/media/: the gateway's public media proxy
     * (gateway/media.c). No hs_token applies: the URL carries its own
     * proof. path is the decoded URL path. */
    void (*media)(struct as_request *req, const char *path, void *ud);
};

#define AS_MEDIA_PREFIX "/_isthmus/media/"

/* A streamed body: copies up to max bytes at offset pos into buf and
 * returns how many, AS_STREAM_END at the end, AS_STREAM_ERROR to cut the
 * transfer short, or 0 after as_request_pause() when nothing is ready yet
 * (as_request_resume() wakes the connection when there is). */
typedef long (*as_stream_reader)(void *cls, unsigned long long pos, char *buf,
                                 size_t max);
#define AS_STREAM_END (-1L)
#define AS_STREAM_ERROR (-2L)

/* Binds and listens; NULL (with *err set, caller frees) on failure. */
struct as_server *as_server_new(const char *bind_address, int port,
                                const char *hs_token, size_t max_body,
                                const struct as_handlers *h, void *ud,
                                char **err);
/* Answers every suspended request with 503, then stops. */
void as_server_free(struct as_server *s);
/* The epoll fd to poll. */
int as_server_fd(struct as_server *s);
/* Non-blocking: serves whatever is ready. */
void as_server_run(struct as_server *s);
/* Sends the answers given since the last run (libmicrohttpd writes a
 * resumed request's answer only when it runs). It may serve new requests
 * too, as as_server_run does. */
void as_server_send_answers(struct as_server *s);
/* Milliseconds until libmicrohttpd needs a turn (connection timeouts). */
long as_server_timeout(struct as_server *s);
/* Answers every request deferred with as_request_reply_after_commit: 200 {}
 * if ok, else 500 so the homeserver retries the transaction. */
void as_server_committed(struct as_server *s, bool ok);
/* Number of requests waiting for a commit. */
int as_server_awaiting_commit(const struct as_server *s);

/* body (may be NULL for {}) is consumed. */
void as_request_reply(struct as_request *req, int status, json_t *body);
void as_request_reply_error(struct as_request *req, int status,
                            const char *errcode, const char *error);
void as_request_reply_after_commit(struct as_request *req);
/* A streamed answer. length < 0 when unknown (sent chunked);
 * content_type and disposition (may be NULL) are copied. reader runs from
 * the server's turns until the end or until the request is gone. */
void as_request_reply_stream(struct as_request *req, int status,
                             const char *content_type,
                             const char *disposition, long long length,
                             as_stream_reader reader, void *cls);
/* Called once when the request is over (answered and sent, or the client
 * went away, or the server stopped): after it, req is invalid. */
void as_request_on_gone(struct as_request *req, void (*gone)(void *cls),
                        void *cls);
/* From a stream reader: no data yet; stop polling this connection. */
void as_request_pause(struct as_request *req);
/* Data (or the end) is ready for a paused reader, or an answer for a
 * request still waiting for one. */
void as_request_resume(struct as_request *req);
/* A plain-text answer (text is copied). */
void as_request_reply_text(struct as_request *req, int status,
                           const char *content_type, const char *text);

#endif
