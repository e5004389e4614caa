/* Pure conversion between Matrix's HTML (formatted_body, format
 * org.matrix.custom.html) and XMPP's rich text: XEP-0393 message styling
 * in the plain body, and XEP-0071 XHTML-IM where a client sends it. No
 * I/O; unit-tested (tests/unit/test_formatting.c) and fuzzed.
 *
 * HTML is read with libxml2's HTML parser (no network, no error output)
 * and the tree is walked without recursion, so hostile nesting costs
 * neither stack nor quadratic output. Mentions cross as already-resolved
 * Matrix ids: the lookups belong to the gateway (gateway/core/x2m.c and gateway/core/m2x.c, with lookups from gateway/features/). */
#ifndef ISTHMUS_FORMATTING_H
#define ISTHMUS_FORMATTING_H

#include <stddef.h>

/* A Matrix user named in a text, at code points [begin, end). */
struct fmt_mention {
    char *mxid;
    int begin, end;
};

/* How many mentions one message may carry each way; more are left as
 * plain text (a message naming hundreds of people is a ping storm). */
#define FMT_MAX_MENTIONS 32

/* Matrix HTML -> XEP-0393 styled plain text: strong/b *x*, em/i _x_,
 * del/s/strike ~x~, code `x`, pre a ``` block, blockquote "> " lines,
 * lists "- "/"1. ", links "text <url>", pills their display name; the
 * reply fallback (<mx-reply>), script and style go with their content.
 * With mentions not NULL, each pill is recorded there (caller frees with
 * fmt_mentions_free), offsets in code points of the result. Returns the
 * text (caller frees), never NULL. */
char *fmt_html_to_styled(const char *html, struct fmt_mention **mentions,
                         size_t *n_mentions);

/* XEP-0393 styled text -> HTML for formatted_body, everything else
 * escaped; mentions (offsets in code points of text) become pills. NULL
 * when the text has neither styling nor a mention: then no formatted_body
 * should be sent at all. Caller frees. */
char *fmt_styled_to_html(const char *text, const struct fmt_mention *mentions,
                         size_t n_mentions);

/* The same without XEP-0393 styling, for a body marked <unstyled/>:
 * only the mentions become pills. NULL when there is none. */
char *fmt_mentions_to_html(const char *text, const struct fmt_mention *mentions,
                           size_t n_mentions);

/* Any HTML (an XHTML-IM body) -> HTML with only the elements and
 * attributes the Matrix spec allows; links only to http(s), ftp, mailto,
 * xmpp and magnet, images only from mxc://; script and style dropped with
 * their content, unknown elements replaced by their text. NULL when
 * nothing but whitespace is left. Caller frees. */
char *fmt_sanitize_html(const char *html);

/* The Matrix id a matrix.to permalink names ("https://matrix.to/#/@u:hs"),
 * or NULL for any other link. Caller frees. */
char *fmt_pill_mxid(const char *href);

/* RFC 5122 xmpp: URIs, as XEP-0372 mentions name people: the URI for a
 * JID (percent-encoding what a URI cannot hold: %, #, ?, spaces, ...),
 * and the JID of a URI (NULL if it is not an xmpp: URI; a query or
 * fragment is ignored). Caller frees. */
char *fmt_xmpp_uri(const char *jid);
char *fmt_xmpp_uri_jid(const char *uri);

void fmt_mentions_free(struct fmt_mention *m, size_t n);

#endif
