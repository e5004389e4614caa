/* Gateway mode: the MUC's affiliation lists (XEP-0045 muc#admin), read
 * from the Matrix room's members. OMEMO clients read them to learn the
 * real JIDs of a members-only room, whose devices they encrypt to. */
#ifndef ISTHMUS_GATEWAY_ROOM_AFFILIATIONS_H
#define ISTHMUS_GATEWAY_ROOM_AFFILIATIONS_H

#include "gateway/base/context.h"

/* Answers a muc#admin get to a gateway MUC: the members, admins or
 * owners list for an occupant, forbidden for anyone else. */
void room_affiliations_iq(struct gateway *gw, xmpp_stanza_t *iq);

#endif
