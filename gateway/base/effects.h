/* The small effects every feature uses: the clock, whether a Matrix user
 * is the gateway's own, idempotent transaction ids, a notice into a room
 * and a best-effort stanza. They were the loop's (gateway.c) and are kept
 * here so that features never call up into the loop. The names keep their
 * gateway_ prefix: they act for the gateway as a whole. */
#ifndef ISTHMUS_GATEWAY_BASE_EFFECTS_H
#define ISTHMUS_GATEWAY_BASE_EFFECTS_H

#include "gateway/base/context.h"

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>

/* Wall-clock milliseconds, for timestamps that are stored or sent. */
int64_t gateway_now_ms(void);

/* True for the gateway's own Matrix users: its ghosts and its bot. */
bool gateway_is_ours(const struct gateway *gw, const char *mxid);
/* A client-server transaction id derived from the given strings (NULL
 * ends the list; each counts up to its end): the same work replayed after
 * a crash asks with the same id, and the homeserver returns the event it
 * made the first time instead of making a second one. The result is
 * "isthmus." tag and a hash; caller frees. */
char *gateway_txn_id(const char *tag, ...);

/* Every room event the gateway sends leaves here: through gw->send_event
 * (encryption for rooms that ask for it) when set, else as it is.
 * Arguments as mx_send_event's; content is consumed. */
void gateway_send_event(struct gateway *gw, const char *room_id,
                        const char *type, const char *txn_id,
                        const char *as_user, long long ts, json_t *content,
                        int max_attempts, mx_event_id_cb cb, void *ud);

/* Posts an m.notice into a room (best effort: a failure is logged), as
 * `as_user` (a ghost in the room) or, when NULL, as the bot. txn_seed
 * (an event id...) makes the post idempotent. */
void gateway_notice(struct gateway *gw, const char *room_id,
                    const char *as_user, const char *txn_seed,
                    const char *text);

/* Sends a stanza now if the component is connected (best effort: error
 * replies, presence answers). The caller still releases st. */
void gateway_send_now(struct gateway *gw, xmpp_stanza_t *st);

#endif
