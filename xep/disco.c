#include "xep/disco.h"

#include "common/mem.h"
#include "xep/xml.h"

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

xmpp_stanza_t *disco_info_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                 const struct disco_identity *identity,
                                 const char *const *features)
{
    xmpp_stanza_t *r = result_for(ctx, iq);
    xmpp_stanza_t *q = xml_add_child(ctx, r, "query", NS_DISCO_INFO);
    xmpp_stanza_t *query = xmpp_stanza_get_child_by_name(iq, "query");
    const char *node = query ? xmpp_stanza_get_attribute(query, "node") : NULL;
    if (node)
        xmpp_stanza_set_attribute(q, "node", node);
    xmpp_stanza_t *id = xml_add_child(ctx, q, "identity", NULL);
    xmpp_stanza_set_attribute(id, "category", identity->category);
    xmpp_stanza_set_attribute(id, "type", identity->type);
    if (identity->name)
        xmpp_stanza_set_attribute(id, "name", identity->name);
    for (const char *const *f = features; *f; f++) {
        xmpp_stanza_t *feat = xml_add_child(ctx, q, "feature", NULL);
        xmpp_stanza_set_attribute(feat, "var", *f);
    }
    return r;
}

xmpp_stanza_t *disco_items_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq)
{
    xmpp_stanza_t *r = result_for(ctx, iq);
    xml_add_child(ctx, r, "query", NS_DISCO_ITEMS);
    return r;
}

bool disco_has_feature(xmpp_stanza_t *result, const char *var)
{
    xmpp_stanza_t *q = xmpp_stanza_get_child_by_name_and_ns(result, "query",
                                                            NS_DISCO_INFO);
    for (xmpp_stanza_t *c = q ? xmpp_stanza_get_children(q) : NULL; c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_get_name(c);
        const char *v = xmpp_stanza_get_attribute(c, "var");
        if (name && v && strcmp(name, "feature") == 0 && strcmp(v, var) == 0)
            return true;
    }
    return false;
}

xmpp_stanza_t *version_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                              const char *name, const char *version)
{
    xmpp_stanza_t *r = result_for(ctx, iq);
    xmpp_stanza_t *q = xml_add_child(ctx, r, "query", NS_VERSION);
    xml_add_text_child(ctx, q, "name", NULL, name);
    xml_add_text_child(ctx, q, "version", NULL, version);
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
    xmpp_stanza_t *v = xml_add_child(ctx, r, "vCard", NS_VCARD);
    if (fn)
        xml_add_text_child(ctx, v, "FN", NULL, fn);
    if (nickname)
        xml_add_text_child(ctx, v, "NICKNAME", NULL, nickname);
    return r;
}

char *vcard_display_name(xmpp_stanza_t *result)
{
    xmpp_stanza_t *v = xmpp_stanza_get_child_by_name_and_ns(result, "vCard",
                                                            NS_VCARD);
    if (!v)
        return NULL;
    char *name = xml_child_text(v, "FN", NULL);
    if (!name || !*name) {
        free(name);
        name = xml_child_text(v, "NICKNAME", NULL);
    }
    if (name && !*name) {
        free(name);
        name = NULL;
    }
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

char *caps_ver(const struct disco_identity *identity,
               const char *const *features)
{
    struct strbuf sb = STRBUF_INIT;
    /* category/type/lang/name< for the identity, then each feature<, in
     * byte order (XEP-0115 5.1). */
    strbuf_printf(&sb, "%s/%s//%s<", identity->category, identity->type,
                  identity->name ? identity->name : "");
    size_t n = 0;
    while (features[n])
        n++;
    const char **sorted = xcalloc(n + 1, sizeof *sorted);
    memcpy(sorted, features, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_str);
    for (size_t i = 0; i < n; i++)
        strbuf_printf(&sb, "%s<", sorted[i]);
    free(sorted);
    unsigned char digest[XMPP_SHA1_DIGEST_SIZE];
    xmpp_sha1_digest((const unsigned char *)sb.data, sb.len, digest);
    strbuf_free(&sb);
    return xml_base64(digest, sizeof digest);
}

void caps_add(xmpp_ctx_t *ctx, xmpp_stanza_t *presence, const char *node,
              const char *ver)
{
    xmpp_stanza_t *c = xml_add_child(ctx, presence, "c", NS_CAPS);
    xmpp_stanza_set_attribute(c, "hash", "sha-1");
    xmpp_stanza_set_attribute(c, "node", node);
    xmpp_stanza_set_attribute(c, "ver", ver);
}
