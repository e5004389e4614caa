/* Address mapping between JIDs and Matrix identifiers (DESIGN.md §3).
 *
 *   alice@xmpp.example        <-> @_xmpp_alice=40xmpp.example:hs.example
 *   @bob:matrix.org           <-> bob%matrix.org@gw.xmpp.example
 *   #room:matrix.org          <-> #room%matrix.org@gw.xmpp.example
 *   !abc:matrix.org           <-> !abc%matrix.org@gw.xmpp.example
 *   room@conference.example   <-> #_xmpp_room=40conference.example:hs.example
 *
 * Every function here is pure. Each mapping is a bijection between the valid
 * identifiers on one side and the canonical ones on the other: decoders
 * re-encode what they decoded and refuse input that does not come back
 * identical, so two different strings can never name the same thing.
 *
 * On failure the functions return -1 and, if why is not NULL, point it at a
 * static English sentence saying what is wrong. */
#ifndef ISTHMUS_IDS_H
#define ISTHMUS_IDS_H

#include <stdbool.h>

struct ids {
    const char *user_prefix;  /* ghost localpart prefix, e.g. "_xmpp_" */
    const char *alias_prefix; /* portal alias prefix, e.g. "_xmpp_" */
    const char *hs_domain;    /* the homeserver's server_name */
    const char *component;    /* the component's JID domain */
    /* The gateway's own Matrix user (its localpart; NULL: none). It lies
     * outside the ghosts' namespace (config.c), so it is refused here by
     * name, as the ghosts are by prefix. */
    const char *bot_localpart;
};

enum ids_matrix_kind { IDS_MATRIX_USER, IDS_MATRIX_ALIAS, IDS_MATRIX_ROOM };

/* Validation of single identifiers, without mapping. */
bool ids_jid_is_valid_bare(const char *jid, const char **why);
bool ids_mxid_is_valid(const char *id, enum ids_matrix_kind kind,
                       const char **why);

/* Returns the bare part of a (full or bare) JID, lower-cased in the ASCII
 * range the way every XMPP server compares them. Caller frees. */
char *ids_jid_bare(const char *jid);
/* Returns the resource of a full JID (pointer into jid) or NULL. */
const char *ids_jid_resource(const char *jid);

/* alice@xmpp.example -> @_xmpp_alice=40xmpp.example:hs. *mxid: caller frees. */
int ids_jid_to_ghost(const struct ids *ids, const char *jid, char **mxid,
                     const char **why);
/* room@service + nick -> the ghost of an occupant whose real JID the room
 * hides (@_xmpp_room=40service=2fnick:hs). *mxid: caller frees. */
int ids_occupant_to_ghost(const struct ids *ids, const char *muc_jid,
                          const char *nick, char **mxid, const char **why);
/* The inverse of ids_occupant_to_ghost: the occupant JID (room@service/
 * nick). Caller frees *jid. */
int ids_occupant_ghost_to_jid(const struct ids *ids, const char *mxid,
                              char **jid, const char **why);
/* The inverse; *jid is the bare JID. Caller frees. */
int ids_ghost_to_jid(const struct ids *ids, const char *mxid, char **jid,
                     const char **why);
/* True if mxid lies in the gateway's exclusive ghost namespace. */
bool ids_is_ghost(const struct ids *ids, const char *mxid);

/* True if mxid is the gateway's own bot (@bot_localpart:hs). */
bool ids_is_bot(const struct ids *ids, const char *mxid);

/* @bob:hs / #room:hs / !id:hs -> the JID on the component. Ghosts are
 * refused: an XMPP user is reached at their own JID; so is the bot: no
 * XMPP user speaks to or as the gateway itself. *jid: caller frees. */
int ids_matrix_to_jid(const struct ids *ids, const char *id, char **jid,
                      const char **why);
/* The inverse. The JID may carry a resource, which is ignored. On success
 * *kind says which sort of Matrix identifier *id is. Caller frees *id. */
int ids_jid_to_matrix(const struct ids *ids, const char *jid, char **id,
                      enum ids_matrix_kind *kind, const char **why);

/* room@conference.example <-> #_xmpp_room=40conference.example:hs (portal
 * rooms). Caller frees the output. */
int ids_muc_to_alias(const struct ids *ids, const char *muc, char **alias,
                     const char **why);
int ids_alias_to_muc(const struct ids *ids, const char *alias, char **muc,
                     const char **why);

#endif
