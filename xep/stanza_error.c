#include "xep/stanza_error.h"

#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

xmpp_stanza_t *stanza_error_reply(xmpp_ctx_t *ctx, xmpp_stanza_t *orig,
                                  const char *type, const char *condition,
                                  const char *text)
{
    xmpp_stanza_t *reply = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(reply, xmpp_stanza_get_name(orig));
    xmpp_stanza_set_type(reply, "error");
    const char *id = xmpp_stanza_get_id(orig);
    if (id)
        xmpp_stanza_set_id(reply, id);
    const char *from = xmpp_stanza_get_from(orig);
    const char *to = xmpp_stanza_get_to(orig);
    if (from)
        xmpp_stanza_set_to(reply, from);
    if (to)
        xmpp_stanza_set_from(reply, to);

    xmpp_stanza_t *err = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(err, "error");
    xmpp_stanza_set_type(err, type);
    xmpp_stanza_t *cond = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(cond, condition);
    xmpp_stanza_set_ns(cond, NS_STANZAS);
    xmpp_stanza_add_child(err, cond);
    xmpp_stanza_release(cond);
    if (text) {
        xmpp_stanza_t *t = xmpp_stanza_new(ctx);
        xmpp_stanza_set_name(t, "text");
        xmpp_stanza_set_ns(t, NS_STANZAS);
        xmpp_stanza_t *body = xmpp_stanza_new(ctx);
        xmpp_stanza_set_text(body, text);
        xmpp_stanza_add_child(t, body);
        xmpp_stanza_release(body);
        xmpp_stanza_add_child(err, t);
        xmpp_stanza_release(t);
    }
    xmpp_stanza_add_child(reply, err);
    xmpp_stanza_release(err);
    return reply;
}
