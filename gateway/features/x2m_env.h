/* What the pure translation of an XMPP message towards Matrix
 * (gateway/core/x2m.c) asks of the gateway, answered from the message
 * store and the room mappings for one conversation. */
#ifndef ISTHMUS_GATEWAY_X2M_ENV_H
#define ISTHMUS_GATEWAY_X2M_ENV_H

#include "gateway/base/context.h"
#include "gateway/core/x2m.h"

/* The conversation the lookups answer for: where the message goes (jid:
 * the XMPP party the message store files it under, the MUC for rooms) and
 * who sent it (from, the full JID: mentions of room occupants are
 * resolved in the rooms they sit in). Kept by the caller while env is
 * used. */
struct x2m_lookups {
    struct gateway *gw;
    const char *jid;
    const char *from;
    const char *room_id; /* the Matrix room the message goes to */
};

/* Fills env to answer from l. */
void x2m_env_for(struct x2m_lookups *l, struct x2m_env *env);

#endif
