/* Files from XMPP users to Matrix: downloaded (bounded in size and
 * time), encrypted when the room is, uploaded as the sender's ghost. */
#include "gateway/features/media_state.h"
#include "xep/crypto/aesgcm.h"

#include "common/log.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "gateway/base/context.h"
#include "gateway/features/e2ee.h"
#include "gateway/core/media_sniff.h"
#include "matrix/crypto/attachment.h"
#include "matrix/media_transfer.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Files from XMPP are held in memory between download and upload; at most
 * this many at once, so memory stays under this many times max_bytes. The
 * rest wait their turn. */
#define MAX_DOWNLOADS 4

/* ------------------------------------------------- XMPP -> Matrix -- */

/* An aesgcm:// link alone in the body (XEP-0454: what OMEMO clients send
 * for a file, without XEP-0066 data that would show the link in clear). */
static bool is_aesgcm_share(const char *b, size_t n)
{
    return n > 9 && aesgcm_is_url(b) && !memchr(b, ' ', n) &&
           !memchr(b, '\n', n);
}

bool media_is_share(const struct xmsg *msg)
{
    if (!msg->body)
        return false;
    const char *b = msg->body;
    while (*b == ' ' || *b == '\n' || *b == '\t' || *b == '\r')
        b++;
    size_t n = strlen(b);
    while (n && strchr(" \n\t\r", b[n - 1]))
        n--;
    if (is_aesgcm_share(b, n))
        return true;
    if (!msg->oob_url)
        return false;
    return n == strlen(msg->oob_url) && strncmp(b, msg->oob_url, n) == 0 &&
           (strncasecmp(b, "http://", 7) == 0 ||
            strncasecmp(b, "https://", 8) == 0);
}

const char *media_share_url(const struct xmsg *msg)
{
    return msg->oob_url ? msg->oob_url : msg->body;
}

struct download {
    struct media *m;
    struct mx_fetch *fetch; /* while downloading */
    char *ghost;
    char *room_id;
    char *url;           /* what is fetched (https:// for an aesgcm link) */
    bool started;        /* counts in media->active */
    /* XEP-0454: the file comes AES-GCM-encrypted, its key and IV from the
     * aesgcm:// link's fragment. */
    bool aesgcm;
    uint8_t key[AESGCM_KEY_LEN], iv[AESGCM_IV_MAX];
    size_t iv_len;
    /* Known once downloaded. */
    char *filename;
    char *caption;       /* NULL when none */
    char *mime;
    size_t size;
    int width, height;   /* 0 when not an image */
    char *data;          /* between download and upload */
    json_t *file;        /* content.file, when the room is encrypted */
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
    sodium_memzero(d->key, sizeof d->key);
    free(d->ghost);
    free(d->room_id);
    free(d->url);
    if (d->data)
        sodium_memzero(d->data, d->size);
    free(d->data);
    json_decref(d->file);
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
    json_t *content = json_pack("{s:s, s:s, s:s, s:o}", "msgtype",
                                media_msgtype(d->mime), "body",
                                d->caption ? d->caption : d->filename,
                                "filename", d->filename, "info", info);
    /* An encrypted file is named by content.file alone. */
    if (d->file) {
        json_object_set_new(d->file, "url", json_string(uri));
        json_object_set(content, "file", d->file);
    } else {
        json_object_set_new(content, "url", json_string(uri));
    }
    download_end(d, content, NULL, NULL);
}

/* Into an encrypted room the file goes as ciphertext, under a name that
 * tells the homeserver nothing. */
static void on_room_known(struct gateway *gw, int encrypted, const char *why,
                          void *ud)
{
    struct download *d = ud;
    if (encrypted < 0) {
        download_fail(d, "undefined-condition", why);
        return;
    }
    if (encrypted)
        d->file = mx_attachment_encrypt((unsigned char *)d->data, d->size);
    char *data = d->data;
    d->data = NULL; /* the upload takes it over */
    mx_upload(gw->mx, d->ghost, encrypted ? NULL : d->filename,
              encrypted ? "application/octet-stream" : d->mime, data, d->size,
              3, on_uploaded, d);
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
        long plain = d->aesgcm ? aesgcm_file_open((uint8_t *)r->data, r->len,
                                                  d->key, d->iv, d->iv_len)
                               : (long)r->len;
        if (plain < 0) {
            download_fail(d, "not-acceptable",
                          "the file does not open with the key in its link "
                          "(altered on the server, or cut short)");
            free(why);
            return;
        }
        d->size = (size_t)plain;
        d->mime = media_pick_mime(r->content_type, bytes, d->size);
        if (strncmp(d->mime, "image/", 6) == 0 &&
            media_image_size(bytes, d->size, &d->width, &d->height) < 0)
            d->width = d->height = 0;
        d->data = r->data;
        r->data = NULL;
        /* The download is over: from here the calls to the homeserver own
         * d. */
        download_unlink(d);
        e2ee_room_encrypted(gw, d->room_id, d->ghost, on_room_known, d);
    }
    free(why);
}

void media_to_matrix(struct gateway *gw, const char *ghost,
                     const char *room_id, const char *url,
                     const char *caption, media_done_cb cb, void *ud)
{
    struct media *m = gw->media;
    struct download *d = xcalloc(1, sizeof *d);
    d->m = m;
    d->ghost = xstrdup(ghost);
    d->room_id = xstrdup(room_id);
    while (*url == ' ' || *url == '\n' || *url == '\t' || *url == '\r')
        url++;
    char *trimmed = xstrndup(url, strcspn(url, " \n\t\r"));
    url = trimmed;
    if (aesgcm_is_url(url)) {
        if (aesgcm_url_parse(url, &d->url, d->key, d->iv, &d->iv_len) < 0) {
            free(trimmed);
            d->filename = xstrdup("file");
            d->cb = cb;
            d->ud = ud;
            download_fail(d, "bad-request", "the aesgcm:// link is malformed");
            return;
        }
        d->aesgcm = true;
    } else {
        d->url = xstrdup(url);
    }
    free(trimmed);
    d->filename = media_filename_from_url(d->url);
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
        .ca_file = gw->cfg.media_ca_file,
    };
    d->fetch = mx_fetch_start(gw->mx, d->url, &opts, download_done, d);
}

void media_uploads_free(struct media *m)
{
    while (m->downloads)
        download_free(m->downloads);
}
