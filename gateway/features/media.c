#include "gateway/features/media_state.h"

#include "common/log.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "common/utf8.h"
#include "gateway/base/context.h"
#include "common/urlenc.h"
#include "gateway/core/media_sniff.h"
#include "matrix/crypto/attachment.h"
#include "matrix/media_transfer.h"
#include "matrix/mxc.h"
#include "xep/crypto/aesgcm.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PROXY_PATH AS_MEDIA_PREFIX "v1/"
/* The proxy holds at most this much of a file that the XMPP client has
 * not read yet; past it the homeserver transfer is paused. */
#define STREAM_HIGH_WATER (256 * 1024)
#define STREAM_COMPACT_AT (64 * 1024)

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
    static const char seal_context[] = "isthmus media proxy seal key, v1";
    crypto_generichash(m->seal_key, sizeof m->seal_key,
                       (const unsigned char *)tok, strlen(tok),
                       (const unsigned char *)seal_context,
                       sizeof seal_context - 1);
    return m;
}

static void proxy_free(struct proxy *p);

void media_free(struct media *m)
{
    if (!m)
        return;
    m->closing = true;
    while (m->proxies)
        proxy_free(m->proxies);
    media_uploads_free(m);
    sodium_memzero(m->key, sizeof m->key);
    sodium_memzero(m->seal_key, sizeof m->seal_key);
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

/* -------------------------------------------------- sealed tokens -- */

char *media_seal_token(const struct media *m, const unsigned char *plain,
                       size_t len)
{
    size_t box_len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                     len;
    unsigned char *box = xmalloc(box_len);
    /* The nonce is a keyed hash of what is sealed: the same file gets the
     * same URL every time, and two different ones never share a nonce. */
    crypto_generichash(box, crypto_secretbox_NONCEBYTES, plain, len,
                       m->seal_key, sizeof m->seal_key);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, plain, len, box,
                          m->seal_key);
    size_t cap = sodium_base64_encoded_len(
        box_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *token = xmalloc(cap);
    sodium_bin2base64(token, cap, box, box_len,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    free(box);
    return token;
}

int media_unseal_token(const struct media *m, const char *token,
                       size_t token_len, unsigned char plain[SEALED_MAX],
                       size_t *len)
{
    unsigned char box[SEALED_MAX + crypto_secretbox_NONCEBYTES +
                      crypto_secretbox_MACBYTES];
    size_t box_len = 0;
    if (sodium_base642bin(box, sizeof box, token, token_len, NULL, &box_len,
                          NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) !=
            0 ||
        box_len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return -1;
    *len = box_len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    if (*len > SEALED_MAX ||
        crypto_secretbox_open_easy(plain, box + crypto_secretbox_NONCEBYTES,
                                   box_len - crypto_secretbox_NONCEBYTES, box,
                                   m->seal_key) != 0)
        return -1;
    return 0;
}

/* ---------------------------------------------- encrypted files' URLs -- */

/* An encrypted file's URL carries what opens it, sealed under a key only
 * this gateway has: nothing is stored, and nobody who reads the URL (an
 * XMPP server's archive, a log) learns the key from it. The proxy can
 * still serve it to whoever has the URL, exactly as for a clear file.
 *
 * Sealed: key | iv | sha256 | "mxc\nmimetype\nname". The nonce is a keyed
 * hash of that, so the same file gets the same URL every time. */
#define SEALED_FIXED (MX_ATTACHMENT_KEY_LEN + MX_ATTACHMENT_IV_LEN + \
                      MX_ATTACHMENT_HASH_LEN)
#define ENCRYPTED_PATH PROXY_PATH "e/"

static bool mime_fits(const char *mime)
{
    return mime && *mime && strlen(mime) < 128 && !strchr(mime, '\n');
}

char *media_proxy_url_encrypted(struct media *m, json_t *file,
                                const char *mimetype, const char *filename,
                                const char **why)
{
    struct mx_attachment a;
    if (mx_attachment_parse(file, &a, why) < 0)
        return NULL;
    char *server, *id;
    if (mx_mxc_split(a.url, &server, &id) < 0) {
        mx_attachment_clear(&a);
        *why = "the encrypted file's URI is not a valid mxc:// URI";
        return NULL;
    }
    free(server);
    free(id);
    char *name = media_clean_filename(xstrdup(filename ? filename : "file"));
    char *text = xasprintf("%s\n%s\n%s", a.url,
                           mime_fits(mimetype) ? mimetype
                                               : "application/octet-stream",
                           name);
    size_t plain_len = SEALED_FIXED + strlen(text);
    if (plain_len + crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES >
        SEALED_MAX) {
        free(text);
        free(name);
        mx_attachment_clear(&a);
        *why = "the encrypted file's URI or name is too long";
        return NULL;
    }
    unsigned char *plain = xmalloc(plain_len);
    memcpy(plain, a.key, MX_ATTACHMENT_KEY_LEN);
    memcpy(plain + MX_ATTACHMENT_KEY_LEN, a.iv, MX_ATTACHMENT_IV_LEN);
    memcpy(plain + MX_ATTACHMENT_KEY_LEN + MX_ATTACHMENT_IV_LEN, a.sha256,
           MX_ATTACHMENT_HASH_LEN);
    memcpy(plain + SEALED_FIXED, text, strlen(text));
    char *token = media_seal_token(m, plain, plain_len);
    char *esc_name = url_escape(name);
    char *url = xasprintf("%s" ENCRYPTED_PATH "%s/%s", m->gw->cfg.media_url,
                          token, esc_name);
    sodium_memzero(plain, plain_len);
    free(plain);
    free(token);
    free(esc_name);
    free(text);
    free(name);
    mx_attachment_clear(&a);
    return url;
}

/* Opens a token that media_proxy_url_encrypted made: 0 with *a (clear
 * with mx_attachment_clear), *mime and *name (caller frees), or -1. */
static int unseal(struct media *m, const char *token, size_t token_len,
                  struct mx_attachment *a, char **mime, char **name)
{
    unsigned char plain[SEALED_MAX];
    size_t plain_len = 0;
    if (media_unseal_token(m, token, token_len, plain, &plain_len) < 0 ||
        plain_len < SEALED_FIXED)
        return -1;
    memset(a, 0, sizeof *a);
    memcpy(a->key, plain, MX_ATTACHMENT_KEY_LEN);
    memcpy(a->iv, plain + MX_ATTACHMENT_KEY_LEN, MX_ATTACHMENT_IV_LEN);
    memcpy(a->sha256, plain + MX_ATTACHMENT_KEY_LEN + MX_ATTACHMENT_IV_LEN,
           MX_ATTACHMENT_HASH_LEN);
    char *text = xstrndup((const char *)plain + SEALED_FIXED,
                          plain_len - SEALED_FIXED);
    sodium_memzero(plain, sizeof plain);
    char *nl1 = strchr(text, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
    if (!nl2) { /* we sealed it: cannot happen short of a bug */
        free(text);
        mx_attachment_clear(a);
        return -1;
    }
    *nl1 = *nl2 = '\0';
    a->url = xstrdup(text);
    *mime = xstrdup(nl1 + 1);
    *name = xstrdup(nl2 + 1);
    free(text);
    return 0;
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
    /* An encrypted file: decrypted as it streams. Its last byte is held
     * back until the whole ciphertext's hash is checked, so a client never
     * completes a file the homeserver altered. */
    struct mx_attachment_reader *decrypt;
    char *mime; /* what the event said the plaintext is */
    bool holding;
    unsigned char held;
    /* XEP-0454: served AES-GCM-encrypted, the tag after the file (its
     * bytes from tag_off on still to send; -1 before it is made). */
    struct aesgcm_stream *gcm;
    unsigned char tag[AESGCM_TAG_LEN];
    int tag_off;
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
    mx_attachment_reader_free(p->decrypt);
    aesgcm_stream_free(p->gcm);
    sodium_memzero(p->tag, sizeof p->tag);
    free(p->mime);
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
        if (p->gcm)
            aesgcm_stream_update(p->gcm, (uint8_t *)out, n);
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
    if (p->done && p->gcm && !p->failed && p->tag_off < AESGCM_TAG_LEN) {
        /* The file is all out: its tag follows, so the client knows it
         * has it whole and unaltered. */
        if (p->tag_off < 0) {
            aesgcm_stream_final(p->gcm, p->tag);
            p->tag_off = 0;
        }
        size_t n = (size_t)(AESGCM_TAG_LEN - p->tag_off);
        if (n > max)
            n = max;
        memcpy(out, p->tag + p->tag_off, n);
        p->tag_off += (int)n;
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
    if (p->decrypt) {
        /* The homeserver describes the ciphertext; the event, the file. */
        free(p->content_type);
        free(p->disposition);
        p->content_type = xstrdup(p->mime);
        p->disposition = NULL;
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
                            p->length >= 0 && p->gcm
                                ? p->length + AESGCM_TAG_LEN
                                : p->length,
                            proxy_read, p);
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

static void take_encrypted(struct proxy *p, const char *data, size_t len)
{
    if (!len)
        return;
    unsigned char *plain = xmalloc(len);
    mx_attachment_reader_update(p->decrypt, (const unsigned char *)data, len,
                                plain);
    if (p->holding)
        strbuf_putc(&p->buf, (char)p->held);
    strbuf_append(&p->buf, (const char *)plain, len - 1);
    p->held = plain[len - 1];
    p->holding = true;
    sodium_memzero(plain, len);
    free(plain);
}

/* The ciphertext is all in: the held byte goes out if it was the one the
 * sender uploaded; false if not. */
static bool release_encrypted(struct proxy *p)
{
    if (mx_attachment_reader_check(p->decrypt) < 0) {
        log_warn("media: %s does not match its hash: the homeserver "
                 "altered it, or it was cut; not served", p->filename);
        return false;
    }
    if (p->holding)
        strbuf_putc(&p->buf, (char)p->held);
    p->holding = false;
    return true;
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
    if (p->decrypt)
        take_encrypted(p, data, len);
    else
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
    if (ok && p->decrypt && h->status == 200 && !release_encrypted(p)) {
        if (!p->answered)
            proxy_refuse(p, 502, "the file was altered on the homeserver");
        p->failed = true;
    } else if (!p->answered) {
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

/* Serves mxc to req; name (taken over) is what the client saves it as. */
static void proxy_start(struct media *m, struct as_request *req,
                        const char *mxc, char *name,
                        struct mx_attachment_reader *decrypt, char *mime,
                        struct aesgcm_stream *gcm)
{
    struct proxy *p = xcalloc(1, sizeof *p);
    p->m = m;
    p->gcm = gcm;
    p->tag_off = -1;
    p->req = req;
    p->filename = name;
    p->decrypt = decrypt;
    p->mime = mime;
    p->length = -1;
    p->next = m->proxies;
    m->proxies = p;
    as_request_on_gone(req, proxy_gone, p);
    const char *why;
    p->stream = mx_media_stream_start(m->gw->mx, mxc, &proxy_ops, p, &why);
    if (!p->stream)
        proxy_refuse(p, 404, why);
}

static void refuse_forged(struct as_request *req)
{
    log_info("media: refused a forged or damaged proxy URL");
    as_request_reply_text(req, 403, "text/plain",
                          "this media URL was not issued by this gateway\n");
}

/* e/<sealed token>/<file name> */
static void serve_encrypted(struct media *m, struct as_request *req,
                            const char *rest, struct aesgcm_stream *gcm)
{
    const char *slash = strchr(rest, '/');
    struct mx_attachment a;
    char *mime, *name;
    if (!slash || strchr(slash + 1, '/') ||
        unseal(m, rest, (size_t)(slash - rest), &a, &mime, &name) < 0) {
        aesgcm_stream_free(gcm);
        refuse_forged(req);
        return;
    }
    proxy_start(m, req, a.url, name, mx_attachment_reader_new(&a), mime, gcm);
    mx_attachment_clear(&a);
}

static void serve_path(struct media *m, struct as_request *req,
                       const char *rest, struct aesgcm_stream *gcm);

/* g/<token>/<name>: a file served AES-GCM-encrypted (XEP-0454; the link
 * is made in media_aesgcm.c). */
static void serve_aesgcm(struct media *m, struct as_request *req,
                         const char *rest)
{
    const char *slash = strchr(rest, '/');
    unsigned char plain[SEALED_MAX];
    size_t len = 0;
    if (!slash ||
        media_unseal_token(m, rest, (size_t)(slash - rest), plain, &len) <
            0 ||
        len <= MEDIA_AESGCM_FIXED) {
        log_info("media: refused a forged or damaged aesgcm proxy URL");
        as_request_reply_text(req, 403, "text/plain",
                              "this media URL was not issued by this "
                              "gateway\n");
        return;
    }
    /* The path is percent-decoded by now, as the inner one was sealed:
     * both name the file the same way. */
    char *inner = xstrndup((const char *)plain + MEDIA_AESGCM_FIXED, len - MEDIA_AESGCM_FIXED);
    struct aesgcm_stream *gcm = aesgcm_stream_new(plain, plain +
                                                  AESGCM_KEY_LEN,
                                                  AESGCM_IV_LEN);
    sodium_memzero(plain, sizeof plain);
    serve_path(m, req, inner, gcm);
    free(inner);
}

void media_proxy_request(struct as_request *req, const char *path, void *ud)
{
    struct gateway *gw = ud;
    if (strncmp(path, PROXY_PATH, strlen(PROXY_PATH)) != 0) {
        as_request_reply_text(req, 404, "text/plain", "unknown media URL\n");
        return;
    }
    serve_path(gw->media, req, path + strlen(PROXY_PATH), NULL);
}

/* A proxy path (what follows /_isthmus/media/v1/); with gcm (taken
 * over), the file is encrypted as it streams and the tag follows it. */
static void serve_path(struct media *m, struct as_request *req,
                       const char *rest, struct aesgcm_stream *gcm)
{
    if (strncmp(rest, "e/", 2) == 0) {
        serve_encrypted(m, req, rest + 2, gcm);
        return;
    }
    if (strncmp(rest, "g/", 2) == 0 && !gcm) {
        serve_aesgcm(m, req, rest + 2);
        return;
    }
    /* <mac>/<server>/<media id>/<file name>, already percent-decoded. */
    const char *s1 = strchr(rest, '/');
    const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
    const char *s3 = s2 ? strchr(s2 + 1, '/') : NULL;
    unsigned char mac[crypto_auth_BYTES];
    size_t maclen = 0;
    if (!s3 || strchr(s3 + 1, '/') ||
        sodium_hex2bin(mac, sizeof mac, rest, (size_t)(s1 - rest), NULL,
                       &maclen, NULL) != 0 ||
        maclen != sizeof mac) {
        aesgcm_stream_free(gcm);
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
        aesgcm_stream_free(gcm);
        refuse_forged(req);
        free(name);
    } else {
        proxy_start(m, req, mxc, name, NULL, NULL, gcm);
    }
    free(cs);
    free(ci);
    free(mxc);
    free(id);
    free(server);
}
