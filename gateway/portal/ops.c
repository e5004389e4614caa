/* Portal mode: the durable operations queued per portal room (see
 * ops.h). */
#include "gateway/portal/ops.h"

#include "gateway/core/portal_op.h"

#include "gateway/features/relations.h"
#include "gateway/features/x2m_env.h"
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

/* ----------------------------------------------------- queued work -- */

struct op_job {
    struct gateway *gw;
    int64_t item_id;
    char *queue;
    struct portal_op op;  /* views into the stored document */
    /* say: the message (op.stanza parsed), what it became, and the event
     * a correction replaces */
    struct xmsg msg;
    json_t *content;
    char *replaces;
    json_t *media_content; /* say: the file's content, once uploaded */
};

static void op_done(struct op_job *j)
{
    queues_done(j->gw, j->queue, j->item_id);
    free(j->queue);
    portal_op_clear(&j->op);
    xmsg_free(&j->msg);
    json_decref(j->content);
    free(j->replaces);
    json_decref(j->media_content);
    free(j);
}

/* The homeserver answered the op's call; event_id: what a "say" sent. */
static void op_answered(struct op_job *j, const struct mx_response *r,
                        const char *event_id)
{
    const struct portal_op *op = &j->op;
    if (r->status != 200) {
        log_warn("portal: %s for %s in %s failed: %s",
                 portal_op_name(op->kind), op->user_id, op->room_id, r->error);
    } else if (op->kind == PORTAL_OP_SAY) {
        if (event_id && op->muc) {
            /* The sender's own id for the message (origin-id, else the id
             * the room passed on), which corrections name it by. */
            const char *origin_id = op->origin_id;
            const char *replaces = op->replaces;
            if (op->stanza) {
                origin_id = j->msg.origin_id ? j->msg.origin_id : j->msg.id;
                replaces = j->replaces;
            }
            struct store_message m = {
                .event_id = (char *)event_id,
                .room_id = (char *)op->room_id,
                .xmpp_jid = (char *)op->muc, .stanza_id = (char *)op->stanza_id,
                .origin_id = (char *)origin_id,
                .replaces = (char *)replaces,
                .sender = (char *)op->user_id,
                .direction = DIR_XMPP_TO_MATRIX,
                .ts = op->ts,
            };
            store_message_put(j->gw->store, &m);
            receipts_message_stored(j->gw, event_id);
            if (op->stanza_id)
                store_inbound_delivered(j->gw->store, op->muc, op->muc,
                                        op->stanza_id, event_id);
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
    if (j->op.level == 0)
        json_object_del(users, j->op.user_id);
    else
        json_object_set_new(users, j->op.user_id,
                            json_integer((json_int_t)j->op.level));
    mx_state_put(j->gw->mx, j->op.room_id, "m.room.power_levels",
                 NULL, NULL, levels, 0, on_op_done, j);
}

static void on_op_ghost_ready(struct gateway *gw, bool ok, const char *error,
                              void *ud)
{
    (void)gw;
    struct op_job *j = ud;
    if (!ok) {
        log_warn("portal: ghost %s unavailable: %s", j->op.user_id, error);
        op_done(j);
        return;
    }
    /* Joining through the member state event carries the room nick as the
     * ghost's display name in this room. */
    mx_member_join(j->gw->mx, j->op.room_id, j->op.user_id, j->op.nick,
                   NULL, 0, on_op_done, j);
}

static void on_op_acted(struct gateway *gw, const char *error, void *ud)
{
    (void)gw;
    struct op_job *j = ud;
    if (error)
        log_warn("portal: %s by %s in %s failed: %s",
                 portal_op_name(j->op.kind), j->op.user_id, j->op.room_id,
                 error);
    op_done(j);
}

static void say(struct op_job *j)
{
    /* The outbox id names the message for good, so a replay after a crash
     * hands the homeserver the same transaction. */
    char *txn = xasprintf("isthmus.p%lld", (long long)j->item_id);
    json_t *content = j->media_content ? j->media_content
                      : j->content     ? j->content
                                       : j->op.content;
    gateway_send_event(j->gw, j->op.room_id, "m.room.message", txn,
                  j->op.user_id, j->op.ts, json_incref(content), 0, on_said,
                  j);
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
        j->media_content = content;
    else
        log_info("portal: a file in %s is posted as a link: %s", j->op.muc,
                 why);
    say(j);
}

/* ---------------------------------------------- the ops, by kind -- */

static void run_join(struct op_job *j)
{
    const struct portal_op *op = &j->op;
    if (op->real)
        ghosts_ensure(j->gw, op->user_id, op->jid, op->nick,
                      on_op_ghost_ready, j);
    else
        ghosts_ensure_named(j->gw, op->user_id, op->jid, op->nick,
                            on_op_ghost_ready, j);
}

static void run_leave(struct op_job *j)
{
    mx_leave(j->gw->mx, j->op.room_id, j->op.user_id, 0, on_op_done, j);
}

static void run_kick_or_ban(struct op_job *j)
{
    const char *reason = j->op.reason ? j->op.reason : "";
    (j->op.kind == PORTAL_OP_KICK ? mx_kick : mx_ban)(
        j->gw->mx, j->op.room_id, j->op.user_id, reason, NULL, 0, on_op_done,
        j);
}

static void run_power(struct op_job *j)
{
    mx_state_get(j->gw->mx, j->op.room_id, "m.room.power_levels",
                 NULL, NULL, false, 0, on_levels, j);
}

static void run_topic(struct op_job *j)
{
    mx_state_put(j->gw->mx, j->op.room_id, "m.room.topic", NULL, NULL,
                 json_pack("{s:s}", "topic", j->op.topic), 0, on_op_done, j);
}

/* An encrypted message's body is only a fallback for clients without the
 * scheme: the room is told plainly what it cannot see. */
static void say_what_cannot_be_read(struct xmsg *m)
{
    if (!m->encryption)
        return;
    const char *nick = ids_jid_resource(m->from);
    free(m->body);
    m->body = xasprintf("[%s sent a %s-encrypted message, which this "
                        "gateway cannot decrypt yet]", nick ? nick : "someone",
                        m->encryption);
    /* Nothing else of the fallback is the sender's own. */
    free(m->xhtml);
    m->xhtml = NULL;
    free(m->oob_url);
    m->oob_url = NULL;
}

/* The event content for a say op's message, translated as a DM's is (a
 * correction's target, *replaces, caller frees). New reference, or NULL
 * with *why. */
static json_t *say_translate(struct gateway *gw, struct xmsg *m,
                             const char *muc, const char *room_id,
                             char **replaces, const char **why)
{
    say_what_cannot_be_read(m);
    struct x2m_lookups lookups = { .gw = gw, .jid = muc, .from = m->from,
                                   .room_id = room_id };
    struct x2m_env env;
    x2m_env_for(&lookups, &env);
    return x2m_translate(m, &env, replaces, why);
}

static void run_say(struct op_job *j)
{
    const struct portal_op *op = &j->op;
    if (op->stanza) {
        /* Taken as the edge parsed it when the op runs at once; else
         * parsed from the stored copy (a replay, or a busy queue). */
        xmpp_stanza_t *st = NULL;
        bool parsed = queues_take_live(j->gw, j->item_id, &j->msg, &st);
        if (!parsed)
            st = xmpp_stanza_new_from_string(j->gw->xmpp, op->stanza);
        const char *why = "the stored stanza cannot be parsed";
        if (st && (parsed || xmsg_parse(st, &j->msg, &why) == 0))
            j->content = say_translate(j->gw, &j->msg, op->muc, op->room_id,
                                       &j->replaces, &why);
        if (st)
            xmpp_stanza_release(st);
        if (!j->content) {
            log_info("portal: a message in %s was not bridged: %s", op->muc,
                     why);
            op_done(j);
            return;
        }
        /* A file share: fetched and posted as media. */
        if (media_is_share(&j->msg))
            media_to_matrix(j->gw, op->user_id, op->room_id, media_share_url(&j->msg),
                            j->msg.oob_desc, on_say_media, j);
        else
            say(j);
        return;
    }
    if (j->op.media_url)
        media_to_matrix(j->gw, j->op.user_id, j->op.room_id,
                        j->op.media_url, j->op.media_desc, on_say_media, j);
    else
        say(j);
}

/* A reaction set or a retraction, as the occupant's ghost. */
static void run_action(struct op_job *j)
{
    const struct portal_op *op = &j->op;
    if (!op->event_id) {
        op_done(j);
        return;
    }
    /* The outbox id names the change for good, so a replay after a crash
     * repeats the same requests. */
    char *seed = xasprintf("portal.%lld", (long long)j->item_id);
    if (op->kind == PORTAL_OP_REDACT)
        retractions_from_xmpp(j->gw, op->room_id, op->user_id, op->event_id,
                              seed, on_op_acted, j);
    else
        reactions_from_xmpp(j->gw, op->room_id, op->user_id, op->event_id,
                            op->keys, (int)op->nkeys, seed, on_op_acted, j);
    free(seed);
}

/* A MUC moderator's removal: user_id is the bot, ghost the moderator's
 * ghost if they have one. */
static void run_moderated(struct op_job *j)
{
    const struct portal_op *op = &j->op;
    if (!op->event_id) {
        op_done(j);
        return;
    }
    char *seed = xasprintf("portal.%lld", (long long)j->item_id);
    retractions_moderated_in_portal(j->gw, op->room_id, op->ghost, op->nick,
                                    op->event_id, op->reason, seed,
                                    on_op_acted, j);
    free(seed);
}

/* Every operation a portal room's queue runs, by kind. */
static void (*const op_routes[PORTAL_OP_COUNT])(struct op_job *j) = {
    [PORTAL_OP_JOIN] = run_join,
    [PORTAL_OP_LEAVE] = run_leave,
    [PORTAL_OP_KICK] = run_kick_or_ban,
    [PORTAL_OP_BAN] = run_kick_or_ban,
    [PORTAL_OP_POWER] = run_power,
    [PORTAL_OP_TOPIC] = run_topic,
    [PORTAL_OP_SAY] = run_say,
    [PORTAL_OP_REACT] = run_action,
    [PORTAL_OP_REDACT] = run_action,
    [PORTAL_OP_MODERATED] = run_moderated,
};

void portal_op_process(struct gateway *gw, const struct store_outbox_item *it)
{
    struct op_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->item_id = it->id;
    j->queue = xstrdup(it->queue);
    json_t *doc = json_loads(it->payload, 0, NULL);
    const char *why = "not JSON";
    int rc = doc ? portal_op_decode(doc, &j->op, &why) : -1;
    json_decref(doc); /* j->op holds its own reference */
    if (rc < 0) {
        log_error("portal: malformed outbox item %lld: %s", (long long)it->id,
                  why);
        op_done(j);
        return;
    }
    op_routes[j->op.kind](j);
}
