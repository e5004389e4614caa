/* What the pure translation of a Matrix message towards XMPP
 * (gateway/core/m2x.c) asks of the gateway: its limits, which XMPP id a
 * bridged event crossed as, and the media proxy's URLs. */
#ifndef ISTHMUS_GATEWAY_M2X_ENV_H
#define ISTHMUS_GATEWAY_M2X_ENV_H

#include "gateway/base/context.h"
#include "gateway/core/m2x.h"

/* Fills env for a room of the given mode: direct chats and portals look
 * ids up in the message store; gateway-mode rooms relay every event under
 * its event id, which is then the id. env points into gw. */
void m2x_env_for(struct gateway *gw, enum store_room_mode mode,
                 struct m2x_env *env);

#endif
