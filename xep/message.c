#include "xep/message.h"

#include "common/mem.h"
#include "xep/xml.h"

#include <stdlib.h>
#include <string.h>

static char *attr_copy(xmpp_stanza_t *st, const char *name)
{
    const char *v = xmpp_stanza_get_attribute(st, name);
    return v ? xstrdup(v) : NULL;
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
    /* Bodies in other languages (xml:lang) are rare; the first one wins. */
    out->body = xml_child_text(st, "body", NULL);
    xmpp_stanza_t *oid = xmpp_stanza_get_child_by_name_and_ns(st, "origin-id",
                                                              NS_SID);
    if (oid)
        out->origin_id = attr_copy(oid, "id");
    out->nick = xml_child_text(st, "nick", NS_NICK);
    xmpp_stanza_t *rep = xmpp_stanza_get_child_by_name_and_ns(st, "replace",
                                                              NS_CORRECT);
    if (rep)
        out->replace_id = attr_copy(rep, "id");
    out->receipt_requested =
        xmpp_stanza_get_child_by_name_and_ns(st, "request", NS_RECEIPTS) != NULL;
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
    return st;
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
    memset(m, 0, sizeof *m);
}
