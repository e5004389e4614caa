/* Edits (XEP-0308) and replies (XEP-0461) <-> Matrix m.replace and
 * m.in_reply_to, in both directions. */
#ifndef ISTHMUS_GATEWAY_RELATIONS_H
#define ISTHMUS_GATEWAY_RELATIONS_H

#include "gateway/base/context.h"
#include "gateway/core/translate.h"

#include <jansson.h>

/* Edits and replies, Matrix -> XMPP. For an edit (XEP-0308) or a reply
 * (XEP-0461) to a message that crossed, fills r with the ids the XMPP side
 * knows the original by, and for a reply rewrites *body (caller's, freed
 * and replaced) with the XMPP fallback quote. Release with
 * relations_free. */
struct xmpp_relations {
    char *replace_id;
    char *reply_id;
    int fallback_len;
};
void relations_to_xmpp(struct gateway *gw, const struct mx_message *msg,
                       char **body, struct xmpp_relations *r);
void relations_free(struct xmpp_relations *r);
/* Edits and replies, XMPP -> Matrix: the event content for message m (its
 * text already translated into t) in conversation `jid`: an edit of the
 * original when m corrects a bridged message, a reply without the
 * fallback quote when it answers one, else plain. *replaces (caller frees)
 * gets the edited original's event id, or NULL. New reference. */
json_t *relations_to_matrix(struct gateway *gw, const char *jid,
                            const struct xmsg *m,
                            const struct translated_text *t,
                            char **replaces);
/* The event an XMPP id names in conversation `jid` (the XMPP party the
 * messages table files it under), or NULL. Caller frees. */
char *relations_event_for(struct gateway *gw, const char *jid,
                          const char *xmpp_id);
/* The id the XMPP side of `room` knows event_id by (what XEP-0444 and
 * XEP-0424 name: the room's stanza-id in MUCs, the message id in chats),
 * or NULL if it never crossed. Caller frees. */
char *relations_xmpp_id(struct gateway *gw, const struct store_room *room,
                        const char *event_id);

#endif
