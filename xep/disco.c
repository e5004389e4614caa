#include "xep/disco.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

static xmpp_stanza_t *result_for(xmpp_ctx_t *ctx, xmpp_stanza_t *iq)
{
    xmpp_stanza_t *r = xmpp_iq_new(ctx, "result", xmpp_stanza_get_id(iq));
    const char *from = xmpp_stanza_get_from(iq);
    const char *to = xmpp_stanza_get_to(iq);
    if (from)
        xmpp_stanza_set_to(r, from);
    if (to)
        xmpp_stanza_set_from(r, to);
    return r;
}

static xmpp_stanza_t *add_element(xmpp_ctx_t *ctx, xmpp_stanza_t *parent,
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

static void add_text_element(xmpp_ctx_t *ctx, xmpp_stanza_t *parent,
                             const char *name, const char *text)
{
    xmpp_stanza_t *el = add_element(ctx, parent, name, NULL);
    xmpp_stanza_t *t = xmpp_stanza_new(ctx);
    xmpp_stanza_set_text(t, text);
    xmpp_stanza_add_child(el, t);
    xmpp_stanza_release(t);
}

xmpp_stanza_t *disco_info_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                 const struct disco_identity *identity,
                                 const char *const *features)
{
    xmpp_stanza_t *r = result_for(ctx, iq);
    xmpp_stanza_t *q = add_element(ctx, r, "query", NS_DISCO_INFO);
    xmpp_stanza_t *query = xmpp_stanza_get_child_by_name(iq, "query");
    const char *node = query ? xmpp_stanza_get_attribute(query, "node") : NULL;
    if (node)
        xmpp_stanza_set_attribute(q, "node", node);
    xmpp_stanza_t *id = add_element(ctx, q, "identity", NULL);
    xmpp_stanza_set_attribute(id, "category", identity->category);
    xmpp_stanza_set_attribute(id, "type", identity->type);
    if (identity->name)
        xmpp_stanza_set_attribute(id, "name", identity->name);
    for (const char *const *f = features; *f; f++) {
        xmpp_stanza_t *feat = add_element(ctx, q, "feature", NULL);
        xmpp_stanza_set_attribute(feat, "var", *f);
    }
    return r;
}

xmpp_stanza_t *disco_items_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq)
{
    xmpp_stanza_t *r = result_for(ctx, iq);
    add_element(ctx, r, "query", NS_DISCO_ITEMS);
    return r;
}

xmpp_stanza_t *version_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                              const char *name, const char *version)
{
    xmpp_stanza_t *r = result_for(ctx, iq);
    xmpp_stanza_t *q = add_element(ctx, r, "query", NS_VERSION);
    add_text_element(ctx, q, "name", name);
    add_text_element(ctx, q, "version", version);
    return r;
}

xmpp_stanza_t *empty_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq)
{
    return result_for(ctx, iq);
}

xmpp_stanza_t *vcard_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq, const char *fn,
                            const char *nickname)
{
    xmpp_stanza_t *r = result_for(ctx, iq);
    xmpp_stanza_t *v = add_element(ctx, r, "vCard", NS_VCARD);
    if (fn)
        add_text_element(ctx, v, "FN", fn);
    if (nickname)
        add_text_element(ctx, v, "NICKNAME", nickname);
    return r;
}

xmpp_stanza_t *vcard_request(xmpp_ctx_t *ctx, const char *from, const char *to,
                             const char *id)
{
    xmpp_stanza_t *iq = xmpp_iq_new(ctx, "get", id);
    xmpp_stanza_set_from(iq, from);
    xmpp_stanza_set_to(iq, to);
    add_element(ctx, iq, "vCard", NS_VCARD);
    return iq;
}

static char *child_text_copy(xmpp_stanza_t *parent, const char *name)
{
    xmpp_stanza_t *c = xmpp_stanza_get_child_by_name(parent, name);
    if (!c)
        return NULL;
    char *t = xmpp_stanza_get_text(c);
    if (!t)
        return NULL;
    char *copy = *t ? xstrdup(t) : NULL;
    xmpp_free(xmpp_stanza_get_context(parent), t);
    return copy;
}

char *vcard_display_name(xmpp_stanza_t *result)
{
    xmpp_stanza_t *v = xmpp_stanza_get_child_by_name_and_ns(result, "vCard",
                                                            NS_VCARD);
    if (!v)
        return NULL;
    char *name = child_text_copy(v, "FN");
    if (!name)
        name = child_text_copy(v, "NICKNAME");
    return name;
}

xmpp_stanza_t *presence_new(xmpp_ctx_t *ctx, const char *from, const char *to,
                            const char *type)
{
    xmpp_stanza_t *p = xmpp_presence_new(ctx);
    xmpp_stanza_set_from(p, from);
    xmpp_stanza_set_to(p, to);
    if (type)
        xmpp_stanza_set_type(p, type);
    return p;
}
