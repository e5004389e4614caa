/* Who is who in rooms (see members.h). */
#include "gateway/features/members.h"

#include "common/log.h"
#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

int members_occupant(struct gateway *gw, const char *occupant_jid,
                     const char *muc_jid, struct store_occupant *out)
{
    return store_occupant_get(gw->store, occupant_jid, muc_jid, out);
}

char *members_default_nick(const char *mxid, const char *displayname)
{
    if (displayname && *displayname)
        return xstrdup(displayname);
    const char *colon = strchr(mxid, ':');
    return colon ? xstrndup(mxid + 1, (size_t)(colon - mxid - 1))
                 : xstrdup(mxid + 1);
}

char *members_stored_nick(struct gateway *gw, const char *room_id,
                          const char *mxid)
{
    struct store_member m;
    if (store_member_get(gw->store, room_id, mxid, &m) != 1)
        return NULL;
    free(m.mxid);
    return m.nick;
}

char *members_nick(struct gateway *gw, const char *room_id, const char *mxid,
                   const char *displayname)
{
    char *nick = members_stored_nick(gw, room_id, mxid);
    return nick ? nick : members_default_nick(mxid, displayname);
}

char *members_portal_occupant(struct gateway *gw, const char *mxid)
{
    char *jid = NULL;
    const char *why;
    if (ids_matrix_to_jid(&gw->ids, mxid, &jid, &why) < 0) {
        log_warn("portal: %s has no JID: %s", mxid, why);
        return NULL;
    }
    char *full = xasprintf("%s/%s", jid, MEMBERS_PORTAL_RESOURCE);
    free(jid);
    return full;
}

char *members_real_jid(struct gateway *gw, const char *mxid)
{
    char *jid = NULL;
    const char *why;
    if (ids_ghost_to_jid(&gw->ids, mxid, &jid, &why) == 0)
        return jid;
    if (ids_matrix_to_jid(&gw->ids, mxid, &jid, &why) == 0)
        return jid;
    return NULL;
}

struct muc_item members_muc_item(long level, const char *jid)
{
    if (level >= 100)
        return (struct muc_item){ "owner", "moderator", jid, NULL };
    if (level >= 50)
        return (struct muc_item){ "admin", "moderator", jid, NULL };
    return (struct muc_item){ "member", "participant", jid, NULL };
}

static char *members_only_key(const char *room_id)
{
    return xasprintf("members-only %s", room_id);
}

void members_set_join_rule(struct gateway *gw, const char *room_id,
                           const char *join_rule)
{
    /* A room without a join rule is invite-only (the spec's default);
     * knock and restricted rooms let in only whom they admit too. */
    bool only = !join_rule || strcmp(join_rule, "public") != 0;
    char *key = members_only_key(room_id);
    store_setting_put(gw->store, key, only ? 1 : 0);
    free(key);
}

bool members_only(struct gateway *gw, const char *room_id)
{
    char *key = members_only_key(room_id);
    int64_t only = 0;
    bool known = store_setting_get(gw->store, key, &only) == 1;
    free(key);
    return known && only;
}
