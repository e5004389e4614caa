#include "gateway/core/translate.h"

#include "gateway/core/formatting.h"

#include "common/mem.h"
#include "common/strbuf.h"
#include "common/utf8.h"

#include <stdlib.h>
#include <string.h>

#define ME_PREFIX "/me "

int translate_to_matrix(const struct xmsg *in, size_t max_bytes,
                        struct translated_text *out, const char **why)
{
    out->msgtype = NULL;
    out->body = NULL;
    if (!in->body || !*in->body) {
        *why = "the message has no body";
        return -1;
    }
    const char *body = in->body;
    const char *msgtype = "m.text";
    if (strncmp(body, ME_PREFIX, strlen(ME_PREFIX)) == 0 &&
        body[strlen(ME_PREFIX)]) {
        msgtype = "m.emote";
        body += strlen(ME_PREFIX);
    } else if (in->type && strcmp(in->type, "headline") == 0) {
        msgtype = "m.notice";
    }
    size_t n = strlen(body);
    if (n > max_bytes) {
        *why = "the message is larger than a Matrix event may carry";
        return -1;
    }
    out->msgtype = msgtype;
    /* The XML parser only hands over valid UTF-8; sanitising again keeps
     * this function safe for any caller. */
    out->body = utf8_sanitize(body, n);
    return 0;
}

/* Where the Matrix reply fallback ("> " lines, then a blank line) at the
 * start of body ends (at the blank line), or NULL if there is none. */
static const char *matrix_fallback_end(const char *body)
{
    if (strncmp(body, "> ", 2) != 0)
        return NULL;
    const char *end = strstr(body, "\n\n");
    if (!end)
        return NULL;
    for (const char *p = body; p < end;) {
        if (strncmp(p, "> ", 2) != 0)
            return NULL; /* not a fallback quote after all */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    return end;
}

/* The text an XMPP reader sees when the event has a formatted_body: its
 * XEP-0393 rendering. A reply keeps the plain body's fallback quote,
 * which relations_to_xmpp turns into the XMPP one (the HTML's <mx-reply>
 * is dropped), and its mentions are shifted past the quote. NULL when the
 * plain body is what to send. Caller frees. */
static char *styled_for_xmpp(const struct mx_message *in,
                             struct fmt_mention **mentions, size_t *n)
{
    if (!in->html)
        return NULL;
    char *styled = fmt_html_to_styled(in->html, mentions, n);
    if (!*styled) {
        free(styled);
        if (mentions) {
            fmt_mentions_free(*mentions, *n);
            *mentions = NULL, *n = 0;
        }
        return NULL;
    }
    const char *quote_end = in->reply_to && !in->replaces
                                ? matrix_fallback_end(in->body)
                                : NULL;
    if (!quote_end)
        return styled;
    size_t keep = (size_t)(quote_end - in->body) + 2;
    int shift = (int)utf8_count(in->body, keep);
    for (size_t i = 0; mentions && i < *n; i++) {
        (*mentions)[i].begin += shift;
        (*mentions)[i].end += shift;
    }
    char *out = xasprintf("%.*s%s", (int)keep, in->body, styled);
    free(styled);
    return out;
}

int translate_to_xmpp(const struct mx_message *in, size_t max_bytes,
                      char **body, const char **type, const char **why)
{
    return translate_to_xmpp_rich(in, max_bytes, body, type, NULL, NULL,
                                  why);
}

int translate_to_xmpp_rich(const struct mx_message *in, size_t max_bytes,
                           char **body, const char **type,
                           struct fmt_mention **mentions, size_t *n_mentions,
                           const char **why)
{
    *body = NULL;
    *type = "chat";
    if (mentions)
        *mentions = NULL, *n_mentions = 0;
    if (!in->body || !in->msgtype) {
        *why = "the event has no body";
        return -1;
    }
    bool emote = strcmp(in->msgtype, "m.emote") == 0;
    char *styled = styled_for_xmpp(in, mentions, n_mentions);
    const char *text = styled ? styled : in->body;
    size_t n = strlen(text) + (emote ? strlen(ME_PREFIX) : 0);
    if (n > max_bytes) {
        free(styled);
        if (mentions) {
            fmt_mentions_free(*mentions, *n_mentions);
            *mentions = NULL, *n_mentions = 0;
        }
        *why = "the message is larger than the XMPP side accepts";
        return -1;
    }
    char *raw = emote    ? xasprintf(ME_PREFIX "%s", text)
                : styled ? styled
                         : xstrdup(text);
    if (emote)
        free(styled);
    for (size_t i = 0; emote && mentions && i < *n_mentions; i++) {
        (*mentions)[i].begin += (int)strlen(ME_PREFIX);
        (*mentions)[i].end += (int)strlen(ME_PREFIX);
    }
    /* XML 1.0 cannot carry most control characters; drop them rather than
     * produce a stanza the server would reject with a stream error. */
    size_t w = 0;
    for (size_t r = 0; raw[r]; r++) {
        unsigned char c = (unsigned char)raw[r];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            continue;
        raw[w++] = raw[r];
    }
    if (raw[w] != '\0' && mentions) {
        /* Offsets would be off: better no mention than a wrong one. */
        fmt_mentions_free(*mentions, *n_mentions);
        *mentions = NULL, *n_mentions = 0;
    }
    raw[w] = '\0';
    *body = utf8_sanitize_owned(raw, w);
    return 0;
}

char *translate_strip_fallback(const char *body, int start, int end)
{
    size_t a = utf8_offset(body, (size_t)start);
    size_t b = utf8_offset(body, (size_t)end);
    size_t n = strlen(body);
    if (start < 0 || end <= start || b <= a)
        return xstrdup(body);
    char *out = xmalloc(n - (b - a) + 1);
    memcpy(out, body, a);
    memcpy(out + a, body + b, n - b + 1);
    return out;
}

char *translate_reply_to_xmpp(const char *body, int *fallback_len)
{
    *fallback_len = 0;
    const char *end = matrix_fallback_end(body);
    if (!end)
        return xstrdup(body);
    struct strbuf sb = STRBUF_INIT;
    const char *line = body;
    while (line < end) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *stop = nl ? nl : end;
        const char *text = line + 2; /* after "> " */
        if (text > stop)
            text = stop;
        /* The first line names the sender: "> <@bob:hs> text". */
        if (line == body && *text == '<') {
            const char *close = memchr(text, '>', (size_t)(stop - text));
            if (close)
                text = close + 1 < stop && close[1] == ' ' ? close + 2
                                                            : close + 1;
        }
        strbuf_puts(&sb, "> ");
        strbuf_append(&sb, text, (size_t)(stop - text));
        strbuf_putc(&sb, '\n');
        line = nl ? nl + 1 : end;
    }
    *fallback_len = (int)utf8_count(sb.data, sb.len);
    strbuf_puts(&sb, end + 2);
    return strbuf_detach(&sb);
}
