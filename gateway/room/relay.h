/* Gateway mode, Matrix -> XMPP: what happens in a Matrix room reaches the
 * XMPP occupants of its MUC. */
#ifndef ISTHMUS_GATEWAY_ROOM_RELAY_H
#define ISTHMUS_GATEWAY_ROOM_RELAY_H

#include "gateway/base/context.h"
#include "matrix/event.h"

/* A message event: every occupant gets it as a groupchat message. */
void room_relay_message(struct gateway *gw, const struct mx_event *ev,
                        const struct store_room *room);
/* A member joined, left or changed name: occupants see the presence. */
void room_relay_member(struct gateway *gw, const struct mx_event *ev,
                       const struct store_room *room);
/* New power levels: every member whose level changed gets a presence
 * with the new affiliation and role (the occupant's own with 110). */
void room_relay_power_levels(struct gateway *gw, const struct mx_event *ev,
                             const struct store_room *room);
/* After the occupant's message (sent: as the gateway took it in) became
 * event_id: passes it on to every occupant of the room, the sender's own
 * resources included (the MUC reflection), as its sender wrote it; a
 * message the gateway decrypted goes on as its original ciphertext.
 * event_id is its stanza-id (NULL: none, for reactions and retractions). */
void room_pass_on(struct gateway *gw, const struct store_occupant *o,
                  xmpp_stanza_t *sent, const char *event_id);
/* The Matrix member behind the occupant JID room%server@gw/nick, as the
 * occupant `requester` (a full JID in the room) sees it; NULL when there
 * is none or the requester is not in the room. Caller frees. */
char *room_member_at(struct gateway *gw, const char *requester,
                     const char *occupant_jid);

#endif
