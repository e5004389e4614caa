#include "xep/markers.h"

#include "xep/xml.h"

#include <string.h>

enum marker_kind marker_of(xmpp_stanza_t *msg, const char **id)
{
    enum marker_kind best = MARKER_NONE;
    *id = NULL;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(msg); c;
         c = xmpp_stanza_get_next(c)) {
        const char *ns = xmpp_stanza_get_ns(c);
        const char *name = xmpp_stanza_get_name(c);
        const char *cid = xmpp_stanza_get_attribute(c, "id");
        if (!ns || !name || !cid || !*cid)
            continue;
        enum marker_kind k = MARKER_NONE;
        if (strcmp(ns, NS_CHAT_MARKERS) == 0) {
            if (strcmp(name, "displayed") == 0)
                k = MARKER_DISPLAYED;
            else if (strcmp(name, "acknowledged") == 0)
                k = MARKER_ACKNOWLEDGED;
            else if (strcmp(name, "received") == 0)
                k = MARKER_RECEIVED;
        } else if (strcmp(ns, NS_RECEIPTS) == 0 &&
                   strcmp(name, "received") == 0) {
            k = MARKER_RECEIVED;
        }
        if (k > best) {
            best = k;
            *id = cid;
        }
    }
    return best;
}

xmpp_stanza_t *marker_displayed(xmpp_ctx_t *ctx, const char *from,
                                const char *to, const char *type,
                                const char *id)
{
    xmpp_stanza_t *st = xmpp_message_new(ctx, type, to, NULL);
    xmpp_stanza_set_from(st, from);
    xmpp_stanza_t *d = xml_add_child(ctx, st, "displayed", NS_CHAT_MARKERS);
    xmpp_stanza_set_attribute(d, "id", id);
    /* Markers are worth archiving: another client of the user learns from
     * MAM how far the conversation was read. */
    xml_add_child(ctx, st, "store", "urn:xmpp:hints");
    return st;
}
