#include "gateway/features/x2m_env.h"

#include "common/mem.h"
#include "gateway/core/formatting.h"
#include "gateway/features/members.h"
#include "gateway/features/relations.h"

#include <stdlib.h>
#include <string.h>

/* The member of gateway-mode room `muc` (which sender is in) who goes by
 * nick there, or NULL. Caller frees. */
static char *gateway_member(struct gateway *gw, const char *sender,
                            const char *muc, const char *nick)
{
    struct store_occupant o;
    if (!sender || members_occupant(gw, sender, muc, &o) != 1)
        return NULL;
    struct store_member *all;
    int n = store_members_in_room(gw->store, o.room_id, &all);
    char *mxid = NULL;
    for (int i = 0; i < n && !mxid; i++)
        if (all[i].nick && strcmp(all[i].nick, nick) == 0)
            mxid = xstrdup(all[i].mxid);
    if (n > 0)
        store_members_free(all, n);
    store_occupant_free(&o);
    return mxid;
}

/* The Matrix user an xmpp: URI names, or NULL: a Matrix user's JID on
 * the component, an XMPP user's bare JID (their ghost), or an occupant
 * JID in the room the message is for: in a portal room a Matrix user's
 * occupant, in a gateway-mode room any member. Caller frees. */
static char *mxid_of_uri(void *ud, const char *uri)
{
    struct x2m_lookups *l = ud;
    struct gateway *gw = l->gw;
    char *jid = fmt_xmpp_uri_jid(uri);
    if (!jid)
        return NULL;
    char *mxid = NULL;
    const char *why;
    enum ids_matrix_kind kind;
    const char *nick = ids_jid_resource(jid);
    char *bare = ids_jid_bare(jid);
    struct store_portal_user u;
    if (ids_jid_to_matrix(&gw->ids, jid, &mxid, &kind, &why) == 0) {
        if (kind != IDS_MATRIX_USER) {
            free(mxid);
            mxid = nick ? gateway_member(gw, l->from, bare, nick) : NULL;
        }
    } else if (nick && l->jid && strcmp(bare, l->jid) == 0 &&
               store_portal_user_by_nick(gw->store, bare, nick, &u) == 1) {
        mxid = xstrdup(u.mxid);
        store_portal_user_free(&u);
    } else if (!nick && ids_jid_to_ghost(&gw->ids, jid, &mxid, &why) < 0) {
        mxid = NULL;
    }
    free(bare);
    free(jid);
    return mxid;
}

static char *event_for(void *ud, const char *xmpp_id)
{
    struct x2m_lookups *l = ud;
    return relations_event_for(l->gw, l->jid, l->room_id, xmpp_id);
}

static char *edit_target(void *ud, const char *xmpp_id)
{
    struct x2m_lookups *l = ud;
    return relations_edit_target(l->gw, l->jid, l->room_id, xmpp_id);
}

void x2m_env_for(struct x2m_lookups *l, struct x2m_env *env)
{
    *env = (struct x2m_env){
        .max_body = (size_t)l->gw->cfg.max_event_body,
        .event_for = event_for,
        .edit_target = edit_target,
        .mxid_of_uri = mxid_of_uri,
        .ud = l,
    };
}
