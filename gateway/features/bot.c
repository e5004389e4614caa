#include "gateway/features/bot.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/effects.h"
#include "gateway/features/commands.h"

#include <stdlib.h>
#include <string.h>

/* The setting that marks room_id as one of the bot's DMs. Caller
 * frees. */
static char *dm_key(const char *room_id)
{
    return xasprintf("bot_dm %s", room_id);
}

static bool is_bot_dm(struct gateway *gw, const char *room_id)
{
    char *key = dm_key(room_id);
    int64_t v = 0;
    bool yes = store_setting_get(gw->store, key, &v) == 1 && v == 1;
    free(key);
    return yes;
}

struct join_job {
    struct gateway *gw;
    char *room_id;
    char *inviter;
};

static void on_joined(const struct mx_response *r,
                      const struct mx_room_id *res, void *ud)
{
    (void)res;
    struct join_job *j = ud;
    if (r->status == 200) {
        log_info("bot: joined the DM %s with %s", j->room_id, j->inviter);
        char *seed = gateway_txn_id("bot-hello", j->room_id, NULL);
        gateway_notice(j->gw, j->room_id, NULL, seed,
                       "Hello! I am the XMPP gateway's bot. Send \"help\" "
                       "for the commands I know.");
        free(seed);
    } else {
        log_warn("bot: could not join the DM %s with %s: %s", j->room_id,
                 j->inviter, r->error);
    }
    free(j->room_id);
    free(j->inviter);
    free(j);
}

static void on_declined(const struct mx_response *r, void *ud)
{
    char *room_id = ud;
    if (r->status != 200)
        log_debug("bot: declining %s failed: %s", room_id, r->error);
    free(room_id);
}

bool bot_matrix_member(struct gateway *gw, const struct mx_event *ev,
                       const struct mx_member *m)
{
    bool about_bot = strcmp(ev->state_key, gw->bot_mxid) == 0;
    if (about_bot && strcmp(m->membership, "invite") == 0 &&
        !gateway_is_ours(gw, ev->sender)) {
        struct store_room bridged;
        if (store_room_get(gw->store, ev->room_id, &bridged) == 1) {
            /* A bridged room (a portal the bot made): not the bot's
             * business as a command door. */
            store_room_free(&bridged);
            return false;
        }
        if (!m->is_direct) {
            /* Group rooms are bridged by their ghosts, not the bot. */
            log_info("bot: declining %s's invite to %s (not a DM)",
                     ev->sender, ev->room_id);
            mx_leave(gw->mx, ev->room_id, NULL, 2, on_declined,
                     xstrdup(ev->room_id));
            return true;
        }
        char *key = dm_key(ev->room_id);
        store_setting_put(gw->store, key, 1);
        free(key);
        struct join_job *j = xcalloc(1, sizeof *j);
        j->gw = gw;
        j->room_id = xstrdup(ev->room_id);
        j->inviter = xstrdup(ev->sender);
        mx_join(gw->mx, ev->room_id, NULL, 3, on_joined, j);
        return true;
    }
    if (!is_bot_dm(gw, ev->room_id))
        return false;
    /* Whoever leaves, the DM is over: the bot leaves too, and a new DM
     * starts afresh. */
    if (strcmp(m->membership, "leave") == 0 ||
        strcmp(m->membership, "ban") == 0) {
        char *key = dm_key(ev->room_id);
        store_setting_put(gw->store, key, 0);
        free(key);
        if (!about_bot)
            mx_leave(gw->mx, ev->room_id, NULL, 2, on_declined,
                     xstrdup(ev->room_id));
    }
    return true;
}

bool bot_matrix_encrypted(struct gateway *gw, const struct mx_event *ev)
{
    if (!is_bot_dm(gw, ev->room_id))
        return false;
    if (!gateway_is_ours(gw, ev->sender))
        gateway_notice(gw, ev->room_id, NULL, ev->event_id,
                       "I cannot read encrypted messages: the gateway's bot "
                       "has no encryption device. Open a direct chat with "
                       "me without encryption to send commands.");
    return true;
}

bool bot_matrix_message(struct gateway *gw, const struct mx_event *ev)
{
    if (!is_bot_dm(gw, ev->room_id))
        return false;
    if (gateway_is_ours(gw, ev->sender))
        return true; /* the bot's own answers echoing back */
    struct mx_message msg;
    const char *why;
    if (mx_message_parse(ev, &msg, &why) < 0 || !msg.body ||
        strcmp(msg.msgtype, "m.text") != 0 || msg.replaces)
        return true; /* notices (other bots), media, edits: no command */
    struct cmd_caller caller = { CMD_FROM_MATRIX, ev->sender };
    struct cmd_result res;
    commands_run_line(gw, &caller, msg.body, &res);
    char *text = commands_render_text(&res);
    /* Bodies are logged only at debug ([log] level). */
    log_debug("bot: %s ran \"%s\" (%s)", ev->sender, msg.body,
              res.status == CMD_DONE ? "done" : "not done");
    gateway_notice(gw, ev->room_id, NULL, ev->event_id, text);
    free(text);
    cmd_result_free(&res);
    return true;
}
