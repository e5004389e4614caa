/* Gateway mode: an XMPP user joins a Matrix room as a MUC. */
#ifndef ISTHMUS_GATEWAY_ROOM_JOIN_H
#define ISTHMUS_GATEWAY_ROOM_JOIN_H

#include "gateway/base/context.h"

/* The join presence st (from the user's full JID) to muc_jid/nick, for
 * the Matrix room `target` (an alias or a room id): the ghost joins, then
 * the occupant gets the members, their own presence, history and subject,
 * or a presence error. */
void room_join(struct gateway *gw, xmpp_stanza_t *st, const char *target,
               const char *muc_jid, const char *nick);

#endif
