/* The file transfers of the media bridge, on the client's multi handle:
 *  - a stream of a file from the homeserver's authenticated media API,
 *    for the media proxy (Matrix -> XMPP), with back-pressure;
 *  - a bounded download of a file from the web, for files XMPP users
 *    share (XMPP -> Matrix), before it is uploaded with mx_upload.
 * What to proxy or fetch, and the limits, are the caller's policy. */
#ifndef ISTHMUS_MATRIX_MEDIA_TRANSFER_H
#define ISTHMUS_MATRIX_MEDIA_TRANSFER_H

#include "matrix/client.h"

#include <stdbool.h>
#include <stddef.h>

/* ------------------------------------------------------------ stream -- */

/* The homeserver's final answer (after any 1xx). */
struct mx_media_head {
    long status;
    const char *content_type; /* NULL when none */
    const char *disposition;  /* NULL when none */
    long long length;         /* Content-Length, or -1 */
};

enum mx_stream_take {
    MX_STREAM_TAKEN, /* the bytes were used */
    MX_STREAM_PAUSE, /* hold them (and the transfer) until resume */
    MX_STREAM_STOP,  /* abort the transfer: end then reports a failure */
};

struct mx_stream_ops {
    /* Before the first bytes: -1 stops the transfer. */
    int (*head)(void *ud, const struct mx_media_head *h);
    enum mx_stream_take (*data)(void *ud, const char *bytes, size_t len);
    /* Once, at the end, unless cancelled: ok false when the transfer
     * failed (error says why); h is the answer's head (status 0 if none
     * came). The stream is gone after this returns. */
    void (*end)(void *ud, bool ok, const struct mx_media_head *h,
                const char *error);
};

struct mx_media_stream;

/* Streams mxc (checked with mx_mxc_split) from the homeserver with the
 * as_token: the stream, or NULL with *err for a malformed URI. No total
 * time limit (a large file to a slow reader takes what it takes), but a
 * homeserver silent for a minute is given up on. */
struct mx_media_stream *mx_media_stream_start(struct mx_client *c,
                                              const char *mxc,
                                              const struct mx_stream_ops *ops,
                                              void *ud, const char **err);
/* After MX_STREAM_PAUSE: go on (data may be called from within). */
void mx_media_stream_resume(struct mx_media_stream *s);
/* Stops and frees s without calling back. */
void mx_media_stream_cancel(struct mx_media_stream *s);

/* --------------------------------------------------------- web fetch -- */

enum mx_fetch_outcome {
    MX_FETCH_DONE,        /* an answer came: see status */
    MX_FETCH_TOO_BIG,     /* larger than max_bytes */
    MX_FETCH_TIMEOUT,     /* not done within timeout_ms */
    MX_FETCH_UNREACHABLE, /* no answer: error says why */
};

struct mx_fetch_result {
    enum mx_fetch_outcome outcome;
    long status;
    const char *content_type; /* NULL when none */
    /* The body; the callback may take it over (and set data to NULL),
     * else it is freed after the callback. */
    char *data;
    size_t len;
    const char *error;
};

typedef void (*mx_fetch_cb)(void *ud, struct mx_fetch_result *r);

struct mx_fetch_opts {
    long long max_bytes;
    long timeout_ms;
    /* CA certificates (PEM) to check https servers against instead of
     * the system's; NULL for the system's. */
    const char *ca_file;
};

struct mx_fetch;

/* Downloads an http or https URL (redirects followed, to http(s) only)
 * into memory; cb runs once unless cancelled. */
struct mx_fetch *mx_fetch_start(struct mx_client *c, const char *url,
                                const struct mx_fetch_opts *opts,
                                mx_fetch_cb cb, void *ud);
/* Stops and frees f without calling back. */
void mx_fetch_cancel(struct mx_fetch *f);

#endif
