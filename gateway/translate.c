#include "gateway/translate.h"

#include "common/mem.h"
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

int translate_to_xmpp(const struct mx_message *in, size_t max_bytes,
                      char **body, const char **type, const char **why)
{
    *body = NULL;
    *type = "chat";
    if (!in->body || !in->msgtype) {
        *why = "the event has no body";
        return -1;
    }
    bool emote = strcmp(in->msgtype, "m.emote") == 0;
    size_t n = strlen(in->body) + (emote ? strlen(ME_PREFIX) : 0);
    if (n > max_bytes) {
        *why = "the message is larger than the XMPP side accepts";
        return -1;
    }
    char *raw = emote ? xasprintf(ME_PREFIX "%s", in->body) : xstrdup(in->body);
    /* XML 1.0 cannot carry most control characters; drop them rather than
     * produce a stanza the server would reject with a stream error. */
    size_t w = 0;
    for (size_t r = 0; raw[r]; r++) {
        unsigned char c = (unsigned char)raw[r];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            continue;
        raw[w++] = raw[r];
    }
    raw[w] = '\0';
    *body = utf8_sanitize(raw, w);
    free(raw);
    return 0;
}
