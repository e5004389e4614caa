#include "xep/reactions.h"

#include "common/mem.h"
#include "common/utf8.h"
#include "xep/xml.h"

#include <stdlib.h>
#include <string.h>

static bool already_has(const struct xreactions *r, const char *key)
{
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->keys[i], key) == 0)
            return true;
    return false;
}

int xreactions_parse(xmpp_stanza_t *msg, struct xreactions *out,
                     const char **why)
{
    memset(out, 0, sizeof *out);
    xmpp_stanza_t *el = xmpp_stanza_get_child_by_name_and_ns(msg, "reactions",
                                                             NS_REACTIONS);
    if (!el)
        return 0;
    const char *id = xmpp_stanza_get_attribute(el, "id");
    if (!id || !*id) {
        *why = "the reactions name no message (id)";
        return -1;
    }
    out->id = xstrdup(id);
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(el); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_get_name(c);
        if (!xmpp_stanza_is_tag(c) || !name || strcmp(name, "reaction") != 0)
            continue;
        char *key = xmpp_stanza_get_text(c);
        size_t len = key ? strlen(key) : 0;
        const char *bad = NULL;
        if (len > REACTION_MAX_BYTES)
            bad = "a reaction is too long";
        else if (len && !utf8_valid(key, len))
            bad = "a reaction is not valid UTF-8";
        else if (len && !already_has(out, key) && out->n == REACTIONS_MAX)
            bad = "too many reactions to one message";
        if (bad) {
            xmpp_free(xmpp_stanza_get_context(msg), key);
            xreactions_free(out);
            *why = bad;
            return -1;
        }
        if (len && !already_has(out, key)) {
            out->keys = xrealloc(out->keys, (size_t)(out->n + 1) *
                                                sizeof *out->keys);
            out->keys[out->n++] = xstrdup(key);
        }
        if (key)
            xmpp_free(xmpp_stanza_get_context(msg), key);
    }
    return 1;
}

void xreactions_free(struct xreactions *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->keys[i]);
    free(r->keys);
    free(r->id);
    memset(r, 0, sizeof *r);
}

void xreactions_add(xmpp_ctx_t *ctx, xmpp_stanza_t *st, const char *id,
                    const char *const *keys, int n)
{
    xmpp_stanza_t *el = xml_add_child(ctx, st, "reactions", NS_REACTIONS);
    xmpp_stanza_set_attribute(el, "id", id);
    for (int i = 0; i < n; i++)
        xml_add_text_child(ctx, el, "reaction", NULL, keys[i]);
    xml_add_child(ctx, st, "store", NS_HINTS);
}
