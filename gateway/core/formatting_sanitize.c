/* Any HTML -> HTML that the Matrix spec allows (see formatting.h). */
#include "gateway/core/formatting.h"
#include "gateway/core/formatting_internal.h"

#include "common/mem.h"
#include "common/strbuf.h"
#include "common/utf8.h"

#include <ctype.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------- HTML sanitising -- */

/* What the Matrix spec lets a formatted_body hold (client-server API,
 * m.room.message, "HTML"), with the attributes each element may keep. */
struct allowed {
    const char *name;
    const char *attrs[6];
};

static const struct allowed allowlist[] = {
    { "font", { "color", "data-mx-bg-color", "data-mx-color" } },
    { "span", { "data-mx-bg-color", "data-mx-color", "data-mx-spoiler" } },
    { "a", { "href" } },
    { "img", { "src", "alt", "title", "width", "height" } },
    { "ol", { "start" } },
    { "code", { "class" } },
    { "del", { 0 } }, { "h1", { 0 } }, { "h2", { 0 } }, { "h3", { 0 } },
    { "h4", { 0 } }, { "h5", { 0 } }, { "h6", { 0 } },
    { "blockquote", { 0 } }, { "p", { 0 } }, { "ul", { 0 } },
    { "sup", { 0 } }, { "sub", { 0 } }, { "li", { 0 } }, { "b", { 0 } },
    { "i", { 0 } }, { "u", { 0 } }, { "strong", { 0 } }, { "em", { 0 } },
    { "strike", { 0 } }, { "s", { 0 } }, { "hr", { 0 } }, { "br", { 0 } },
    { "div", { 0 } }, { "table", { 0 } }, { "thead", { 0 } },
    { "tbody", { 0 } }, { "tr", { 0 } }, { "th", { 0 } }, { "td", { 0 } },
    { "caption", { 0 } }, { "pre", { 0 } }, { "details", { 0 } },
    { "summary", { 0 } },
};

static const struct allowed *allowed_element(const xmlNode *n)
{
    for (size_t i = 0; i < sizeof allowlist / sizeof *allowlist; i++)
        if (fmt_name_is(n, allowlist[i].name))
            return &allowlist[i];
    return NULL;
}

static bool is_void(const xmlNode *n)
{
    return fmt_name_is(n, "br") || fmt_name_is(n, "hr") || fmt_name_is(n, "img");
}

static bool color_ok(const char *v)
{
    if (v[0] != '#' || strlen(v) != 7)
        return false;
    for (int i = 1; i < 7; i++)
        if (!isxdigit((unsigned char)v[i]))
            return false;
    return true;
}

/* Whether attribute `name` may keep value v on element n. */
static bool attr_ok(const xmlNode *n, const char *name, const char *v)
{
    if (strcmp(name, "href") == 0)
        return fmt_url_allowed(v);
    if (strcmp(name, "src") == 0)
        return strncmp(v, "mxc://", 6) == 0;
    if (strstr(name, "color"))
        return color_ok(v);
    if (strcmp(name, "class") == 0)
        return fmt_name_is(n, "code") && strncmp(v, "language-", 9) == 0 &&
               strspn(v + 9, "abcdefghijklmnopqrstuvwxyz0123456789+-_#") ==
                   strlen(v + 9);
    if (strcmp(name, "start") == 0 || strcmp(name, "width") == 0 ||
        strcmp(name, "height") == 0)
        return *v && strspn(v, "0123456789") == strlen(v) && strlen(v) < 8;
    return true; /* alt, title, data-mx-spoiler: text, escaped */
}

struct sanitizer {
    struct strbuf out;
    int depth, open;
    bool opened[MAX_FRAMES];
    bool visible; /* something but whitespace was written */
};

static bool sanitizer_enter(void *ctx, xmlNode *n)
{
    struct sanitizer *s = ctx;
    if (fmt_name_in(n, fmt_dropped))
        return false;
    const struct allowed *a = allowed_element(n);
    bool open = a && s->depth < MAX_FRAMES;
    if (open && fmt_name_is(n, "img")) {
        /* Only images from the homeserver's media repository: anything
         * else would let the sender track who reads the message. */
        char *src = fmt_attr(n, "src");
        open = src && attr_ok(n, "src", src);
        free(src);
    }
    if (open) {
        strbuf_printf(&s->out, "<%s", a->name);
        for (int i = 0; i < 6 && a->attrs[i]; i++) {
            char *v = fmt_attr(n, a->attrs[i]);
            if (v && attr_ok(n, a->attrs[i], v)) {
                strbuf_printf(&s->out, " %s=\"", a->attrs[i]);
                fmt_attr_escape(&s->out, v, strlen(v));
                strbuf_putc(&s->out, '"');
            }
            free(v);
        }
        strbuf_putc(&s->out, '>');
        if (is_void(n))
            s->visible = true;
    }
    if (s->depth < MAX_FRAMES)
        s->opened[s->depth] = open;
    s->depth++;
    return true;
}

static void sanitizer_leave(void *ctx, xmlNode *n)
{
    struct sanitizer *s = ctx;
    s->depth--;
    if (s->depth < MAX_FRAMES && s->opened[s->depth] && !is_void(n))
        strbuf_printf(&s->out, "</%s>", (const char *)n->name);
}

static void sanitizer_text(void *ctx, const char *t)
{
    struct sanitizer *s = ctx;
    size_t n = strlen(t);
    if (strspn(t, " \t\r\n") != n)
        s->visible = true;
    fmt_html_escape(&s->out, t, n);
}

char *fmt_sanitize_html(const char *html)
{
    htmlDocPtr doc = fmt_parse_html(html ? html : "");
    if (!doc)
        return NULL;
    struct sanitizer *s = xcalloc(1, sizeof *s);
    static const struct fmt_visitor v = { sanitizer_enter, sanitizer_leave,
                                      sanitizer_text };
    fmt_walk((xmlNode *)doc, &v, s);
    xmlFreeDoc(doc);
    char *out = s->visible ? strbuf_detach(&s->out) : NULL;
    strbuf_free(&s->out);
    free(s);
    return out;
}
