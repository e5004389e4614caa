#include "xep/xml.h"

#include "common/mem.h"

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

char *xml_child_text(xmpp_stanza_t *parent, const char *name, const char *ns)
{
    if (!parent)
        return NULL;
    xmpp_stanza_t *c = ns ? xmpp_stanza_get_child_by_name_and_ns(parent, name,
                                                                 ns)
                          : xmpp_stanza_get_child_by_name(parent, name);
    if (!c)
        return NULL;
    char *t = xmpp_stanza_get_text(c);
    if (!t)
        return xstrdup("");
    char *copy = xstrdup(t);
    xmpp_free(xmpp_stanza_get_context(parent), t);
    return copy;
}
