/* XEP-0356 (Privileged Entity, urn:xmpp:privilege:2): the permissions the
 * server advertises to the component right after the handshake, and the
 * <privileged_iq/> wrapper that sends an iq in a local user's name.
 *
 * The gateway uses the iq permission for urn:xmpp:mam:2 to read its users'
 * archives (see gateway/catchup.c). Parsing and wrapping are pure, so they
 * live here, apart from the policy. */
#ifndef ISTHMUS_XEP_PRIVILEGE_H
#define ISTHMUS_XEP_PRIVILEGE_H

#include <stdbool.h>
#include <strophe.h>

#define XMLNS_PRIVILEGE "urn:xmpp:privilege:2"

/* What an iq permission allows for one namespace. */
enum priv_iq_type {
    PRIV_IQ_NONE = 0,
    PRIV_IQ_GET = 1,
    PRIV_IQ_SET = 2,
    PRIV_IQ_BOTH = 3, /* GET | SET */
};

/* True when the message is a permission advertisement (a <privilege/>
 * child in urn:xmpp:privilege:2 with <perm/> children, and no
 * <forwarded/>, which is what a privileged message carries instead). */
bool privilege_is_advertisement(xmpp_stanza_t *message);

/* The <message/> a privileged message carries in
 * <privilege><forwarded/></privilege> (what a privileged iq's handler sent
 * to the user, such as an archive's results), or NULL when message is no
 * such thing. Owned by message. */
xmpp_stanza_t *privilege_forwarded_message(xmpp_stanza_t *message);

/* What the advertisement grants for iqs in namespace ns: PRIV_IQ_NONE when
 * it grants nothing for it (or it is no advertisement). */
enum priv_iq_type privilege_iq_permission(xmpp_stanza_t *message,
                                          const char *ns);

/* True when perm allows iqs of type iq_type ("get" or "set"). */
bool privilege_allows(enum priv_iq_type perm, const char *iq_type);

/* Wraps the request payload (copied: the caller still releases it) as an
 * iq of iq_type sent by user_bare_jid, in a <privileged_iq/> addressed to
 * that user, from the component's address: the server checks the
 * permission and sends the inner iq in the user's name. inner_id is the
 * wrapped iq's id (required by Prosody's mod_privilege). Returns the
 * payload of the outer iq, the <privileged_iq/> element, to be sent with
 * component_query (type iq_type, to user_bare_jid); the caller releases
 * it. */
xmpp_stanza_t *privilege_wrap_iq(xmpp_ctx_t *ctx, const char *user_bare_jid,
                                 const char *iq_type, const char *inner_id,
                                 xmpp_stanza_t *payload);

/* The inner iq of a privileged iq's answer: the outer result carries it in
 * <privilege><forwarded><iq/></forwarded></privilege>. Returns it (owned
 * by result: not released by the caller), or NULL with *why set (a static
 * string) when the answer is an error or carries none. */
xmpp_stanza_t *privilege_unwrap_result(xmpp_stanza_t *result,
                                       const char **why);

#endif
