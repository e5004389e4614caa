#include "matrix/media_transfer.h"

#include "common/log.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "matrix/mxc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A new easy handle; curl fails here only without memory. */
static CURL *easy_new(void)
{
    CURL *e = curl_easy_init();
    if (!e)
        abort();
    return e;
}

static void easy_drop(struct mx_client *c, CURL *e)
{
    curl_multi_remove_handle(mx_client_multi(c), e);
    curl_easy_cleanup(e);
}

/* ------------------------------------------------------------ stream -- */

struct mx_media_stream {
    struct mx_transfer t; /* first: the easy handle's CURLOPT_PRIVATE */
    struct mx_client *c;
    CURL *easy;
    struct curl_slist *headers;
    const struct mx_stream_ops *ops;
    void *ud;
    char *content_type;
    char *disposition;
    long long length;
    bool headed;
};

static void stream_free(struct mx_media_stream *s)
{
    if (s->easy)
        easy_drop(s->c, s->easy);
    curl_slist_free_all(s->headers);
    free(s->content_type);
    free(s->disposition);
    free(s);
}

static void stream_head(struct mx_media_stream *s, struct mx_media_head *h)
{
    h->status = 0;
    if (s->easy)
        curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &h->status);
    h->content_type = s->content_type;
    h->disposition = s->disposition;
    h->length = s->length;
}

/* The value of header line[0..n) if it is `name` (with its colon), trimmed;
 * else NULL. Caller frees. */
static char *header_value(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0)
        return NULL;
    const char *v = line + k, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    return xstrndup(v, (size_t)(end - v));
}

static size_t stream_header(char *line, size_t size, size_t n, void *ud)
{
    struct mx_media_stream *s = ud;
    size_t len = size * n;
    char *v;
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a 1xx): forget the previous headers. */
        free(s->content_type);
        free(s->disposition);
        s->content_type = s->disposition = NULL;
        s->length = -1;
    } else if ((v = header_value(line, len, "Content-Type:"))) {
        free(s->content_type);
        s->content_type = v;
    } else if ((v = header_value(line, len, "Content-Disposition:"))) {
        free(s->disposition);
        s->disposition = v;
    } else if ((v = header_value(line, len, "Content-Length:"))) {
        char *end;
        long long cl = strtoll(v, &end, 10);
        s->length = *v && !*end && cl >= 0 ? cl : -1;
        free(v);
    }
    return len;
}

static size_t stream_write(char *data, size_t size, size_t n, void *ud)
{
    struct mx_media_stream *s = ud;
    size_t len = size * n;
    if (!s->headed) {
        s->headed = true;
        struct mx_media_head h;
        stream_head(s, &h);
        if (s->ops->head(s->ud, &h) < 0)
            return 0;
    }
    switch (s->ops->data(s->ud, data, len)) {
    case MX_STREAM_TAKEN:
        return len;
    case MX_STREAM_PAUSE:
        return CURL_WRITEFUNC_PAUSE; /* curl keeps this chunk for later */
    case MX_STREAM_STOP:
    default:
        return 0;
    }
}

static void stream_done(struct mx_transfer *t, CURLcode code)
{
    struct mx_media_stream *s = (struct mx_media_stream *)t;
    struct mx_media_head h;
    stream_head(s, &h);
    easy_drop(s->c, s->easy);
    s->easy = NULL;
    s->ops->end(s->ud, code == CURLE_OK, &h,
                code == CURLE_OK ? NULL : curl_easy_strerror(code));
    stream_free(s);
}

struct mx_media_stream *mx_media_stream_start(struct mx_client *c,
                                              const char *mxc,
                                              const struct mx_stream_ops *ops,
                                              void *ud, const char **err)
{
    char *server, *id;
    if (mx_mxc_split(mxc, &server, &id) < 0) {
        *err = "not a valid mxc:// URI";
        return NULL;
    }
    struct mx_media_stream *s = xcalloc(1, sizeof *s);
    s->t.done = stream_done;
    s->c = c;
    s->ops = ops;
    s->ud = ud;
    s->length = -1;
    /* Both parts hold only characters a path may carry as they are (see
     * mx_mxc_split): no escaping. */
    char *url = xasprintf("%s/_matrix/client/v1/media/download/%s/%s",
                          mx_client_base_url(c), server, id);
    free(server);
    free(id);
    s->headers = mx_client_auth_headers(c);
    CURL *e = easy_new();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, stream_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
    mx_client_easy_common(e, stream_write, s);
    /* No total limit, but a homeserver that stalls for a minute is given
     * up on, so that a suspended connection cannot wait forever. Paused
     * transfers are not counted as stalled. */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
    free(url);
    s->easy = e;
    curl_multi_add_handle(mx_client_multi(c), e);
    return s;
}

void mx_media_stream_resume(struct mx_media_stream *s)
{
    if (s->easy)
        curl_easy_pause(s->easy, CURLPAUSE_CONT);
}

void mx_media_stream_cancel(struct mx_media_stream *s)
{
    if (s)
        stream_free(s);
}

/* --------------------------------------------------------- web fetch -- */

struct mx_fetch {
    struct mx_transfer t; /* first: the easy handle's CURLOPT_PRIVATE */
    struct mx_client *c;
    CURL *easy;
    long long max_bytes;
    struct strbuf data;
    bool too_big;
    mx_fetch_cb cb;
    void *ud;
};

static void fetch_free(struct mx_fetch *f)
{
    if (f->easy)
        easy_drop(f->c, f->easy);
    strbuf_free(&f->data);
    free(f);
}

static size_t fetch_write(char *data, size_t size, size_t n, void *ud)
{
    struct mx_fetch *f = ud;
    size_t len = size * n;
    if (f->data.len + len > (size_t)f->max_bytes) {
        f->too_big = true;
        return 0;
    }
    strbuf_append(&f->data, data, len);
    return len;
}

static void fetch_done(struct mx_transfer *t, CURLcode code)
{
    struct mx_fetch *f = (struct mx_fetch *)t;
    struct mx_fetch_result r = { MX_FETCH_DONE, 0, NULL, NULL, 0, NULL };
    char *ctype = NULL;
    if (code == CURLE_OK) {
        curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &r.status);
        const char *ct = NULL;
        curl_easy_getinfo(f->easy, CURLINFO_CONTENT_TYPE, &ct);
        ctype = ct ? xstrdup(ct) : NULL; /* the handle goes away below */
    }
    easy_drop(f->c, f->easy);
    f->easy = NULL;
    if (f->too_big || code == CURLE_FILESIZE_EXCEEDED)
        r.outcome = MX_FETCH_TOO_BIG;
    else if (code == CURLE_OPERATION_TIMEDOUT)
        r.outcome = MX_FETCH_TIMEOUT;
    else if (code != CURLE_OK)
        r.outcome = MX_FETCH_UNREACHABLE;
    r.error = code == CURLE_OK ? "" : curl_easy_strerror(code);
    r.content_type = ctype;
    r.len = f->data.len;
    r.data = strbuf_detach(&f->data);
    mx_fetch_cb cb = f->cb;
    void *ud = f->ud;
    fetch_free(f);
    cb(ud, &r);
    free(r.data);
    free(ctype);
}

struct mx_fetch *mx_fetch_start(struct mx_client *c, const char *url,
                                const struct mx_fetch_opts *opts,
                                mx_fetch_cb cb, void *ud)
{
    struct mx_fetch *f = xcalloc(1, sizeof *f);
    f->t.done = fetch_done;
    f->c = c;
    f->max_bytes = opts->max_bytes;
    f->cb = cb;
    f->ud = ud;
    CURL *e = easy_new();
    curl_easy_setopt(e, CURLOPT_URL, url);
    /* Only the web: no file://, no other scheme, even after a redirect. */
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
    /* The limit is checked on Content-Length first, then on every byte. */
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)opts->max_bytes);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, opts->timeout_ms);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "isthmus (XMPP-Matrix gateway)");
    if (opts->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, opts->ca_file);
    mx_client_easy_common(e, fetch_write, f);
    f->easy = e;
    curl_multi_add_handle(mx_client_multi(c), e);
    return f;
}

void mx_fetch_cancel(struct mx_fetch *f)
{
    if (f)
        fetch_free(f);
}
