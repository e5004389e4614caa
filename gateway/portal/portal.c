/* Portal mode (see portal.h): the gateway is an ordinary MUC client for
 * every Matrix user of a portal room, and mirrors what the MUC tells those
 * clients into the Matrix room.
 *
 * Every Matrix user's occupant receives the same presences and messages
 * from the MUC, so everything mirrored here is either compared with stored
 * state first (presences, the subject) or deduplicated by the id the room
 * stamped on it (messages): N Matrix users never mean N copies. */
#include "gateway/portal/portal.h"
#include "gateway/features/relations.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/base/effects.h"
#include "gateway/core/portal_pending.h"

#include "gateway/features/members.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "gateway/features/format_bridge.h"
#include "gateway/features/ghosts.h"
#include "gateway/features/media.h"
#include "gateway/features/presence.h"
#include "gateway/base/queues.h"
#include "gateway/features/reactions.h"
#include "gateway/features/receipts.h"
#include "gateway/features/retractions.h"
#include "gateway/features/receipts.h"
#include "gateway/features/typing.h"
#include "gateway/core/translate.h"
#include "matrix/event_state.h"
#include "xep/disco.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/reactions.h"
#include "xep/retract.h"
#include "xep/xml.h"

#include <stdlib.h>
#include <string.h>

#define OCCUPANT_RESOURCE "matrix"
#define DISCO_TIMEOUT_MS 5000
#define MAX_NICK_ATTEMPTS 5

/* After the component reconnects, the MUC re-announces its occupants; the
 * nicks seen until the subject (which ends a join) are the ones still
 * there, and any other stored occupant left while the gateway was away. */
struct portal_sync {
    char *muc_jid;
    char **seen;
    size_t n;
    struct portal_sync *next;
};

struct portal_state {
    struct portal_sync *syncs;
    struct portal_pending *subjects; /* sent for Matrix users, unanswered */
};

struct portal_state *portal_state_new(void)
{
    struct portal_state *ps = xcalloc(1, sizeof *ps);
    ps->subjects = portal_pending_new();
    return ps;
}

static void sync_free(struct portal_sync *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->seen[i]);
    free(s->seen);
    free(s->muc_jid);
    free(s);
}

void portal_state_free(struct portal_state *ps)
{
    if (!ps)
        return;
    while (ps->syncs) {
        struct portal_sync *next = ps->syncs->next;
        sync_free(ps->syncs);
        ps->syncs = next;
    }
    portal_pending_free(ps->subjects);
    free(ps);
}

static struct portal_sync **sync_find(struct portal_state *ps,
                                      const char *muc_jid)
{
    struct portal_sync **p = &ps->syncs;
    while (*p && strcmp((*p)->muc_jid, muc_jid) != 0)
        p = &(*p)->next;
    return p;
}

static void sync_start(struct portal_state *ps, const char *muc_jid)
{
    struct portal_sync **p = sync_find(ps, muc_jid);
    if (*p)
        return;
    *p = xcalloc(1, sizeof **p);
    (*p)->muc_jid = xstrdup(muc_jid);
}

static void sync_seen(struct portal_state *ps, const char *muc_jid,
                      const char *nick)
{
    struct portal_sync *s = *sync_find(ps, muc_jid);
    if (!s)
        return;
    s->seen = xrealloc(s->seen, (s->n + 1) * sizeof *s->seen);
    s->seen[s->n++] = xstrdup(nick);
}

/* ------------------------------------------------------------ helpers -- */

/* The nick to try after `attempt` conflicts. Caller frees. */
static char *nick_for_attempt(const char *base, int attempt)
{
    if (attempt == 0)
        return xstrdup(base);
    if (attempt == 1)
        return xasprintf("%s (Matrix)", base);
    return xasprintf("%s (Matrix %d)", base, attempt);
}

/* A Matrix user's name as a nick: the display name, else the localpart. */
static char *base_nick_of(const char *mxid, const char *displayname)
{
    if (displayname && *displayname)
        return xstrdup(displayname);
    const char *colon = strchr(mxid, ':');
    return colon ? xstrndup(mxid + 1, (size_t)(colon - mxid - 1))
                 : xstrdup(mxid);
}

/* Queues durable Matrix-side work for the portal room (consumes op). */
static void enqueue_op(struct gateway *gw, const char *room_id, json_t *op)
{
    json_object_set_new(op, "room_id", json_string(room_id));
    char *payload = json_dumps(op, JSON_COMPACT);
    char *queue = xasprintf("portal %s", room_id);
    if (store_outbox_add(gw->store, queue, OUTBOX_PORTAL_OP, payload,
                         gateway_now_ms()) >= 0)
        queues_kick(gw, queue);
    free(queue);
    free(payload);
    json_decref(op);
}

/* Queues a stanza for the MUC after the turn's commit, in the room's
 * Matrix-to-XMPP order. */
static void send_to_muc(struct gateway *gw, const char *room_id,
                        xmpp_stanza_t *st)
{
    char *queue = xasprintf("m2x %s", room_id);
    to_xmpp_enqueue(gw, queue, st);
    free(queue);
    xmpp_stanza_release(st);
}

static void on_call_logged(const struct mx_response *r, void *ud)
{
    char *what = ud;
    if (r->status != 200)
        log_warn("portal: %s failed: %s", what, r->error);
    free(what);
}

/* A notice from the gateway's bot in a room. Best effort. */
static void bot_notice(struct gateway *gw, const char *room_id,
                       const char *txn_seed, const char *text)
{
    gateway_notice(gw, room_id, NULL, txn_seed, text);
}

/* ------------------------------------------- creating portal rooms -- */

/* room_id is NULL if the room exists but is not known here (another query
 * created it meanwhile); error is set when !ok. */
typedef void (*portal_ready_cb)(struct gateway *gw, bool ok,
                                const char *room_id, const char *error,
                                void *ud);

struct create_job {
    struct gateway *gw;
    char *muc_jid;
    portal_ready_cb cb;
    void *ud;
};

static void create_job_end(struct create_job *j, bool ok, const char *room_id,
                           const char *error)
{
    j->cb(j->gw, ok, room_id, error, j->ud);
    free(j->muc_jid);
    free(j);
}

static void on_room_created(const struct mx_response *r,
                            const struct mx_room_id *res, void *ud)
{
    struct create_job *j = ud;
    const char *room_id = res ? res->room_id : NULL;
    if (room_id) {
        struct store_room room = { (char *)room_id, ROOM_PORTAL, j->muc_jid,
                                   NULL };
        store_room_put(j->gw->store, &room, gateway_now_ms());
        log_info("portal: created %s for %s", room_id, j->muc_jid);
        create_job_end(j, true, room_id, NULL);
    } else if (r->errcode && strcmp(r->errcode, "M_ROOM_IN_USE") == 0) {
        create_job_end(j, true, NULL, NULL); /* the alias exists by now */
    } else {
        log_warn("portal: could not create a room for %s: %s", j->muc_jid,
                 r->error);
        create_job_end(j, false, NULL, r->error);
    }
}

static void create_room(struct create_job *j, const char *name)
{
    char *alias = NULL;
    const char *why;
    if (ids_muc_to_alias(&j->gw->ids, j->muc_jid, &alias, &why) < 0) {
        create_job_end(j, false, NULL, why);
        return;
    }
    char *localpart = xstrndup(alias + 1, strcspn(alias + 1, ":"));
    /* Anyone may set the topic: the MUC decides who may change the
     * subject, and refuses the others. */
    struct mx_create_room opts = {
        .room_alias_name = localpart,
        .name = name && *name ? name : j->muc_jid,
        .preset = "public_chat",
        .visibility = "private",
        .power_level_content_override =
            json_pack("{s:{s:i}}", "events", "m.room.topic", 0),
    };
    mx_create_room(j->gw->mx, NULL, &opts, 3, on_room_created, j);
    free(localpart);
    free(alias);
}

static void on_disco_info(xmpp_stanza_t *result, void *ud)
{
    struct create_job *j = ud;
    const char *type = result ? xmpp_stanza_get_type(result) : NULL;
    if (!result || !type || strcmp(type, "result") != 0) {
        create_job_end(j, false, NULL, result ? "there is no such XMPP room"
                                              : "the XMPP room did not answer");
        return;
    }
    xmpp_stanza_t *q = xmpp_stanza_get_child_by_name_and_ns(result, "query",
                                                            NS_DISCO_INFO);
    const char *name = NULL;
    bool conference = false;
    for (xmpp_stanza_t *c = q ? xmpp_stanza_get_children(q) : NULL; c;
         c = xmpp_stanza_get_next(c)) {
        const char *cn = xmpp_stanza_get_name(c);
        const char *cat = xmpp_stanza_get_attribute(c, "category");
        if (cn && cat && strcmp(cn, "identity") == 0 &&
            strcmp(cat, "conference") == 0) {
            conference = true;
            name = xmpp_stanza_get_attribute(c, "name");
        }
    }
    if (!conference) {
        create_job_end(j, false, NULL, "that XMPP address is not a room");
        return;
    }
    create_room(j, name);
}

/* Finds the MUC's portal room, or checks that the MUC exists and creates
 * one. cb runs exactly once. */
static void portal_ensure(struct gateway *gw, const char *muc_jid,
                          portal_ready_cb cb, void *ud)
{
    struct store_room room;
    if (store_room_find_portal(gw->store, muc_jid, &room) == 1) {
        cb(gw, true, room.room_id, NULL, ud);
        store_room_free(&room);
        return;
    }
    struct create_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->muc_jid = xstrdup(muc_jid);
    j->cb = cb;
    j->ud = ud;
    char *id = component_new_id(gw->component);
    xmpp_stanza_t *iq = xmpp_iq_new(gw->xmpp, "get", id);
    xmpp_stanza_set_from(iq, component_jid(gw->component));
    xmpp_stanza_set_to(iq, muc_jid);
    xml_add_child(gw->xmpp, iq, "query", NS_DISCO_INFO);
    int rc = component_send_iq(gw->component, iq, DISCO_TIMEOUT_MS,
                               on_disco_info, j);
    xmpp_stanza_release(iq);
    free(id);
    if (rc < 0)
        create_job_end(j, false, NULL, "the XMPP server is not reachable");
}

static void on_alias_ready(struct gateway *gw, bool ok, const char *room_id,
                           const char *error, void *ud)
{
    (void)gw;
    (void)room_id;
    struct as_request *req = ud;
    if (ok)
        as_request_reply(req, 200, NULL);
    else
        as_request_reply_error(req, 404, "M_NOT_FOUND", error);
}

static void on_alias_restored(const struct mx_response *r, void *ud)
{
    struct as_request *req = ud;
    if (r->status == 200)
        as_request_reply(req, 200, NULL);
    else
        as_request_reply_error(req, 404, "M_NOT_FOUND", r->error);
}

void portal_alias_query(struct gateway *gw, struct as_request *req,
                        const char *alias)
{
    char *muc_jid = NULL;
    const char *why;
    if (ids_alias_to_muc(&gw->ids, alias, &muc_jid, &why) < 0) {
        as_request_reply_error(req, 404, "M_NOT_FOUND", why);
        return;
    }
    struct store_room room;
    if (store_room_find_portal(gw->store, muc_jid, &room) == 1) {
        /* The portal exists but its alias was removed: point it back. */
        mx_alias_put(gw->mx, alias, room.room_id, 3, on_alias_restored, req);
        store_room_free(&room);
    } else {
        portal_ensure(gw, muc_jid, on_alias_ready, req);
    }
    free(muc_jid);
}

/* ------------------------------------------------------------ invites -- */

struct invite_job {
    char *mxid;
    char *muc_jid;
    char *inviter;
};

static void on_invite_ready(struct gateway *gw, bool ok, const char *room_id,
                            const char *error, void *ud)
{
    struct invite_job *j = ud;
    struct store_room room = { 0 };
    if (ok && !room_id &&
        store_room_find_portal(gw->store, j->muc_jid, &room) == 1)
        room_id = room.room_id;
    if (!ok || !room_id) {
        log_warn("portal: cannot invite %s to %s: %s", j->mxid, j->muc_jid,
                 error ? error : "the portal room is unknown");
    } else {
        char *reason = xasprintf("%s invites you to the XMPP room %s",
                                 j->inviter ? j->inviter : "someone",
                                 j->muc_jid);
        mx_invite(gw->mx, room_id, j->mxid, reason, NULL, 3, on_call_logged,
                  xstrdup("an invite"));
        log_info("portal: %s invites %s to %s", j->inviter, j->mxid,
                 j->muc_jid);
        free(reason);
    }
    store_room_free(&room);
    free(j->mxid);
    free(j->muc_jid);
    free(j->inviter);
    free(j);
}

/* A XEP-0249 direct or XEP-0045 mediated invitation to a Matrix user's
 * JID becomes an invitation to the portal room. */
static bool handle_invite(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *inviter;
    const char *muc = muc_invite_room(st, &inviter);
    const char *to = xmpp_stanza_get_to(st);
    if (!muc || !to)
        return false;
    char *mxid = NULL;
    enum ids_matrix_kind kind;
    const char *why;
    if (ids_jid_to_matrix(&gw->ids, to, &mxid, &kind, &why) < 0 ||
        kind != IDS_MATRIX_USER) {
        free(mxid);
        return false;
    }
    char *muc_jid = ids_jid_bare(muc);
    if (!ids_jid_is_valid_bare(muc_jid, &why) || !strchr(muc_jid, '@')) {
        log_info("portal: ignoring an invite to %s: %s", muc, why);
        free(muc_jid);
        free(mxid);
        return true;
    }
    struct invite_job *j = xcalloc(1, sizeof *j);
    j->mxid = mxid;
    j->muc_jid = muc_jid;
    j->inviter = inviter ? ids_jid_bare(inviter) : NULL;
    portal_ensure(gw, muc_jid, on_invite_ready, j);
    return true;
}

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
        char *base = base_nick_of(ev->state_key, m.displayname);
        if (!found) {
            struct store_portal_user nu = {
                (char *)ev->room_id, (char *)ev->state_key, room->xmpp_jid,
                base, base, 0, 0,
            };
            store_portal_user_put(gw->store, &nu);
            char *to = xasprintf("%s/%s", room->xmpp_jid, base);
            /* No history: what was said before is not theirs to see
             * twice, and a portal never replays it. */
            send_to_muc(gw, ev->room_id, muc_join(gw->xmpp, occupant, to, -1));
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
            send_to_muc(gw, ev->room_id, p);
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
        send_to_muc(gw, ev->room_id, p);
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
        bot_notice(gw, ev->room_id, ev->event_id,
                   "This message was not delivered to the XMPP room: you "
                   "are not in it (leave and join this room again).");
        return;
    }
    struct mx_message msg;
    const char *why, *type;
    char *body = NULL, *oob = NULL;
    struct fmt_mention *mentions = NULL; /* until references take them */
    size_t n_mentions = 0;
    char *occupant = members_portal_occupant(gw, ev->sender);
    if (!occupant || mx_message_parse(ev, &msg, &why) < 0)
        goto out;
    if (translate_to_xmpp_rich(&msg, (size_t)gw->cfg.max_stanza_body, &body,
                               &type, &mentions, &n_mentions, &why) < 0) {
        char *text = xasprintf("Your message was not delivered to XMPP: %s",
                               why);
        bot_notice(gw, ev->room_id, ev->event_id, text);
        free(text);
        goto out;
    }
    /* Media: the body becomes the gateway's proxy URL, with XEP-0066. */
    if (media_to_xmpp(gw, &msg, &body, &oob, &why) < 0) {
        char *text = xasprintf("Your file was not delivered to XMPP: %s",
                               why);
        bot_notice(gw, ev->room_id, ev->event_id, text);
        free(text);
        goto out;
    }
    /* The event id is the stanza id and origin-id: the MUC's reflection
     * carries it back and is recognised as ours. An edit is a XEP-0308
     * correction. */
    struct xmpp_relations rel;
    int translated_cp = (int)utf8_count(body, strlen(body));
    relations_to_xmpp(gw, &msg, &body, &rel);
    /* Pills become XEP-0372 mentions, past the quote a reply rewrote. */
    struct xmsg_ref *refs;
    int n_refs;
    format_refs_for_xmpp(gw, mentions, n_mentions, body, translated_cp, &refs,
                         &n_refs);
    mentions = NULL;
    n_mentions = 0;
    struct xmsg out = { .from = occupant, .to = room->xmpp_jid,
                        .id = (char *)ev->event_id, .type = "groupchat",
                        .body = body, .origin_id = (char *)ev->event_id,
                        .replace_id = rel.replace_id, .reply_id = rel.reply_id,
                        .fallback_end = rel.fallback_len, .refs = refs,
                        .n_refs = n_refs, .oob_url = oob };
    struct store_message sm = {
        .event_id = (char *)ev->event_id, .room_id = (char *)ev->room_id,
        .xmpp_jid = room->xmpp_jid, .stanza_id = (char *)ev->event_id,
        .origin_id = (char *)ev->event_id, .direction = DIR_MATRIX_TO_XMPP,
        .ts = ev->origin_server_ts, .replaces = (char *)msg.replaces,
        .sender = (char *)ev->sender,
    };
    store_message_put(gw->store, &sm);
    send_to_muc(gw, ev->room_id, xmsg_build(gw->xmpp, &out));
    relations_free(&rel);
    format_refs_free(refs, n_refs);
out:
    fmt_mentions_free(mentions, n_mentions);
    free(oob);
    free(body);
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
        send_to_muc(gw, ev->room_id, st);
    }
    free(occupant);
    store_portal_user_free(&u);
}

void portal_matrix_event(struct gateway *gw, const struct mx_event *ev,
                         const struct store_room *room)
{
    if (strcmp(ev->type, "m.room.member") == 0) {
        on_matrix_member(gw, ev, room);
        return;
    }
    if (gateway_is_ours(gw, ev->sender))
        return; /* our ghosts' and bot's own events echoing back */
    if (mx_event_is_message(ev->type))
        on_matrix_message(gw, ev, room);
    else if (mx_event_is_room_state(ev, "m.room.topic"))
        on_matrix_topic(gw, ev, room);
}

/* ------------------------------------------------- the MUC to Matrix -- */

static json_t *op_new(const char *op, const char *user_id)
{
    return json_pack("{s:s, s:s}", "op", op, "user_id", user_id);
}

/* A kick or ban mirrored onto a Matrix user, carrying the MUC's reason. */
static json_t *moderation_op(const struct muc_user_info *info,
                             const char *user_id)
{
    json_t *op = op_new(muc_has_code(info, 301) ? "ban" : "kick", user_id);
    char *reason = xasprintf("%s in the XMPP room%s%s",
                             muc_has_code(info, 301) ? "banned" : "kicked",
                             info->reason ? ": " : "",
                             info->reason ? info->reason : "");
    json_object_set_new(op, "reason", json_string(reason));
    free(reason);
    return op;
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
        json_t *op = op_new("power", mxid);
        json_object_set_new(op, "level", json_integer(level));
        enqueue_op(gw, room->room_id, op);
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
            enqueue_op(gw, room->room_id, moderation_op(info, mxid));
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
        bot_notice(gw, room->room_id, seed, notice);
        free(notice);
        free(seed);
    } else if (strcmp(condition, "conflict") == 0 &&
               u.attempt + 1 < MAX_NICK_ATTEMPTS) {
        u.attempt++;
        free(u.nick);
        u.nick = nick_for_attempt(u.base_nick, u.attempt);
        store_portal_user_put(gw->store, &u);
        char *occupant = members_portal_occupant(gw, mxid);
        char *to = xasprintf("%s/%s", room->xmpp_jid, u.nick);
        if (occupant)
            send_to_muc(gw, room->room_id,
                        muc_join(gw->xmpp, occupant, to, -1));
        log_info("portal: nick taken in %s; %s tries %s", room->xmpp_jid,
                 mxid, u.nick);
        free(to);
        free(occupant);
    } else {
        log_info("portal: %s refused %s: %s", room->xmpp_jid, mxid, condition);
        store_portal_user_delete(gw->store, room->room_id, mxid);
        json_t *op = op_new("kick", mxid);
        char *reason = xasprintf("the XMPP room refused to let you in (%s)",
                                 condition);
        json_object_set_new(op, "reason", json_string(reason));
        free(reason);
        enqueue_op(gw, room->room_id, op);
    }
    store_portal_user_free(&u);
}

/* The ghost standing for an occupant: per real JID when the room shows
 * it, else per nick. Caller frees; NULL if none can be made. */
static char *ghost_of(struct gateway *gw, const char *muc_jid,
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

static json_t *join_op(const char *ghost, const char *jid, const char *nick,
                       bool real)
{
    json_t *op = op_new("join", ghost);
    json_object_set_new(op, "jid", json_string(jid));
    json_object_set_new(op, "nick", json_string(nick));
    json_object_set_new(op, "real", json_boolean(real));
    return op;
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
        sync_seen(gw->portal, muc, nick);
        char *ghost = found == 0 ? ghost_of(gw, muc, nick, real) : NULL;
        if (ghost) {
            struct store_occupant no = { occ_jid, (char *)muc, room->room_id,
                                         (char *)nick, ghost };
            store_occupant_put(gw->store, &no);
            enqueue_op(gw, room->room_id,
                       join_op(ghost, real ? real : occ_jid, nick, real));
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
        json_t *op = muc_has_code(info, 307) || muc_has_code(info, 301)
                         ? moderation_op(info, o.ghost)
                         : op_new("leave", o.ghost);
        enqueue_op(gw, room->room_id, op);
    }
    if (found == 1)
        store_occupant_free(&o);
    free(occ_jid);
    free(real);
}

static void on_muc_presence(struct gateway *gw, xmpp_stanza_t *st,
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
static void sync_finish(struct gateway *gw, const struct store_room *room)
{
    struct portal_sync **p = sync_find(gw->portal, room->xmpp_jid);
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
        enqueue_op(gw, room->room_id, op_new("leave", list[i].ghost));
    }
    if (n > 0)
        store_occupants_free(list, n);
    sync_free(s);
}

static void on_subject(struct gateway *gw, const struct store_room *room,
                       const char *subject)
{
    sync_finish(gw, room);
    char *known = NULL;
    store_room_subject_get(gw->store, room->room_id, &known);
    if (!known || strcmp(known, subject) != 0) {
        store_room_subject_set(gw->store, room->room_id, subject);
        json_t *op = op_new("topic", gw->bot_mxid);
        json_object_set_new(op, "topic", json_string(subject));
        enqueue_op(gw, room->room_id, op);
    }
    free(known);
}

/* A subject change the MUC refused: the Matrix topic goes back to the
 * MUC's subject, so the two sides agree again, and the room is told who
 * was refused and why. */
static bool on_subject_refused(struct gateway *gw, const char *id,
                               const struct store_room *room,
                               const char *text)
{
    struct portal_change c;
    if (portal_pending_take(gw->portal->subjects, id, &c) != 1)
        return false;
    log_info("portal: %s refused a subject change from %s", room->xmpp_jid,
             c.who);
    store_room_subject_set(gw->store, room->room_id, c.previous);
    json_t *op = op_new("topic", gw->bot_mxid);
    json_object_set_new(op, "topic", json_string(c.previous));
    enqueue_op(gw, room->room_id, op);
    char *notice = xasprintf("The XMPP room %s refused the topic change by "
                             "%s%s%s%s. The topic is back to the room's "
                             "subject.", room->xmpp_jid, c.who,
                             text ? " (" : "", text ? text : "",
                             text ? ")" : "");
    bot_notice(gw, room->room_id, id, notice);
    free(notice);
    portal_change_free(&c);
    return true;
}

/* Our message came back refused: tell its Matrix author. */
static void on_message_error(struct gateway *gw, xmpp_stanza_t *st,
                             const struct store_room *room)
{
    const char *id = xmpp_stanza_get_id(st);
    xmpp_stanza_t *err = xmpp_stanza_get_child_by_name(st, "error");
    char *text = err ? xml_child_text(err, "text", NULL) : NULL;
    if (text && !*text) {
        free(text);
        text = NULL;
    }
    if (id && on_subject_refused(gw, id, room, text)) {
        free(text);
        return;
    }
    struct store_message m;
    if (!id || store_message_by_event(gw->store, id, &m) != 1) {
        free(text);
        return;
    }
    char *notice = xasprintf("A message was not delivered to the XMPP room "
                             "%s%s%s", room->xmpp_jid, text ? ": " : ".",
                             text ? text : "");
    bot_notice(gw, room->room_id, id, notice);
    free(notice);
    free(text);
    store_message_free(&m);
}

/* An XMPP occupant's reactions or retraction, relayed by the MUC: their
 * ghost does the same to the message in the Matrix room. */
static void on_muc_action(struct gateway *gw, xmpp_stanza_t *st,
                          const struct store_room *room, const char *nick,
                          const struct xreactions *reactions,
                          const char *retract_id)
{
    const char *muc = room->xmpp_jid;
    char *occ_jid = xasprintf("%s/%s", muc, nick);
    struct store_occupant o;
    int found = store_occupant_get(gw->store, occ_jid, muc, &o);
    free(occ_jid);
    if (found != 1)
        return; /* only occupants present have a ghost in the room */
    const char *xmpp_id = retract_id ? retract_id : reactions->id;
    char *event_id = relations_event_for(gw, muc, xmpp_id);
    if (!event_id) {
        log_debug("portal: %s in %s acted on %s, which never crossed", nick,
                  muc, xmpp_id);
        store_occupant_free(&o);
        return;
    }
    json_t *op = op_new(retract_id ? "redact" : "react", o.ghost);
    json_object_set_new(op, "event_id", json_string(event_id));
    if (!retract_id) {
        json_t *keys = json_array();
        for (int i = 0; i < reactions->n; i++)
            json_array_append_new(keys, json_string(reactions->keys[i]));
        json_object_set_new(op, "keys", keys);
    }
    enqueue_op(gw, room->room_id, op);
    (void)st;
    free(event_id);
    store_occupant_free(&o);
}

/* A moderator removed a message from the MUC (XEP-0425): the event it
 * became is redacted, as the moderator's ghost when they have one, else
 * as the bot. The announcement comes once per Matrix user's occupant (and
 * again in history after a rejoin); the store keeps it from being done
 * twice. */
static void on_muc_moderated(struct gateway *gw, const struct store_room *room,
                             const struct xmoderated *mod)
{
    const char *muc = room->xmpp_jid;
    char *seen = xasprintf("moderated %s", mod->id);
    if (store_inbound_get(gw->store, muc, muc, seen, NULL) == 1)
        goto out;
    store_inbound_add(gw->store, muc, muc, seen, gateway_now_ms());
    char *event_id = relations_event_for(gw, muc, mod->id);
    if (!event_id) {
        log_debug("portal: a moderator in %s removed %s, which never crossed",
                  muc, mod->id);
        goto out;
    }
    /* `by` is the moderator's occupant JID in this room, if the room says;
     * a name elsewhere is not trusted to pick a ghost. */
    char *by_room = mod->by ? ids_jid_bare(mod->by) : NULL;
    const char *nick = by_room && strcmp(by_room, muc) == 0
                           ? ids_jid_resource(mod->by) : NULL;
    struct store_portal_user u;
    struct store_occupant o;
    if (nick && store_portal_user_by_nick(gw->store, muc, nick, &u) == 1) {
        /* A Matrix user's own redaction, which their occupant asked the
         * room for, coming back: done already. */
        store_portal_user_free(&u);
    } else {
        json_t *op = op_new("moderated", gw->bot_mxid);
        if (nick && store_occupant_get(gw->store, mod->by, muc, &o) == 1) {
            json_object_set_new(op, "ghost", json_string(o.ghost));
            store_occupant_free(&o);
        }
        json_object_set_new(op, "event_id", json_string(event_id));
        if (nick)
            json_object_set_new(op, "nick", json_string(nick));
        if (mod->reason && *mod->reason)
            json_object_set_new(op, "reason", json_string(mod->reason));
        enqueue_op(gw, room->room_id, op);
        log_info("portal: %s in %s removed %s", nick ? nick : "a moderator",
                 muc, event_id);
    }
    free(by_room);
    free(event_id);
out:
    free(seen);
}

static void on_muc_message(struct gateway *gw, xmpp_stanza_t *st,
                           const struct store_room *room)
{
    const char *muc = room->xmpp_jid;
    const char *type = xmpp_stanza_get_type(st);
    if (type && strcmp(type, "error") == 0) {
        on_message_error(gw, st, room);
        return;
    }
    if (!type || strcmp(type, "groupchat") != 0)
        return; /* private messages through the MUC are not bridged */
    struct xmsg m;
    const char *why;
    if (xmsg_parse(st, &m, &why) < 0)
        return;
    const char *nick = ids_jid_resource(m.from);
    struct xreactions reactions = { 0 };
    char *retract_id = NULL;
    /* An XMPP occupant's chat state or chat marker (gateway/typing.c,
     * gateway/features/receipts.c). */
    typing_portal_message(gw, st, room, &m);
    receipts_portal_message(gw, st, room, &m);
    char *subject = xml_child_text(st, "subject", NULL);
    if (subject && !m.body) {
        on_subject(gw, room, subject);
        goto out;
    }
    struct xmoderated mod;
    if (xmoderated_parse(st, &mod) == 1) {
        /* Only the room itself (its bare JID) announces a moderation; an
         * occupant's "announcement", relayed from room@service/nick, is
         * a forgery, whatever it claims. */
        if (!nick)
            on_muc_moderated(gw, room, &mod);
        else
            log_info("portal: %s in %s forged a moderation announcement; "
                     "ignored", nick, muc);
        xmoderated_free(&mod);
        goto out;
    }
    retract_id = xretract_target(st);
    if (!retract_id && xreactions_parse(st, &reactions, &why) < 0)
        goto out;
    bool action = retract_id || reactions.id;
    if ((!m.body && !action) || !nick)
        goto out;
    const char *sid = muc_stanza_id(st, muc);
    struct store_portal_user u;
    if (store_portal_user_by_nick(gw->store, muc, nick, &u) == 1) {
        /* A Matrix user's message reflected by the room, stamped with the
         * stanza-id that XMPP replies will name it by. */
        struct store_message mine;
        if (sid && m.origin_id &&
            store_message_by_event(gw->store, m.origin_id, &mine) == 1) {
            store_message_set_stanza_id(gw->store, mine.event_id, sid);
            store_message_free(&mine);
        }
        store_portal_user_free(&u);
        goto out;
    }
    const char *dedupe = sid ? sid : xmsg_dedupe_id(&m);
    struct store_message known;
    if ((m.origin_id &&
         store_message_by_stanza(gw->store, muc, m.origin_id, &known) == 1) ||
        (dedupe && store_message_by_stanza(gw->store, muc, dedupe, &known) ==
                       1)) {
        store_message_free(&known);
        goto out; /* bridged already, or our own reflection */
    }
    if (dedupe && store_inbound_get(gw->store, muc, muc, dedupe, NULL) == 1)
        goto out; /* another Matrix user's copy of the same message */
    if (action) {
        on_muc_action(gw, st, room, nick, &reactions, retract_id);
        if (dedupe)
            store_inbound_add(gw->store, muc, muc, dedupe, gateway_now_ms());
        goto out;
    }
    struct translated_text t;
    if (translate_to_matrix(&m, (size_t)gw->cfg.max_event_body, &t, &why) < 0) {
        log_info("portal: a message in %s was not bridged: %s", muc, why);
        goto out;
    }
    char *occ_jid = xasprintf("%s/%s", muc, nick);
    struct store_occupant o;
    char *ghost = NULL;
    if (store_occupant_get(gw->store, occ_jid, muc, &o) == 1) {
        ghost = xstrdup(o.ghost);
        store_occupant_free(&o);
    } else if ((ghost = ghost_of(gw, muc, nick, NULL))) {
        /* Someone who is not (or no longer) in the room, e.g. in history
         * after a restart: their ghost joins first. */
        enqueue_op(gw, room->room_id, join_op(ghost, occ_jid, nick, false));
    }
    if (ghost) {
        long long delayed = muc_delay_ms(st);
        int64_t now = gateway_now_ms();
        json_t *op = op_new("say", ghost);
        char *replaces = NULL;
        json_object_set_new(op, "content",
                            relations_to_matrix(gw, muc, &m, &t, &replaces));
        if (replaces)
            json_object_set_new(op, "replaces", json_string(replaces));
        free(replaces);
        json_object_set_new(op, "ts", json_integer(delayed > 0 ? delayed
                                                                : now));
        if (dedupe)
            json_object_set_new(op, "stanza_id", json_string(dedupe));
        /* The sender's own id for the message (origin-id, else the id the
         * room passed on), which corrections name it by. */
        const char *own_id = m.origin_id ? m.origin_id : m.id;
        if (own_id)
            json_object_set_new(op, "origin_id", json_string(own_id));
        json_object_set_new(op, "muc", json_string(muc));
        /* A file share: the op fetches it and posts it as media. */
        if (media_is_share(&m)) {
            json_object_set_new(op, "media_url", json_string(m.oob_url));
            if (m.oob_desc)
                json_object_set_new(op, "media_desc",
                                    json_string(m.oob_desc));
        }
        enqueue_op(gw, room->room_id, op);
        if (dedupe)
            store_inbound_add(gw->store, muc, muc, dedupe, now);
    }
    free(ghost);
    free(occ_jid);
    free(t.body);
out:
    xreactions_free(&reactions);
    free(retract_id);
    free(subject);
    xmsg_free(&m);
}

bool portal_xmpp_stanza(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *name = xmpp_stanza_get_name(st);
    const char *from = xmpp_stanza_get_from(st);
    const char *to = xmpp_stanza_get_to(st);
    if (!name || !from || !to)
        return false;
    bool message = strcmp(name, "message") == 0;
    if (message) {
        if (handle_invite(gw, st))
            return true;
        /* Direct chats are most of the traffic: only what a room sends
         * needs the lookup below. */
        const char *type = xmpp_stanza_get_type(st);
        if (!type || (strcmp(type, "groupchat") != 0 &&
                      strcmp(type, "error") != 0))
            return false;
    } else if (strcmp(name, "presence") != 0) {
        return false;
    }
    char *muc = ids_jid_bare(from);
    struct store_room room;
    int found = store_room_find_portal(gw->store, muc, &room);
    free(muc);
    if (found != 1)
        return false;
    char *mxid = NULL;
    enum ids_matrix_kind kind;
    const char *why;
    if (ids_jid_to_matrix(&gw->ids, to, &mxid, &kind, &why) == 0 &&
        kind == IDS_MATRIX_USER) {
        if (message)
            on_muc_message(gw, st, &room);
        else
            on_muc_presence(gw, st, &room, mxid);
    }
    free(mxid);
    store_room_free(&room);
    return true;
}

/* ------------------------------------------------------- restarts -- */

void portal_rejoin_all(struct gateway *gw)
{
    struct store_portal_user *list;
    int n = store_portal_users_all(gw->store, &list);
    for (int i = 0; i < n; i++) {
        struct store_portal_user *u = &list[i];
        char *occupant = members_portal_occupant(gw, u->mxid);
        if (!occupant)
            continue;
        /* Only what was said since the last bridged message: the rest
         * crossed already (and the message store catches the overlap). */
        int64_t last = -1;
        if (store_room_last_ts(gw->store, u->room_id, &last) != 1)
            last = -1;
        char *to = xasprintf("%s/%s", u->muc_jid, u->nick);
        xmpp_stanza_t *p = muc_join(gw->xmpp, occupant, to, last);
        gateway_send_now(gw, p);
        xmpp_stanza_release(p);
        sync_start(gw->portal, u->muc_jid);
        free(to);
        free(occupant);
    }
    if (n > 0) {
        log_info("portal: rejoining %d MUC occupant(s) for Matrix users", n);
        store_portal_users_free(list, n);
    }
}

void portal_leave_all(struct gateway *gw)
{
    struct store_portal_user *list;
    int n = store_portal_users_all(gw->store, &list);
    for (int i = 0; i < n; i++) {
        char *occupant = members_portal_occupant(gw, list[i].mxid);
        if (!occupant)
            continue;
        char *to = xasprintf("%s/%s", list[i].muc_jid, list[i].nick);
        xmpp_stanza_t *p = xmpp_presence_new(gw->xmpp);
        xmpp_stanza_set_type(p, "unavailable");
        xmpp_stanza_set_from(p, occupant);
        xmpp_stanza_set_to(p, to);
        gateway_send_now(gw, p);
        xmpp_stanza_release(p);
        free(to);
        free(occupant);
    }
    if (n > 0)
        store_portal_users_free(list, n);
}

/* ----------------------------------------------------- queued work -- */

struct op_job {
    struct gateway *gw;
    int64_t item_id;
    char *queue;
    json_t *op;
};

static void op_done(struct op_job *j)
{
    queues_done(j->gw, j->queue, j->item_id);
    free(j->queue);
    json_decref(j->op);
    free(j);
}

static const char *op_str(const struct op_job *j, const char *key)
{
    return json_string_value(json_object_get(j->op, key));
}

/* The homeserver answered the op's call; event_id: what a "say" sent. */
static void op_answered(struct op_job *j, const struct mx_response *r,
                        const char *event_id)
{
    const char *op = op_str(j, "op");
    if (r->status != 200) {
        log_warn("portal: %s for %s in %s failed: %s", op,
                 op_str(j, "user_id"), op_str(j, "room_id"), r->error);
    } else if (strcmp(op, "say") == 0) {
        const char *muc = op_str(j, "muc");
        const char *sid = op_str(j, "stanza_id");
        if (event_id && muc) {
            struct store_message m = {
                .event_id = (char *)event_id,
                .room_id = (char *)op_str(j, "room_id"),
                .xmpp_jid = (char *)muc, .stanza_id = (char *)sid,
                .origin_id = (char *)op_str(j, "origin_id"),
                .replaces = (char *)op_str(j, "replaces"),
                .sender = (char *)op_str(j, "user_id"),
                .direction = DIR_XMPP_TO_MATRIX,
                .ts = json_integer_value(json_object_get(j->op, "ts")),
            };
            store_message_put(j->gw->store, &m);
            receipts_message_stored(j->gw, event_id);
            if (sid)
                store_inbound_delivered(j->gw->store, muc, muc, sid, event_id);
        }
    }
    op_done(j);
}

/* The calls below act as the op's ghost (user_id) or as the bot (the
 * appservice's own user), and are retried until the homeserver answers:
 * the op stays queued meanwhile. */
static void on_op_done(const struct mx_response *r, void *ud)
{
    op_answered(ud, r, NULL);
}

static void on_said(const struct mx_response *r,
                    const struct mx_event_id *res, void *ud)
{
    op_answered(ud, r, res ? res->event_id : NULL);
}

/* The power levels as they are now, with one user's level changed. */
static void on_levels(const struct mx_response *r, const struct mx_state *res,
                      void *ud)
{
    struct op_job *j = ud;
    if (!res) {
        on_op_done(r, ud);
        return;
    }
    json_t *levels = json_deep_copy(res->content);
    struct mx_power_levels pl;
    const char *why;
    mx_power_levels_parse(levels, &pl, &why); /* an object: checked above */
    json_t *users = pl.users; /* borrowed from levels, changed in place */
    if (!users) {
        users = json_object();
        json_object_set_new(levels, "users", users);
    }
    json_int_t level = json_integer_value(json_object_get(j->op, "level"));
    const char *user = op_str(j, "user_id");
    if (level == 0)
        json_object_del(users, user);
    else
        json_object_set_new(users, user, json_integer(level));
    mx_state_put(j->gw->mx, op_str(j, "room_id"), "m.room.power_levels",
                 NULL, NULL, levels, 0, on_op_done, j);
}

static void on_op_ghost_ready(struct gateway *gw, bool ok, const char *error,
                              void *ud)
{
    (void)gw;
    struct op_job *j = ud;
    const char *ghost = op_str(j, "user_id");
    if (!ok) {
        log_warn("portal: ghost %s unavailable: %s", ghost, error);
        op_done(j);
        return;
    }
    /* Joining through the member state event carries the room nick as the
     * ghost's display name in this room. */
    mx_member_join(j->gw->mx, op_str(j, "room_id"), ghost, op_str(j, "nick"),
                   NULL, 0, on_op_done, j);
}

static void on_op_acted(struct gateway *gw, const char *error, void *ud)
{
    (void)gw;
    struct op_job *j = ud;
    if (error)
        log_warn("portal: %s by %s in %s failed: %s", op_str(j, "op"),
                 op_str(j, "user_id"), op_str(j, "room_id"), error);
    op_done(j);
}

/* A reaction set or a retraction, as the occupant's ghost. */
static void run_action(struct op_job *j, const char *op, int64_t item_id)
{
    const char *event_id = op_str(j, "event_id");
    if (!event_id) {
        op_done(j);
        return;
    }
    /* The outbox id names the change for good, so a replay after a crash
     * repeats the same requests. */
    char *seed = xasprintf("portal.%lld", (long long)item_id);
    if (strcmp(op, "redact") == 0) {
        retractions_from_xmpp(j->gw, op_str(j, "room_id"), op_str(j, "user_id"),
                              event_id, seed, on_op_acted, j);
    } else {
        json_t *arr = json_object_get(j->op, "keys");
        size_t n = json_array_size(arr);
        const char **keys = xcalloc(n + 1, sizeof *keys);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (json_string_value(json_array_get(arr, i)))
                keys[k++] = json_string_value(json_array_get(arr, i));
        reactions_from_xmpp(j->gw, op_str(j, "room_id"), op_str(j, "user_id"),
                            event_id, keys, (int)k, seed, on_op_acted, j);
        free(keys);
    }
    free(seed);
}

/* A MUC moderator's removal: user_id is the bot, "ghost" the moderator's
 * ghost if they have one. */
static void run_moderated(struct op_job *j, int64_t item_id)
{
    const char *event_id = op_str(j, "event_id");
    if (!event_id) {
        op_done(j);
        return;
    }
    char *seed = xasprintf("portal.%lld", (long long)item_id);
    retractions_moderated_in_portal(j->gw, op_str(j, "room_id"),
                                    op_str(j, "ghost"), op_str(j, "nick"),
                                    event_id, op_str(j, "reason"), seed,
                                    on_op_acted, j);
    free(seed);
}

static void say(struct op_job *j)
{
    /* The outbox id names the message for good, so a replay after a crash
     * hands the homeserver the same transaction. */
    char *txn = xasprintf("isthmus.p%lld", (long long)j->item_id);
    json_t *content = json_object_get(j->op, "content");
    mx_send_event(j->gw->mx, op_str(j, "room_id"), "m.room.message", txn,
                  op_str(j, "user_id"),
                  (long long)json_integer_value(json_object_get(j->op, "ts")),
                  json_incref(content), 0, on_said, j);
    free(txn);
}

/* A MUC has nobody to send an error to that would not bother the whole
 * room, so a file that cannot cross is posted as its plain URL (the text
 * content already in the op), and the reason is logged. */
static void on_say_media(struct gateway *gw, json_t *content,
                         const char *condition, const char *why, void *ud)
{
    (void)gw;
    (void)condition;
    struct op_job *j = ud;
    if (content)
        json_object_set_new(j->op, "content", content);
    else
        log_info("portal: a file in %s is posted as a link: %s",
                 op_str(j, "muc"), why);
    say(j);
}

void portal_op_process(struct gateway *gw, const struct store_outbox_item *it)
{
    struct op_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->item_id = it->id;
    j->queue = xstrdup(it->queue);
    j->op = json_loads(it->payload, 0, NULL);
    const char *op = j->op ? op_str(j, "op") : NULL;
    const char *user = j->op ? op_str(j, "user_id") : NULL;
    if (!op || !user || !op_str(j, "room_id")) {
        log_error("portal: malformed outbox item %lld", (long long)it->id);
        op_done(j);
        return;
    }
    if (strcmp(op, "join") == 0) {
        const char *jid = op_str(j, "jid"), *nick = op_str(j, "nick");
        if (json_is_true(json_object_get(j->op, "real")))
            ghosts_ensure(gw, user, jid, nick, on_op_ghost_ready, j);
        else
            ghosts_ensure_named(gw, user, jid, nick, on_op_ghost_ready, j);
    } else if (strcmp(op, "leave") == 0) {
        mx_leave(gw->mx, op_str(j, "room_id"), user, 0, on_op_done, j);
    } else if (strcmp(op, "kick") == 0 || strcmp(op, "ban") == 0) {
        const char *reason = op_str(j, "reason") ? op_str(j, "reason") : "";
        (op[0] == 'k' ? mx_kick : mx_ban)(gw->mx, op_str(j, "room_id"), user,
                                          reason, NULL, 0, on_op_done, j);
    } else if (strcmp(op, "power") == 0) {
        mx_state_get(gw->mx, op_str(j, "room_id"), "m.room.power_levels",
                     NULL, NULL, false, 0, on_levels, j);
    } else if (strcmp(op, "topic") == 0) {
        mx_state_put(gw->mx, op_str(j, "room_id"), "m.room.topic", NULL, NULL,
                     json_pack("{s:s}", "topic", op_str(j, "topic")), 0,
                     on_op_done, j);
    } else if (strcmp(op, "say") == 0) {
        const char *media_url = op_str(j, "media_url");
        if (media_url)
            media_to_matrix(gw, user, media_url, op_str(j, "media_desc"),
                            on_say_media, j);
        else
            say(j);
    } else if (strcmp(op, "react") == 0 || strcmp(op, "redact") == 0) {
        run_action(j, op, it->id);
    } else if (strcmp(op, "moderated") == 0) {
        run_moderated(j, it->id);
    } else {
        log_error("portal: unknown operation %s in item %lld", op,
                  (long long)it->id);
        op_done(j);
    }
}
