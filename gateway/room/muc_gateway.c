/* Gateway mode: an XMPP user joins a Matrix room as if it were a MUC
 * (#room%server@gw or !id%server@gw). The user's ghost joins the Matrix
 * room; the gateway plays the MUC service, answering the join with one
 * presence per Matrix member (from one members query), the user's own
 * presence (110) and the subject, and relays messages both ways. */
#include "gateway/room/muc_gateway.h"

#include "gateway/room/common.h"
#include "gateway/room/join.h"
#include "gateway/room/relay.h"

#include "common/log.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "gateway/base/effects.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/core/translate.h"
#include "gateway/features/ghosts.h"
#include "gateway/features/media.h"
#include "gateway/features/members.h"
#include "gateway/features/presence.h"
#include "matrix/event_state.h"
#include "xep/avatars.h"
#include "xep/disco.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/presence_stanza.h"
#include "xep/stanza_error.h"
#include "xep/chatstates.h"
#include "xep/mam.h"
#include "xep/markers.h"
#include "xep/reactions.h"
#include "xep/retractions.h"
#include "xep/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void leave(struct gateway *gw, const char *occupant_jid,
                  const char *muc_jid)
{
    struct store_occupant o;
    if (store_occupant_get(gw->store, occupant_jid, muc_jid, &o) != 1)
        return;
    store_occupant_delete(gw->store, occupant_jid, muc_jid);
    static const int self_codes[] = { 110, 0 };
    char *self = xasprintf("%s/%s", muc_jid, o.nick);
    struct muc_item item = { "member", "none", occupant_jid, NULL };
    room_send_now(gw, muc_presence(gw->xmpp, self, occupant_jid, "unavailable",
                              &item, self_codes));
    free(self);
    /* The ghost stays while any of the user's resources is still in. */
    if (store_occupants_of_ghost(gw->store, o.room_id, o.ghost) == 0) {
        room_leave_matrix(gw, o.room_id, o.ghost);
        log_info("muc: %s left %s; ghost %s leaves the room", occupant_jid,
                 muc_jid, o.ghost);
    }
    store_occupant_free(&o);
}

void muc_gateway_bounced(struct gateway *gw, const char *occupant_jid,
                         const char *muc_jid)
{
    log_info("muc: %s bounced a stanza from %s; removing the occupant",
             occupant_jid, muc_jid);
    leave(gw, occupant_jid, muc_jid);
}

static void on_renamed(const struct mx_response *r, void *ud)
{
    (void)ud;
    if (r->status != 200)
        log_warn("muc: a ghost's name in its room did not change: %s",
                 r->error);
}

static bool nick_taken(struct gateway *gw, const struct store_occupant *o,
                       const char *nick)
{
    struct store_member *members;
    int n = store_members_in_room(gw->store, o->room_id, &members);
    bool taken = false;
    for (int i = 0; i < n && !taken; i++)
        taken = strcmp(members[i].nick, nick) == 0 &&
                strcmp(members[i].mxid, o->ghost) != 0;
    store_members_free(members, n > 0 ? n : 0);
    return taken;
}

/* A presence to room/newnick from an occupant: a nick change (XEP-0045
 * §7.6). Every occupant sees 303 from the old nick, then the new one; the
 * ghost takes the nick as its name in the Matrix room. */
static void change_nick(struct gateway *gw, xmpp_stanza_t *st,
                        struct store_occupant *o, const char *nick)
{
    if (nick_taken(gw, o, nick)) {
        room_presence_error(gw, st, "cancel", "conflict",
                       "that nickname is taken in this room");
        return;
    }
    struct store_member me;
    long level = 0;
    if (store_member_get(gw->store, o->room_id, o->ghost, &me) == 1) {
        level = me.level;
        free(me.mxid);
        free(me.nick);
    }
    char *jid = members_real_jid(gw, o->ghost);
    char *old_from = xasprintf("%s/%s", o->muc_jid, o->nick);
    char *new_from = xasprintf("%s/%s", o->muc_jid, nick);
    struct store_occupant *all;
    int n = store_occupants_in_room(gw->store, o->room_id, &all);
    for (int i = 0; i < n; i++) {
        bool self = strcmp(all[i].occupant_jid, o->occupant_jid) == 0;
        int gone_codes[] = { 303, self ? 110 : 0, 0 };
        int here_codes[] = { self ? 110 : 0, 0 };
        struct muc_item item = members_muc_item(level, self ? o->occupant_jid
                                                          : jid);
        item.nick = nick;
        room_send_now(gw, muc_presence(gw->xmpp, old_from, all[i].occupant_jid,
                                  "unavailable", &item, gone_codes));
        item.nick = NULL;
        room_send_now(gw, muc_presence(gw->xmpp, new_from, all[i].occupant_jid,
                                  NULL, &item, here_codes));
    }
    store_occupants_free(all, n > 0 ? n : 0);
    free(o->nick);
    o->nick = xstrdup(nick);
    store_occupant_put(gw->store, o);
    store_member_put(gw->store, o->room_id, o->ghost, nick, level);
    mx_member_join(gw->mx, o->room_id, o->ghost, nick, NULL, 3, on_renamed,
                   NULL);
    log_info("muc: %s is now %s in %s", o->occupant_jid, nick, o->muc_jid);
    free(new_from);
    free(old_from);
    free(jid);
}

void muc_gateway_presence(struct gateway *gw, xmpp_stanza_t *st,
                          const char *target)
{
    const char *to = xmpp_stanza_get_to(st);
    const char *from = xmpp_stanza_get_from(st);
    const char *type = xmpp_stanza_get_type(st);
    char *muc_jid = ids_jid_bare(to);
    const char *nick = ids_jid_resource(to);
    if (type && strcmp(type, "unavailable") == 0) {
        leave(gw, from, muc_jid);
    } else if (!type) {
        struct store_occupant o;
        if (store_occupant_get(gw->store, from, muc_jid, &o) == 1) {
            /* Already in: a presence update, or a nick change. */
            if (nick && *nick && strcmp(nick, o.nick) != 0)
                change_nick(gw, st, &o, nick);
            store_occupant_free(&o);
        } else if (!nick || !*nick) {
            room_presence_error(gw, st, "modify", "jid-malformed",
                           "join with a nickname: room@service/nick");
        } else {
            room_join(gw, st, target, muc_jid, nick);
        }
    }
    free(muc_jid);
}

/* Which events of a gateway-mode room reach its occupants, and how: the
 * first route whose test matches relays the event; others are ignored. */
struct event_route {
    bool (*matches)(const struct mx_event *ev);
    void (*relay)(struct gateway *gw, const struct mx_event *ev,
                  const struct store_room *room);
};

static bool is_power_levels(const struct mx_event *ev)
{
    return mx_event_is_room_state(ev, "m.room.power_levels");
}

static bool is_message(const struct mx_event *ev)
{
    return mx_event_is_message(ev->type);
}

static bool is_member(const struct mx_event *ev)
{
    return strcmp(ev->type, "m.room.member") == 0 && ev->state_key;
}

static bool is_join_rules(const struct mx_event *ev)
{
    return mx_event_is_room_state(ev, "m.room.join_rules");
}

/* Members-only or open from now on (disco, OMEMO). */
static void note_join_rules(struct gateway *gw, const struct mx_event *ev,
                            const struct store_room *room)
{
    (void)room;
    struct mx_join_rules rules;
    const char *why;
    if (mx_join_rules_parse(ev->content, &rules, &why) == 0)
        members_set_join_rule(gw, ev->room_id, rules.join_rule);
}

static const struct event_route event_routes[] = {
    { is_power_levels, room_relay_power_levels },
    { is_join_rules, note_join_rules },
    { is_message, room_relay_message },
    { is_member, room_relay_member },
};

void muc_gateway_event(struct gateway *gw, const struct mx_event *ev,
                       const struct store_room *room)
{
    for (size_t i = 0; i < sizeof event_routes / sizeof *event_routes; i++) {
        if (event_routes[i].matches(ev)) {
            event_routes[i].relay(gw, ev, room);
            return;
        }
    }
}

/* Every gateway MUC shows real JIDs (muc_nonanonymous): its members are
 * Matrix users, whose IDs are public anyway. */
#define MUC_COMMON_FEATURES                                                  \
    NS_DISCO_INFO, NS_MUC, "muc_nonanonymous", "muc_persistent",             \
        "urn:xmpp:sid:0", NS_REACTIONS, NS_RETRACT, NS_MODERATE,             \
        NS_MODERATE_LEGACY, NS_CHATSTATES, NS_CHAT_MARKERS, NS_MAM
static const char *const open_features[] = { MUC_COMMON_FEATURES, "muc_open",
                                             NULL };
static const char *const members_only_features[] = {
    MUC_COMMON_FEATURES, "muc_membersonly", NULL
};

const char *const *muc_gateway_features(struct gateway *gw,
                                        const char *requester,
                                        const char *muc_jid)
{
    char *bare = ids_jid_bare(muc_jid);
    struct store_occupant o;
    bool only = false;
    if (requester && members_occupant(gw, requester, bare, &o) == 1) {
        only = members_only(gw, o.room_id);
        store_occupant_free(&o);
    }
    free(bare);
    return only ? members_only_features : open_features;
}
