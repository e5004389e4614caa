/* Gateway mode: an XMPP user joins a Matrix room as if it were a MUC
 * (#room%server@gw or !id%server@gw). The user's ghost joins the Matrix
 * room; the gateway plays the MUC service, answering the join with one
 * presence per Matrix member (from one members query), the user's own
 * presence (110) and the subject, and relays messages both ways. */
#include "gateway/room/muc_gateway.h"

#include "gateway/features/members.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/base/effects.h"

#include "common/log.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "gateway/features/format_bridge.h"
#include "gateway/features/ghosts.h"
#include "gateway/features/media.h"
#include "gateway/features/presence.h"
#include "gateway/core/translate.h"
#include "matrix/event_state.h"
#include "xep/disco.h"
#include "xep/message.h"
#include "xep/avatar.h"
#include "xep/muc.h"
#include "xep/presence_stanza.h"
#include "xep/stanza_error.h"
#include "xep/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ helpers -- */

static void send_now(struct gateway *gw, xmpp_stanza_t *st)
{
    gateway_send_now(gw, st);
    xmpp_stanza_release(st);
}

/* Creators of v12+ rooms outrank any power level; stored as this. */
#define CREATOR_LEVEL 1000000L

/* From room version 12 on, a room's creators outrank every power level
 * and are not listed in m.room.power_levels (MSC4289). create is NULL when
 * the room's create event could not be read. */
static bool is_creator(const struct mx_create *create, const char *mxid)
{
    return create && mx_create_is_creator(create, mxid);
}

/* The room's create event as fetched (format=event), or NULL when it was
 * not fetched or does not parse; views into ev's tree. */
static const struct mx_create *parse_create(json_t *raw, struct mx_event *ev,
                                            struct mx_create *out)
{
    const char *why;
    if (!raw)
        return NULL;
    if (mx_event_parse(raw, ev, &why) < 0 ||
        mx_create_parse(ev, out, &why) < 0) {
        log_debug("muc: ignoring the room's create event: %s", why);
        return NULL;
    }
    return out;
}

/* The power levels content, or every default when there is none (the
 * fetch failed) or it is not an object. */
static void parse_levels(json_t *content, struct mx_power_levels *out)
{
    const char *why;
    if (mx_power_levels_parse(content, out, &why) < 0)
        mx_power_levels_default(out);
}

static long power_level(const struct mx_power_levels *levels,
                        const char *mxid)
{
    return (long)mx_power_levels_user(levels, mxid);
}

static void presence_error(struct gateway *gw, xmpp_stanza_t *orig,
                           const char *type, const char *condition,
                           const char *text)
{
    xmpp_stanza_t *err = stanza_error_reply(gw->xmpp, orig, type, condition,
                                            text);
    xml_add_child(gw->xmpp, err, "x", NS_MUC);
    send_now(gw, err);
}

/* ---------------------------------------------------------------- join -- */

struct join {
    struct gateway *gw;
    xmpp_stanza_t *presence; /* the join request, for errors */
    char *occupant_jid;      /* full */
    char *bare;
    char *muc_jid;
    char *nick;
    char *target;            /* #alias or !room as addressed */
    char *room_id;
    char *ghost;
    struct mx_members *members; /* joined_members answer */
    json_t *state[4];        /* the STATE_* events, NULL if absent */
    int state_pending;       /* of those, still being fetched */
    bool state_failed;       /* one could not be fetched */
    json_t *burst;           /* [[nick, mxid, level], ...] still to send */
    size_t burst_sent;
    long own_level;
    char *subject;           /* sent last, after any history */
    int history_max;
    long long history_since_ms;
};

static void join_free(struct join *j)
{
    xmpp_stanza_release(j->presence);
    free(j->occupant_jid);
    free(j->bare);
    free(j->muc_jid);
    free(j->nick);
    free(j->target);
    free(j->room_id);
    free(j->ghost);
    mx_members_free(j->members);
    for (size_t k = 0; k < sizeof j->state / sizeof j->state[0]; k++)
        json_decref(j->state[k]);
    json_decref(j->burst);
    free(j->subject);
    free(j);
}

static void join_fail(struct join *j, const char *condition, const char *text)
{
    log_info("muc: %s could not join %s: %s", j->occupant_jid, j->muc_jid,
             text);
    presence_error(j->gw, j->presence, "cancel", condition, text);
    join_free(j);
}

/* The last join answer: XEP-0045 clients treat the subject as "joined". */
static void finish_join(struct join *j)
{
    send_now(j->gw, muc_subject(j->gw->xmpp, j->muc_jid, j->occupant_jid,
                                j->subject ? j->subject : ""));
    log_info("muc: %s joined %s (%s) as %s", j->occupant_jid, j->muc_jid,
             j->room_id, j->nick);
    join_free(j);
}

/* History on join, oldest first, marked with XEP-0203 delays. */
static void on_history(const struct mx_response *r,
                       const struct mx_messages *res, void *ud)
{
    (void)r;
    struct join *j = ud;
    struct gateway *gw = j->gw;
    json_t *chunk = res ? res->chunk : NULL;
    size_t n = json_array_size(chunk);
    for (size_t k = n; k-- > 0;) { /* the chunk runs newest first */
        json_t *raw = json_array_get(chunk, k);
        struct mx_event ev;
        struct mx_message msg;
        const char *why, *type;
        char *body = NULL;
        if (mx_event_parse(raw, &ev, &why) < 0 ||
            !mx_event_is_message(ev.type) ||
            ev.origin_server_ts < j->history_since_ms ||
            mx_message_parse(&ev, &msg, &why) < 0 ||
            translate_to_xmpp(&msg, (size_t)gw->cfg.max_stanza_body, &body,
                              &type, &why) < 0)
            continue;
        char *oob = NULL;
        if (media_to_xmpp(gw, &msg, &body, &oob, &why) < 0) {
            free(body);
            continue;
        }
        char *nick = members_stored_nick(gw, j->room_id, ev.sender);
        if (!nick)
            nick = members_default_nick(ev.sender, NULL);
        char *from = xasprintf("%s/%s", j->muc_jid, nick);
        xmpp_stanza_t *st = muc_groupchat(gw->xmpp, from, j->occupant_jid,
                                          ev.event_id, NULL, body,
                                          ev.event_id, j->muc_jid);
        if (oob)
            xmsg_add_oob(gw->xmpp, st, oob, NULL);
        free(oob);
        muc_add_delay(gw->xmpp, st, j->muc_jid, (long long)ev.origin_server_ts);
        send_now(gw, st);
        free(from);
        free(nick);
        free(body);
    }
    finish_join(j);
}

static void fetch_history(struct join *j)
{
    mx_messages(j->gw->mx, j->room_id, j->ghost, true, j->history_max,
                "{\"types\":" MX_MESSAGE_TYPES_JSON "}", NULL, 3, on_history,
                j);
}

static void on_left(const struct mx_response *r, void *ud)
{
    (void)ud;
    if (r->status != 200)
        log_warn("muc: a ghost could not leave its room: %s", r->error);
}

static void leave_room(struct gateway *gw, const char *room_id,
                       const char *ghost)
{
    mx_leave(gw->mx, room_id, ghost, 3, on_left, NULL);
}

/* The occupants' presences go out in slices. After each slice the gateway
 * pings the user's server and sends the next slice when the answer comes:
 * the server handles stanzas in order, so the answer means the slice has
 * been delivered, and messages of other conversations, which are sent at
 * once, never queue behind more than one slice of a large room's join. */
#define BURST_SLICE 100
#define BURST_PING_TIMEOUT_MS 10000

static void finish_members(struct join *j);
static void send_burst(struct join *j);

static void on_burst_ping(xmpp_stanza_t *result, void *ud)
{
    (void)result; /* any answer, or none in time: carry on */
    send_burst(ud);
}

static void send_burst(struct join *j)
{
    struct gateway *gw = j->gw;
    size_t n = json_array_size(j->burst);
    size_t end = j->burst_sent + BURST_SLICE < n ? j->burst_sent + BURST_SLICE
                                                 : n;
    for (; j->burst_sent < end; j->burst_sent++) {
        json_t *e = json_array_get(j->burst, j->burst_sent);
        const char *nick = json_string_value(json_array_get(e, 0));
        const char *member = json_string_value(json_array_get(e, 1));
        long level = (long)json_integer_value(json_array_get(e, 2));
        /* Stored slice by slice too: one loop turn never writes a whole
         * large room. */
        store_member_put(gw->store, j->room_id, member, nick, level);
        char *from = xasprintf("%s/%s", j->muc_jid, nick);
        char *jid = members_real_jid(gw, member);
        struct muc_item item = members_muc_item(level, jid);
        xmpp_stanza_t *p = muc_presence(gw->xmpp, from, j->occupant_jid, NULL,
                                        &item, NULL);
        presence_decorate(gw, p, member); /* their show, status, avatar */
        send_now(gw, p);
        free(jid);
        free(from);
    }
    if (j->burst_sent >= n) {
        finish_members(j);
        return;
    }
    const char *at = strchr(j->bare, '@');
    char *id = component_new_id(gw->component);
    xmpp_stanza_t *iq = xmpp_iq_new(gw->xmpp, "get", id);
    xmpp_stanza_set_from(iq, component_jid(gw->component));
    xmpp_stanza_set_to(iq, at ? at + 1 : j->bare);
    xml_add_child(gw->xmpp, iq, "ping", NS_PING);
    int rc = component_send_iq(gw->component, iq, BURST_PING_TIMEOUT_MS,
                               on_burst_ping, j);
    xmpp_stanza_release(iq);
    free(id);
    if (rc < 0)
        join_fail(j, "remote-server-timeout", "the XMPP server went away");
}

/* After the members: the newcomer to the others, self-presence, history,
 * subject. */
static void finish_members(struct join *j)
{
    struct gateway *gw = j->gw;
    /* The other XMPP occupants see the newcomer at once, as a MUC service
     * shows them; the ghost's member event may come before or after and
     * then repeats the same presence. */
    struct store_occupant *others;
    int nothers = store_occupants_in_room(gw->store, j->room_id, &others);
    char *newcomer = xasprintf("%s/%s", j->muc_jid, j->nick);
    char *own_jid = members_real_jid(gw, j->ghost);
    for (int k = 0; k < nothers; k++) {
        if (strcmp(others[k].ghost, j->ghost) == 0)
            continue;
        struct muc_item it = members_muc_item(j->own_level, own_jid);
        send_now(gw, muc_presence(gw->xmpp, newcomer, others[k].occupant_jid,
                                  NULL, &it, NULL));
    }
    free(own_jid);
    free(newcomer);
    store_occupants_free(others, nothers > 0 ? nothers : 0);

    struct store_occupant o = { j->occupant_jid, j->muc_jid, j->room_id,
                                j->nick, j->ghost };
    store_occupant_put(gw->store, &o);
    /* 100: the room shows real JIDs; 110: this presence is yours. */
    static const int self_codes[] = { 100, 110, 0 };
    char *self = xasprintf("%s/%s", j->muc_jid, j->nick);
    store_member_put(gw->store, j->room_id, j->ghost, j->nick, j->own_level);
    struct muc_item item = members_muc_item(j->own_level, j->occupant_jid);
    send_now(gw, muc_presence(gw->xmpp, self, j->occupant_jid, NULL, &item,
                              self_codes));
    free(self);
    if (j->history_max > 0)
        fetch_history(j);
    else
        finish_join(j);
}

/* The room state a join needs, fetched event by event: the whole state of
 * a large room holds every member event (megabytes for 5,000 members),
 * which took the loop hundreds of milliseconds to read. */
enum { STATE_LEVELS, STATE_CREATE, STATE_TOPIC, STATE_NAME };
static const struct {
    const char *type;
    bool whole_event;
} state_parts[] = {
    [STATE_LEVELS] = { "m.room.power_levels", false },
    [STATE_CREATE] = { "m.room.create", true }, /* sender counts too */
    [STATE_TOPIC] = { "m.room.topic", false },
    [STATE_NAME] = { "m.room.name", false },
};

/* Sends the join answers: members, self, subject. */
static void state_ready(struct join *j)
{
    struct gateway *gw = j->gw;
    /* Each state part parsed once for all members. */
    struct mx_power_levels pl;
    parse_levels(j->state[STATE_LEVELS], &pl);
    const struct mx_power_levels *levels = &pl;
    struct mx_event create_ev;
    struct mx_create create_view;
    const struct mx_create *create = parse_create(j->state[STATE_CREATE],
                                                  &create_ev, &create_view);
    struct mx_topic t;
    struct mx_name nm;
    const char *why;
    const char *topic = mx_topic_parse(j->state[STATE_TOPIC], &t, &why) == 0
                            ? t.topic
                            : NULL;
    const char *name = mx_name_parse(j->state[STATE_NAME], &nm, &why) == 0
                           ? nm.name
                           : NULL;

    /* Nicks, made unique: a second member with the same display name gets
     * its Matrix ID appended. */
    json_t *nicks = json_object();
    for (size_t k = 0; k < j->members->n; k++) {
        const char *mxid = j->members->members[k].user_id;
        if (strcmp(mxid, j->ghost) == 0)
            continue;
        char *nick = members_default_nick(mxid, j->members->members[k].display_name);
        if (json_object_get(nicks, nick)) {
            char *longer = xasprintf("%s (%s)", nick, mxid);
            free(nick);
            nick = longer;
        }
        json_object_set_new(nicks, nick, json_string(mxid));
        free(nick);
    }
    if (json_object_get(nicks, j->nick)) {
        json_decref(nicks);
        presence_error(gw, j->presence, "cancel", "conflict",
                       "that nickname is taken in this room");
        if (store_occupants_of_ghost(gw->store, j->room_id, j->ghost) == 0)
            leave_room(gw, j->room_id, j->ghost);
        join_free(j);
        return;
    }

    struct store_room room = { j->room_id, ROOM_GATEWAY, j->muc_jid, NULL };
    store_room_put(gw->store, &room, gateway_now_ms());
    store_members_clear(gw->store, j->room_id);
    j->burst = json_array();
    const char *nick;
    json_t *who;
    json_object_foreach(nicks, nick, who) {
        const char *member = json_string_value(who);
        long level = is_creator(create, member) ? CREATOR_LEVEL
                                                : power_level(levels, member);
        json_array_append_new(j->burst, json_pack("[s, s, I]", nick, member,
                                                  (json_int_t)level));
    }
    json_decref(nicks);
    j->own_level = is_creator(create, j->ghost) ? CREATOR_LEVEL
                                                : power_level(levels, j->ghost);
    j->subject = xstrdup(topic ? topic : name ? name : "");
    send_burst(j);
}

struct state_part {
    struct join *j;
    int which; /* STATE_* */
};

static void on_state_part(const struct mx_response *r,
                          const struct mx_state *res, void *ud)
{
    struct state_part *part = ud;
    struct join *j = part->j;
    /* 404: the room has no such event (no topic, no name). */
    if (res)
        j->state[part->which] = json_incref(res->content);
    else if (r->status != 404)
        j->state_failed = true;
    free(part);
    if (--j->state_pending > 0)
        return;
    if (j->state_failed)
        join_fail(j, "remote-server-timeout",
                  "the room's state could not be read");
    else
        state_ready(j);
}

static void on_members(const struct mx_response *r,
                       const struct mx_members *res, void *ud)
{
    struct join *j = ud;
    if (!res) {
        join_fail(j, "remote-server-timeout", r->error);
        return;
    }
    j->members = mx_members_dup(res);
    size_t nparts = sizeof state_parts / sizeof state_parts[0];
    j->state_pending = (int)nparts;
    for (size_t k = 0; k < nparts; k++) {
        struct state_part *part = xcalloc(1, sizeof *part);
        part->j = j;
        part->which = (int)k;
        /* The empty state key: these events have no other. */
        mx_state_get(j->gw->mx, j->room_id, state_parts[k].type, "",
                     j->ghost, state_parts[k].whole_event, 3, on_state_part,
                     part);
    }
}

static void on_joined(const struct mx_response *r, void *ud)
{
    struct join *j = ud;
    if (r->status != 200) {
        join_fail(j, r->status == 403 ? "forbidden" : "item-not-found",
                  r->error);
        return;
    }
    /* One members query answers the whole join, whatever the room size. */
    mx_joined_members(j->gw->mx, j->room_id, j->ghost, 3, on_members, j);
}

static void on_joined_room(const struct mx_response *r,
                           const struct mx_room_id *res, void *ud)
{
    (void)res;
    on_joined(r, ud);
}

static void on_ghost_ready(struct gateway *gw, bool ok, const char *error,
                           void *ud)
{
    struct join *j = ud;
    if (!ok) {
        join_fail(j, "not-allowed", error);
        return;
    }
    if (store_occupants_of_ghost(gw->store, j->room_id, j->ghost) > 0) {
        /* Another resource of the user is in already, under its nick. */
        mx_join(gw->mx, j->room_id, j->ghost, 3, on_joined_room, j);
    } else {
        /* Joining through the member event sets the MUC nick as the
         * ghost's name in this room, so that Matrix users and the other
         * XMPP occupants see the same name. */
        mx_member_join(gw->mx, j->room_id, j->ghost, j->nick, NULL, 3,
                       on_joined, j);
    }
}

static void on_alias(const struct mx_response *r,
                     const struct mx_room_id *res, void *ud)
{
    (void)r;
    struct join *j = ud;
    const char *room_id = res ? res->room_id : NULL;
    if (!room_id) {
        join_fail(j, "item-not-found", "no such Matrix room alias");
        return;
    }
    j->room_id = xstrdup(room_id);
    ghosts_ensure(j->gw, j->ghost, j->bare, NULL, on_ghost_ready, j);
}

static void join(struct gateway *gw, xmpp_stanza_t *st, const char *target,
                 const char *muc_jid, const char *nick)
{
    struct join *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->presence = xmpp_stanza_copy(st);
    j->occupant_jid = xstrdup(xmpp_stanza_get_from(st));
    j->bare = ids_jid_bare(j->occupant_jid);
    j->muc_jid = xstrdup(muc_jid);
    j->nick = xstrdup(nick);
    j->target = xstrdup(target);
    /* Without a <history/> request a client gets the last 20 messages, as
     * from most MUC services; never more than 100. */
    muc_history_request(st, 20, &j->history_max, &j->history_since_ms,
                        gateway_now_ms());
    if (j->history_max > 100)
        j->history_max = 100;
    const char *why;
    if (ids_jid_to_ghost(&gw->ids, j->bare, &j->ghost, &why) < 0) {
        join_fail(j, "not-allowed", why);
        return;
    }
    if (target[0] == '#') {
        mx_alias_lookup(gw->mx, target, 3, on_alias, j);
    } else {
        j->room_id = xstrdup(target);
        ghosts_ensure(gw, j->ghost, j->bare, NULL, on_ghost_ready, j);
    }
}

/* -------------------------------------------------------------- leave -- */

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
    send_now(gw, muc_presence(gw->xmpp, self, occupant_jid, "unavailable",
                              &item, self_codes));
    free(self);
    /* The ghost stays while any of the user's resources is still in. */
    if (store_occupants_of_ghost(gw->store, o.room_id, o.ghost) == 0) {
        leave_room(gw, o.room_id, o.ghost);
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
        presence_error(gw, st, "cancel", "conflict",
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
        send_now(gw, muc_presence(gw->xmpp, old_from, all[i].occupant_jid,
                                  "unavailable", &item, gone_codes));
        item.nick = NULL;
        send_now(gw, muc_presence(gw->xmpp, new_from, all[i].occupant_jid,
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
            presence_error(gw, st, "modify", "jid-malformed",
                           "join with a nickname: room@service/nick");
        } else {
            join(gw, st, target, muc_jid, nick);
        }
    }
    free(muc_jid);
}

/* ------------------------------------------------------------ messages -- */

void muc_gateway_reflect(struct gateway *gw, const struct store_occupant *o,
                         const char *id, const char *origin_id,
                         const char *body, const char *oob_url,
                         const char *oob_desc, const char *event_id)
{
    struct store_occupant *all;
    int n = store_occupants_in_room(gw->store, o->room_id, &all);
    char *from = xasprintf("%s/%s", o->muc_jid, o->nick);
    for (int i = 0; i < n; i++) {
        /* Every resource of the sender sees its own message come back,
         * with the room's stanza-id, as MUC clients expect. */
        if (strcmp(all[i].ghost, o->ghost) != 0)
            continue;
        xmpp_stanza_t *st = muc_groupchat(gw->xmpp, from,
                                          all[i].occupant_jid,
                                          id ? id : event_id, origin_id,
                                          body, event_id, o->muc_jid);
        /* A shared file comes back as the client sent it, so that it
         * still shows as a file and not only as a link. */
        if (oob_url)
            xmsg_add_oob(gw->xmpp, st, oob_url, oob_desc);
        send_now(gw, st);
    }
    free(from);
    store_occupants_free(all, n);
}

/* Tells the room a file did not reach XMPP. The gateway's bot is not in
 * these rooms; an XMPP occupant's ghost is, so it speaks. */
static void notify_file_refused(struct gateway *gw, const struct mx_event *ev,
                                const char *why)
{
    struct store_occupant *all;
    int n = store_occupants_in_room(gw->store, ev->room_id, &all);
    if (n > 0) {
        char *text = xasprintf("A file was not delivered to XMPP: %s", why);
        gateway_notice(gw, ev->room_id, all[0].ghost, ev->event_id, text);
        free(text);
    }
    store_occupants_free(all, n);
}

static void relay_message(struct gateway *gw, const struct mx_event *ev,
                          const struct store_room *room)
{
    struct mx_message msg;
    const char *why, *type;
    char *body = NULL;
    struct fmt_mention *mentions = NULL;
    size_t n_mentions = 0;
    if (mx_message_parse(ev, &msg, &why) < 0 ||
        translate_to_xmpp_rich(&msg, (size_t)gw->cfg.max_stanza_body, &body,
                               &type, &mentions, &n_mentions, &why) < 0) {
        log_debug("muc: not relaying %s: %s", ev->event_id, why);
        return;
    }
    char *oob = NULL;
    if (media_to_xmpp(gw, &msg, &body, &oob, &why) < 0) {
        log_info("muc: not relaying %s: %s", ev->event_id, why);
        notify_file_refused(gw, ev, why);
        fmt_mentions_free(mentions, n_mentions);
        free(body);
        return;
    }
    int translated_cp = (int)utf8_count(body, strlen(body));
    /* A reply names the stanza-id of what it answers, which in these rooms
     * is the event id. */
    int fallback_len = 0;
    if (msg.reply_to && !msg.replaces) {
        char *with_quote = translate_reply_to_xmpp(body, &fallback_len);
        free(body);
        body = with_quote;
    }
    /* Pills become XEP-0372 mentions, past the quote a reply rewrote. */
    struct xmsg_ref *refs;
    int n_refs;
    format_refs_for_xmpp(gw, mentions, n_mentions, body, translated_cp, &refs,
                         &n_refs);
    char *nick = members_stored_nick(gw, ev->room_id, ev->sender);
    if (!nick)
        nick = members_default_nick(ev->sender, NULL);
    char *from = xasprintf("%s/%s", room->xmpp_jid, nick);
    struct store_occupant *all;
    int n = store_occupants_in_room(gw->store, ev->room_id, &all);
    char *queue = xasprintf("m2x %s", ev->room_id);
    for (int i = 0; i < n; i++) {
        if (strcmp(all[i].ghost, ev->sender) == 0)
            continue; /* reflected when it was sent */
        xmpp_stanza_t *st = muc_groupchat(gw->xmpp, from, all[i].occupant_jid,
                                          ev->event_id, NULL, body,
                                          ev->event_id, room->xmpp_jid);
        /* The room relays every event under its event id, so an edit
         * corrects the stanza whose id is the original event's. */
        if (msg.replaces)
            xmsg_add_replace(gw->xmpp, st, msg.replaces);
        else if (msg.reply_to)
            xmsg_add_reply(gw->xmpp, st, msg.reply_to, NULL, fallback_len);
        xmsg_add_refs(gw->xmpp, st, refs, n_refs);
        if (oob)
            xmsg_add_oob(gw->xmpp, st, oob, NULL);
        to_xmpp_enqueue(gw, queue, st);
        xmpp_stanza_release(st);
    }
    free(queue);
    store_occupants_free(all, n);
    /* Remembered so that reactions, deletions and read markers can find
     * it (and its place in the room), and a moderator's deletion is told
     * from the sender's. An XMPP user's message is stored when it is sent,
     * with the ids its sender knows it by. */
    struct store_message m = {
        .event_id = (char *)ev->event_id, .room_id = (char *)ev->room_id,
        .xmpp_jid = room->xmpp_jid, .stanza_id = (char *)ev->event_id,
        .direction = DIR_MATRIX_TO_XMPP, .ts = ev->origin_server_ts,
        .replaces = (char *)msg.replaces, .sender = (char *)ev->sender,
    };
    if (!ids_is_ghost(&gw->ids, ev->sender))
        store_message_put(gw->store, &m);
    format_refs_free(refs, n_refs);
    free(from);
    free(nick);
    free(body);
    free(oob);
}

static void relay_member(struct gateway *gw, const struct mx_event *ev,
                         const struct store_room *room)
{
    struct mx_member m;
    const char *why;
    if (mx_member_parse(ev, &m, &why) < 0)
        return;
    bool joined = strcmp(m.membership, "join") == 0;
    /* An XMPP occupant's ghost goes by its MUC nick, not its display
     * name; its own join event changes nothing. */
    if (joined &&
        store_occupants_of_ghost(gw->store, ev->room_id, ev->state_key) > 0)
        return;
    char *old = members_stored_nick(gw, ev->room_id, ev->state_key);
    char *nick = joined ? members_default_nick(ev->state_key, m.displayname) : NULL;
    if (joined) {
        struct store_member prev;
        long level = 0;
        if (store_member_get(gw->store, ev->room_id, ev->state_key, &prev) ==
            1) {
            level = prev.level;
            free(prev.mxid);
            free(prev.nick);
        }
        store_member_put(gw->store, ev->room_id, ev->state_key, nick, level);
    }
    else if (old)
        store_member_delete(gw->store, ev->room_id, ev->state_key);
    if ((joined && old && strcmp(old, nick) == 0) || (!joined && !old)) {
        free(old);
        free(nick);
        return; /* nothing an occupant would see */
    }
    char *jid = members_real_jid(gw, ev->state_key);
    /* 303 nick change, 307 kicked, 301 banned, else a plain leave. */
    bool renamed = joined && old;
    bool banned = strcmp(m.membership, "ban") == 0;
    bool kicked = !joined && !banned && strcmp(ev->sender, ev->state_key) != 0;
    int codes[] = { renamed ? 303 : banned ? 301 : kicked ? 307 : 0, 0 };
    struct store_occupant *all;
    int n = store_occupants_in_room(gw->store, ev->room_id, &all);
    for (int i = 0; i < n; i++) {
        if (strcmp(all[i].ghost, ev->state_key) == 0) {
            if (!joined) {
                /* An XMPP user's ghost was removed: their MUC session
                 * ends the same way. */
                static const int self_extra[] = { 110, 0 };
                int self_codes[] = { codes[0], self_extra[0], 0 };
                char *from = xasprintf("%s/%s", room->xmpp_jid, all[i].nick);
                struct muc_item gone = { banned ? "outcast" : "none", "none",
                                         all[i].occupant_jid, NULL };
                send_now(gw, muc_presence(gw->xmpp, from, all[i].occupant_jid,
                                          "unavailable", &gone,
                                          codes[0] ? self_codes
                                                   : self_extra));
                free(from);
                store_occupant_delete(gw->store, all[i].occupant_jid,
                                      all[i].muc_jid);
            }
            continue;
        }
        if (old) {
            char *from = xasprintf("%s/%s", room->xmpp_jid, old);
            struct muc_item gone = { banned ? "outcast" : "member", "none",
                                     jid, renamed ? nick : NULL };
            send_now(gw, muc_presence(gw->xmpp, from, all[i].occupant_jid,
                                      "unavailable", &gone, codes));
            free(from);
        }
        if (joined) {
            char *from = xasprintf("%s/%s", room->xmpp_jid, nick);
            struct muc_item item = { "member", "participant", jid, NULL };
            send_now(gw, muc_presence(gw->xmpp, from, all[i].occupant_jid,
                                      NULL, &item, NULL));
            free(from);
        }
    }
    store_occupants_free(all, n);
    free(jid);
    free(old);
    free(nick);
}

char *muc_gateway_member_at(struct gateway *gw, const char *requester,
                            const char *occupant_jid)
{
    const char *nick = ids_jid_resource(occupant_jid);
    if (!requester || !nick || !*nick)
        return NULL;
    char *muc_jid = ids_jid_bare(occupant_jid);
    struct store_occupant o;
    char *mxid = NULL;
    if (store_occupant_get(gw->store, requester, muc_jid, &o) == 1) {
        if (store_member_by_nick(gw->store, o.room_id, nick, &mxid) != 1)
            mxid = NULL;
        store_occupant_free(&o);
    }
    free(muc_jid);
    return mxid;
}

/* New power levels: every member whose level changed gets a presence
 * with the new affiliation and role (the occupant's own with 110). */
static void relay_power_levels(struct gateway *gw, const struct mx_event *ev,
                               const struct store_room *room)
{
    struct mx_power_levels levels;
    parse_levels(ev->content, &levels);
    struct store_member *members;
    int nm = store_members_in_room(gw->store, ev->room_id, &members);
    struct store_occupant *all;
    int no = store_occupants_in_room(gw->store, ev->room_id, &all);
    for (int k = 0; k < nm; k++) {
        if (members[k].level == CREATOR_LEVEL)
            continue; /* creators are above power levels */
        long level = power_level(&levels, members[k].mxid);
        if (level == members[k].level)
            continue;
        store_member_put(gw->store, ev->room_id, members[k].mxid,
                         members[k].nick, level);
        char *from = xasprintf("%s/%s", room->xmpp_jid, members[k].nick);
        char *jid = members_real_jid(gw, members[k].mxid);
        struct muc_item item = members_muc_item(level, jid);
        static const int self_codes[] = { 110, 0 };
        for (int i = 0; i < no; i++) {
            bool own = strcmp(all[i].ghost, members[k].mxid) == 0;
            send_now(gw, muc_presence(gw->xmpp, from, all[i].occupant_jid,
                                      NULL, &item, own ? self_codes : NULL));
        }
        free(jid);
        free(from);
    }
    store_occupants_free(all, no);
    store_members_free(members, nm);
}

void muc_gateway_event(struct gateway *gw, const struct mx_event *ev,
                       const struct store_room *room)
{
    if (mx_event_is_room_state(ev, "m.room.power_levels")) {
        relay_power_levels(gw, ev, room);
        return;
    }
    if (mx_event_is_message(ev->type))
        relay_message(gw, ev, room);
    else if (strcmp(ev->type, "m.room.member") == 0 && ev->state_key)
        relay_member(gw, ev, room);
}

/* ------------------------------------------------- room directory -- */

#define NS_RSM "http://jabber.org/protocol/rsm"

struct directory {
    struct gateway *gw;
    xmpp_stanza_t *iq;
};

static void on_public_rooms(const struct mx_response *r,
                            const struct mx_public_rooms *pr, void *ud)
{
    struct directory *d = ud;
    struct gateway *gw = d->gw;
    if (!pr) {
        send_now(gw, stanza_error_reply(gw->xmpp, d->iq, "wait",
                                        "remote-server-timeout", r->error));
        goto out;
    }
    xmpp_stanza_t *res = xmpp_iq_new(gw->xmpp, "result",
                                     xmpp_stanza_get_id(d->iq));
    xmpp_stanza_set_to(res, xmpp_stanza_get_from(d->iq));
    xmpp_stanza_set_from(res, xmpp_stanza_get_to(d->iq));
    xmpp_stanza_t *q = xml_add_child(gw->xmpp, res, "query",
                                     "http://jabber.org/protocol/disco#items");
    char *first = NULL;
    for (size_t i = 0; i < pr->n; i++) {
        const char *alias = pr->rooms[i].canonical_alias;
        const char *room_id = pr->rooms[i].room_id;
        const char *name = pr->rooms[i].name;
        char *jid = NULL;
        const char *why;
        if ((!alias || ids_matrix_to_jid(&gw->ids, alias, &jid, &why) < 0) &&
            (!room_id || ids_matrix_to_jid(&gw->ids, room_id, &jid, &why) < 0))
            continue;
        xmpp_stanza_t *item = xml_add_child(gw->xmpp, q, "item", NULL);
        xmpp_stanza_set_attribute(item, "jid", jid);
        xmpp_stanza_set_attribute(item, "name",
                                  name ? name : alias ? alias : room_id);
        if (!first)
            first = xstrdup(jid);
        free(jid);
    }
    /* RSM: <last/> carries the directory's next_batch token, which a
     * client sends back as <after/> for the next page. */
    xmpp_stanza_t *set = xml_add_child(gw->xmpp, q, "set", NS_RSM);
    const char *next = pr->next_batch;
    if (first)
        xml_add_text_child(gw->xmpp, set, "first", NULL, first);
    if (next)
        xml_add_text_child(gw->xmpp, set, "last", NULL, next);
    if (pr->has_total) {
        char count[32];
        snprintf(count, sizeof count, "%lld", pr->total_room_count_estimate);
        xml_add_text_child(gw->xmpp, set, "count", NULL, count);
    }
    free(first);
    send_now(gw, res);
out:
    xmpp_stanza_release(d->iq);
    free(d);
}

void muc_gateway_directory(struct gateway *gw, xmpp_stanza_t *iq)
{
    xmpp_stanza_t *query = xmpp_stanza_get_child_by_name(iq, "query");
    xmpp_stanza_t *set = query ? xmpp_stanza_get_child_by_name_and_ns(
                                     query, "set", NS_RSM)
                               : NULL;
    char *max = xml_child_text(set, "max", NULL);
    char *after = xml_child_text(set, "after", NULL);
    int limit = max ? atoi(max) : 50;
    if (limit <= 0 || limit > 200)
        limit = 50;
    struct directory *d = xcalloc(1, sizeof *d);
    d->gw = gw;
    d->iq = xmpp_stanza_copy(iq);
    mx_public_rooms(gw->mx, limit, after, 3, on_public_rooms, d);
    free(max);
    free(after);
}
