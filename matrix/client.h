/* The client-server API client: asynchronous calls over libcurl multi,
 * authenticated with the as_token, with retries.
 *
 * Transient failures (no connection, 5xx, 429) are retried with exponential
 * backoff that honours retry_after_ms. Callers keep per-room order by not
 * issuing a room's next call before the previous one's callback ran (see
 * gateway/queues.c); this client keeps no order of its own. */
#ifndef ISTHMUS_MATRIX_CLIENT_H
#define ISTHMUS_MATRIX_CLIENT_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdint.h>

struct mx_client;

struct mx_response {
    long status;         /* HTTP status; 0 when no answer came */
    json_t *body;        /* parsed JSON body or NULL; valid during callback */
    const char *errcode; /* Matrix errcode or NULL */
    const char *error;   /* human-readable reason, never NULL */
    /* The body as received, and its Content-Type (may be NULL): what a
     * media download needs. Valid during the callback. */
    const unsigned char *raw;
    size_t raw_len;
    const char *content_type;
};

typedef void (*mx_done_cb)(const struct mx_response *r, void *ud);

/* Why a call failed, for a log line: "HTTP 403 M_FORBIDDEN: reason", or
 * "no answer from the homeserver: reason" when no status came (never a
 * bare status 0). Written into buf; returns buf. */
#define MX_REASON_MAX 512
const char *mx_response_reason(const struct mx_response *r, char *buf,
                               size_t size);

/* Other transfers may share the multi handle (the media proxy's stream
 * and downloads, matrix/media_transfer.c): each easy handle's
 * CURLOPT_PRIVATE points at a struct whose first member is this, and
 * mx_client_run hands the finished transfer to its done function. */
struct mx_transfer {
    void (*done)(struct mx_transfer *t, CURLcode code);
};

/* The multi handle stays the caller's. Strings are copied. */
struct mx_client *mx_client_new(CURLM *multi, const char *base_url,
                                const char *as_token);
/* Cancels everything in flight without calling callbacks. */
void mx_client_free(struct mx_client *c);

/* Starts a call. path includes the query string. body (may be NULL) is
 * consumed. max_attempts 0 retries transient failures without end; cb runs
 * exactly once (unless the client is freed first). */
void mx_client_call(struct mx_client *c, const char *method, const char *path,
                    json_t *body, int max_attempts, mx_done_cb cb, void *ud);

/* Like mx_client_call, with a raw body of len bytes of content_type
 * (e.g. a media upload; content_type NULL and data NULL for none); data is
 * taken over and freed with free(). max_response bounds the answer's size
 * (0 for the default): a larger one fails with status 0 and "response too
 * large". */
void mx_client_call_raw(struct mx_client *c, const char *method,
                        const char *path, const char *content_type,
                        char *data, size_t len, size_t max_response,
                        int max_attempts, mx_done_cb cb, void *ud);
/* The homeserver's base URL (no trailing slash), and a new header list
 * holding the as_token's Authorization header, for transfers made outside
 * this client (caller frees with curl_slist_free_all). */
const char *mx_client_base_url(const struct mx_client *c);
/* The multi handle the client runs on, for matrix/media_transfer.c. */
CURLM *mx_client_multi(const struct mx_client *c);
struct curl_slist *mx_client_auth_headers(const struct mx_client *c);
/* The options every transfer on the client's multi handle shares (the
 * homeserver's calls, media downloads, fetches of XMPP files): the body
 * goes to write(ud) and ud is the handle's private pointer; no signals;
 * 10 s to connect. */
void mx_client_easy_common(CURL *e, curl_write_callback write, void *ud);

/* Drives transfers and retries; call every loop turn. */
void mx_client_run(struct mx_client *c);
/* Starts the calls made since the last turn now, without reading any
 * socket: curl starts a new transfer only from a 0 ms timer, which would
 * otherwise cost the loop a whole extra turn. Calls whose transfer ends at
 * once are finished here too, so their callbacks may run. */
void mx_client_kick(struct mx_client *c);
/* The fd the event loop watches for readability: an epoll set of the
 * client's sockets. */
int mx_client_fd(const struct mx_client *c);
/* Milliseconds until curl's next timeout or the next retry is due, or -1
 * if nothing is waiting for time. */
long mx_client_next_timeout(struct mx_client *c);
/* Calls in flight or waiting to retry. */
int mx_client_pending(const struct mx_client *c);

/* Percent-encodes s for a path segment or query value; caller frees.
 * For matrix/: the gateway leaves Matrix paths to matrix/api.h. */
char *mx_escape(const char *s);

#endif
