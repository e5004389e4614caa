/* Presence payloads (RFC 6121 show/status, XEP-0172 nick): parse an XMPP
 * user's presence into a plain struct, build the presences the gateway's
 * JIDs send. */
#ifndef ISTHMUS_XEP_PRESENCE_STANZA_H
#define ISTHMUS_XEP_PRESENCE_STANZA_H

#include <strophe.h>

#define NS_NICK "http://jabber.org/protocol/nick"

struct xpresence {
    char *type;   /* NULL for available */
    char *show;   /* away, chat, dnd, xa, or NULL */
    char *status; /* NULL if none */
    char *nick;   /* XEP-0172, NULL if none */
};

/* Fills out (every string a copy; xpresence_free). Status and nick are cut
 * to max_text bytes (on a UTF-8 boundary): they end up in a profile or a
 * status message, not in a message body. */
void xpresence_parse(xmpp_stanza_t *st, struct xpresence *out,
                     size_t max_text);
void xpresence_free(struct xpresence *p);

/* <presence from to [type]> with <show/>, <status/> and a XEP-0172 <nick/>
 * when given (each may be NULL). Caller releases. */
xmpp_stanza_t *xpresence_build(xmpp_ctx_t *ctx, const char *from,
                               const char *to, const char *type,
                               const char *show, const char *status,
                               const char *nick);
/* Adds show and status (either may be NULL) to a built presence, e.g. a
 * MUC occupant presence. */
void xpresence_add_show(xmpp_ctx_t *ctx, xmpp_stanza_t *p, const char *show,
                        const char *status);

#endif
