/* Telling the XMPP side of a conversation about something a Matrix user
 * did there (a reaction, a deletion): who the stanzas go to and come from
 * depends on the kind of room. */
#ifndef ISTHMUS_GATEWAY_FANOUT_H
#define ISTHMUS_GATEWAY_FANOUT_H

#include "gateway/gateway.h"

/* Fills one stanza (a <message/> with from, to and type set) with the
 * payload. */
typedef void (*fanout_fill_cb)(struct gateway *gw, xmpp_stanza_t *st,
                               void *ud);

enum fanout_as {
    FANOUT_AS_SENDER, /* from the Matrix user (their JID or nick) */
    FANOUT_AS_ROOM,   /* gateway-mode rooms: from the MUC itself */
};

/* Queues, after the turn's commit, one message per XMPP recipient of
 * `sender`'s action in `room`, with stanza id `id`:
 *   DM:      sender's JID -> the XMPP user (type chat);
 *   gateway: room/nick (or the room) -> every occupant (groupchat);
 *   portal:  sender's occupant -> the MUC (groupchat).
 * Our own ghosts' actions are not echoed back into DMs and portal MUCs
 * (the XMPP side did them); in gateway rooms the room passes every action
 * on to every occupant, as a MUC does. Returns how many were queued. */
int fanout_send(struct gateway *gw, const struct store_room *room,
                const char *sender, enum fanout_as as, const char *id,
                fanout_fill_cb fill, void *ud);

#endif
