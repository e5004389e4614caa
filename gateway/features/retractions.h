/* Deleting messages: XEP-0424 retractions and XEP-0425 moderation <->
 * Matrix redactions. A person may delete only what they sent; a room
 * moderator may delete anything, and is named as such on the other side. */
#ifndef ISTHMUS_GATEWAY_RETRACTIONS_H
#define ISTHMUS_GATEWAY_RETRACTIONS_H

#include "gateway/base/context.h"
#include "gateway/features/reactions.h"

/* XMPP -> Matrix: `ghost` retracts its own message event_id in room_id.
 * Refused (cb gets an error) unless the store says the ghost sent it; a
 * ghost with moderator power must not delete others' messages by way of
 * a plain retraction. txn_seed as for reactions_from_xmpp. */
void retractions_from_xmpp(struct gateway *gw, const char *room_id,
                           const char *ghost, const char *event_id,
                           const char *txn_seed, action_done_cb cb, void *ud);

/* XMPP -> Matrix: a portal MUC announced that moderator `nick` removed
 * event_id's message. Redacted as their ghost (NULL if they have none),
 * and as the bot if the ghost may not: the MUC decides who may moderate
 * it, not Matrix's power levels. txn_seed as for reactions_from_xmpp. */
void retractions_moderated_in_portal(struct gateway *gw, const char *room_id,
                                     const char *ghost, const char *nick,
                                     const char *event_id, const char *reason,
                                     const char *txn_seed, action_done_cb cb,
                                     void *ud);

/* XMPP -> Matrix: a XEP-0425 moderation request (an iq set to a
 * gateway-mode MUC). Answers the iq: the homeserver's power levels decide
 * whether the occupant may. */
void retractions_moderate_iq(struct gateway *gw, xmpp_stanza_t *iq);

/* Matrix -> XMPP: an m.room.redaction event. */
void retractions_matrix_event(struct gateway *gw, const struct mx_event *ev,
                              const struct store_room *room);

#endif
