/* End-to-end encrypted messages (OMEMO, OpenPGP, OTR): which scheme a
 * message is encrypted with, read from its payload elements and from
 * XEP-0380's explicit marker. Until the gateway decrypts a scheme, it uses
 * this to tell the sender that the message was not carried, instead of
 * bridging a fallback body that says nothing of what was sent. */
#ifndef ISTHMUS_XEP_ENCRYPTED_H
#define ISTHMUS_XEP_ENCRYPTED_H

#include <strophe.h>
#include <stdbool.h>

#define NS_OMEMO_LEGACY "eu.siacs.conversations.axolotl"
#define NS_OMEMO2 "urn:xmpp:omemo:2"
#define NS_OX "urn:xmpp:openpgp:0"
#define NS_PGP_LEGACY "jabber:x:encrypted"
#define NS_EME "urn:xmpp:eme:0"

/* The name of the scheme msg carries an encrypted message in ("OMEMO",
 * "OMEMO 2", "OpenPGP", "legacy OpenPGP", "OTR"), or NULL for a message
 * with no encrypted content. OMEMO messages without a <payload/> (key
 * transport, which sets up a session and holds no text) are not messages
 * anyone wrote, and give NULL. Static string. */
const char *xencrypted_scheme(xmpp_stanza_t *msg);

/* The gateway's own mark on a message it decrypted (OMEMO, before the
 * parse): what it was encrypted with travels with the message in clear
 * (only in memory, and in the sealed outbox), so that the Matrix side can
 * keep it encrypted or say that it cannot. */
#define NS_ISTHMUS_DECRYPTED "urn:xmpp:isthmus:decrypted:0"
void xencrypted_mark_decrypted(xmpp_ctx_t *ctx, xmpp_stanza_t *msg,
                               const char *scheme);
/* The same, keeping a copy of the message as it came (its ciphertext)
 * inside the mark: a group message goes on to the room's other XMPP
 * occupants encrypted as its sender wrote it. */
void xencrypted_mark_decrypted_keeping(xmpp_ctx_t *ctx, xmpp_stanza_t *msg,
                                       const char *scheme,
                                       xmpp_stanza_t *original);
/* The message kept by the mark, or NULL. Borrowed. */
xmpp_stanza_t *xencrypted_kept_original(xmpp_stanza_t *msg);
/* Whether child is that mark (for copies that must not carry it). */
bool xencrypted_is_mark(xmpp_stanza_t *child);
/* The scheme of that mark ("OMEMO"), or NULL. Static string. */
const char *xencrypted_decrypted_from(xmpp_stanza_t *msg);

#endif
