/* Gateway mode, joining: the user's ghost joins the Matrix room, then the
 * user gets one presence per member (in slices, each confirmed by a ping),
 * their own presence (110), the history they asked for and the subject
 * (see join.h). */
#include "gateway/room/join.h"

#include "gateway/room/common.h"

#include "common/log.h"
#include "common/mem.h"
#include "common/strmap.h"
#include "common/utf8.h"
#include "gateway/base/effects.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/core/translate.h"
#include "gateway/features/e2ee.h"
#include "gateway/features/ghosts.h"
#include "gateway/features/m2x_env.h"
#include "gateway/features/media.h"
#include "gateway/features/members.h"
#include "gateway/features/omemo.h"
#include "gateway/features/presence.h"
#include "matrix/event_state.h"
#include "xep/avatars.h"
#include "xep/disco.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/presence_stanza.h"
#include "xep/stanza_error.h"
#include "xep/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    json_t *state[5];        /* the STATE_* events, NULL if absent */
    int state_pending;       /* of those, still being fetched */
    bool state_failed;       /* one could not be fetched */
    struct strmap burst;     /* nick -> mxid, in the members' order */
    long *burst_levels;      /* the power level of each, in that order */
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
    strmap_clear(&j->burst);
    free(j->burst_levels);
    free(j->subject);
    free(j);
}

static void join_fail(struct join *j, const char *condition, const char *text)
{
    log_info("muc: %s could not join %s: %s", j->occupant_jid, j->muc_jid,
             text);
    room_presence_error(j->gw, j->presence, "cancel", condition, text);
    join_free(j);
}

/* The last join answer: XEP-0045 clients treat the subject as "joined". */
static void finish_join(struct join *j)
{
    room_send_now(j->gw, muc_subject(j->gw->xmpp, j->muc_jid, j->occupant_jid,
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
    struct m2x_env env;
    m2x_env_for(gw, ROOM_GATEWAY, &env);
    for (size_t k = n; k-- > 0;) { /* the chunk runs newest first */
        json_t *raw = json_array_get(chunk, k);
        struct mx_event ev;
        struct mx_message msg;
        struct m2x_message out;
        const char *why;
        json_t *plain = NULL;
        if (mx_event_parse(raw, &ev, &why) < 0 ||
            (strcmp(ev.type, "m.room.encrypted") == 0 &&
             !e2ee_decrypt_archived(gw, &ev, &plain)) ||
            !mx_event_is_message(ev.type) ||
            ev.origin_server_ts < j->history_since_ms ||
            mx_message_parse(&ev, &msg, &why) < 0 ||
            m2x_translate(&msg, &env, &out, &why) < 0) {
            json_decref(plain);
            continue;
        }
        char *nick = members_stored_nick(gw, j->room_id, ev.sender);
        if (!nick)
            nick = members_default_nick(ev.sender, NULL);
        char *from = xasprintf("%s/%s", j->muc_jid, nick);
        struct xmsg x = { .from = from, .to = j->occupant_jid,
                          .id = (char *)ev.event_id, .type = "groupchat" };
        m2x_fill_xmsg(&out, &x);
        xmpp_stanza_t *st = xmsg_build(gw->xmpp, &x);
        muc_add_stanza_id(gw->xmpp, st, ev.event_id, j->muc_jid);
        muc_add_delay(gw->xmpp, st, j->muc_jid, (long long)ev.origin_server_ts);
        room_send_now(gw, st);
        m2x_message_free(&out);
        json_decref(plain);
        free(from);
        free(nick);
    }
    finish_join(j);
}

static void fetch_history(struct join *j)
{
    mx_messages(j->gw->mx, j->room_id, j->ghost, true, j->history_max,
                "{\"types\":" MX_HISTORY_TYPES_JSON "}", NULL, 3, on_history,
                j);
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
    size_t n = j->burst.n;
    size_t end = j->burst_sent + BURST_SLICE < n ? j->burst_sent + BURST_SLICE
                                                 : n;
    for (; j->burst_sent < end; j->burst_sent++) {
        const char *nick = j->burst.entries[j->burst_sent].key;
        const char *member = j->burst.entries[j->burst_sent].value;
        long level = j->burst_levels[j->burst_sent];
        /* Stored slice by slice too: one loop turn never writes a whole
         * large room. */
        store_member_put(gw->store, j->room_id, member, nick, level);
        char *from = xasprintf("%s/%s", j->muc_jid, nick);
        char *jid = members_real_jid(gw, member);
        struct muc_item item = members_muc_item(level, jid);
        xmpp_stanza_t *p = muc_presence(gw->xmpp, from, j->occupant_jid, NULL,
                                        &item, NULL);
        presence_decorate(gw, p, member); /* their show, status, avatar */
        room_send_now(gw, p);
        free(jid);
        free(from);
    }
    if (j->burst_sent >= n) {
        finish_members(j);
        return;
    }
    const char *at = strchr(j->bare, '@');
    struct component_query q = { .to = at ? at + 1 : j->bare,
                                 .name = "ping", .ns = NS_PING };
    if (component_query(gw->component, &q, BURST_PING_TIMEOUT_MS,
                        on_burst_ping, j) < 0)
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
        room_send_now(gw, muc_presence(gw->xmpp, newcomer, others[k].occupant_jid,
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
    room_send_now(gw, muc_presence(gw->xmpp, self, j->occupant_jid, NULL, &item,
                              self_codes));
    free(self);
    /* In a members-only room, the members' puppets learn the newcomer's
     * OMEMO devices now, so that the first word to them is encrypted. */
    omemo_room_meet(gw, j->room_id, j->bare);
    if (j->history_max > 0)
        fetch_history(j);
    else
        finish_join(j);
}

/* The room state a join needs, fetched event by event: the whole state of
 * a large room holds every member event (megabytes for 5,000 members),
 * which took the loop hundreds of milliseconds to read. */
enum { STATE_LEVELS, STATE_CREATE, STATE_TOPIC, STATE_NAME, STATE_JOIN_RULES };
static const struct {
    const char *type;
    bool whole_event;
} state_parts[] = {
    [STATE_LEVELS] = { "m.room.power_levels", false },
    [STATE_CREATE] = { "m.room.create", true }, /* sender counts too */
    [STATE_TOPIC] = { "m.room.topic", false },
    [STATE_NAME] = { "m.room.name", false },
    /* members-only or open, for disco and OMEMO */
    [STATE_JOIN_RULES] = { "m.room.join_rules", false },
};

/* Sends the join answers: members, self, subject. */
static void state_ready(struct join *j)
{
    struct gateway *gw = j->gw;
    /* Each state part parsed once for all members. */
    struct mx_power_levels pl;
    room_parse_levels(j->state[STATE_LEVELS], &pl);
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
    struct strmap *nicks = &j->burst;
    for (size_t k = 0; k < j->members->n; k++) {
        const char *mxid = j->members->members[k].user_id;
        if (strcmp(mxid, j->ghost) == 0)
            continue;
        char *nick = members_default_nick(mxid, j->members->members[k].display_name);
        if (strmap_get(nicks, nick)) {
            char *longer = xasprintf("%s (%s)", nick, mxid);
            free(nick);
            nick = longer;
        }
        strmap_put(nicks, nick, mxid);
        free(nick);
    }
    if (strmap_get(nicks, j->nick)) {
        room_presence_error(gw, j->presence, "cancel", "conflict",
                       "that nickname is taken in this room");
        if (store_occupants_of_ghost(gw->store, j->room_id, j->ghost) == 0)
            room_leave_matrix(gw, j->room_id, j->ghost);
        join_free(j);
        return;
    }

    struct store_room room = { j->room_id, ROOM_GATEWAY, j->muc_jid, NULL };
    store_room_put(gw->store, &room, gateway_now_ms());
    struct mx_join_rules rules;
    members_set_join_rule(gw, j->room_id,
                          mx_join_rules_parse(j->state[STATE_JOIN_RULES],
                                              &rules, &why) == 0
                              ? rules.join_rule
                              : NULL);
    store_members_clear(gw->store, j->room_id);
    j->burst_levels = xcalloc(nicks->n + 1, sizeof *j->burst_levels);
    for (size_t k = 0; k < nicks->n; k++) {
        const char *member = nicks->entries[k].value;
        j->burst_levels[k] = is_creator(create, member)
                                 ? ROOM_CREATOR_LEVEL
                                 : room_power_level(levels, member);
    }
    j->own_level = is_creator(create, j->ghost) ? ROOM_CREATOR_LEVEL
                                                : room_power_level(levels, j->ghost);
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

void room_join(struct gateway *gw, xmpp_stanza_t *st, const char *target,
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
