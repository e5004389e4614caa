#include "xep/message.h"

#include "common/mem.h"
#include "common/strbuf.h"
#include "xep/encrypted.h"
#include "xep/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *attr_copy(xmpp_stanza_t *st, const char *name)
{
    const char *v = xmpp_stanza_get_attribute(st, name);
    return v ? xstrdup(v) : NULL;
}

/* XEP-0071: the children of <html><body xmlns=xhtml/></html> (html may
 * be NULL), as XML text for the HTML sanitiser (gateway/formatting.c). */
static void parse_xhtml(xmpp_stanza_t *html, struct xmsg *out)
{
    xmpp_stanza_t *body = html ? xmpp_stanza_get_child_by_name_and_ns(
                                     html, "body", NS_XHTML)
                               : NULL;
    if (!body)
        return;
    struct strbuf sb = STRBUF_INIT;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(body); c;
         c = xmpp_stanza_get_next(c)) {
        char *x = xml_serialize(c);
        strbuf_puts(&sb, x);
        free(x);
    }
    out->xhtml = strbuf_detach(&sb);
}

static bool parse_int(const char *s, int *v)
{
    char *end;
    long n = s ? strtol(s, &end, 10) : -1;
    if (!s || !*s || *end || n < 0 || n > 1000000)
        return false;
    *v = (int)n;
    return true;
}

/* XEP-0372 mentions with a range; others (links, anchors) are not ours. */
static void parse_refs(xmpp_stanza_t *st, struct xmsg *out)
{
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(st); c;
         c = xmpp_stanza_get_next(c)) {
        /* The name first: attributes are hash lookups, done for every
         * child if asked before it. */
        const char *cn = xmpp_stanza_get_name(c);
        if (!cn || strcmp(cn, "reference") != 0)
            continue;
        const char *ns = xmpp_stanza_get_ns(c);
        const char *type = xmpp_stanza_get_attribute(c, "type");
        const char *uri = xmpp_stanza_get_attribute(c, "uri");
        int begin, end;
        if (!ns || !type || !uri ||
            strcmp(ns, NS_REFERENCE) != 0 || strcmp(type, "mention") != 0 ||
            !parse_int(xmpp_stanza_get_attribute(c, "begin"), &begin) ||
            !parse_int(xmpp_stanza_get_attribute(c, "end"), &end) ||
            end <= begin)
            continue;
        if (out->n_refs >= XMSG_MAX_REFS)
            break;
        if (!out->refs)
            out->refs = xcalloc(XMSG_MAX_REFS, sizeof *out->refs);
        out->refs[out->n_refs++] = (struct xmsg_ref){ xstrdup(uri), begin,
                                                      end };
    }
}

/* The children xmsg_parse reads: each the first tag child with its name
 * and, when ns is set, that namespace (libstrophe's get_child_by_name and
 * get_child_by_name_and_ns rules). */
enum {
    C_BODY, C_ORIGIN_ID, C_NICK, C_REPLACE, C_REPLY, C_OOB, C_REQUEST,
    C_UNSTYLED, C_HTML, C_COUNT
};
static const struct {
    const char *name, *ns;
} wanted[C_COUNT] = {
    [C_BODY] = { "body", NULL },
    [C_ORIGIN_ID] = { "origin-id", NS_SID },
    [C_NICK] = { "nick", NS_NICK },
    [C_REPLACE] = { "replace", NS_CORRECT },
    [C_REPLY] = { "reply", NS_REPLY },
    [C_OOB] = { "x", NS_OOB },
    [C_REQUEST] = { "request", NS_RECEIPTS },
    [C_UNSTYLED] = { "unstyled", NS_STYLING },
    [C_HTML] = { "html", NS_XHTML_IM },
};

/* Fills found[] in one walk over st's children; a libstrophe lookup per
 * wanted child walked them nine times. */
static void find_children(xmpp_stanza_t *st, xmpp_stanza_t *found[C_COUNT])
{
    for (int i = 0; i < C_COUNT; i++)
        found[i] = NULL;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(st); c;
         c = xmpp_stanza_get_next(c)) {
        if (!xmpp_stanza_is_tag(c))
            continue;
        const char *name = xmpp_stanza_get_name(c);
        for (int i = 0; i < C_COUNT; i++) {
            if (found[i] || strcmp(name, wanted[i].name) != 0)
                continue;
            const char *ns = wanted[i].ns ? xmpp_stanza_get_ns(c) : NULL;
            if (!wanted[i].ns || (ns && strcmp(ns, wanted[i].ns) == 0))
                found[i] = c;
            break; /* names are unique in wanted[] */
        }
    }
}

const char *xmsg_stanza_id_by(xmpp_stanza_t *st, const char *by)
{
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(st); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_get_name(c);
        if (!name || strcmp(name, "stanza-id") != 0)
            continue;
        const char *ns = xmpp_stanza_get_ns(c);
        const char *stamped_by = xmpp_stanza_get_attribute(c, "by");
        if (ns && stamped_by && strcmp(ns, NS_SID) == 0 &&
            strcmp(stamped_by, by) == 0)
            return xmpp_stanza_get_attribute(c, "id");
    }
    return NULL;
}

long long xmsg_delay_ms(xmpp_stanza_t *st)
{
    xmpp_stanza_t *d = xmpp_stanza_get_child_by_name_and_ns(st, "delay",
                                                            NS_DELAY);
    const char *stamp = d ? xmpp_stanza_get_attribute(d, "stamp") : NULL;
    return stamp ? xml_datetime_ms(stamp) : -1;
}

/* The parts other XEPs define, each read by its own module's parser. */
static void parse_extensions(xmpp_stanza_t *st, struct xmsg *out)
{
    out->chatstate = chatstate_of(st);
    const char *marked = NULL;
    out->marker = marker_of(st, &marked);
    if (out->marker != MARKER_NONE && marked)
        out->marker_id = xstrdup(marked);
    out->retract_id = xretract_target(st);
    /* A retraction names its message; reactions on it mean nothing. */
    if (!out->retract_id &&
        xreactions_parse(st, &out->reactions, &out->reactions_error) >= 0)
        out->reactions_error = NULL;
    xmoderated_parse(st, &out->moderated);
    out->delay_ms = xmsg_delay_ms(st);
    out->subject = xml_child_text(st, "subject", NULL);
    out->encryption = xencrypted_scheme(st);
    out->decrypted_from = xencrypted_decrypted_from(st);
    /* Only the sender's bare JID (the room, for a MUC message) may stamp
     * a stanza-id we believe. */
    const char *slash = strchr(out->from, '/');
    size_t bare_len = slash ? (size_t)(slash - out->from) : strlen(out->from);
    char *bare = xstrndup(out->from, bare_len);
    const char *sid = xmsg_stanza_id_by(st, bare);
    out->stanza_id = sid ? xstrdup(sid) : NULL;
    free(bare);
}

int xmsg_parse(xmpp_stanza_t *st, struct xmsg *out, const char **why)
{
    memset(out, 0, sizeof *out);
    const char *name = xmpp_stanza_get_name(st);
    if (!name || strcmp(name, "message") != 0) {
        *why = "not a message stanza";
        return -1;
    }
    out->from = attr_copy(st, "from");
    out->to = attr_copy(st, "to");
    if (!out->from || !out->to) {
        xmsg_free(out);
        *why = "the message has no from or to";
        return -1;
    }
    out->id = attr_copy(st, "id");
    out->type = attr_copy(st, "type");
    if (!out->type)
        out->type = xstrdup("normal"); /* RFC 6121 §5.2.2 default */
    xmpp_stanza_t *found[C_COUNT];
    find_children(st, found);
    /* Bodies in other languages (xml:lang) are rare; the first one wins. */
    if (found[C_BODY])
        out->body = xml_text(found[C_BODY]);
    if (found[C_ORIGIN_ID])
        out->origin_id = attr_copy(found[C_ORIGIN_ID], "id");
    if (found[C_NICK])
        out->nick = xml_text(found[C_NICK]);
    if (found[C_REPLACE])
        out->replace_id = attr_copy(found[C_REPLACE], "id");
    xmpp_stanza_t *reply = found[C_REPLY];
    if (reply) {
        out->reply_id = attr_copy(reply, "id");
        out->reply_to = attr_copy(reply, "to");
    }
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(st); c;
         c = xmpp_stanza_get_next(c)) {
        const char *cn = xmpp_stanza_get_name(c);
        if (!cn || strcmp(cn, "fallback") != 0)
            continue; /* before the attribute lookups, as in parse_refs */
        const char *ns = xmpp_stanza_get_ns(c);
        const char *for_ = xmpp_stanza_get_attribute(c, "for");
        if (!ns || !for_ || strcmp(ns, NS_FALLBACK) != 0 ||
            strcmp(for_, NS_REPLY) != 0)
            continue;
        xmpp_stanza_t *b = xmpp_stanza_get_child_by_name(c, "body");
        const char *start = b ? xmpp_stanza_get_attribute(b, "start") : NULL;
        const char *end = b ? xmpp_stanza_get_attribute(b, "end") : NULL;
        if (start && end && atoi(start) >= 0 && atoi(end) > atoi(start)) {
            out->fallback_start = atoi(start);
            out->fallback_end = atoi(end);
        }
    }
    if (found[C_OOB]) {
        out->oob_url = xml_child_text(found[C_OOB], "url", NULL);
        out->oob_desc = xml_child_text(found[C_OOB], "desc", NULL);
    }
    out->receipt_requested = found[C_REQUEST] != NULL;
    out->unstyled = found[C_UNSTYLED] != NULL;
    parse_xhtml(found[C_HTML], out);
    parse_refs(st, out);
    parse_extensions(st, out);
    return 0;
}

xmpp_stanza_t *xmsg_build(xmpp_ctx_t *ctx, const struct xmsg *m)
{
    xmpp_stanza_t *st = xmpp_message_new(ctx, m->type ? m->type : "chat",
                                         m->to, m->id);
    if (m->from)
        xmpp_stanza_set_from(st, m->from);
    if (m->body)
        xml_add_text_child(ctx, st, "body", NULL, m->body);
    if (m->nick)
        xml_add_text_child(ctx, st, "nick", NS_NICK, m->nick);
    if (m->origin_id) {
        xmpp_stanza_t *oid = xml_add_child(ctx, st, "origin-id", NS_SID);
        xmpp_stanza_set_attribute(oid, "id", m->origin_id);
    }
    if (m->replace_id)
        xmsg_add_replace(ctx, st, m->replace_id);
    if (m->reply_id)
        xmsg_add_reply(ctx, st, m->reply_id, m->reply_to,
                       m->fallback_end - m->fallback_start);
    xmsg_add_refs(ctx, st, m->refs, m->n_refs);
    if (m->oob_url)
        xmsg_add_oob(ctx, st, m->oob_url, m->oob_desc);
    return st;
}

void xmsg_add_refs(xmpp_ctx_t *ctx, xmpp_stanza_t *st,
                   const struct xmsg_ref *refs, int n)
{
    for (int i = 0; i < n && i < XMSG_MAX_REFS; i++) {
        xmpp_stanza_t *r = xml_add_child(ctx, st, "reference", NS_REFERENCE);
        char num[16];
        xmpp_stanza_set_attribute(r, "type", "mention");
        snprintf(num, sizeof num, "%d", refs[i].begin);
        xmpp_stanza_set_attribute(r, "begin", num);
        snprintf(num, sizeof num, "%d", refs[i].end);
        xmpp_stanza_set_attribute(r, "end", num);
        xmpp_stanza_set_attribute(r, "uri", refs[i].uri);
    }
}

void xmsg_add_oob(xmpp_ctx_t *ctx, xmpp_stanza_t *st, const char *url,
                  const char *desc)
{
    xmpp_stanza_t *x = xml_add_child(ctx, st, "x", NS_OOB);
    xml_add_text_child(ctx, x, "url", NULL, url);
    if (desc)
        xml_add_text_child(ctx, x, "desc", NULL, desc);
}

void xmsg_add_reply(xmpp_ctx_t *ctx, xmpp_stanza_t *st, const char *id,
                    const char *to, int fallback_len)
{
    xmpp_stanza_t *r = xml_add_child(ctx, st, "reply", NS_REPLY);
    xmpp_stanza_set_attribute(r, "id", id);
    if (to)
        xmpp_stanza_set_attribute(r, "to", to);
    if (fallback_len <= 0)
        return;
    xmpp_stanza_t *f = xml_add_child(ctx, st, "fallback", NS_FALLBACK);
    xmpp_stanza_set_attribute(f, "for", NS_REPLY);
    xmpp_stanza_t *b = xml_add_child(ctx, f, "body", NULL);
    char end[16];
    snprintf(end, sizeof end, "%d", fallback_len);
    xmpp_stanza_set_attribute(b, "start", "0");
    xmpp_stanza_set_attribute(b, "end", end);
}

void xmsg_add_replace(xmpp_ctx_t *ctx, xmpp_stanza_t *st, const char *id)
{
    xmpp_stanza_t *rep = xml_add_child(ctx, st, "replace", NS_CORRECT);
    xmpp_stanza_set_attribute(rep, "id", id);
}

char *xmsg_stanza_to_xml(xmpp_stanza_t *st)
{
    return xml_serialize(st);
}

const char *xmsg_dedupe_id(const struct xmsg *m)
{
    return m->origin_id && *m->origin_id ? m->origin_id : m->id;
}

xmpp_stanza_t *xmsg_receipt(xmpp_ctx_t *ctx, const char *from, const char *to,
                            const char *id)
{
    xmpp_stanza_t *st = xmpp_message_new(ctx, "chat", to, NULL);
    xmpp_stanza_set_from(st, from);
    xmpp_stanza_t *r = xml_add_child(ctx, st, "received", NS_RECEIPTS);
    xmpp_stanza_set_attribute(r, "id", id);
    return st;
}

void xmsg_free(struct xmsg *m)
{
    free(m->from);
    free(m->to);
    free(m->id);
    free(m->type);
    free(m->body);
    free(m->origin_id);
    free(m->nick);
    free(m->replace_id);
    free(m->reply_id);
    free(m->reply_to);
    free(m->xhtml);
    for (int i = 0; i < m->n_refs; i++)
        free(m->refs[i].uri);
    free(m->refs);
    free(m->oob_url);
    free(m->oob_desc);
    free(m->marker_id);
    free(m->retract_id);
    xreactions_free(&m->reactions);
    xmoderated_free(&m->moderated);
    free(m->subject);
    free(m->stanza_id);
    memset(m, 0, sizeof *m);
}
