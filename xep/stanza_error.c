#include "xep/stanza_error.h"

#include "xep/xml.h"

#include <string.h>

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

const char *stanza_error_condition(xmpp_stanza_t *st, char **text)
{
    xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(st, "error");
    *text = err ? xml_child_text(err, "text", NS_STANZAS) : NULL;
    for (xmpp_stanza_t *c = err ? xmpp_stanza_get_children(err) : NULL; c;
         c = xmpp_stanza_get_next(c)) {
        const char *ns = xmpp_stanza_get_ns(c);
        const char *name = xmpp_stanza_get_name(c);
        if (xmpp_stanza_is_tag(c) && ns && strcmp(ns, NS_STANZAS) == 0 &&
            name && strcmp(name, "text") != 0)
            return name;
    }
    return "undefined-condition";
}
