/* Portal mode, the MUC -> Matrix: occupants' presences become ghosts
 * joining, leaving and changing power level, and a Matrix user's own
 * occupant follows its join (see occupants.h). */
#include "gateway/portal/occupants.h"

#include "gateway/portal/common.h"
#include "gateway/portal/state.h"

#include "gateway/features/relations.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/base/effects.h"
#include "gateway/core/portal_pending.h"
#include "gateway/features/members.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "gateway/features/ghosts.h"
#include "gateway/features/media.h"
#include "gateway/features/presence.h"
#include "gateway/base/queues.h"
#include "gateway/features/reactions.h"
#include "gateway/features/markers.h"
#include "gateway/features/retractions.h"
#include "gateway/features/markers.h"
#include "gateway/features/chatstates.h"
#include "gateway/core/translate.h"
#include "matrix/event_state.h"
#include "xep/disco.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/reactions.h"
#include "xep/retractions.h"
#include "xep/xml.h"
#include <stdlib.h>
#include <string.h>

#define MAX_NICK_ATTEMPTS 5

/* ------------------------------------------------- the MUC to Matrix -- */

/* Queues one operation of kind for user_id with no other field but
 * reason (may be NULL). */
static void enqueue_simple(struct gateway *gw, const char *room_id,
                           enum portal_op_kind kind, const char *user_id,
                           const char *reason)
{
    struct portal_op op = { .kind = kind, .user_id = user_id,
                            .reason = reason };
    portal_op_enqueue(gw, room_id, &op);
}

/* A kick or ban mirrored onto a Matrix user, carrying the MUC's reason. */
static void enqueue_moderation(struct gateway *gw, const char *room_id,
                               const struct muc_user_info *info,
                               const char *user_id)
{
    bool ban = muc_has_code(info, 301);
    char *reason = xasprintf("%s in the XMPP room%s%s",
                             ban ? "banned" : "kicked",
                             info->reason ? ": " : "",
                             info->reason ? info->reason : "");
    enqueue_simple(gw, room_id, ban ? PORTAL_OP_BAN : PORTAL_OP_KICK, user_id,
                   reason);
    free(reason);
}

/* The power level that stands for a MUC affiliation and role. */
static long level_for(const struct muc_item *item)
{
    const char *aff = item->affiliation ? item->affiliation : "";
    const char *role = item->role ? item->role : "";
    if (strcmp(aff, "owner") == 0)
        return 100;
    if (strcmp(aff, "admin") == 0 || strcmp(role, "moderator") == 0)
        return 50;
    return 0;
}

/* Queues a power-level change when the member's MUC standing changed
 * (the levels are kept in the members table, as in gateway mode). */
static void sync_level(struct gateway *gw, const struct store_room *room,
                       const char *mxid, const char *nick,
                       const struct muc_item *item)
{
    long level = level_for(item);
    struct store_member m;
    int found = store_member_get(gw->store, room->room_id, mxid, &m);
    long known = found == 1 ? m.level : 0;
    if (found == 1) {
        free(m.mxid);
        free(m.nick);
    }
    if (found == 1 && known == level)
        return;
    store_member_put(gw->store, room->room_id, mxid, nick, level);
    if (found == 1 || level != 0) {
        struct portal_op op = { .kind = PORTAL_OP_POWER, .user_id = mxid,
                                .level = level };
        portal_op_enqueue(gw, room->room_id, &op);
    }
}

static void on_own_presence(struct gateway *gw, xmpp_stanza_t *st,
                            const struct store_room *room, const char *mxid,
                            const char *nick,
                            const struct muc_user_info *info)
{
    struct store_portal_user u;
    if (store_portal_user_get(gw->store, room->xmpp_jid, mxid, &u) != 1)
        return;
    const char *type = xmpp_stanza_get_type(st);
    if (!type) {
        if (!u.joined || strcmp(u.nick, nick) != 0) {
            free(u.nick);
            u.nick = xstrdup(nick); /* the room may have changed it (210) */
            u.joined = 1;
            store_portal_user_put(gw->store, &u);
            log_info("portal: %s is in %s as %s", mxid, room->xmpp_jid, nick);
        }
        sync_level(gw, room, mxid, nick, &info->item);
    } else if (strcmp(type, "unavailable") == 0) {
        if (muc_has_code(info, 303) && info->item.nick) {
            free(u.nick);
            u.nick = xstrdup(info->item.nick);
            store_portal_user_put(gw->store, &u);
        } else if (muc_has_code(info, 307) || muc_has_code(info, 301)) {
            store_portal_user_delete(gw->store, room->room_id, mxid);
            enqueue_moderation(gw, room->room_id, info, mxid);
        } else {
            /* The room went away under us (server restart, shutdown): the
             * next connection rejoins. */
            u.joined = 0;
            store_portal_user_put(gw->store, &u);
        }
    }
    store_portal_user_free(&u);
}

static void on_presence_error(struct gateway *gw, xmpp_stanza_t *st,
                              const struct store_room *room, const char *mxid)
{
    struct store_portal_user u;
    if (store_portal_user_get(gw->store, room->xmpp_jid, mxid, &u) != 1)
        return;
    xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(st, "error");
    xmpp_stanza_t *cond = err ? xmpp_stanza_get_children(err) : NULL;
    while (cond && !xmpp_stanza_is_tag(cond))
        cond = xmpp_stanza_get_next(cond);
    const char *condition = cond ? xmpp_stanza_get_name(cond) : "unknown";
    if (u.joined) {
        /* A refused nick change: the old nick stays, and the room hears
         * why the XMPP side still shows the old name. */
        log_info("portal: %s in %s: the room refused a change: %s", mxid,
                 room->xmpp_jid, condition);
        char *seed = xasprintf("nick refused %s %s", mxid, u.base_nick);
        char *notice = xasprintf("The XMPP room %s refused the nick \"%s\" "
                                 "for %s (%s); the XMPP side still knows "
                                 "them as \"%s\".", room->xmpp_jid,
                                 u.base_nick, mxid, condition, u.nick);
        portal_bot_notice(gw, room->room_id, seed, notice);
        free(notice);
        free(seed);
    } else if (strcmp(condition, "conflict") == 0 &&
               u.attempt + 1 < MAX_NICK_ATTEMPTS) {
        u.attempt++;
        free(u.nick);
        u.nick = portal_nick_for_attempt(u.base_nick, u.attempt);
        store_portal_user_put(gw->store, &u);
        char *occupant = members_portal_occupant(gw, mxid);
        char *to = xasprintf("%s/%s", room->xmpp_jid, u.nick);
        if (occupant)
            portal_send_to_muc(gw, room->room_id,
                        muc_join(gw->xmpp, occupant, to, -1));
        log_info("portal: nick taken in %s; %s tries %s", room->xmpp_jid,
                 mxid, u.nick);
        free(to);
        free(occupant);
    } else {
        log_info("portal: %s refused %s: %s", room->xmpp_jid, mxid, condition);
        store_portal_user_delete(gw->store, room->room_id, mxid);
        char *reason = xasprintf("the XMPP room refused to let you in (%s)",
                                 condition);
        enqueue_simple(gw, room->room_id, PORTAL_OP_KICK, mxid, reason);
        free(reason);
    }
    store_portal_user_free(&u);
}

/* The ghost standing for an occupant: per real JID when the room shows
 * it, else per nick. Caller frees; NULL if none can be made. */
char *portal_ghost_of(struct gateway *gw, const char *muc_jid,
                      const char *nick, const char *real_jid)
{
    char *ghost = NULL;
    const char *why;
    int rc = real_jid ? ids_jid_to_ghost(&gw->ids, real_jid, &ghost, &why)
                      : ids_occupant_to_ghost(&gw->ids, muc_jid, nick, &ghost,
                                              &why);
    if (rc < 0) {
        log_info("portal: no ghost for %s/%s: %s", muc_jid, nick, why);
        return NULL;
    }
    return ghost;
}


static void on_occupant_presence(struct gateway *gw, xmpp_stanza_t *st,
                                 const struct store_room *room,
                                 const char *nick,
                                 const struct muc_user_info *info)
{
    const char *muc = room->xmpp_jid;
    struct store_portal_user u;
    if (store_portal_user_by_nick(gw->store, muc, nick, &u) == 1) {
        store_portal_user_free(&u);
        return; /* a Matrix user's own occupant: they are in the room */
    }
    char *real = info->item.jid ? ids_jid_bare(info->item.jid) : NULL;
    const char *domain = real ? strchr(real, '@') : NULL;
    if (real && strcmp(domain ? domain + 1 : real, gw->ids.component) == 0) {
        free(real); /* someone reaching the MUC through this gateway */
        return;
    }
    char *occ_jid = xasprintf("%s/%s", muc, nick);
    struct store_occupant o;
    int found = store_occupant_get(gw->store, occ_jid, muc, &o);
    const char *type = xmpp_stanza_get_type(st);
    if (!type) {
        portal_sync_seen(gw->portal, muc, nick);
        char *ghost = found == 0 ? portal_ghost_of(gw, muc, nick, real) : NULL;
        if (ghost) {
            struct store_occupant no = { occ_jid, (char *)muc, room->room_id,
                                         (char *)nick, ghost };
            store_occupant_put(gw->store, &no);
            struct portal_op op = { .kind = PORTAL_OP_JOIN, .user_id = ghost,
                                    .jid = real ? real : occ_jid,
                                    .nick = nick, .real = real != NULL };
            portal_op_enqueue(gw, room->room_id, &op);
        }
        /* Affiliation and role become the ghost's power level, now and
         * whenever the room changes them. */
        if (found == 1 || ghost) {
            sync_level(gw, room, found == 1 ? o.ghost : ghost, nick,
                       &info->item);
            presence_portal_occupant(gw, real ? real : occ_jid, muc,
                                     found == 1 ? o.ghost : ghost, st);
        }
        free(ghost);
    } else if (strcmp(type, "unavailable") == 0 && found == 1) {
        presence_portal_occupant(gw, real ? real : occ_jid, muc, o.ghost, st);
        store_occupant_delete(gw->store, occ_jid, muc);
        store_member_delete(gw->store, room->room_id, o.ghost);
        /* A nick change (303) is a leave here; the presence under the new
         * nick that follows is a join. */
        if (muc_has_code(info, 307) || muc_has_code(info, 301))
            enqueue_moderation(gw, room->room_id, info, o.ghost);
        else
            enqueue_simple(gw, room->room_id, PORTAL_OP_LEAVE, o.ghost, NULL);
    }
    if (found == 1)
        store_occupant_free(&o);
    free(occ_jid);
    free(real);
}

void portal_on_muc_presence(struct gateway *gw, xmpp_stanza_t *st,
                            const struct store_room *room, const char *mxid)
{
    const char *type = xmpp_stanza_get_type(st);
    const char *nick = ids_jid_resource(xmpp_stanza_get_from(st));
    if (type && strcmp(type, "error") == 0) {
        on_presence_error(gw, st, room, mxid);
        return;
    }
    struct muc_user_info info;
    if (!nick || !muc_user_info_parse(st, &info))
        return;
    if (muc_has_code(&info, 110))
        on_own_presence(gw, st, room, mxid, nick, &info);
    else
        on_occupant_presence(gw, st, room, nick, &info);
}

/* The subject ends a join: occupants the gateway remembers but the MUC
 * did not announce again left while it was away. */
void portal_sync_finish(struct gateway *gw, const struct store_room *room)
{
    struct portal_sync **p = portal_sync_find(gw->portal, room->xmpp_jid);
    struct portal_sync *s = *p;
    if (!s)
        return;
    *p = s->next;
    struct store_occupant *list;
    int n = store_occupants_in_room(gw->store, room->room_id, &list);
    for (int i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < s->n && !seen; k++)
            seen = strcmp(s->seen[k], list[i].nick) == 0;
        if (seen)
            continue;
        store_occupant_delete(gw->store, list[i].occupant_jid, list[i].muc_jid);
        enqueue_simple(gw, room->room_id, PORTAL_OP_LEAVE, list[i].ghost,
                       NULL);
    }
    if (n > 0)
        store_occupants_free(list, n);
    portal_sync_free(s);
}
