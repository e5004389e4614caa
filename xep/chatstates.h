/* XEP-0085 chat states, the typing notifications of XMPP. */
#ifndef ISTHMUS_XEP_CHATSTATES_H
#define ISTHMUS_XEP_CHATSTATES_H

#include <strophe.h>

#define NS_CHATSTATES "http://jabber.org/protocol/chatstates"
#define NS_HINTS "urn:xmpp:hints"

enum chatstate {
    CHATSTATE_NONE = 0, /* the message carries none */
    CHATSTATE_ACTIVE,
    CHATSTATE_COMPOSING,
    CHATSTATE_PAUSED,
    CHATSTATE_INACTIVE,
    CHATSTATE_GONE,
};

/* The chat state a message carries (the first one, if a client sent
 * several). */
enum chatstate chatstate_of(xmpp_stanza_t *msg);
/* The element name of a state ("composing"...), NULL for CHATSTATE_NONE. */
const char *chatstate_name(enum chatstate s);
/* A bodiless message of type `type` carrying only the state, with a
 * no-store hint (archives need no typing notifications). Caller
 * releases. */
xmpp_stanza_t *chatstate_message(xmpp_ctx_t *ctx, const char *from,
                                 const char *to, const char *type,
                                 enum chatstate s);

#endif
