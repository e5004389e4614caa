#include "xep/stanza_error.h"

#include "xep/xml.h"

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

    xmpp_stanza_t *err = xml_add_child(ctx, reply, "error", NULL);
    xmpp_stanza_set_type(err, type);
    xml_add_child(ctx, err, condition, NS_STANZAS);
    if (text)
        xml_add_text_child(ctx, err, "text", NS_STANZAS, text);
    return reply;
}
