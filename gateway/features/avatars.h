/* Avatars across: a Matrix user's avatar_url <-> the PHOTO of the vCard
 * their JID serves and the XEP-0153 hash in its presences; an XMPP user's
 * vCard photo (announced by its XEP-0153 hash) <-> their ghost's
 * avatar_url. Images are cached by mxc URI in the store, and a ghost's
 * photo is uploaded again only when its hash changes. */
#ifndef ISTHMUS_GATEWAY_AVATARS_H
#define ISTHMUS_GATEWAY_AVATARS_H

#include <stdbool.h>
#include <strophe.h>

struct gateway;

/* Largest avatar the gateway moves either way. */
#define AVATAR_MAX_BYTES (1024 * 1024)

/* A Matrix user's avatar_url as an event shows it (NULL or "" for none).
 * When it is new, the image is fetched and cached, and the user's
 * watchers get a presence with the new hash. */
void avatars_matrix_user(struct gateway *gw, const char *mxid,
                         const char *avatar_url);
/* The hash of a Matrix user's avatar as their presences announce it: NULL
 * when unknown, "" for none. Caller frees. */
char *avatars_matrix_hash(struct gateway *gw, const char *mxid);

/* Answers the vCard request iq (copied) for a Matrix user's JID with their
 * name and, when avatar_url is set, the photo (fetched if not cached). */
void avatars_vcard_reply(struct gateway *gw, xmpp_stanza_t *iq,
                         const char *fn, const char *nickname,
                         const char *avatar_url);

/* A XEP-0084 items request (iq get) to a Matrix user's JID: answered from
 * the avatar the gateway knows for them. Returns false, doing nothing,
 * when the request is for another pubsub node. */
bool avatars_pubsub_get(struct gateway *gw, xmpp_stanza_t *iq,
                        const char *mxid);

/* An XMPP user (bare JID) announced the XEP-0153 hash sha1_hex ("" for no
 * photo): their ghost's avatar follows. */
void avatars_xmpp_hash(struct gateway *gw, const char *ghost,
                       const char *bare_jid, const char *sha1_hex);

#endif
