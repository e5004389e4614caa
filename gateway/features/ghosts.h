/* Ghosts: the Matrix users that stand for XMPP users. */
#ifndef ISTHMUS_GHOSTS_H
#define ISTHMUS_GHOSTS_H

#include <stdbool.h>

struct gateway;

/* ok is false if the homeserver refused the ghost; error says why. */
typedef void (*ghost_ready_cb)(struct gateway *gw, bool ok, const char *error,
                               void *ud);

/* Makes sure the ghost mxid (standing for the bare jid) exists on the
 * homeserver with a display name: the XMPP user's vCard FN or NICKNAME,
 * else nick_hint (XEP-0172, may be NULL), else the JID's localpart.
 * The ghost also gets its device for encrypted rooms (e2ee.h) before cb.
 * Calls cb exactly once, synchronously if the store already knows the
 * ghost and its device. */
void ghosts_ensure(struct gateway *gw, const char *mxid, const char *jid,
                   const char *nick_hint, ghost_ready_cb cb, void *ud);

/* The same for a ghost whose name is known and who has no vCard to ask
 * (an occupant of an anonymous MUC, named by its nick). */
void ghosts_ensure_named(struct gateway *gw, const char *mxid, const char *jid,
                         const char *displayname, ghost_ready_cb cb, void *ud);

/* A ghost's profile changed (name or avatar): the homeserver copied the
 * global display name into every room, but in MUC rooms (gateway mode,
 * portals) a ghost goes by its nick, so its member event there is put back
 * with the nick and avatar_url (NULL for none). */
void ghosts_keep_room_nicks(struct gateway *gw, const char *ghost,
                            const char *avatar_url);

#endif
