/* Edits (XEP-0308) and replies (XEP-0461) <-> Matrix m.replace and
 * m.in_reply_to, in both directions. */
#ifndef ISTHMUS_GATEWAY_RELATIONS_H
#define ISTHMUS_GATEWAY_RELATIONS_H

#include "gateway/base/context.h"
#include "gateway/core/translate.h"

#include <jansson.h>

/* Edits and replies, Matrix -> XMPP: the id the XMPP side knows bridged
 * event `event_id` by, from the message store: for a correction
 * (XEP-0308) the sender's own id (origin-id), for a reply (XEP-0461) the
 * stanza id; NULL if it never crossed. Caller frees. (The quote and the
 * markers are the pure translation's: gateway/core/m2x.c.) */
char *relations_crossed_as(struct gateway *gw, const char *event_id,
                           bool correction);
/* Edits, XMPP -> Matrix: the event a correction of xmpp_id (in
 * conversation `jid`, room room_id) edits: the first of the original's
 * edits, as Matrix edits always name the original; NULL if it never
 * crossed. Caller frees. */
char *relations_edit_target(struct gateway *gw, const char *jid,
                            const char *room_id, const char *xmpp_id);
/* The event an XMPP id names in conversation `jid` (the XMPP party the
 * messages table files it under) and Matrix room room_id, or NULL. The
 * room matters: a client that numbers its messages uses the same ids with
 * everyone. Caller frees. */
char *relations_event_for(struct gateway *gw, const char *jid,
                          const char *room_id, const char *xmpp_id);
/* The id the XMPP side of `room` knows event_id by (what XEP-0444 and
 * XEP-0424 name: the room's stanza-id in MUCs, the message id in chats),
 * or NULL if it never crossed. Caller frees. */
char *relations_xmpp_id(struct gateway *gw, const struct store_room *room,
                        const char *event_id);

#endif
