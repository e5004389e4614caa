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
};

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
/* A plain-text answer (text is copied). */
void as_request_reply_text(struct as_request *req, int status,
                           const char *content_type, const char *text);

#endif
