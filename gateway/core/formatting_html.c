/* XEP-0393 message styling -> Matrix HTML (see formatting.h). */
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
        fmt_html_escape(&r->out, r->text + at, m->start - at);
        strbuf_puts(&r->out, "<a href=\"" PILL_PREFIX);
        fmt_attr_escape(&r->out, m->mxid, strlen(m->mxid));
        strbuf_puts(&r->out, "\">");
        fmt_html_escape(&r->out, r->text + m->start, m->end - m->start);
        strbuf_puts(&r->out, "</a>");
        at = m->end;
        r->styled = true;
    }
    fmt_html_escape(&r->out, r->text + at, b - at);
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
            fmt_html_escape(&r->out, t + i + 1, j - i - 1);
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
                fmt_html_escape(&r->out, t + lines[k].start,
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
