/* End-to-end encrypted messages the gateway cannot carry yet, both ways
 * (the XMPP half, xep/encrypted.c, names the scheme of a stanza). Neither
 * is dropped in silence: the person who sent one is told, in their own
 * client, and the other side learns that something was sent. */
#ifndef ISTHMUS_GATEWAY_ENCRYPTED_H
#define ISTHMUS_GATEWAY_ENCRYPTED_H

#include "gateway/base/context.h"
#include "matrix/event.h"

#include <strophe.h>

/* An XMPP message encrypted with scheme (xencrypted_scheme): answered
 * with an error the sender's client shows. */
void encrypted_refuse_xmpp(struct gateway *gw, xmpp_stanza_t *st,
                           const char *scheme);

/* An OMEMO message to a puppet that did not decrypt (why: a phrase):
 * answered with an error the sender's client shows, saying why. */
void encrypted_xmpp_undecryptable(struct gateway *gw, xmpp_stanza_t *st,
                                  const char *why);

/* An event that came encrypted, for an XMPP user (user_bare: the DM's
 * peer, or an occupant of a gateway-mode room) it cannot reach encrypted
 * (encryptable false: no OMEMO device with a session, or a room that is
 * not members-only): with [e2ee] downgrade =
 * refuse it is not delivered to them and its sender is told why (true:
 * the caller drops it); by default it is delivered (false) and the room
 * is told, once per XMPP user, that its messages reach them unencrypted.
 * ghost: who speaks the notice in the room. */
bool encrypted_matrix_downgrade(struct gateway *gw, const struct mx_event *ev,
                                bool encryptable, const char *user_bare,
                                const char *ghost);

/* An m.room.encrypted event in a bridged room that cannot be decrypted
 * (why: a short phrase, e.g. "its key never arrived"): its sender gets a
 * notice in the room, and the XMPP side a message saying that the sender
 * wrote something it cannot see, and why. */
void encrypted_matrix_undecryptable(struct gateway *gw,
                                    const struct mx_event *ev,
                                    const char *why);
/* A ghost of ours in the room, to speak for the gateway there: in a DM
 * the XMPP user's, in a gateway-mode room an occupant's; NULL (the bot)
 * in a portal, which the bot made. Caller frees. */
char *encrypted_room_ghost(struct gateway *gw, const struct store_room *room);
/* The same when end-to-bridge encryption is off ([e2ee] enabled = false
 * or a homeserver without MSC4190). */
void encrypted_matrix_event(struct gateway *gw, const struct mx_event *ev);

#endif
