#include "xep/xml.h"

#include "common/mem.h"
#include "common/strbuf.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

xmpp_stanza_t *xml_copy_without(xmpp_ctx_t *ctx, xmpp_stanza_t *st,
                                bool (*drop)(xmpp_stanza_t *child, void *ud),
                                void *ud)
{
    xmpp_stanza_t *out = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(out, xmpp_stanza_get_name(st));
    int count = xmpp_stanza_get_attribute_count(st);
    const char **attrs = xcalloc((size_t)(2 * count + 2), sizeof *attrs);
    int n = xmpp_stanza_get_attributes(st, attrs, 2 * count + 2);
    for (int i = 0; i + 1 < n; i += 2)
        xmpp_stanza_set_attribute(out, attrs[i], attrs[i + 1]);
    free(attrs);
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(st); c;
         c = xmpp_stanza_get_next(c)) {
        if (drop(c, ud))
            continue;
        xmpp_stanza_t *copy = xmpp_stanza_copy(c);
        xmpp_stanza_add_child(out, copy);
        xmpp_stanza_release(copy);
    }
    return out;
}

xmpp_stanza_t *xml_add_child(xmpp_ctx_t *ctx, xmpp_stanza_t *parent,
                             const char *name, const char *ns)
{
    xmpp_stanza_t *el = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(el, name);
    if (ns)
        xmpp_stanza_set_ns(el, ns);
    xmpp_stanza_add_child(parent, el);
    xmpp_stanza_release(el); /* the parent holds the reference now */
    return el;
}

xmpp_stanza_t *xml_add_text_child(xmpp_ctx_t *ctx, xmpp_stanza_t *parent,
                                  const char *name, const char *ns,
                                  const char *text)
{
    xmpp_stanza_t *el = xml_add_child(ctx, parent, name, ns);
    xmpp_stanza_t *t = xmpp_stanza_new(ctx);
    xmpp_stanza_set_text(t, text);
    xmpp_stanza_add_child(el, t);
    xmpp_stanza_release(t);
    return el;
}

char *xml_text(xmpp_stanza_t *el)
{
    /* One text child, as a parsed <body/> nearly always has: copy it once
     * instead of having libstrophe concatenate it first. */
    xmpp_stanza_t *only = xmpp_stanza_get_children(el);
    if (only && !xmpp_stanza_get_next(only) && xmpp_stanza_is_text(only)) {
        const char *text = xmpp_stanza_get_text_ptr(only);
        return xstrdup(text ? text : "");
    }
    char *t = xmpp_stanza_get_text(el);
    if (!t)
        return xstrdup("");
    char *copy = xstrdup(t);
    xmpp_free(xmpp_stanza_get_context(el), t);
    return copy;
}

char *xml_child_text(xmpp_stanza_t *parent, const char *name, const char *ns)
{
    if (!parent)
        return NULL;
    xmpp_stanza_t *c = ns ? xmpp_stanza_get_child_by_name_and_ns(parent, name,
                                                                 ns)
                          : xmpp_stanza_get_child_by_name(parent, name);
    return c ? xml_text(c) : NULL;
}

/* The replacement for each of the five XML specials, NULL for every other
 * byte (quotes only matter in attributes, but escaping them in text is
 * valid too and keeps one function). Plain runs between them are found
 * with strcspn, which libc scans many bytes at a time. */
static const char *const xml_escapes[256] = {
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;",
    ['"'] = "&quot;", ['\''] = "&apos;",
};

static void put_escaped(struct strbuf *sb, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (;;) {
        const unsigned char *run = p;
        p += strcspn((const char *)p, "&<>\"'");
        strbuf_append(sb, (const char *)run, (size_t)(p - run));
        if (!*p)
            return;
        strbuf_puts(sb, xml_escapes[*p]);
        p++;
    }
}

#define INLINE_ATTRS 16

static void serialize(struct strbuf *sb, xmpp_stanza_t *st)
{
    if (xmpp_stanza_is_text(st)) {
        const char *text = xmpp_stanza_get_text_ptr(st);
        if (text)
            put_escaped(sb, text);
        return;
    }
    const char *name = xmpp_stanza_get_name(st);
    if (!name)
        return;
    strbuf_putc(sb, '<');
    strbuf_puts(sb, name);
    int count = xmpp_stanza_get_attribute_count(st);
    const char *inline_attrs[2 * INLINE_ATTRS];
    const char **attrs = count <= INLINE_ATTRS
                             ? inline_attrs
                             : xmalloc(2 * (size_t)count * sizeof *attrs);
    int n = xmpp_stanza_get_attributes(st, attrs, 2 * (count > 0 ? count : 1));
    for (int i = 0; i + 1 < n; i += 2) {
        strbuf_putc(sb, ' ');
        strbuf_puts(sb, attrs[i]);
        strbuf_append(sb, "=\"", 2);
        put_escaped(sb, attrs[i + 1]);
        strbuf_putc(sb, '"');
    }
    if (attrs != inline_attrs)
        free(attrs);
    xmpp_stanza_t *child = xmpp_stanza_get_children(st);
    if (!child) {
        strbuf_append(sb, "/>", 2);
        return;
    }
    strbuf_putc(sb, '>');
    for (; child; child = xmpp_stanza_get_next(child))
        serialize(sb, child);
    strbuf_append(sb, "</", 2);
    strbuf_puts(sb, name);
    strbuf_putc(sb, '>');
}

/* A chat message stanza fits in this, so the buffer is allocated once
 * instead of doubling its way up from 64 bytes. */
#define FIRST_CAPACITY 512

char *xml_serialize(xmpp_stanza_t *st)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_reserve(&sb, FIRST_CAPACITY - 1);
    serialize(&sb, st);
    return strbuf_detach(&sb);
}

void xml_serialize_into(struct strbuf *sb, xmpp_stanza_t *st)
{
    serialize(sb, st);
}

long long xml_datetime_ms(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest)
        return -1;
    return (long long)timegm(&tm) * 1000;
}

char *xml_base64(const unsigned char *data, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = xmalloc(n);
    sodium_bin2base64(b64, n, data, len, sodium_base64_VARIANT_ORIGINAL);
    return b64;
}

long xml_unbase64(const char *text, size_t max, unsigned char **out)
{
    size_t n = strlen(text), room = n / 4 * 3 + 3, len = 0;
    *out = NULL;
    if (room > max + 3 + n / 20)
        room = max + 3 + n / 20; /* whitespace aside, more cannot fit */
    unsigned char *bin = xmalloc(room);
    if (sodium_base642bin(bin, room, text, n, " \t\r\n", &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len > max) {
        free(bin);
        return -1;
    }
    *out = bin;
    return (long)len;
}

xmpp_stanza_t *xml_items_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                const char *node, const char *id,
                                xmpp_stanza_t **item)
{
    xmpp_stanza_t *r = xmpp_iq_new(ctx, "result", xmpp_stanza_get_id(iq));
    if (xmpp_stanza_get_from(iq))
        xmpp_stanza_set_to(r, xmpp_stanza_get_from(iq));
    if (xmpp_stanza_get_to(iq))
        xmpp_stanza_set_from(r, xmpp_stanza_get_to(iq));
    xmpp_stanza_t *ps = xml_add_child(ctx, r, "pubsub",
                                      "http://jabber.org/protocol/pubsub");
    xmpp_stanza_t *items = xml_add_child(ctx, ps, "items", NULL);
    xmpp_stanza_set_attribute(items, "node", node);
    *item = xml_add_child(ctx, items, "item", NULL);
    xmpp_stanza_set_attribute(*item, "id", id);
    return r;
}
