/* Gateway mode: muc#admin affiliation lists (see affiliations.h). Matrix
 * power levels give the affiliation (members_muc_item); every member has
 * a real JID, their puppet's or, for XMPP users, their own. */
#include "gateway/room/affiliations.h"

#include "gateway/room/common.h"

#include "common/mem.h"
#include "gateway/core/ids.h"
#include "gateway/features/members.h"
#include "xep/muc.h"
#include "xep/stanza_error.h"

#include <stdlib.h>
#include <string.h>

static void reply_error(struct gateway *gw, xmpp_stanza_t *iq,
                        const char *type, const char *condition,
                        const char *text)
{
    room_send_now(gw, stanza_error_reply(gw->xmpp, iq, type, condition,
                                         text));
}

void room_affiliations_iq(struct gateway *gw, xmpp_stanza_t *iq)
{
    const char *wanted = muc_admin_list_request(iq);
    const char *type = xmpp_stanza_get_type(iq);
    if (!type || strcmp(type, "get") != 0) {
        reply_error(gw, iq, "cancel", "not-allowed",
                    "affiliations are changed on Matrix, with power levels");
        return;
    }
    if (!wanted) {
        reply_error(gw, iq, "modify", "bad-request",
                    "ask for one affiliation: <item affiliation='member'/>");
        return;
    }
    const char *to = xmpp_stanza_get_to(iq);
    const char *from = xmpp_stanza_get_from(iq);
    char *muc_jid = ids_jid_bare(to ? to : "");
    struct store_occupant o;
    if (!from || members_occupant(gw, from, muc_jid, &o) != 1) {
        free(muc_jid);
        reply_error(gw, iq, "auth", "forbidden",
                    "only the room's occupants see its members");
        return;
    }
    free(muc_jid);
    struct store_member *members;
    int n = store_members_in_room(gw->store, o.room_id, &members);
    struct muc_item *items = xcalloc((size_t)(n > 0 ? n : 1), sizeof *items);
    char **jids = xcalloc((size_t)(n > 0 ? n : 1), sizeof *jids);
    int got = 0;
    for (int i = 0; i < n; i++) {
        struct muc_item it = members_muc_item(members[i].level, NULL);
        if (strcmp(it.affiliation, wanted) != 0)
            continue;
        jids[got] = members_real_jid(gw, members[i].mxid);
        if (!jids[got])
            continue;
        items[got] = (struct muc_item){ it.affiliation, NULL, jids[got],
                                        members[i].nick };
        got++;
    }
    room_send_now(gw, muc_admin_list_result(gw->xmpp, iq, items, got));
    for (int i = 0; i < got; i++)
        free(jids[i]);
    free(jids);
    free(items);
    store_members_free(members, n > 0 ? n : 0);
    store_occupant_free(&o);
}
