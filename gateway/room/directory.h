/* Gateway mode: the room directory. */
#ifndef ISTHMUS_GATEWAY_ROOM_DIRECTORY_H
#define ISTHMUS_GATEWAY_ROOM_DIRECTORY_H

#include "gateway/base/context.h"

/* disco#items on the gateway's domain: the homeserver's public room
 * directory as MUC JIDs, paged with RSM (XEP-0059). */
void room_directory(struct gateway *gw, xmpp_stanza_t *iq);

#endif
