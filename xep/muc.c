#include "xep/muc.h"

#include "xep/message.h"

#include <stdio.h>

static xmpp_stanza_t *child(xmpp_ctx_t *ctx, xmpp_stanza_t *parent,
                            const char *name, const char *ns)
{
    xmpp_stanza_t *el = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(el, name);
    if (ns)
        xmpp_stanza_set_ns(el, ns);
    xmpp_stanza_add_child(parent, el);
    xmpp_stanza_release(el); /* the parent holds it */
    return el;
}

xmpp_stanza_t *muc_presence(xmpp_ctx_t *ctx, const char *from, const char *to,
                            const char *type, const struct muc_item *item,
                            const int *codes)
{
    xmpp_stanza_t *p = xmpp_presence_new(ctx);
    xmpp_stanza_set_from(p, from);
    xmpp_stanza_set_to(p, to);
    if (type)
        xmpp_stanza_set_type(p, type);
    xmpp_stanza_t *x = child(ctx, p, "x", NS_MUC_USER);
    xmpp_stanza_t *it = child(ctx, x, "item", NULL);
    xmpp_stanza_set_attribute(it, "affiliation", item->affiliation);
    xmpp_stanza_set_attribute(it, "role", item->role);
    if (item->jid)
        xmpp_stanza_set_attribute(it, "jid", item->jid);
    for (; codes && *codes; codes++) {
        char code[8];
        snprintf(code, sizeof code, "%d", *codes);
        xmpp_stanza_t *status = child(ctx, x, "status", NULL);
        xmpp_stanza_set_attribute(status, "code", code);
    }
    return p;
}

xmpp_stanza_t *muc_subject(xmpp_ctx_t *ctx, const char *room, const char *to,
                           const char *subject)
{
    xmpp_stanza_t *m = xmpp_message_new(ctx, "groupchat", to, NULL);
    xmpp_stanza_set_from(m, room);
    xmpp_stanza_t *s = child(ctx, m, "subject", NULL);
    if (*subject) {
        xmpp_stanza_t *t = xmpp_stanza_new(ctx);
        xmpp_stanza_set_text(t, subject);
        xmpp_stanza_add_child(s, t);
        xmpp_stanza_release(t);
    }
    return m;
}

xmpp_stanza_t *muc_groupchat(xmpp_ctx_t *ctx, const char *from, const char *to,
                             const char *id, const char *body,
                             const char *stanza_id, const char *room)
{
    struct xmsg m = { .from = (char *)from, .to = (char *)to, .id = (char *)id,
                      .type = "groupchat", .body = (char *)body };
    xmpp_stanza_t *st = xmsg_build(ctx, &m);
    xmpp_stanza_t *sid = child(ctx, st, "stanza-id", NS_SID);
    xmpp_stanza_set_attribute(sid, "id", stanza_id);
    xmpp_stanza_set_attribute(sid, "by", room);
    return st;
}
