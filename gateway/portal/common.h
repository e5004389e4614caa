/* What the portal mode's files share: nicks, queuing an operation,
 * sending to the MUC, notices. */
#ifndef ISTHMUS_GATEWAY_PORTAL_COMMON_H
#define ISTHMUS_GATEWAY_PORTAL_COMMON_H

#include "gateway/base/context.h"
#include "gateway/core/portal_op.h"

/* The nick to try after `attempt` conflicts. Caller frees. */
char *portal_nick_for_attempt(const char *base, int attempt);
/* A Matrix user's name as a nick: the display name, else the localpart. */
char *portal_base_nick_of(const char *mxid, const char *displayname);
/* Queues durable Matrix-side work for the portal room (ops.c runs it);
 * op's room_id is set to room_id, op itself is the caller's. */
void portal_op_enqueue(struct gateway *gw, const char *room_id,
                       const struct portal_op *op);
/* The same for a "say" of a message that has just arrived, st parsed into
 * m: if the op runs at once it takes m (queues_kick_live). */
struct xmsg;
void portal_op_enqueue_live(struct gateway *gw, const char *room_id,
                            const struct portal_op *op, xmpp_stanza_t *st,
                            struct xmsg *m);
/* Queues a stanza for the MUC after the turn's commit, in the room's
 * Matrix-to-XMPP order. */
void portal_send_to_muc(struct gateway *gw, const char *room_id,
                        xmpp_stanza_t *st);
/* A callback for Matrix calls whose failure is only logged. */
void portal_on_call_logged(const struct mx_response *r, void *ud);
/* A notice from the gateway's bot in a room. Best effort. */
void portal_bot_notice(struct gateway *gw, const char *room_id,
                       const char *txn_seed, const char *text);

#endif
