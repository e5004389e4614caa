/* jabber:iq:gateway (XEP-0100 §6.3): a client asks the gateway how to
 * address someone on the other network, and gets the JID to use. */
#ifndef ISTHMUS_XEP_IQ_GATEWAY_H
#define ISTHMUS_XEP_IQ_GATEWAY_H

#include <strophe.h>

#define NS_IQ_GATEWAY "jabber:iq:gateway"

/* The answer to a get: <query><desc/><prompt/></query>. Caller
 * releases. */
xmpp_stanza_t *iq_gateway_prompt_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                        const char *desc,
                                        const char *prompt);
/* What a set asks to translate: the text of its <prompt/>, trimmed of
 * surrounding white space; NULL when there is none or it is empty.
 * Caller frees. */
char *iq_gateway_prompt_of(xmpp_stanza_t *iq);
/* The answer to a set: <query><jid/></query>. Caller releases. */
xmpp_stanza_t *iq_gateway_jid_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                     const char *jid);

#endif
