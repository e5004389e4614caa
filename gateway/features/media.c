#include "gateway/features/media.h"

#include "common/log.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "common/utf8.h"
#include "gateway/base/context.h"
#include "common/urlenc.h"
#include "gateway/core/media_sniff.h"
#include "matrix/media_transfer.h"
#include "matrix/mxc.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROXY_PATH AS_MEDIA_PREFIX "v1/"
/* The proxy holds at most this much of a file that the XMPP client has
 * not read yet; past it the homeserver transfer is paused. */
#define STREAM_HIGH_WATER (256 * 1024)
#define STREAM_COMPACT_AT (64 * 1024)
/* Files from XMPP are held in memory between download and upload; at most
 * this many at once, so memory stays under this many times max_bytes. The
 * rest wait their turn. */
#define MAX_DOWNLOADS 4

struct proxy;
struct download;

struct media {
    struct gateway *gw;
    unsigned char key[crypto_auth_KEYBYTES];
    struct proxy *proxies;       /* serving, for media_free */
    struct download *downloads;  /* downloading or waiting, oldest first */
    int active;                  /* started and not yet uploaded */
    bool closing;
};

/* ------------------------------------------------------------ set-up -- */

struct media *media_new(struct gateway *gw)
{
    struct media *m = xcalloc(1, sizeof *m);
    m->gw = gw;
    /* A key of its own, derived from the as_token (which only the gateway
     * and the homeserver know): the URLs stay valid across restarts, and
     * rotating the token revokes them. */
    static const char context[] = "isthmus media proxy url key, v1";
    const char *tok = gw->cfg.as_token ? gw->cfg.as_token : "";
    crypto_generichash(m->key, sizeof m->key, (const unsigned char *)tok,
                       strlen(tok), (const unsigned char *)context,
                       sizeof context - 1);
    return m;
}

static void proxy_free(struct proxy *p);
static void download_free(struct download *d);

void media_free(struct media *m)
{
    if (!m)
        return;
    m->closing = true;
    while (m->proxies)
        proxy_free(m->proxies);
    while (m->downloads)
        download_free(m->downloads);
    sodium_memzero(m->key, sizeof m->key);
    free(m);
}

/* ---------------------------------------------------------- mxc URIs -- */

/* The MAC covers the server, the media id and the file name; a newline
 * separates them since none may contain one. */
static void url_mac(const struct media *m, const char *server, const char *id,
                    const char *filename, unsigned char mac[crypto_auth_BYTES])
{
    char *msg = xasprintf("%s\n%s\n%s", server, id, filename);
    crypto_auth(mac, (const unsigned char *)msg, strlen(msg), m->key);
    free(msg);
}

char *media_proxy_url(struct media *m, const char *mxc, const char *filename,
                      const char **why)
{
    char *server, *id;
    if (mx_mxc_split(mxc, &server, &id) < 0) {
        *why = "the event's media URI is not a valid mxc:// URI";
        return NULL;
    }
    char *name = media_clean_filename(xstrdup(filename ? filename : "file"));
    unsigned char mac[crypto_auth_BYTES];
    url_mac(m, server, id, name, mac);
    char hex[crypto_auth_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    char *esc_server = url_escape(server), *esc_name = url_escape(name);
    char *url = xasprintf("%s" PROXY_PATH "%s/%s/%s/%s",
                          m->gw->cfg.media_url, hex, esc_server, id, esc_name);
    free(esc_name);
    free(esc_server);
    free(name);
    free(server);
    free(id);
    return url;
}

/* --------------------------------------------- Matrix -> XMPP: proxy -- */

struct proxy {
    struct media *m;
    struct as_request *req; /* NULL once the request is gone */
    struct mx_media_stream *stream; /* NULL once the transfer ended */
    char *filename;
    /* From the homeserver's final answer. */
    char *content_type;
    char *disposition;
    long long length;       /* Content-Length, or -1 */
    long long received;
    struct strbuf buf;      /* bytes not yet read start at off */
    size_t off;
    bool answered;          /* the XMPP client got a status */
    bool failed;            /* the transfer ended badly */
    bool done;              /* the transfer ended */
    bool curl_paused;
    bool reader_waiting;
    struct proxy *next;
};

static void proxy_free(struct proxy *p)
{
    struct media *m = p->m;
    for (struct proxy **pp = &m->proxies; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    mx_media_stream_cancel(p->stream);
    strbuf_free(&p->buf);
    free(p->filename);
    free(p->content_type);
    free(p->disposition);
    free(p);
}

static void proxy_gone(void *cls)
{
    struct proxy *p = cls;
    p->req = NULL;
    proxy_free(p);
}

static void proxy_refuse(struct proxy *p, int status, const char *text)
{
    p->answered = true;
    p->failed = true;
    char *body = xasprintf("%s\n", text);
    as_request_reply_text(p->req, status, "text/plain; charset=utf-8", body);
    free(body);
}

static void proxy_wake(struct proxy *p)
{
    if (p->reader_waiting && p->req) {
        p->reader_waiting = false;
        as_request_resume(p->req);
    }
}

static long proxy_read(void *cls, unsigned long long pos, char *out,
                       size_t max)
{
    (void)pos;
    struct proxy *p = cls;
    size_t avail = p->buf.len - p->off;
    if (avail) {
        size_t n = avail < max ? avail : max;
        memcpy(out, p->buf.data + p->off, n);
        p->off += n;
        if (p->off == p->buf.len) {
            strbuf_reset(&p->buf);
            p->off = 0;
        } else if (p->off >= STREAM_COMPACT_AT) {
            memmove(p->buf.data, p->buf.data + p->off, p->buf.len - p->off);
            p->buf.len -= p->off;
            p->buf.data[p->buf.len] = '\0';
            p->off = 0;
        }
        if (p->curl_paused && p->buf.len - p->off < STREAM_HIGH_WATER / 2 &&
            p->stream) {
            p->curl_paused = false;
            /* May deliver held-back data through proxy_data at once. */
            mx_media_stream_resume(p->stream);
        }
        return (long)n;
    }
    if (p->done)
        return p->failed ? AS_STREAM_ERROR : AS_STREAM_END;
    p->reader_waiting = true;
    as_request_pause(p->req);
    return 0;
}

/* The homeserver's status and headers are in: answer the XMPP client.
 * Returns -1 if the answer was a refusal (the transfer should stop). */
static int proxy_answer(struct proxy *p, const struct mx_media_head *h)
{
    long status = h->status;
    free(p->content_type);
    free(p->disposition);
    p->content_type = xstrdup(h->content_type);
    p->disposition = xstrdup(h->disposition);
    p->length = h->length;
    long long max = p->m->gw->cfg.media_max_bytes;
    if (status == 404) {
        proxy_refuse(p, 404, "no such media on the homeserver");
        return -1;
    }
    if (status != 200) {
        char *text = xasprintf("the homeserver answered %ld", status);
        proxy_refuse(p, 502, text);
        free(text);
        return -1;
    }
    if (p->length > max) {
        char *text = xasprintf("the file is larger than this gateway's "
                               "limit of %lld bytes", max);
        proxy_refuse(p, 413, text);
        free(text);
        return -1;
    }
    char *disposition = NULL;
    if (!p->disposition) {
        char *esc = url_escape(p->filename);
        disposition = xasprintf("inline; filename*=UTF-8''%s", esc);
        free(esc);
    }
    p->answered = true;
    as_request_reply_stream(p->req, 200,
                            p->content_type ? p->content_type
                                            : "application/octet-stream",
                            p->disposition ? p->disposition : disposition,
                            p->length, proxy_read, p);
    free(disposition);
    return 0;
}

static int proxy_head(void *ud, const struct mx_media_head *h)
{
    struct proxy *p = ud;
    if (!p->req)
        return -1;
    return p->answered ? 0 : proxy_answer(p, h);
}

static enum mx_stream_take proxy_data(void *ud, const char *data, size_t len)
{
    struct proxy *p = ud;
    if (!p->req || p->failed)
        return MX_STREAM_STOP;
    if (p->received + (long long)len > p->m->gw->cfg.media_max_bytes ||
        (p->length >= 0 && p->received + (long long)len > p->length)) {
        log_warn("media: %s is larger than announced or allowed; cut",
                 p->filename);
        p->failed = true;
        return MX_STREAM_STOP;
    }
    if (p->buf.len - p->off >= STREAM_HIGH_WATER) {
        if (!p->curl_paused)
            log_debug("media: the XMPP client lags; pausing %s", p->filename);
        p->curl_paused = true;
        return MX_STREAM_PAUSE; /* the chunk comes again after resuming */
    }
    strbuf_append(&p->buf, data, len);
    p->received += (long long)len;
    proxy_wake(p);
    return MX_STREAM_TAKEN;
}

static void proxy_end(void *ud, bool ok, const struct mx_media_head *h,
                      const char *error)
{
    struct proxy *p = ud;
    p->stream = NULL; /* the stream frees itself after this */
    p->done = true;
    if (!p->answered) {
        if (ok) {
            proxy_answer(p, h); /* an empty file, or a refusal */
        } else {
            log_warn("media: fetching %s from the homeserver failed: %s",
                     p->filename, error);
            proxy_refuse(p, 502, "the homeserver could not be reached");
        }
    } else if (!ok || (p->length >= 0 && p->received != p->length)) {
        p->failed = true;
    }
    proxy_wake(p);
}

static const struct mx_stream_ops proxy_ops = { proxy_head, proxy_data,
                                                proxy_end };

void media_proxy_request(struct as_request *req, const char *path, void *ud)
{
    struct gateway *gw = ud;
    struct media *m = gw->media;
    /* <mac>/<server>/<media id>/<file name>, already percent-decoded. */
    const char *rest = path + strlen(PROXY_PATH);
    if (strncmp(path, PROXY_PATH, strlen(PROXY_PATH)) != 0) {
        as_request_reply_text(req, 404, "text/plain", "unknown media URL\n");
        return;
    }
    const char *s1 = strchr(rest, '/');
    const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    const char *s3 = s2 ? strchr(s2 + 1, '/') : NULL;
    unsigned char mac[crypto_auth_BYTES];
    size_t maclen = 0;
    if (!s3 || strchr(s3 + 1, '/') ||
        sodium_hex2bin(mac, sizeof mac, rest, (size_t)(s1 - rest), NULL,
                       &maclen, NULL) != 0 ||
        maclen != sizeof mac) {
        as_request_reply_text(req, 404, "text/plain", "unknown media URL\n");
        return;
    }
    char *server = xstrndup(s1 + 1, (size_t)(s2 - s1 - 1));
    char *id = xstrndup(s2 + 1, (size_t)(s3 - s2 - 1));
    char *name = xstrdup(s3 + 1);
    char *msg = xasprintf("%s\n%s\n%s", server, id, name);
    /* Constant time: a forger learns nothing from how long it took. */
    int ok = crypto_auth_verify(mac, (const unsigned char *)msg, strlen(msg),
                                m->key);
    free(msg);
    char *mxc = xasprintf("mxc://%s/%s", server, id);
    char *cs = NULL, *ci = NULL;
    if (ok != 0 || mx_mxc_split(mxc, &cs, &ci) < 0) {
        log_info("media: refused a forged or damaged proxy URL");
        as_request_reply_text(req, 403, "text/plain",
                              "this media URL was not issued by this "
                              "gateway\n");
        goto out;
    }
    struct proxy *p = xcalloc(1, sizeof *p);
    p->m = m;
    p->req = req;
    p->filename = name;
    name = NULL;
    p->length = -1;
    p->next = m->proxies;
    m->proxies = p;
    as_request_on_gone(req, proxy_gone, p);
    /* The URI was checked above: the stream starts. */
    const char *why;
    p->stream = mx_media_stream_start(gw->mx, mxc, &proxy_ops, p, &why);
    if (!p->stream)
        proxy_refuse(p, 404, why);
out:
    free(cs);
    free(ci);
    free(mxc);
    free(name);
    free(id);
    free(server);
}

/* ------------------------------------------------- XMPP -> Matrix -- */

bool media_is_share(const struct xmsg *msg)
{
    if (!msg->oob_url || !msg->body)
        return false;
    const char *b = msg->body;
    while (*b == ' ' || *b == '\n' || *b == '\t' || *b == '\r')
        b++;
    size_t n = strlen(b);
    while (n && strchr(" \n\t\r", b[n - 1]))
        n--;
    return n == strlen(msg->oob_url) && strncmp(b, msg->oob_url, n) == 0 &&
           (strncasecmp(b, "http://", 7) == 0 ||
            strncasecmp(b, "https://", 8) == 0);
}

struct download {
    struct media *m;
    struct mx_fetch *fetch; /* while downloading */
    char *ghost;
    char *url;
    bool started;        /* counts in media->active */
    /* Known once downloaded. */
    char *filename;
    char *caption;       /* NULL when none */
    char *mime;
    size_t size;
    int width, height;   /* 0 when not an image */
    media_done_cb cb;
    void *ud;
    struct download *next;
};

static void download_unlink(struct download *d)
{
    for (struct download **pp = &d->m->downloads; *pp; pp = &(*pp)->next)
        if (*pp == d) {
            *pp = d->next;
            break;
        }
}

static void download_start(struct download *d);

static void download_free(struct download *d)
{
    struct media *m = d->m;
    download_unlink(d);
    if (d->started) {
        m->active--;
        /* Its memory is free: the oldest waiting file goes next. */
        for (struct download *w = m->downloads; w && !m->closing;
             w = w->next)
            if (!w->started) {
                download_start(w);
                break;
            }
    }
    mx_fetch_cancel(d->fetch);
    free(d->ghost);
    free(d->url);
    free(d->filename);
    free(d->caption);
    free(d->mime);
    free(d);
}

/* Ends the download: its callback gets content (the file's event
 * content, handed over) or the condition and why; d is freed first, so
 * the callback may start anything. */
static void download_end(struct download *d, json_t *content,
                         const char *condition, const char *why)
{
    struct gateway *gw = d->m->gw;
    media_done_cb cb = d->cb;
    void *ud = d->ud;
    download_free(d);
    cb(gw, content, condition, why, ud);
}

static void download_fail(struct download *d, const char *condition,
                          const char *why)
{
    log_info("media: %s not bridged: %s", d->filename ? d->filename : "file",
             why);
    download_end(d, NULL, condition, why);
}

static void on_uploaded(const struct mx_response *r,
                        const struct mx_content_uri *res, void *ud)
{
    struct download *d = ud;
    const char *uri = res ? res->content_uri : NULL;
    if (!uri) {
        char *why = xasprintf("the Matrix media repository refused the "
                              "file: %s", r->error);
        download_fail(d, r->status == 413 ? "not-acceptable"
                                          : "undefined-condition", why);
        free(why);
        return;
    }
    json_t *info = json_pack("{s:s, s:I}", "mimetype", d->mime, "size",
                             (json_int_t)d->size);
    if (d->width > 0 && d->height > 0) {
        json_object_set_new(info, "w", json_integer(d->width));
        json_object_set_new(info, "h", json_integer(d->height));
    }
    json_t *content = json_pack("{s:s, s:s, s:s, s:s, s:o}", "msgtype",
                                media_msgtype(d->mime), "body",
                                d->caption ? d->caption : d->filename,
                                "filename", d->filename, "url", uri, "info",
                                info);
    download_end(d, content, NULL, NULL);
}

static void download_done(void *ud, struct mx_fetch_result *r)
{
    struct download *d = ud;
    struct gateway *gw = d->m->gw;
    d->fetch = NULL; /* it frees itself after this */
    long status = r->status;
    char *why = NULL;
    if (r->outcome == MX_FETCH_TOO_BIG) {
        why = xasprintf("the file is larger than the gateway's limit of %d "
                        "bytes", gw->cfg.media_max_bytes);
        download_fail(d, "not-acceptable", why);
    } else if (r->outcome == MX_FETCH_TIMEOUT) {
        why = xasprintf("the file could not be downloaded within %d s",
                        gw->cfg.media_timeout_s);
        download_fail(d, "remote-server-timeout", why);
    } else if (r->outcome != MX_FETCH_DONE) {
        why = xasprintf("the file could not be downloaded: %s", r->error);
        download_fail(d, "remote-server-not-found", why);
    } else if (status != 200) {
        why = xasprintf("the file could not be downloaded: the server "
                        "answered %ld", status);
        download_fail(d, status == 404 || status == 410 ? "item-not-found"
                                                        : "undefined-condition",
                      why);
    } else {
        const unsigned char *bytes = (const unsigned char *)r->data;
        d->size = r->len;
        d->mime = media_pick_mime(r->content_type, bytes, d->size);
        if (strncmp(d->mime, "image/", 6) == 0 &&
            media_image_size(bytes, d->size, &d->width, &d->height) < 0)
            d->width = d->height = 0;
        /* The download is over: from here the upload call owns d. */
        download_unlink(d);
        char *data = r->data;
        r->data = NULL; /* the upload takes it over */
        mx_upload(gw->mx, d->ghost, d->filename, d->mime, data, d->size, 3,
                  on_uploaded, d);
    }
    free(why);
}

void media_to_matrix(struct gateway *gw, const char *ghost, const char *url,
                     const char *caption, media_done_cb cb, void *ud)
{
    struct media *m = gw->media;
    struct download *d = xcalloc(1, sizeof *d);
    d->m = m;
    d->ghost = xstrdup(ghost);
    d->url = xstrdup(url);
    d->filename = media_filename_from_url(url);
    /* A caption equal to the file name is no caption. */
    if (caption && *caption && strcmp(caption, d->filename) != 0)
        d->caption = utf8_sanitize(caption, strlen(caption));
    d->cb = cb;
    d->ud = ud;
    struct download **tail = &m->downloads;
    while (*tail)
        tail = &(*tail)->next;
    *tail = d;
    if (m->active < MAX_DOWNLOADS)
        download_start(d);
    else
        log_info("media: %d files in flight; %s waits its turn", m->active,
                 d->filename);
}

static void download_start(struct download *d)
{
    struct gateway *gw = d->m->gw;
    d->started = true;
    d->m->active++;
    struct mx_fetch_opts opts = {
        .max_bytes = gw->cfg.media_max_bytes,
        .timeout_ms = (long)gw->cfg.media_timeout_s * 1000L,
    };
    d->fetch = mx_fetch_start(gw->mx, d->url, &opts, download_done, d);
}
