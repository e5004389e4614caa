/* Typing notifications: Matrix m.typing <-> XEP-0085 chat states. */
#ifndef ISTHMUS_GATEWAY_CHATSTATES_H
#define ISTHMUS_GATEWAY_CHATSTATES_H

#include <jansson.h>
#include <strophe.h>

struct gateway;
struct store_room;
struct xmsg;

struct mx_ephemeral;

/* One m.typing ephemeral event from an appservice transaction. */
void typing_matrix_ephemeral(struct gateway *gw,
                             const struct mx_ephemeral *ev);

/* Every message from an XMPP user to the gateway (not an error, not a
 * spoof), before anything else looks at it: its chat state, if any.
 * Bodiless messages end here when nothing else wants them. */
void typing_xmpp_message(struct gateway *gw, const struct xmsg *m);

/* A groupchat message a portal's MUC relayed (parsed into m): an XMPP
 * occupant's chat state, or a message that ends their typing. */
void typing_portal_message(struct gateway *gw, const struct store_room *room,
                           const struct xmsg *m);

#endif
