/* What the formatting converters share (formatting.c, formatting_styled.c,
 * formatting_html.c, formatting_sanitize.c): reading HTML with libxml2,
 * walking the tree, the element tests and escaping. Internal to
 * gateway/core/formatting*.c; others use formatting.h. */
#ifndef ISTHMUS_GATEWAY_FORMATTING_INTERNAL_H
#define ISTHMUS_GATEWAY_FORMATTING_INTERNAL_H

#include "common/strbuf.h"
#include "gateway/core/formatting.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>

/* Per-element state is kept for this many levels; deeper elements still
 * give their text but no markup, so depth costs nothing beyond the tree. */
#define MAX_FRAMES 64
/* Nesting that still shows in the output (quote prefixes, list indents):
 * beyond it a line would grow with every level. */
#define MAX_VISIBLE_NESTING 8
/* Larger inputs are not parsed (libxml2 takes an int length, and no
 * Matrix event or XMPP stanza comes near it). */
#define MAX_HTML_BYTES (16u << 20)

#define PILL_PREFIX "https://matrix.to/#/"

/* The XEP-0393 span markers, in both directions. */
enum { MK_BOLD, MK_EM, MK_STRIKE, MK_CODE, MK_COUNT };
static const char marker_chars[MK_COUNT] = { '*', '_', '~', '`' };

struct fmt_visitor {
    /* Returns whether to descend into (and later leave) the element. */
    bool (*enter)(void *ctx, xmlNode *n);
    void (*leave)(void *ctx, xmlNode *n);
    void (*text)(void *ctx, const char *s);
};

/* The leading <html><body> keeps libxml2 from wrapping leading text in an
 * implied <p>. Caller frees with xmlFreeDoc; NULL for empty input. */
htmlDocPtr fmt_parse_html(const char *html);
/* Depth-first walk over the tree below root, iterative (parent links)
 * so that no input can exhaust the stack. */
void fmt_walk(xmlNode *root, const struct fmt_visitor *v, void *ctx);
/* Whether the element is named `name`, or one of `names` (NULL-ended). */
bool fmt_name_is(const xmlNode *n, const char *name);
bool fmt_name_in(const xmlNode *n, const char *const *names);
/* Copy of attribute name (caller frees with free()), or NULL. */
char *fmt_attr(xmlNode *n, const char *name);
/* Whether a link or image may point at url (the schemes Matrix allows). */
bool fmt_url_allowed(const char *url);
/* Appends s[0..n) escaped for element content, or for a double-quoted
 * attribute value. */
void fmt_html_escape(struct strbuf *sb, const char *s, size_t n);
void fmt_attr_escape(struct strbuf *sb, const char *s, size_t n);
/* Elements whose content is never text for a reader, dropped with
 * everything inside them (NULL-terminated). */
extern const char *const fmt_dropped[];

#endif
