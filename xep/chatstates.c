#include "xep/chatstates.h"

#include "xep/xml.h"

#include <string.h>

static const char *const names[] = {
    [CHATSTATE_ACTIVE] = "active",       [CHATSTATE_COMPOSING] = "composing",
    [CHATSTATE_PAUSED] = "paused",       [CHATSTATE_INACTIVE] = "inactive",
    [CHATSTATE_GONE] = "gone",
};
#define NSTATES ((int)(sizeof names / sizeof names[0]))

enum chatstate chatstate_of(xmpp_stanza_t *msg)
{
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(msg); c;
         c = xmpp_stanza_get_next(c)) {
        const char *ns = xmpp_stanza_get_ns(c);
        const char *name = xmpp_stanza_get_name(c);
        if (!ns || !name || strcmp(ns, NS_CHATSTATES) != 0)
            continue;
        for (int i = 1; i < NSTATES; i++)
            if (strcmp(name, names[i]) == 0)
                return (enum chatstate)i;
    }
    return CHATSTATE_NONE;
}

const char *chatstate_name(enum chatstate s)
{
    return s > CHATSTATE_NONE && (int)s < NSTATES ? names[s] : NULL;
}

xmpp_stanza_t *chatstate_message(xmpp_ctx_t *ctx, const char *from,
                                 const char *to, const char *type,
                                 enum chatstate s)
{
    xmpp_stanza_t *st = xmpp_message_new(ctx, type, to, NULL);
    xmpp_stanza_set_from(st, from);
    const char *name = chatstate_name(s);
    if (name)
        xml_add_child(ctx, st, name, NS_CHATSTATES);
    xml_add_child(ctx, st, "no-store", NS_HINTS);
    return st;
}
