#include "gateway/core/formatting.h"

#include "common/mem.h"
#include "common/strbuf.h"
#include "common/utf8.h"

#include <ctype.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

/* ------------------------------------------------------------ parsing -- */

/* The leading <html><body> keeps libxml2 from wrapping leading text in an
 * implied <p>. Caller frees with xmlFreeDoc; NULL for empty input. */
static htmlDocPtr parse_html(const char *html)
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

struct visitor {
    /* Returns whether to descend into (and later leave) the element. */
    bool (*enter)(void *ctx, xmlNode *n);
    void (*leave)(void *ctx, xmlNode *n);
    void (*text)(void *ctx, const char *s);
};

/* Depth-first walk over the tree below root, iterative (parent links)
 * so that no input can exhaust the stack. */
static void walk(xmlNode *root, const struct visitor *v, void *ctx)
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

static bool name_is(const xmlNode *n, const char *name)
{
    return n->name && strcmp((const char *)n->name, name) == 0;
}

static bool name_in(const xmlNode *n, const char *const *names)
{
    for (; *names; names++)
        if (name_is(n, *names))
            return true;
    return false;
}

/* Elements whose content is never text for a reader. <mx-reply> is the
 * Matrix reply fallback, which the XMPP side rebuilds its own way. */
static const char *const dropped[] = {
    "script", "style", "head", "title", "mx-reply", "template", "iframe",
    "object", "embed", "svg", "math", "noscript", "textarea", "select",
    NULL,
};

/* Copy of attribute name (caller frees with free()), or NULL. */
static char *attr(xmlNode *n, const char *name)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    if (!v)
        return NULL;
    char *copy = xstrdup((const char *)v);
    xmlFree(v);
    return copy;
}

static bool url_allowed(const char *url)
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

static void html_escape(struct strbuf *sb, const char *s, size_t n)
{
    escape(sb, s, n, false);
}

static void attr_escape(struct strbuf *sb, const char *s, size_t n)
{
    escape(sb, s, n, true);
}

/* ------------------------------------------- HTML -> XEP-0393 styling -- */

enum { MK_BOLD, MK_EM, MK_STRIKE, MK_CODE, MK_COUNT };
static const char marker_chars[MK_COUNT] = { '*', '_', '~', '`' };

struct frame {
    int marker;         /* MK_*, or -1 */
    size_t mark, after; /* where the opening marker starts and ends */
    char *href;         /* <a>: its target */
    size_t text_at;     /* <a>: where its text starts */
};

struct styler {
    struct strbuf out;
    int depth;
    struct frame frames[MAX_FRAMES];
    int active[MK_COUNT];
    int pre, quote, lists;
    int list_n[MAX_VISIBLE_NESTING]; /* next number, or 0 for bullets */
    int nl_want, nl_trailing;
    bool line_start, pending_space;
    size_t *capture; /* set to where the next visible piece goes */
    struct fmt_mention *mentions;
    size_t n_mentions;
    bool want_mentions;
};

static void want_break(struct styler *s, int k)
{
    if (s->nl_want < k)
        s->nl_want = k;
    s->pending_space = false;
}

static void newline(struct styler *s)
{
    strbuf_putc(&s->out, '\n');
    s->nl_trailing++;
    s->line_start = true;
}

/* Everything visible goes through here: pending line breaks first, then
 * the quote prefix a new line needs, then (unless closing a span, whose
 * marker must touch its text) the space collapsed before it. */
static void put_ex(struct styler *s, const char *p, size_t n, bool closing)
{
    if (n == 0)
        return;
    if (s->out.len == 0)
        s->nl_want = 0;
    while (s->nl_trailing < s->nl_want)
        newline(s);
    s->nl_want = 0;
    if (s->line_start) {
        int q = s->quote < MAX_VISIBLE_NESTING ? s->quote
                                                : MAX_VISIBLE_NESTING;
        for (int i = 0; i < q; i++)
            strbuf_puts(&s->out, "> ");
        s->line_start = false;
        s->pending_space = false;
    } else if (s->pending_space && !closing) {
        strbuf_putc(&s->out, ' ');
        s->pending_space = false;
    }
    if (s->capture) {
        *s->capture = s->out.len;
        s->capture = NULL;
    }
    strbuf_append(&s->out, p, n);
    s->nl_trailing = 0;
}

static void put(struct styler *s, const char *p)
{
    put_ex(s, p, strlen(p), false);
}

static void styler_text(void *ctx, const char *t)
{
    struct styler *s = ctx;
    if (s->pre) {
        /* Preformatted: kept as is, line by line (for the quote prefix). */
        for (;;) {
            const char *nl = strchr(t, '\n');
            put_ex(s, t, nl ? (size_t)(nl - t) : strlen(t), false);
            if (!nl)
                return;
            newline(s);
            t = nl + 1;
        }
    }
    while (*t) {
        size_t sp = strspn(t, " \t\r\n\f");
        if (sp) {
            /* Runs of whitespace are one space, and none at a line's
             * start or before a pending break. */
            if (!s->line_start && s->out.len > 0 && !s->nl_want)
                s->pending_space = true;
            t += sp;
            continue;
        }
        size_t word = strcspn(t, " \t\r\n\f");
        put_ex(s, t, word, false);
        t += word;
    }
}

static int marker_of(const xmlNode *n)
{
    static const char *const bold[] = { "strong", "b", "h1", "h2", "h3",
                                        "h4", "h5", "h6", NULL };
    static const char *const em[] = { "em", "i", "cite", NULL };
    static const char *const strike[] = { "del", "s", "strike", NULL };
    if (name_in(n, bold))
        return MK_BOLD;
    if (name_in(n, em))
        return MK_EM;
    if (name_in(n, strike))
        return MK_STRIKE;
    if (name_is(n, "code"))
        return MK_CODE;
    return -1;
}

static const char *const blocks[] = {
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead",
    "tbody", "tr", "caption", "ul", "ol", "li", "blockquote", "pre",
    "details", "summary", "section", "article", "dl", "dt", "dd", NULL,
};

static void styler_enter_element(struct styler *s, xmlNode *n,
                                 struct frame *f)
{
    if (name_in(n, blocks))
        want_break(s, 1);
    if (name_is(n, "br")) {
        while (s->nl_trailing < s->nl_want)
            newline(s);
        s->nl_want = 0;
        newline(s);
        s->pending_space = false;
    } else if (name_is(n, "hr")) {
        want_break(s, 1);
        put(s, "---");
        want_break(s, 1);
    } else if (name_is(n, "img")) {
        char *alt = attr(n, "alt");
        put(s, alt && *alt ? alt : "(image)");
        free(alt);
    } else if (name_is(n, "blockquote")) {
        s->quote++;
    } else if (name_is(n, "pre")) {
        put(s, "```");
        newline(s);
        s->pre++;
    } else if (name_is(n, "ul") || name_is(n, "ol")) {
        if (s->lists < MAX_VISIBLE_NESTING) {
            char *start = attr(n, "start");
            int first = start ? atoi(start) : 1;
            free(start);
            s->list_n[s->lists] = name_is(n, "ol") ? (first > 0 && first <
                                                     1000000 ? first : 1)
                                                   : 0;
        }
        s->lists++;
    } else if (name_is(n, "li")) {
        int level = s->lists < MAX_VISIBLE_NESTING ? s->lists
                                                   : MAX_VISIBLE_NESTING;
        for (int i = 1; i < level; i++)
            put(s, "  ");
        if (level > 0 && s->list_n[level - 1] > 0) {
            char num[16];
            snprintf(num, sizeof num, "%d. ", s->list_n[level - 1]++);
            put(s, num);
        } else {
            put(s, "- ");
        }
    } else if (name_is(n, "a") && f) {
        f->href = attr(n, "href");
        /* The text starts where the next visible piece does, after any
         * break, prefix or space put_ex writes first. */
        f->text_at = s->out.len;
        s->capture = &f->text_at;
    }
    int mk = marker_of(n);
    if (f && mk >= 0 && !s->pre && !s->active[MK_CODE] && !s->active[mk]) {
        char m[2] = { marker_chars[mk], 0 };
        put(s, m);
        f->marker = mk;
        f->after = s->out.len;
        f->mark = f->after - 1;
        s->active[mk]++;
    }
}

static bool styler_enter(void *ctx, xmlNode *n)
{
    struct styler *s = ctx;
    if (name_in(n, dropped))
        return false;
    struct frame *f = s->depth < MAX_FRAMES ? &s->frames[s->depth] : NULL;
    if (f)
        *f = (struct frame){ .marker = -1 };
    s->depth++;
    styler_enter_element(s, n, f);
    return true;
}

static void add_mention(struct styler *s, const char *mxid, size_t from,
                        size_t to)
{
    if (!s->want_mentions || s->n_mentions >= FMT_MAX_MENTIONS)
        return;
    if (!s->mentions)
        s->mentions = xcalloc(FMT_MAX_MENTIONS, sizeof *s->mentions);
    struct fmt_mention *m = &s->mentions[s->n_mentions++];
    m->mxid = xstrdup(mxid);
    m->begin = (int)utf8_count(s->out.data, from);
    m->end = m->begin + (int)utf8_count(s->out.data + from, to - from);
}

static void styler_leave_link(struct styler *s, struct frame *f)
{
    size_t at = f->text_at <= s->out.len ? f->text_at : s->out.len;
    char *mxid = fmt_pill_mxid(f->href);
    if (mxid) {
        /* A pill: its text is the display name, which is what an XMPP
         * reader knows the person by. */
        if (at == s->out.len)
            put(s, mxid);
        add_mention(s, mxid, at, s->out.len);
        free(mxid);
    } else if (f->href && url_allowed(f->href)) {
        const char *text = s->out.data ? s->out.data + at : "";
        size_t n = s->out.len - at;
        const char *href = f->href;
        bool same = (strlen(href) == n && memcmp(href, text, n) == 0) ||
                    (strncmp(href, "mailto:", 7) == 0 &&
                     strlen(href + 7) == n && memcmp(href + 7, text, n) == 0);
        if (n == 0) {
            put(s, href);
        } else if (!same) {
            put_ex(s, " <", 2, true);
            put_ex(s, href, strlen(href), true);
            put_ex(s, ">", 1, true);
        }
    }
    free(f->href);
    f->href = NULL;
}

static void styler_leave(void *ctx, xmlNode *n)
{
    struct styler *s = ctx;
    s->depth--;
    struct frame *f = s->depth < MAX_FRAMES ? &s->frames[s->depth] : NULL;
    if (f && f->marker >= 0) {
        s->active[f->marker]--;
        if (s->out.len == f->after) {
            /* Nothing inside: "**" would be text, not styling. */
            s->out.len = f->mark;
            s->out.data[s->out.len] = '\0';
        } else {
            char m[2] = { marker_chars[f->marker], 0 };
            put_ex(s, m, 1, true);
        }
    }
    if (f && name_is(n, "a")) {
        if (s->capture == &f->text_at)
            s->capture = NULL; /* an empty link */
        styler_leave_link(s, f);
    }
    if (name_is(n, "blockquote")) {
        s->quote--;
    } else if (name_is(n, "pre")) {
        s->pre--;
        if (!s->line_start)
            newline(s);
        put(s, "```");
    } else if (name_is(n, "ul") || name_is(n, "ol")) {
        s->lists--;
    } else if (name_is(n, "td") || name_is(n, "th")) {
        s->pending_space = true;
    }
    if (name_in(n, blocks))
        want_break(s, name_is(n, "p") ? 2 : 1);
}

char *fmt_html_to_styled(const char *html, struct fmt_mention **mentions,
                         size_t *n_mentions)
{
    if (mentions) {
        *mentions = NULL;
        *n_mentions = 0;
    }
    htmlDocPtr doc = parse_html(html ? html : "");
    if (!doc)
        return xstrdup("");
    struct styler *s = xcalloc(1, sizeof *s);
    s->want_mentions = mentions != NULL;
    s->line_start = true;
    static const struct visitor v = { styler_enter, styler_leave,
                                      styler_text };
    walk((xmlNode *)doc, &v, s);
    xmlFreeDoc(doc);
    char *out = strbuf_detach(&s->out);
    /* Trailing newlines are only the last block's end. */
    size_t n = strlen(out);
    while (n > 0 && out[n - 1] == '\n')
        out[--n] = '\0';
    if (mentions) {
        *mentions = s->mentions;
        *n_mentions = s->n_mentions;
    }
    free(s);
    return out;
}

/* ------------------------------------------- XEP-0393 styling -> HTML -- */

struct line {
    size_t start, end; /* content, after any quote prefixes */
};

struct brange {
    size_t start, end;
    const char *mxid;
};

struct renderer {
    struct strbuf out;
    const char *text;
    struct brange *ment;
    size_t n_ment;
    bool styled;
    bool plain; /* <unstyled/>: lines and mentions only */
};

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Plain text, with any mention that lies wholly inside it as a pill. */
static void emit_plain(struct renderer *r, size_t a, size_t b)
{
    size_t at = a;
    for (size_t i = 0; i < r->n_ment; i++) {
        const struct brange *m = &r->ment[i];
        if (m->start < at || m->end > b)
            continue;
        html_escape(&r->out, r->text + at, m->start - at);
        strbuf_puts(&r->out, "<a href=\"" PILL_PREFIX);
        attr_escape(&r->out, m->mxid, strlen(m->mxid));
        strbuf_puts(&r->out, "\">");
        html_escape(&r->out, r->text + m->start, m->end - m->start);
        strbuf_puts(&r->out, "</a>");
        at = m->end;
        r->styled = true;
    }
    html_escape(&r->out, r->text + at, b - at);
}

/* XEP-0393 §6.2 spans in text[a, b): an opening directive at the start,
 * after whitespace or after another opening directive, not followed by
 * whitespace; the first matching directive not preceded by whitespace
 * closes it. mask holds the span types already open, which cannot nest
 * in themselves (so recursion is at most four deep). */
static void emit_spans(struct renderer *r, size_t a, size_t b, unsigned mask)
{
    static const char *const tags[MK_COUNT] = { "strong", "em", "del",
                                                "code" };
    const char *t = r->text;
    size_t plain = a;
    for (size_t i = a; i < b; i++) {
        const char *d = memchr(marker_chars, t[i], MK_COUNT);
        if (!d || t[i] == '\0')
            continue;
        int mk = (int)(d - marker_chars);
        if ((mask & (1u << mk)) || (i > a && !is_ws(t[i - 1])) ||
            i + 1 >= b || is_ws(t[i + 1]))
            continue;
        size_t j = i + 2;
        while (j < b && !(t[j] == t[i] && !is_ws(t[j - 1])))
            j++;
        if (j >= b)
            continue;
        emit_plain(r, plain, i);
        strbuf_printf(&r->out, "<%s>", tags[mk]);
        if (mk == MK_CODE)
            html_escape(&r->out, t + i + 1, j - i - 1);
        else
            emit_spans(r, i + 1, j, mask | (1u << mk));
        strbuf_printf(&r->out, "</%s>", tags[mk]);
        r->styled = true;
        i = j;
        plain = j + 1;
    }
    emit_plain(r, plain, b);
}

/* A line that is exactly ``` (trailing spaces aside) ends a code block. */
static bool is_fence_end(const char *t, const struct line *l)
{
    size_t e = l->end;
    while (e > l->start && is_ws(t[e - 1]))
        e--;
    return e - l->start == 3 && memcmp(t + l->start, "```", 3) == 0;
}

/* XEP-0393 §6.1 blocks: ``` preformatted blocks, "> " quotes (their
 * content parsed again, as nested blocks), else plain lines. */
static void emit_blocks(struct renderer *r, const struct line *lines,
                        size_t n, int depth)
{
    const char *t = r->text;
    bool after_plain = false;
    for (size_t i = 0; i < n;) {
        const struct line *l = &lines[i];
        size_t len = l->end - l->start;
        if (r->plain) {
            if (i > 0)
                strbuf_puts(&r->out, "<br>");
            emit_plain(r, l->start, l->end);
            i++;
            continue;
        }
        if (len >= 3 && memcmp(t + l->start, "```", 3) == 0) {
            size_t j = i + 1;
            while (j < n && !is_fence_end(t, &lines[j]))
                j++;
            strbuf_puts(&r->out, "<pre><code>");
            for (size_t k = i + 1; k < j; k++) {
                html_escape(&r->out, t + lines[k].start,
                            lines[k].end - lines[k].start);
                strbuf_putc(&r->out, '\n');
            }
            strbuf_puts(&r->out, "</code></pre>");
            r->styled = true;
            after_plain = false;
            i = j < n ? j + 1 : j;
            continue;
        }
        if (len >= 1 && t[l->start] == '>' && depth < MAX_VISIBLE_NESTING) {
            size_t j = i;
            while (j < n && lines[j].end > lines[j].start &&
                   t[lines[j].start] == '>')
                j++;
            struct line *sub = xmalloc((j - i) * sizeof *sub);
            for (size_t k = i; k < j; k++) {
                size_t s = lines[k].start + 1;
                if (s < lines[k].end && t[s] == ' ')
                    s++;
                sub[k - i] = (struct line){ s, lines[k].end };
            }
            strbuf_puts(&r->out, "<blockquote>");
            emit_blocks(r, sub, j - i, depth + 1);
            strbuf_puts(&r->out, "</blockquote>");
            free(sub);
            r->styled = true;
            after_plain = false;
            i = j;
            continue;
        }
        if (after_plain)
            strbuf_puts(&r->out, "<br>");
        emit_spans(r, l->start, l->end, 0);
        after_plain = true;
        i++;
    }
}

static int cmp_brange(const void *a, const void *b)
{
    const struct brange *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Mentions as byte ranges, in order, without overlaps or bad offsets.
 * Returns how many; *out is the caller's (free). */
static size_t mention_ranges(const char *text,
                             const struct fmt_mention *m, size_t n,
                             struct brange **out)
{
    *out = NULL;
    if (n == 0)
        return 0;
    if (n > FMT_MAX_MENTIONS)
        n = FMT_MAX_MENTIONS;
    struct brange *b = xcalloc(n, sizeof *b);
    size_t k = 0, total = utf8_count(text, strlen(text));
    for (size_t i = 0; i < n; i++) {
        if (!m[i].mxid || m[i].begin < 0 || m[i].end <= m[i].begin ||
            (size_t)m[i].end > total)
            continue;
        b[k++] = (struct brange){ utf8_offset(text, (size_t)m[i].begin),
                                  utf8_offset(text, (size_t)m[i].end),
                                  m[i].mxid };
    }
    qsort(b, k, sizeof *b, cmp_brange);
    size_t w = 0;
    for (size_t i = 0; i < k; i++)
        if (w == 0 || b[i].start >= b[w - 1].end)
            b[w++] = b[i];
    *out = b;
    return w;
}

static char *render(const char *text, const struct fmt_mention *mentions,
                    size_t n_mentions, bool plain)
{
    if (!text || !*text)
        return NULL;
    struct renderer r = { .out = STRBUF_INIT, .text = text, .plain = plain };
    r.n_ment = mention_ranges(text, mentions, n_mentions, &r.ment);
    size_t n = 1;
    for (const char *p = text; (p = strchr(p, '\n')); p++)
        n++;
    struct line *lines = xmalloc(n * sizeof *lines);
    size_t k = 0, start = 0;
    for (size_t i = 0;; i++) {
        if (text[i] == '\n' || text[i] == '\0') {
            lines[k++] = (struct line){ start, i };
            start = i + 1;
            if (text[i] == '\0')
                break;
        }
    }
    emit_blocks(&r, lines, k, 0);
    free(lines);
    free(r.ment);
    if (!r.styled) {
        strbuf_free(&r.out);
        return NULL;
    }
    return strbuf_detach(&r.out);
}

char *fmt_styled_to_html(const char *text, const struct fmt_mention *mentions,
                         size_t n_mentions)
{
    return render(text, mentions, n_mentions, false);
}

char *fmt_mentions_to_html(const char *text, const struct fmt_mention *mentions,
                           size_t n_mentions)
{
    return render(text, mentions, n_mentions, true);
}

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
        if (name_is(n, allowlist[i].name))
            return &allowlist[i];
    return NULL;
}

static bool is_void(const xmlNode *n)
{
    return name_is(n, "br") || name_is(n, "hr") || name_is(n, "img");
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
        return url_allowed(v);
    if (strcmp(name, "src") == 0)
        return strncmp(v, "mxc://", 6) == 0;
    if (strstr(name, "color"))
        return color_ok(v);
    if (strcmp(name, "class") == 0)
        return name_is(n, "code") && strncmp(v, "language-", 9) == 0 &&
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
    if (name_in(n, dropped))
        return false;
    const struct allowed *a = allowed_element(n);
    bool open = a && s->depth < MAX_FRAMES;
    if (open && name_is(n, "img")) {
        /* Only images from the homeserver's media repository: anything
         * else would let the sender track who reads the message. */
        char *src = attr(n, "src");
        open = src && attr_ok(n, "src", src);
        free(src);
    }
    if (open) {
        strbuf_printf(&s->out, "<%s", a->name);
        for (int i = 0; i < 6 && a->attrs[i]; i++) {
            char *v = attr(n, a->attrs[i]);
            if (v && attr_ok(n, a->attrs[i], v)) {
                strbuf_printf(&s->out, " %s=\"", a->attrs[i]);
                attr_escape(&s->out, v, strlen(v));
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
    html_escape(&s->out, t, n);
}

char *fmt_sanitize_html(const char *html)
{
    htmlDocPtr doc = parse_html(html ? html : "");
    if (!doc)
        return NULL;
    struct sanitizer *s = xcalloc(1, sizeof *s);
    static const struct visitor v = { sanitizer_enter, sanitizer_leave,
                                      sanitizer_text };
    walk((xmlNode *)doc, &v, s);
    xmlFreeDoc(doc);
    char *out = s->visible ? strbuf_detach(&s->out) : NULL;
    strbuf_free(&s->out);
    free(s);
    return out;
}
