/* Which conversation an ephemeral signal (a chat state, a marker, a
 * typing notification, a read receipt) belongs to, on either side: shared
 * by gateway/features/chatstates.c and gateway/features/markers.c, which map the same three
 * kinds of conversation. */
#ifndef ISTHMUS_GATEWAY_CONVERSATION_H
#define ISTHMUS_GATEWAY_CONVERSATION_H

#include "gateway/base/context.h"

#include <stdbool.h>

/* The Matrix room and the sender's ghost for a message from an XMPP user
 * to the gateway: a DM with a Matrix user (type chat or normal) or a
 * gateway-mode MUC the sender sits in (groupchat). Returns 1 with both set
 * (caller frees), 0 when the message belongs to no bridged conversation. */
int conversation_of_xmpp(struct gateway *gw, const struct xmsg *m,
                         char **room_id, char **ghost);

/* The ghost of the XMPP occupant who sent a groupchat message that a
 * portal's MUC relayed, or NULL (caller frees) when the sender is one of
 * the gateway's own Matrix users, unknown, or the message is history. */
char *conversation_portal_ghost(struct gateway *gw,
                                const struct store_room *room,
                                const struct xmsg *m);

/* The full JID a Matrix user's signals come from in a room, for each
 * kind: DM: their JID on the component; gateway mode: room/nick; portal:
 * their occupant (NULL if they are not in the MUC). Caller frees. */
char *conversation_matrix_from(struct gateway *gw,
                               const struct store_room *room,
                               const char *mxid);

/* Sends st (which the caller keeps) to the XMPP side of a room: DM, the
 * XMPP user (type chat); gateway mode, every occupant but those of
 * `except_ghost` (type groupchat, `to` rewritten per occupant); portal, the
 * MUC. With durable set it goes through the stanza outbox (after the
 * commit, in the room's order), else at once. */
void conversation_send(struct gateway *gw, const struct store_room *room,
                       xmpp_stanza_t *st, const char *except_ghost,
                       bool durable);

/* Fills a message (from, to and type set) with a payload. */
typedef void (*conversation_fill_cb)(struct gateway *gw, xmpp_stanza_t *st,
                                     void *ud);
/* Tells the XMPP side, through the stanza outbox, about something Matrix
 * user `sender` did in `room` (a reaction, a deletion): a message with id
 * `id`, filled by fill, from the sender as conversation_matrix_from names
 * them, or, with from_room in a gateway-mode room, from the MUC itself.
 * Our own ghosts' actions are not echoed into DMs and portal MUCs (the
 * XMPP side did them); a gateway-mode room tells every occupant, as a MUC
 * does. */
void conversation_tell(struct gateway *gw, const struct store_room *room,
                       const char *sender, bool from_room, const char *id,
                       conversation_fill_cb fill, void *ud);


#endif
