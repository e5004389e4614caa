/* The formatting converters' shared parts: parsing, walking, the
 * element tests, URIs, mentions and escaping (see formatting.h and
 * formatting_internal.h). */
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

/* ------------------------------------------------------------ parsing -- */

/* The leading <html><body> keeps libxml2 from wrapping leading text in an
 * implied <p>. Caller frees with xmlFreeDoc; NULL for empty input. */
htmlDocPtr fmt_parse_html(const char *html)
{
    size_t n = strlen(html);
    if (n == 0 || n > MAX_HTML_BYTES)
        return NULL;
    char *wrapped = xasprintf("<html><body>%s</body></html>", html);
    htmlDocPtr doc = htmlReadMemory(wrapped, (int)strlen(wrapped), NULL,
                                    "UTF-8",
                                    HTML_PARSE_NONET | HTML_PARSE_NOERROR |
                                        HTML_PARSE_NOWARNING);
    free(wrapped);
    return doc;
}

/* Depth-first walk over the tree below root, iterative (parent links)
 * so that no input can exhaust the stack. */
void fmt_walk(xmlNode *root, const struct fmt_visitor *v, void *ctx)
{
    xmlNode *n = root->children;
    while (n) {
        bool descend = false;
        if (n->type == XML_ELEMENT_NODE)
            descend = v->enter(ctx, n);
        else if ((n->type == XML_TEXT_NODE ||
                  n->type == XML_CDATA_SECTION_NODE) && n->content)
            v->text(ctx, (const char *)n->content);
        if (descend && n->children) {
            n = n->children;
            continue;
        }
        if (descend)
            v->leave(ctx, n);
        while (!n->next) {
            n = n->parent;
            if (!n || n == root)
                return;
            v->leave(ctx, n);
        }
        n = n->next;
    }
}

bool fmt_name_is(const xmlNode *n, const char *name)
{
    return n->name && strcmp((const char *)n->name, name) == 0;
}

bool fmt_name_in(const xmlNode *n, const char *const *names)
{
    for (; *names; names++)
        if (fmt_name_is(n, *names))
            return true;
    return false;
}

/* Elements whose content is never text for a reader. <mx-reply> is the
 * Matrix reply fallback, which the XMPP side rebuilds its own way. */
const char *const fmt_dropped[] = {
    "script", "style", "head", "title", "mx-reply", "template", "iframe",
    "object", "embed", "svg", "math", "noscript", "textarea", "select",
    NULL,
};

/* Copy of attribute name (caller frees with free()), or NULL. */
char *fmt_attr(xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    char *copy = xstrdup((const char *)v);
    xmlFree(v);
    return copy;
}

bool fmt_url_allowed(const char *url)
{
    static const char *const schemes[] = {
        "http", "https", "ftp", "mailto", "xmpp", "magnet", NULL,
    };
    const char *colon = strchr(url, ':');
    if (!colon || colon == url)
        return false; /* relative: nowhere to go from a chat message */
    for (const char *p = url; p < colon; p++)
        if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' &&
            *p != '.')
            return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return false;
    size_t n = (size_t)(colon - url);
    for (size_t i = 0; schemes[i]; i++)
        if (strlen(schemes[i]) == n && strncasecmp(url, schemes[i], n) == 0)
            return true;
    return false;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

char *fmt_pill_mxid(const char *href)
{
    if (!href || strncmp(href, PILL_PREFIX, strlen(PILL_PREFIX)) != 0)
        return NULL;
    const char *p = href + strlen(PILL_PREFIX);
    struct strbuf sb = STRBUF_INIT;
    for (; *p && *p != '?' && sb.len < 256; p++) {
        char c = *p;
        if (c == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 2;
        }
        if ((unsigned char)c <= 0x20 || c == '/' || c == 0x7f)
            break;
        strbuf_putc(&sb, c);
    }
    /* Anything but the end or a query (?via=) after the id: not a user. */
    if ((*p && *p != '?') || sb.len < 4 || sb.data[0] != '@' ||
        !strchr(sb.data, ':')) {
        strbuf_free(&sb);
        return NULL;
    }
    return strbuf_detach(&sb);
}

char *fmt_xmpp_uri(const char *jid)
{
    static const char keep[] = "-._~!$&'()*+,;=:@/";
    struct strbuf sb = STRBUF_INIT;
    strbuf_puts(&sb, "xmpp:");
    for (const unsigned char *p = (const unsigned char *)jid; *p; p++) {
        if (isalnum(*p) || (*p < 0x80 && strchr(keep, *p)))
            strbuf_putc(&sb, (char)*p);
        else
            strbuf_printf(&sb, "%%%02X", *p);
    }
    return strbuf_detach(&sb);
}

char *fmt_xmpp_uri_jid(const char *uri)
{
    if (!uri || strncasecmp(uri, "xmpp:", 5) != 0)
        return NULL;
    const char *p = uri + 5;
    if (p[0] == '/' && p[1] == '/')
        return NULL; /* an authority (xmpp://account/...): not a JID */
    struct strbuf sb = STRBUF_INIT;
    for (; *p && *p != '?' && *p != '#'; p++) {
        char c = *p;
        /* A '%' not followed by two hex digits is taken as it is, as
         * clients that do not encode send it. */
        if (c == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
            c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 2;
        }
        if (c == '\0') {
            strbuf_free(&sb);
            return NULL;
        }
        strbuf_putc(&sb, c);
    }
    if (sb.len == 0)
        return NULL;
    return strbuf_detach(&sb);
}

void fmt_mentions_free(struct fmt_mention *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(m[i].mxid);
    free(m);
}

/* Text is escaped for element content, or with quotes too for an
 * attribute value (always written in double quotes). */
static void escape(struct strbuf *sb, const char *s, size_t n, bool attr)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = attr ? "&quot;" : NULL; break;
        default: break;
        }
        if (!rep)
            continue;
        strbuf_append(sb, s + run, i - run);
        strbuf_puts(sb, rep);
        run = i + 1;
    }
    strbuf_append(sb, s + run, n - run);
}

void fmt_html_escape(struct strbuf *sb, const char *s, size_t n)
{
    escape(sb, s, n, false);
}

void fmt_attr_escape(struct strbuf *sb, const char *s, size_t n)
{
    escape(sb, s, n, true);
}
