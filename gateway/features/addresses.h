/* Helping XMPP users find a Matrix user's address: jabber:iq:gateway
 * (XEP-0100) on the component, errors that show the escaped form of a
 * Matrix id typed as it is, and disco#info that says when the Matrix
 * user behind a JID does not exist. */
#ifndef ISTHMUS_GATEWAY_FEATURES_ADDRESSES_H
#define ISTHMUS_GATEWAY_FEATURES_ADDRESSES_H

#include "gateway/base/context.h"

#include <strophe.h>

/* The answer to a jabber:iq:gateway get or set on the component's
 * address. Caller releases. */
xmpp_stanza_t *addresses_iq_gateway(struct gateway *gw, xmpp_stanza_t *iq);

/* The text of an error about `jid`, an address on the component that
 * maps to nothing (why: the mapping's reason): why itself, followed,
 * when the address looks like a Matrix id typed without the gateway's
 * escaping, by the address to use instead. Caller frees. */
char *addresses_explain(const struct gateway *gw, const char *jid,
                        const char *why);

/* Sends `result` (a disco#info answer for the JID of Matrix user mxid,
 * taken over) once the homeserver confirms the user exists, or
 * item-not-found in its place when it says there is no such user. */
void addresses_answer_if_user_exists(struct gateway *gw, xmpp_stanza_t *iq,
                                     const char *mxid, xmpp_stanza_t *result);

#endif
