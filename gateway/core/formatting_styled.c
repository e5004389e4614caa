/* Matrix HTML -> XEP-0393 message styling (see formatting.h). */
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

/* ------------------------------------------- HTML -> XEP-0393 styling -- */

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
    if (fmt_name_in(n, bold))
        return MK_BOLD;
    if (fmt_name_in(n, em))
        return MK_EM;
    if (fmt_name_in(n, strike))
        return MK_STRIKE;
    if (fmt_name_is(n, "code"))
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
    if (fmt_name_in(n, blocks))
        want_break(s, 1);
    if (fmt_name_is(n, "br")) {
        while (s->nl_trailing < s->nl_want)
            newline(s);
        s->nl_want = 0;
        newline(s);
        s->pending_space = false;
    } else if (fmt_name_is(n, "hr")) {
        want_break(s, 1);
        put(s, "---");
        want_break(s, 1);
    } else if (fmt_name_is(n, "img")) {
        char *alt = fmt_attr(n, "alt");
        put(s, alt && *alt ? alt : "(image)");
        free(alt);
    } else if (fmt_name_is(n, "blockquote")) {
        s->quote++;
    } else if (fmt_name_is(n, "pre")) {
        put(s, "```");
        newline(s);
        s->pre++;
    } else if (fmt_name_is(n, "ul") || fmt_name_is(n, "ol")) {
        if (s->lists < MAX_VISIBLE_NESTING) {
            char *start = fmt_attr(n, "start");
            int first = start ? atoi(start) : 1;
            free(start);
            s->list_n[s->lists] = fmt_name_is(n, "ol") ? (first > 0 && first <
                                                     1000000 ? first : 1)
                                                   : 0;
        }
        s->lists++;
    } else if (fmt_name_is(n, "li")) {
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
    } else if (fmt_name_is(n, "a") && f) {
        f->href = fmt_attr(n, "href");
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
    if (fmt_name_in(n, fmt_dropped))
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
    } else if (f->href && fmt_url_allowed(f->href)) {
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
    if (f && fmt_name_is(n, "a")) {
        if (s->capture == &f->text_at)
            s->capture = NULL; /* an empty link */
        styler_leave_link(s, f);
    }
    if (fmt_name_is(n, "blockquote")) {
        s->quote--;
    } else if (fmt_name_is(n, "pre")) {
        s->pre--;
        if (!s->line_start)
            newline(s);
        put(s, "```");
    } else if (fmt_name_is(n, "ul") || fmt_name_is(n, "ol")) {
        s->lists--;
    } else if (fmt_name_is(n, "td") || fmt_name_is(n, "th")) {
        s->pending_space = true;
    }
    if (fmt_name_in(n, blocks))
        want_break(s, fmt_name_is(n, "p") ? 2 : 1);
}

char *fmt_html_to_styled(const char *html, struct fmt_mention **mentions,
                         size_t *n_mentions)
{
    if (mentions) {
        *mentions = NULL;
        *n_mentions = 0;
    }
    htmlDocPtr doc = fmt_parse_html(html ? html : "");
    if (!doc)
        return xstrdup("");
    struct styler *s = xcalloc(1, sizeof *s);
    s->want_mentions = mentions != NULL;
    s->line_start = true;
    static const struct fmt_visitor v = { styler_enter, styler_leave,
                                      styler_text };
    fmt_walk((xmlNode *)doc, &v, s);
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
