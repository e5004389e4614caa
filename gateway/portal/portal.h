/* Portal mode: Matrix users in XMPP MUCs. The MUC room@service is the
 * Matrix room #_xmpp_room=40service:hs, which the gateway creates when the
 * homeserver first asks about that alias. Each Matrix member of the portal
 * room sits in the MUC as an occupant of its own (their JID on the
 * component, resource "matrix"); each XMPP occupant is a ghost in the room.
 *
 * Durable work (ghost joins and leaves, messages, topics, kicks) runs in
 * one outbox queue per portal room, so it keeps its order and survives a
 * crash; the MUC side goes through the stanza outbox. */
#ifndef ISTHMUS_PORTAL_H
#define ISTHMUS_PORTAL_H

#include "gateway/base/context.h"
#include "matrix/event.h"

#include <stdbool.h>

/* A message (st, parsed into m) from a MUC that has a portal, addressed
 * to a Matrix user's occupant, or an invitation for a Matrix user. Returns
 * false, doing nothing, for any other message. m may be emptied (its
 * content moved on to the work it became); the caller still frees it. */
struct xmsg;
bool portal_xmpp_message(struct gateway *gw, xmpp_stanza_t *st,
                         struct xmsg *m);
/* The same for a presence from a portal's MUC. */
bool portal_xmpp_presence(struct gateway *gw, xmpp_stanza_t *st);
/* The component (re)connected: every Matrix user rejoins their MUCs, asking
 * only for what was said while the gateway was away. */
void portal_rejoin_all(struct gateway *gw);
/* Shutting down: every Matrix user's occupant leaves cleanly. */
void portal_leave_all(struct gateway *gw);

#endif
