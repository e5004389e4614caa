/* Portal mode, the MUC's presences -> Matrix. */
#ifndef ISTHMUS_GATEWAY_PORTAL_OCCUPANTS_H
#define ISTHMUS_GATEWAY_PORTAL_OCCUPANTS_H

#include "gateway/base/context.h"

/* A new queued operation `op` for user_id (ops.c runs it). New
 * reference, for portal_enqueue_op. */
json_t *portal_op_new(const char *op, const char *user_id);
/* The ghost standing for an occupant: per real JID when the room shows
 * it, else per nick. Caller frees; NULL if none can be made. */
char *portal_ghost_of(struct gateway *gw, const char *muc_jid,
                      const char *nick, const char *real_jid);
/* The operation that makes the ghost join as nick (jid: the occupant's
 * real JID when real, else its occupant JID). New reference. */
json_t *portal_join_op(const char *ghost, const char *jid, const char *nick,
                       bool real);
/* A presence from the MUC to mxid's occupant. */
void portal_on_muc_presence(struct gateway *gw, xmpp_stanza_t *st,
                            const struct store_room *room, const char *mxid);
/* The subject ends a join: occupants the gateway remembers but the MUC
 * did not announce again left while it was away. */
void portal_sync_finish(struct gateway *gw, const struct store_room *room);

#endif
