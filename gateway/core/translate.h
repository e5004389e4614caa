/* Pure translation between a parsed XMPP message and a Matrix message
 * (no I/O; unit-tested both ways and fuzzed).
 *
 *   body "/me waves" (XEP-0245)  <-> m.emote "waves"
 *   type="headline"               -> m.notice
 *   m.notice                      -> type="chat" with the plain body
 *   anything else with a body    <-> m.text */
#ifndef ISTHMUS_TRANSLATE_H
#define ISTHMUS_TRANSLATE_H

#include "matrix/event.h"
#include "xep/message.h"

#include <stddef.h>

struct translated_text {
    const char *msgtype; /* static string */
    char *body;          /* caller frees */
};

/* XMPP -> Matrix. max_bytes bounds the resulting body. */
int translate_to_matrix(const struct xmsg *in, size_t max_bytes,
                        struct translated_text *out, const char **why);

/* Matrix -> XMPP: sets out->body (caller frees) and out->type (static).
 * A formatted_body (HTML) becomes XEP-0393 styled text. */
int translate_to_xmpp(const struct mx_message *in, size_t max_bytes,
                      char **body, const char **type, const char **why);
/* The same, also giving the pills of the formatted_body as mentions of
 * *body's code points (caller frees with fmt_mentions_free; none when
 * mentions is NULL). */
struct fmt_mention;
int translate_to_xmpp_rich(const struct mx_message *in, size_t max_bytes,
                           char **body, const char **type,
                           struct fmt_mention **mentions, size_t *n_mentions,
                           const char **why);

/* XMPP -> Matrix, a reply: the body without its XEP-0428 fallback quote
 * (code points [start, end)), which Matrix clients do not want. Caller
 * frees. */
char *translate_strip_fallback(const char *body, int start, int end);
/* Matrix -> XMPP, a reply: the Matrix reply fallback ("> <@who> quote"
 * lines, then a blank line) becomes the XMPP one ("> quote" lines), which
 * XEP-0461 marks; *fallback_len gets its length in code points (0 when the
 * Matrix body quoted nothing). Caller frees. */
char *translate_reply_to_xmpp(const char *body, int *fallback_len);

#endif
