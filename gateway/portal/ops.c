/* Portal mode: the durable operations queued per portal room (see
 * ops.h). */
#include "gateway/portal/ops.h"

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

/* ---------------------------------------------- the ops, by name -- */

static void run_join(struct op_job *j, const char *op, const char *user,
                     int64_t item_id)
{
    (void)op;
    (void)item_id;
    const char *jid = op_str(j, "jid"), *nick = op_str(j, "nick");
    if (json_is_true(json_object_get(j->op, "real")))
        ghosts_ensure(j->gw, user, jid, nick, on_op_ghost_ready, j);
    else
        ghosts_ensure_named(j->gw, user, jid, nick, on_op_ghost_ready, j);
}

static void run_leave(struct op_job *j, const char *op, const char *user,
                      int64_t item_id)
{
    (void)op;
    (void)item_id;
    mx_leave(j->gw->mx, op_str(j, "room_id"), user, 0, on_op_done, j);
}

static void run_kick_or_ban(struct op_job *j, const char *op,
                            const char *user, int64_t item_id)
{
    (void)item_id;
    const char *reason = op_str(j, "reason") ? op_str(j, "reason") : "";
    (op[0] == 'k' ? mx_kick : mx_ban)(j->gw->mx, op_str(j, "room_id"), user,
                                      reason, NULL, 0, on_op_done, j);
}

static void run_power(struct op_job *j, const char *op, const char *user,
                      int64_t item_id)
{
    (void)op;
    (void)user;
    (void)item_id;
    mx_state_get(j->gw->mx, op_str(j, "room_id"), "m.room.power_levels",
                 NULL, NULL, false, 0, on_levels, j);
}

static void run_topic(struct op_job *j, const char *op, const char *user,
                      int64_t item_id)
{
    (void)op;
    (void)user;
    (void)item_id;
    mx_state_put(j->gw->mx, op_str(j, "room_id"), "m.room.topic", NULL, NULL,
                 json_pack("{s:s}", "topic", op_str(j, "topic")), 0,
                 on_op_done, j);
}

static void run_say(struct op_job *j, const char *op, const char *user,
                    int64_t item_id)
{
    (void)op;
    (void)item_id;
    const char *media_url = op_str(j, "media_url");
    if (media_url)
        media_to_matrix(j->gw, user, media_url, op_str(j, "media_desc"),
                        on_say_media, j);
    else
        say(j);
}

static void run_action_op(struct op_job *j, const char *op, const char *user,
                          int64_t item_id)
{
    (void)user;
    run_action(j, op, item_id);
}

static void run_moderated_op(struct op_job *j, const char *op,
                             const char *user, int64_t item_id)
{
    (void)op;
    (void)user;
    run_moderated(j, item_id);
}

/* Every operation a portal room's queue runs, by the name stored in the
 * item ("op"). */
struct op_route {
    const char *name;
    void (*run)(struct op_job *j, const char *op, const char *user,
                int64_t item_id);
};

static const struct op_route op_routes[] = {
    { "join", run_join },
    { "leave", run_leave },
    { "kick", run_kick_or_ban },
    { "ban", run_kick_or_ban },
    { "power", run_power },
    { "topic", run_topic },
    { "say", run_say },
    { "react", run_action_op },
    { "redact", run_action_op },
    { "moderated", run_moderated_op },
    { NULL, NULL },
};

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
    for (const struct op_route *r = op_routes; r->name; r++) {
        if (strcmp(op, r->name) == 0) {
            r->run(j, op, user, it->id);
            return;
        }
    }
    log_error("portal: unknown operation %s in item %lld", op,
              (long long)it->id);
    op_done(j);
}
