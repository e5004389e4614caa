/* Stanzas to XMPP, kept in the outbox until the server confirms them. */
#ifndef ISTHMUS_GATEWAY_TO_XMPP_H
#define ISTHMUS_GATEWAY_TO_XMPP_H

#include "gateway/base/context.h"

/* At the end of the turn, after its commit (commit 1), without one (0:
 * the transaction stays open) or after a failed one (-1): sends what waited
 * in the outbox and asks the server to confirm what was sent. */
void to_xmpp_flush(struct gateway *gw, int commit);
/* Stores a stanza and sends it, now if nothing waits before it. */
int to_xmpp_enqueue(struct gateway *gw, const char *queue, xmpp_stanza_t *st);
/* Writes what was sent so far to the server's socket, as far as it takes
 * it without waiting. */
void to_xmpp_write(struct gateway *gw);
/* Frees its state at shutdown (the outbox keeps the stanzas). */
void to_xmpp_free(struct gateway *gw);

#endif
