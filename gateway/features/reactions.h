/* Reactions: XEP-0444 <-> m.reaction. XMPP sends a person's whole set of
 * reactions to a message each time; Matrix keeps one event per reaction,
 * withdrawn by redacting it. The store keeps every person's current set,
 * so each side gets exactly the additions and removals. */
#ifndef ISTHMUS_GATEWAY_REACTIONS_H
#define ISTHMUS_GATEWAY_REACTIONS_H

#include "gateway/base/context.h"

/* Ends an asynchronous action on Matrix; error is NULL when ok. */
typedef void (*action_done_cb)(struct gateway *gw, const char *error,
                               void *ud);

/* XMPP -> Matrix: makes `ghost`'s reactions to target_event_id in room_id
 * exactly keys[0..n): sends an m.reaction for each new key and redacts the
 * event of each key no longer there. txn_seed names this change for good
 * (an outbox item), so a replay after a crash repeats the same requests
 * and the homeserver answers them with the events it made the first
 * time. cb runs once, when every request has ended. */
void reactions_from_xmpp(struct gateway *gw, const char *room_id,
                         const char *ghost, const char *target_event_id,
                         const char *const *keys, int n,
                         const char *txn_seed, action_done_cb cb, void *ud);

/* Matrix -> XMPP: an m.reaction event in a bridged room. */
void reactions_matrix_event(struct gateway *gw, const struct mx_event *ev,
                            const struct store_room *room);
/* Matrix -> XMPP: redaction event ev redacted `redacts`. Returns true if
 * that was a reaction (then handled), false if it is about something
 * else. */
bool reactions_matrix_redaction(struct gateway *gw, const struct mx_event *ev,
                                const char *redacts,
                                const struct store_room *room);

#endif
