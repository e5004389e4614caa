/* Portal mode, Matrix -> the MUC: members, messages and topics of a
 * portal room reach the MUC through each Matrix user's occupant. */
#include "gateway/portal/to_muc.h"

#include "gateway/portal/state.h"
#include "gateway/portal/common.h"

#include "gateway/features/m2x_env.h"
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

/* ------------------------------------------------- Matrix to the MUC -- */

static void on_matrix_member(struct gateway *gw, const struct mx_event *ev,
                             const struct store_room *room)
{
    struct mx_member m;
    const char *why;
    if (!ev->state_key || gateway_is_ours(gw, ev->state_key) ||
        mx_member_parse(ev, &m, &why) < 0)
        return;
    struct store_portal_user u;
    int found = store_portal_user_get(gw->store, room->xmpp_jid,
                                      ev->state_key, &u);
    if (found < 0)
        return;
    char *occupant = members_portal_occupant(gw, ev->state_key);
    if (!occupant)
        goto out;
    if (strcmp(m.membership, "join") == 0) {
        char *base = portal_base_nick_of(ev->state_key, m.displayname);
        if (!found) {
            struct store_portal_user nu = {
                (char *)ev->room_id, (char *)ev->state_key, room->xmpp_jid,
                base, base, 0, 0,
            };
            store_portal_user_put(gw->store, &nu);
            char *to = xasprintf("%s/%s", room->xmpp_jid, base);
            /* No history: what was said before is not theirs to see
             * twice, and a portal never replays it. */
            portal_send_to_muc(gw, ev->room_id, muc_join(gw->xmpp, occupant, to, -1));
            log_info("portal: %s joins %s as %s", ev->state_key,
                     room->xmpp_jid, base);
            free(to);
        } else if (u.joined && strcmp(base, u.base_nick) != 0) {
            /* A new display name: ask the MUC for the new nick; the 303
             * that confirms it updates the store. */
            free(u.base_nick);
            u.base_nick = xstrdup(base);
            u.attempt = 0;
            store_portal_user_put(gw->store, &u);
            char *to = xasprintf("%s/%s", room->xmpp_jid, base);
            xmpp_stanza_t *p = xmpp_presence_new(gw->xmpp);
            xmpp_stanza_set_from(p, occupant);
            xmpp_stanza_set_to(p, to);
            portal_send_to_muc(gw, ev->room_id, p);
            free(to);
        }
        free(base);
    } else if (found && (strcmp(m.membership, "leave") == 0 ||
                         strcmp(m.membership, "ban") == 0)) {
        char *to = xasprintf("%s/%s", room->xmpp_jid, u.nick);
        xmpp_stanza_t *p = xmpp_presence_new(gw->xmpp);
        xmpp_stanza_set_type(p, "unavailable");
        xmpp_stanza_set_from(p, occupant);
        xmpp_stanza_set_to(p, to);
        portal_send_to_muc(gw, ev->room_id, p);
        store_portal_user_delete(gw->store, ev->room_id, ev->state_key);
        store_member_delete(gw->store, ev->room_id, ev->state_key);
        log_info("portal: %s leaves %s", ev->state_key, room->xmpp_jid);
        free(to);
    }
    free(occupant);
out:
    if (found == 1)
        store_portal_user_free(&u);
}

static void on_matrix_message(struct gateway *gw, const struct mx_event *ev,
                              const struct store_room *room)
{
    struct store_portal_user u;
    if (store_portal_user_get(gw->store, room->xmpp_jid, ev->sender, &u) != 1) {
        log_info("portal: %s wrote in %s without being in the MUC",
                 ev->sender, room->xmpp_jid);
        portal_bot_notice(gw, ev->room_id, ev->event_id,
                   "This message was not delivered to the XMPP room: you "
                   "are not in it (leave and join this room again).");
        return;
    }
    struct mx_message msg;
    struct m2x_message out;
    struct m2x_env env;
    const char *why;
    char *occupant = members_portal_occupant(gw, ev->sender);
    if (!occupant || mx_message_parse(ev, &msg, &why) < 0)
        goto out;
    m2x_env_for(gw, ROOM_PORTAL, &env);
    if (m2x_translate(&msg, &env, &out, &why) < 0) {
        char *text = xasprintf("Your %s was not delivered to XMPP: %s",
                               m2x_is_file(&msg) ? "file" : "message", why);
        portal_bot_notice(gw, ev->room_id, ev->event_id, text);
        free(text);
        goto out;
    }
    /* The event id is the stanza id and origin-id: the MUC's reflection
     * carries it back and is recognised as ours. */
    struct xmsg x = { .from = occupant, .to = room->xmpp_jid,
                      .id = (char *)ev->event_id, .type = "groupchat",
                      .origin_id = (char *)ev->event_id };
    m2x_fill_xmsg(&out, &x);
    struct store_message sm = {
        .event_id = (char *)ev->event_id, .room_id = (char *)ev->room_id,
        .xmpp_jid = room->xmpp_jid, .stanza_id = (char *)ev->event_id,
        .origin_id = (char *)ev->event_id, .direction = DIR_MATRIX_TO_XMPP,
        .ts = ev->origin_server_ts, .replaces = (char *)msg.replaces,
        .sender = (char *)ev->sender,
    };
    store_message_put(gw->store, &sm);
    portal_send_to_muc(gw, ev->room_id, xmsg_build(gw->xmpp, &x));
    m2x_message_free(&out);
out:
    free(occupant);
    store_portal_user_free(&u);
}

static void on_matrix_topic(struct gateway *gw, const struct mx_event *ev,
                            const struct store_room *room)
{
    /* No topic string: the topic was removed. */
    struct mx_topic t;
    const char *why;
    const char *topic = mx_topic_parse(ev->content, &t, &why) == 0 ? t.topic
                                                                    : "";
    char *subject = NULL;
    store_room_subject_get(gw->store, ev->room_id, &subject);
    bool same = subject && strcmp(subject, topic) == 0;
    free(subject);
    struct store_portal_user u;
    if (same || store_portal_user_get(gw->store, room->xmpp_jid, ev->sender,
                                      &u) != 1)
        return;
    char *occupant = members_portal_occupant(gw, ev->sender);
    if (occupant) {
        /* Sent with the topic event's id, which the MUC's refusal names. */
        char *previous = NULL;
        store_room_subject_get(gw->store, ev->room_id, &previous);
        portal_pending_add(gw->portal->subjects, ev->event_id, ev->room_id,
                           previous ? previous : "", ev->sender,
                           gateway_now_ms());
        free(previous);
        store_room_subject_set(gw->store, ev->room_id, topic);
        xmpp_stanza_t *st = muc_subject(gw->xmpp, occupant, room->xmpp_jid,
                                        topic);
        xmpp_stanza_set_id(st, ev->event_id);
        portal_send_to_muc(gw, ev->room_id, st);
    }
    free(occupant);
    store_portal_user_free(&u);
}

static bool is_member(const struct mx_event *ev)
{
    return strcmp(ev->type, "m.room.member") == 0;
}

static bool is_message(const struct mx_event *ev)
{
    return mx_event_is_message(ev->type);
}

static bool is_topic(const struct mx_event *ev)
{
    return mx_event_is_room_state(ev, "m.room.topic");
}

/* Which events of a portal room reach the MUC: the first route whose test
 * matches handles the event. Events of the gateway's own ghosts and bot
 * echo back and are skipped, except memberships (a ghost's own join
 * matters to the MUC side). */
struct event_route {
    bool (*matches)(const struct mx_event *ev);
    bool skip_ours;
    void (*handle)(struct gateway *gw, const struct mx_event *ev,
                   const struct store_room *room);
};

static const struct event_route event_routes[] = {
    { is_member, false, on_matrix_member },
    { is_message, true, on_matrix_message },
    { is_topic, true, on_matrix_topic },
};

void portal_matrix_event(struct gateway *gw, const struct mx_event *ev,
                         const struct store_room *room)
{
    for (size_t i = 0; i < sizeof event_routes / sizeof *event_routes; i++) {
        const struct event_route *r = &event_routes[i];
        if (!r->matches(ev))
            continue;
        if (r->skip_ours && gateway_is_ours(gw, ev->sender))
            return; /* our ghosts' and bot's own events echoing back */
        r->handle(gw, ev, room);
        return;
    }
}
