/* Message reactions (XEP-0444): one person's whole set of emoji for one
 * message, each time it changes. */
#ifndef ISTHMUS_XEP_REACTIONS_H
#define ISTHMUS_XEP_REACTIONS_H

#include <strophe.h>

#define NS_REACTIONS "urn:xmpp:reactions:0"
#define NS_HINTS "urn:xmpp:hints"
/* A set larger than this, or a key longer than this, is not a reaction a
 * person made by hand; refusing it keeps a client from flooding the room
 * with events. */
#define REACTIONS_MAX 20
#define REACTION_MAX_BYTES 64

struct xreactions {
    char *id;    /* the message reacted to */
    char **keys; /* distinct, valid UTF-8, never empty strings */
    int n;       /* 0 means "I withdraw all my reactions" */
};

/* Reads the <reactions/> of a message. Returns 1 and fills out (release
 * with xreactions_free), 0 if there is none, -1 with *why set if it is
 * malformed. */
int xreactions_parse(xmpp_stanza_t *msg, struct xreactions *out,
                     const char **why);
void xreactions_free(struct xreactions *r);
/* Appends <reactions id=…> with the keys, and a <store/> hint (a bodiless
 * message is otherwise not archived), to message st. */
void xreactions_add(xmpp_ctx_t *ctx, xmpp_stanza_t *st, const char *id,
                    const char *const *keys, int n);

#endif
