/* What the gateway mode's files (gateway/room/) share: sending, the
 * presence error a join or nick change gets, a ghost leaving its room, and
 * power levels read as MUC roles. */
#ifndef ISTHMUS_GATEWAY_ROOM_COMMON_H
#define ISTHMUS_GATEWAY_ROOM_COMMON_H

#include "gateway/base/context.h"
#include "matrix/event_state.h"

#include <jansson.h>

/* Creators of v12+ rooms outrank any power level; stored as this. */
#define ROOM_CREATOR_LEVEL 1000000L

/* Sends st now (best effort) and releases it. */
void room_send_now(struct gateway *gw, xmpp_stanza_t *st);
/* Answers the presence orig with a MUC presence error. */
void room_presence_error(struct gateway *gw, xmpp_stanza_t *orig,
                         const char *type, const char *condition,
                         const char *text);
/* The ghost leaves the Matrix room (best effort: a failure is logged). */
void room_leave_matrix(struct gateway *gw, const char *room_id,
                       const char *ghost);
/* The power levels content, or every default when there is none (the
 * fetch failed) or it is not an object. */
void room_parse_levels(json_t *content, struct mx_power_levels *out);
/* The member's level in the room. */
long room_power_level(const struct mx_power_levels *levels,
                      const char *mxid);

#endif
