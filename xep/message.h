/* Chat messages (RFC 6121 §5, XEP-0359 ids, XEP-0172 nick) as a plain C
 * struct, parsed from and built into libstrophe stanzas. */
#ifndef ISTHMUS_XEP_MESSAGE_H
#define ISTHMUS_XEP_MESSAGE_H

#include <strophe.h>

#define NS_SID "urn:xmpp:sid:0"
#define NS_NICK "http://jabber.org/protocol/nick"

struct xmsg {
    char *from;      /* full JID as received */
    char *to;
    char *id;        /* stanza id attribute, may be NULL */
    char *type;      /* "chat", "normal", "groupchat", "headline", "error" */
    char *body;      /* NULL when the stanza has no <body/> */
    char *origin_id; /* XEP-0359, may be NULL */
    char *nick;      /* XEP-0172, may be NULL */
};

/* Fills out from a <message/>; every string is a copy (xmsg_free). Returns
 * -1 with *why set if the stanza is not a usable message. */
int xmsg_parse(xmpp_stanza_t *st, struct xmsg *out, const char **why);
/* Builds a <message/> from the struct. The stanza is the caller's
 * (xmpp_stanza_release). With origin_id set, XEP-0359 <origin-id/> is added. */
xmpp_stanza_t *xmsg_build(xmpp_ctx_t *ctx, const struct xmsg *m);
/* Serialises a stanza; caller frees with free(). */
char *xmsg_stanza_to_xml(xmpp_stanza_t *st);
void xmsg_free(struct xmsg *m);

#endif
