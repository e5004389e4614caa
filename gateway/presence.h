/* Presence: Matrix m.presence <-> XMPP presence. */
#ifndef ISTHMUS_GATEWAY_PRESENCE_H
#define ISTHMUS_GATEWAY_PRESENCE_H

#include <jansson.h>
#include <strophe.h>

struct gateway;

/* One m.presence ephemeral event from an appservice transaction
 * (borrowed; its content is an object). */
void presence_matrix_ephemeral(struct gateway *gw, json_t *ev);

/* Presence from an XMPP user to a Matrix user's JID (not a MUC), of no
 * type or type "unavailable"; subscriptions are handled elsewhere. */
void presence_xmpp_presence(struct gateway *gw, xmpp_stanza_t *st);

#endif
