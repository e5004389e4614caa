/* Portal mode, the MUC's presences -> Matrix. */
#ifndef ISTHMUS_GATEWAY_PORTAL_OCCUPANTS_H
#define ISTHMUS_GATEWAY_PORTAL_OCCUPANTS_H

#include "gateway/base/context.h"

/* The ghost standing for an occupant: per real JID when the room shows
 * it, else per nick. Caller frees; NULL if none can be made. */
char *portal_ghost_of(struct gateway *gw, const char *muc_jid,
                      const char *nick, const char *real_jid);
/* A presence from the MUC to mxid's occupant. */
void portal_on_muc_presence(struct gateway *gw, xmpp_stanza_t *st,
                            const struct store_room *room, const char *mxid);
/* The subject ends a join: occupants the gateway remembers but the MUC
 * did not announce again left while it was away. */
void portal_sync_finish(struct gateway *gw, const struct store_room *room);

#endif
