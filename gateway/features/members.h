/* Who is who in rooms: the lookups features need about the members and
 * occupants of either room mode (a member's nick, the occupant behind a
 * JID, a Matrix user's occupant JID in portal MUCs, how a member shows in
 * a MUC). They read the store only, so that features ask here and never
 * call into the room modes (gateway/room/, gateway/portal/), which sit
 * above them. */
#ifndef ISTHMUS_GATEWAY_MEMBERS_H
#define ISTHMUS_GATEWAY_MEMBERS_H

#include "gateway/base/context.h"
#include "xep/muc.h"

/* A Matrix user's occupant in portal MUCs: user%hs@component/<this>. */
#define MEMBERS_PORTAL_RESOURCE "matrix"

/* Looks the sender up among the gateway-mode MUC's occupants (1 found,
 * 0 not, -1). out: release with store_occupant_free. */
int members_occupant(struct gateway *gw, const char *occupant_jid,
                     const char *muc_jid, struct store_occupant *out);
/* The nick a Matrix member goes by in the room's MUC: the one the room's
 * occupants were shown, else displayname (may be NULL), else the
 * localpart. Caller frees. */
char *members_nick(struct gateway *gw, const char *room_id, const char *mxid,
                   const char *displayname);
/* The nick the store has for the member in the room, or NULL. Caller
 * frees. */
char *members_stored_nick(struct gateway *gw, const char *room_id,
                          const char *mxid);
/* A member's nick without the store: the display name, else the
 * localpart. Caller frees. */
char *members_default_nick(const char *mxid, const char *displayname);
/* The occupant JID a Matrix user has in every portal MUC
 * (user%hs@component/matrix), or NULL. Caller frees. */
char *members_portal_occupant(struct gateway *gw, const char *mxid);
/* The real JID behind a member: an XMPP user's own JID for ghosts, the
 * Matrix user's JID on the component otherwise; NULL for neither. Caller
 * frees. */
char *members_real_jid(struct gateway *gw, const char *mxid);
/* Affiliation and role from a Matrix power level; jid is only pointed
 * to. */
struct muc_item members_muc_item(long level, const char *jid);

/* Whether a gateway-mode room is members-only (its Matrix join rule is
 * not public): such a room presents itself as muc_membersonly, and its
 * XMPP occupants' OMEMO is carried. Remembered in the store from the
 * join's state and every m.room.join_rules event after. */
void members_set_join_rule(struct gateway *gw, const char *room_id,
                           const char *join_rule);
bool members_only(struct gateway *gw, const char *room_id);

#endif
