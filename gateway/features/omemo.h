/* End-to-bridge encryption, XMPP side (DESIGN.md §7): every Matrix user's
 * puppet JID is a legacy OMEMO device (eu.siacs.conversations.axolotl).
 * The component answers the PEP requests for its puppets' device lists
 * and bundles itself (omemo_pep.c), fetches the device lists and bundles
 * of the XMPP users it talks to from their own PEP, decrypts what they
 * send to a puppet before the stanza is parsed and encrypts what goes to
 * them after it is built (omemo_messages.c). Decrypted text exists only in
 * memory; every key is sealed in the store.
 *
 * Direct chats, and gateway-mode rooms that are members-only
 * (omemo_rooms.c); both versions (legacy and OMEMO 2). */
#ifndef ISTHMUS_GATEWAY_FEATURES_OMEMO_H
#define ISTHMUS_GATEWAY_FEATURES_OMEMO_H

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>

struct gateway;
struct omemo_state;

struct omemo_state *omemo_state_new(void);
void omemo_state_free(struct omemo_state *s);
/* [e2ee] omemo is on and libomemo-c started. */
bool omemo_active(const struct gateway *gw);

/* ---- PEP (omemo_pep.c) */

/* A pubsub items request to a puppet JID for one of its OMEMO nodes:
 * answered (true), or not an OMEMO node (false, for others to answer). */
bool omemo_pubsub_get(struct gateway *gw, xmpp_stanza_t *iq,
                      const char *puppet_jid);
/* A PEP notification from an XMPP user's server: true when it was an
 * OMEMO device list (taken in), false when it is for someone else. */
bool omemo_pubsub_event(struct gateway *gw, xmpp_stanza_t *msg);
/* Called when a refresh has ended (whatever came of it). */
typedef void omemo_ready_cb(struct gateway *gw, void *ud);
/* Fetches the user's device list (as the puppet), then the bundles of
 * their devices the puppet has no session with, and opens sessions; in
 * the background, at most once at a time per (puppet, user). cb (may be
 * NULL) runs when it has ended: at once when OMEMO is off. */
void omemo_peer_refresh(struct gateway *gw, const char *puppet_jid,
                        const char *user_bare, omemo_ready_cb *cb, void *ud);

/* When a puppet and a user meet (a DM opens, a message passes) for the
 * first time in this run, or the first time in ten minutes: their devices
 * are refreshed, so that the next message reaches all of them. cb as for
 * omemo_peer_refresh (at once when nothing is refreshed). */
void omemo_peer_meet(struct gateway *gw, const char *puppet_jid,
                     const char *user_bare, omemo_ready_cb *cb, void *ud);

/* Sends the puppet's device list to `to` as its PEP service would, as a
 * notification: when a contact subscribes to the puppet (create: its
 * device is made if it has none) or comes online (only a device that
 * exists is announced, so a roster's worth of presences makes no keys). */
void omemo_announce(struct gateway *gw, const char *puppet_jid,
                    const char *to, bool create);

/* What a user's devices showed the puppet (their identity keys, as
 * first seen: blind trust) and the puppet's own device, as fingerprints
 * clients show (hex, in groups of 8). */
struct omemo_fingerprint {
    int version;  /* 3: legacy OMEMO, 4: OMEMO 2 */
    uint32_t device;
    char *hex;    /* malloc'd */
};
/* The user's devices known to the puppet: *out (omemo_fingerprints_free),
 * their count, or -1. */
int omemo_user_fingerprints(struct gateway *gw, const char *puppet_jid,
                            const char *user_bare,
                            struct omemo_fingerprint **out);
void omemo_fingerprints_free(struct omemo_fingerprint *f, int n);
/* The user's devices as their lists (both versions) last said, each id
 * once: *ids malloc'd (the caller frees), their count. */
int omemo_user_known_devices(struct gateway *gw, const char *user_bare,
                             uint32_t **ids);
/* The puppet's own device: its id and fingerprint (malloc'd), or false
 * when OMEMO is off. */
bool omemo_puppet_fingerprint(struct gateway *gw, const char *puppet_jid,
                              uint32_t *device, char **hex);

/* An XMPP user (one of their resources) arrived in a members-only
 * gateway-mode room: their devices are read afresh for the Matrix
 * members' puppets (the first 64), so that what those say reaches every
 * device encrypted from the first message. */
void omemo_room_meet(struct gateway *gw, const char *room_id,
                     const char *user_bare);
/* ---- messages (omemo_messages.c) */

enum omemo_inbound {
    OMEMO_IN_PLAIN,     /* not an OMEMO message for a puppet: go on */
    OMEMO_IN_DECRYPTED, /* *plain is the message as if sent in clear */
    OMEMO_IN_CONSUMED,  /* a key-transport message: nothing to bridge */
    OMEMO_IN_FAILED,    /* *why says why; the sender must be told */
};
/* Decrypts an OMEMO message from an XMPP user to a puppet. On
 * OMEMO_IN_DECRYPTED, *plain is a new stanza (the caller releases it):
 * the message without its encryption, with the text as its body. */
enum omemo_inbound omemo_xmpp_decrypt(struct gateway *gw, xmpp_stanza_t *st,
                                      xmpp_stanza_t **plain,
                                      const char **why);
/* Whether a message from the puppet to the user would leave encrypted:
 * the user has a device the puppet has a session with. */
bool omemo_can_encrypt_to(struct gateway *gw, const char *puppet_jid,
                          const char *user_bare);
/* gw->seal_stanza: a chat message with a body from a puppet to an XMPP
 * user who has OMEMO devices leaves encrypted to every one of them. */
xmpp_stanza_t *omemo_xmpp_encrypt(struct gateway *gw, xmpp_stanza_t *st);

#endif
