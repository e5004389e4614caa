/* Bridges one stored XMPP message to Matrix: make sure the sender's ghost
 * exists, find or create the DM room, then send the event idempotently.
 * Runs as an outbox queue item, so a crash at any step replays it. */
#include "gateway/edges/to_matrix.h"

#include "gateway/features/members.h"
#include "gateway/base/context.h"
#include "gateway/features/relations.h"
#include "gateway/features/x2m_env.h"
#include "gateway/base/effects.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/features/e2ee.h"
#include "gateway/features/ghosts.h"
#include "gateway/features/media.h"
#include "gateway/base/metrics.h"
#include "gateway/room/muc_gateway.h"
#include "gateway/room/relay.h"
#include "gateway/base/queues.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/features/markers.h"
#include "gateway/features/retractions.h"
#include "gateway/core/translate.h"
#include "xep/message.h"
#include "xep/stanza_error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct job {
    struct gateway *gw;
    int64_t item_id;
    int64_t arrived_ms;
    char *queue;
    xmpp_stanza_t *stanza; /* the original, for error replies */
    struct xmsg msg;
    char *sender_jid;      /* bare */
    char *ghost;
    char *target;          /* the Matrix user */
    char *room_id;
    bool recreated_room;   /* the DM was replaced once already */
    struct metrics_point start; /* when the gateway could start on it */
    bool dispatching;      /* inside to_matrix_process's call */
    bool finished;         /* ended while dispatching: freed after it */
    bool waited;           /* an earlier step waited on the network */
    struct store_occupant occupant; /* set for group messages */
    char *replaces;        /* a correction: the original's event id */
    json_t *media;         /* a shared file's event content, once uploaded */
    bool e2ee_checked;     /* a decrypted message may go into the room */
};

static void job_done(struct job *j)
{
    if (j->dispatching) {
        /* Ended before the call that started it returned (a refusal
         * found at once): that call still holds j, and frees it. */
        j->finished = true;
        return;
    }
    queues_done(j->gw, j->queue, j->item_id);
    if (j->stanza)
        xmpp_stanza_release(j->stanza);
    xmsg_free(&j->msg);
    free(j->queue);
    free(j->sender_jid);
    free(j->ghost);
    free(j->target);
    free(j->room_id);
    free(j->replaces);
    json_decref(j->media);
    store_occupant_free(&j->occupant);
    free(j);
}

/* The call that started j returned: free j if it ended meanwhile. */
static void dispatch_end(struct job *j)
{
    j->dispatching = false;
    if (j->finished)
        job_done(j);
}

/* Tells the XMPP sender the message could not be delivered, and ends. */
static void job_fail(struct job *j, const char *condition, const char *text)
{
    log_info("to_matrix: message %s from %s not delivered: %s",
             j->msg.id ? j->msg.id : "(no id)", j->sender_jid, text);
    xmpp_stanza_t *r = stanza_error_reply(j->gw->xmpp, j->stanza, "cancel",
                                          condition, text);
    gateway_send_now(j->gw, r);
    xmpp_stanza_release(r);
    job_done(j);
}

/* The txnId is derived from the outbox item and the stanza, so a retry
 * after a crash reuses it and the homeserver returns the first event. */
static char *txn_id_for(const struct job *j)
{
    char item[24], arrived[24];
    snprintf(item, sizeof item, "%lld", (long long)j->item_id);
    snprintf(arrived, sizeof arrived, "%lld", (long long)j->arrived_ms);
    return gateway_txn_id("", item, j->sender_jid, j->msg.id ? j->msg.id : "",
                          arrived, (const char *)NULL);
}

static void find_or_create_room(struct job *j);

/* Not a message but an action on one: a new set of reactions, or a
 * retraction. */
static bool is_action(const struct job *j)
{
    return j->msg.reactions.id || j->msg.retract_id;
}

static void on_acted(struct gateway *gw, const char *error, void *ud)
{
    struct job *j = ud;
    if (error) {
        job_fail(j, "not-allowed", error);
        return;
    }
    /* In a room, the other occupants see the reaction or retraction as
     * the sender wrote it (encrypted, if it was), and the sender its
     * reflection; it names no Matrix event of its own to be a stanza-id. */
    if (j->occupant.room_id)
        room_pass_on(gw, &j->occupant, j->stanza, NULL);
    job_done(j);
}

/* Reactions and retractions: they name a message that crossed, and
 * change it on Matrix as the sender's ghost. */
static void act(struct job *j)
{
    const char *xmpp_id = j->msg.retract_id ? j->msg.retract_id : j->msg.reactions.id;
    char *event_id = relations_event_for(j->gw, j->sender_jid, j->room_id,
                                         xmpp_id);
    if (!event_id) {
        job_fail(j, "item-not-found", "that message never reached Matrix");
        return;
    }
    char *seed = txn_id_for(j);
    if (j->msg.retract_id)
        retractions_from_xmpp(j->gw, j->room_id, j->ghost, event_id, seed,
                              on_acted, j);
    else
        reactions_from_xmpp(j->gw, j->room_id, j->ghost, event_id,
                            (const char *const *)j->msg.reactions.keys,
                            j->msg.reactions.n, seed, on_acted, j);
    free(seed);
    free(event_id);
}

static void on_sent(const struct mx_response *r,
                    const struct mx_event_id *res, void *ud)
{
    struct job *j = ud;
    if (r->status == 200) {
        metrics_inc(CNT_TO_MATRIX);
        const char *event_id = res ? res->event_id : NULL;
        if (event_id) {
            struct store_message m = {
                .event_id = (char *)event_id,
                .room_id = j->room_id,
                .xmpp_jid = j->sender_jid,
                .stanza_id = j->msg.id,
                .origin_id = j->msg.origin_id,
                .direction = DIR_XMPP_TO_MATRIX,
                .ts = j->arrived_ms,
                .replaces = j->replaces,
                .sender = j->ghost,
            };
            /* After a crash that loses these, the message is sent again
             * with the same txnId, and the homeserver answers with this
             * same event: they may wait for a later commit. */
            store_may_wait_begin(j->gw->store);
            store_message_put(j->gw->store, &m);
            const char *dedupe_id = xmsg_dedupe_id(&j->msg);
            if (dedupe_id) {
                char *peer = ids_jid_bare(j->msg.to);
                store_inbound_delivered(j->gw->store, j->sender_jid, peer,
                                        dedupe_id, event_id);
                free(peer);
            }
            store_may_wait_end(j->gw->store);
            receipts_message_stored(j->gw, event_id);
            /* XEP-0184: the message now exists on Matrix; the sender may
             * stop resending it. */
            if (j->occupant.room_id)
                room_pass_on(j->gw, &j->occupant, j->stanza, event_id);
            if (j->msg.receipt_requested && j->msg.id) {
                xmpp_stanza_t *receipt = xmsg_receipt(
                    j->gw->xmpp, j->msg.to, j->msg.from, j->msg.id);
                gateway_send_now(j->gw, receipt);
                xmpp_stanza_release(receipt);
            }
        }
        job_done(j);
        return;
    }
    if (r->status == 403 && !j->recreated_room && !j->occupant.room_id) {
        /* The ghost is no longer in the room (left, kicked, room gone):
         * open a fresh DM rather than lose the message. */
        store_room_delete(j->gw->store, j->room_id);
        free(j->room_id);
        j->room_id = NULL;
        j->recreated_room = true;
        find_or_create_room(j);
        return;
    }
    job_fail(j, "undefined-condition", r->error);
}

static void send_event(struct job *j);

static void on_media(struct gateway *gw, json_t *content,
                     const char *condition, const char *why, void *ud)
{
    (void)gw;
    struct job *j = ud;
    if (!content) {
        job_fail(j, condition, why);
        return;
    }
    j->media = content;
    send_event(j);
}

static void send_event(struct job *j);

/* Tells the sender, once per conversation (per sender in a room), that
 * their messages leave encryption at the gateway: in a DM from the
 * puppet, in a room from the room itself. */
static void tell_downgrade(struct gateway *gw, struct job *j)
{
    bool group = j->occupant.room_id != NULL;
    char *key = group ? xasprintf("downgrade told %s %s", j->room_id,
                                  j->sender_jid)
                      : xasprintf("downgrade told %s", j->room_id);
    int64_t told = 0;
    if (store_setting_get(gw->store, key, &told) == 1 && told) {
        free(key);
        return;
    }
    store_setting_put(gw->store, key, 1);
    free(key);
    char *from = ids_jid_bare(j->msg.to);
    char *text = group
        ? xasprintf("[isthmus] This Matrix room is not end-to-end "
                    "encrypted: your %s messages are decrypted by the "
                    "gateway and reach its Matrix members unencrypted.",
                    j->msg.decrypted_from)
        : xasprintf("[isthmus] %s reads this conversation in a Matrix room "
                    "that is not end-to-end encrypted: your %s messages are "
                    "decrypted by the gateway and reach them unencrypted.",
                    j->target, j->msg.decrypted_from);
    xmpp_stanza_t *st = xmpp_message_new(gw->xmpp,
                                         group ? "groupchat" : "chat",
                                         j->msg.from, NULL);
    xmpp_stanza_set_from(st, from);
    char *id = xasprintf("downgrade-%s", j->room_id);
    xmpp_stanza_set_id(st, id);
    xmpp_message_set_body(st, text);
    char *queue = xasprintf("m2x %s", j->room_id);
    to_xmpp_enqueue(gw, queue, st);
    free(queue);
    log_info("to_matrix: %s's %s messages leave encryption at the gateway "
             "(room %s is not encrypted); told once", j->sender_jid,
             j->msg.decrypted_from, j->room_id);
    xmpp_stanza_release(st);
    free(id);
    free(text);
    free(from);
}

/* A message that came end-to-end encrypted into a Matrix room that is
 * not: refused ([e2ee] downgrade = refuse), or delivered with its sender
 * told, once per conversation, that it left encryption at the gateway. */
static void on_room_encryption(struct gateway *gw, int encrypted,
                               const char *why, void *ud)
{
    struct job *j = ud;
    if (encrypted < 0) {
        char *text = xasprintf("could not tell whether the Matrix room is "
                               "encrypted (%s); send it again", why);
        job_fail(j, "recipient-unavailable", text);
        free(text);
        return;
    }
    j->e2ee_checked = true;
    if (encrypted == 0 && gw->cfg.e2ee_refuse_downgrade) {
        char *text = j->occupant.room_id
            ? xasprintf("This %s-encrypted message was not delivered: the "
                        "Matrix room is not end-to-end encrypted, and this "
                        "gateway does not pass encrypted messages on in "
                        "clear.", j->msg.decrypted_from)
            : xasprintf("This %s-encrypted message was not delivered: %s "
                        "reads this conversation in a Matrix room that is "
                        "not end-to-end encrypted, and this gateway does "
                        "not pass encrypted messages on in clear.",
                        j->msg.decrypted_from, j->target);
        job_fail(j, "not-acceptable", text);
        free(text);
        return;
    }
    if (encrypted == 0)
        tell_downgrade(gw, j);
    send_event(j);
}

static void send_event(struct job *j)
{
    const char *why;
    if (j->msg.decrypted_from && !j->e2ee_checked) {
        j->waited = true;
        e2ee_room_encrypted(j->gw, j->room_id, j->ghost, on_room_encryption,
                            j);
        return;
    }
    /* A file share goes to the media repository first (gateway/media.c). */
    if (!j->media && media_is_share(&j->msg)) {
        j->waited = true;
        media_to_matrix(j->gw, j->ghost, j->room_id, media_share_url(&j->msg),
                        j->msg.oob_desc, on_media, j);
        return;
    }
    free(j->replaces);
    struct x2m_lookups lookups = { .gw = j->gw, .jid = j->sender_jid,
                                   .from = j->msg.from,
                                   .room_id = j->room_id };
    struct x2m_env env;
    x2m_env_for(&lookups, &env);
    json_t *content = x2m_translate(&j->msg, &env, &j->replaces, &why);
    if (!content) {
        job_fail(j, "not-acceptable", why);
        return;
    }
    if (j->media) { /* a file share: the uploaded file is the event */
        json_decref(content);
        content = json_incref(j->media);
        if (j->msg.decrypted_from)
            mx_content_set_xmpp_e2ee(content, j->msg.decrypted_from);
        free(j->replaces);
        j->replaces = NULL;
    }
    if (!j->dispatching)
        j->waited = true;
    char *txn = txn_id_for(j);
    /* ts keeps the time the stanza reached us, even after an outage. */
    gateway_send_event(j->gw, j->room_id, "m.room.message", txn, j->ghost,
                  (long long)j->arrived_ms, content, 0, on_sent, j);
    /* Only steady-state messages say anything about the gateway's speed:
     * first contact waits on registration and room creation. */
    if (!j->waited)
        metrics_observe_span(HIST_TO_MATRIX, HIST_TO_MATRIX_CPU, j->start,
                             metrics_point_now());
    free(txn);
}

static void on_room_created(const struct mx_response *r,
                            const struct mx_room_id *res, void *ud)
{
    struct job *j = ud;
    const char *room_id = res ? res->room_id : NULL;
    if (!room_id) {
        const char *cond = r->status == 404 || (r->errcode &&
                                                strcmp(r->errcode,
                                                       "M_NOT_FOUND") == 0)
                               ? "item-not-found"
                               : "recipient-unavailable";
        char *text = xasprintf("could not open a Matrix conversation with "
                               "%s: %s", j->target, r->error);
        job_fail(j, cond, text);
        free(text);
        return;
    }
    j->room_id = xstrdup(room_id);
    struct store_room room = { j->room_id, ROOM_DM, j->sender_jid, j->target };
    store_room_put(j->gw->store, &room, gateway_now_ms());
    log_info("to_matrix: opened DM %s between %s and %s", room_id,
             j->sender_jid, j->target);
    send_event(j);
}

static void create_room_as(struct job *j, bool encrypted)
{
    struct mx_create_room opts = {
        .preset = "trusted_private_chat",
        .is_direct = true,
        .invite = j->target,
        .encrypted = encrypted,
    };
    mx_create_room(j->gw->mx, j->ghost, &opts, 0, on_room_created, j);
}

/* As Element decides: encrypted when the Matrix user has a device that
 * can read it (a client without encryption would see nothing). */
static void on_target_devices(const struct mx_response *r, void *ud)
{
    struct job *j = ud;
    json_t *devices = r->status == 200
                          ? json_object_get(
                                json_object_get(r->body, "device_keys"),
                                j->target)
                          : NULL;
    create_room_as(j, json_object_size(devices) > 0);
}

static void create_room(struct job *j)
{
    if (!j->gw->cfg.e2ee_encrypt_new_dms || !e2ee_active(j->gw)) {
        create_room_as(j, false);
        return;
    }
    mx_keys_query(j->gw->mx, j->ghost, json_pack("[s]", j->target), 3,
                  on_target_devices, j);
}

/* Synapse happily invites users that do not exist, which would swallow the
 * message; a profile lookup tells them apart first. */
static void on_target_profile(const struct mx_response *r,
                              const struct mx_profile *res, void *ud)
{
    (void)res;
    struct job *j = ud;
    if (r->status == 404) {
        char *text = xasprintf("there is no Matrix user %s", j->target);
        job_fail(j, "item-not-found", text);
        free(text);
        return;
    }
    create_room(j);
}

static void find_or_create_room(struct job *j)
{
    struct store_room room;
    if (store_room_find_dm(j->gw->store, j->sender_jid, j->target, &room) == 1) {
        j->room_id = xstrdup(room.room_id);
        store_room_free(&room);
        send_event(j);
        return;
    }
    mx_profile_get(j->gw->mx, j->target, 3, on_target_profile, j);
}

static void on_ghost_ready(struct gateway *gw, bool ok, const char *error,
                           void *ud)
{
    (void)gw;
    struct job *j = ud;
    if (!ok) {
        job_fail(j, "not-allowed", error);
        return;
    }
    if (is_action(j)) {
        /* Only about a message in an existing conversation. */
        struct store_room room;
        if (store_room_find_dm(gw->store, j->sender_jid, j->target, &room) !=
            1) {
            job_fail(j, "item-not-found", "there is no conversation with "
                                          "that Matrix user to act on");
            return;
        }
        j->room_id = xstrdup(room.room_id);
        store_room_free(&room);
        act(j);
        return;
    }
    find_or_create_room(j);
}

void to_matrix_process(struct gateway *gw, const struct store_outbox_item *it)
{
    struct job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->item_id = it->id;
    j->arrived_ms = it->created_ts;
    j->queue = xstrdup(it->queue);
    /* The stored copy is for replay after a crash; when the worker starts
     * on the stanza that just arrived, it takes it as the edge parsed it. */
    const char *why = "the stored stanza cannot be parsed";
    bool parsed = queues_take_live(gw, it->id, &j->msg, &j->stanza);
    if (!parsed)
        j->stanza = xmpp_stanza_new_from_string(gw->xmpp, it->payload);
    enum ids_matrix_kind kind;
    if (!j->stanza || (!parsed && xmsg_parse(j->stanza, &j->msg, &why) < 0) ||
        ids_jid_to_ghost(&gw->ids, j->msg.from, &j->ghost, &why) < 0 ||
        ids_jid_to_matrix(&gw->ids, j->msg.to, &j->target, &kind, &why) < 0 ||
        (kind != IDS_MATRIX_USER && strcmp(j->msg.type, "groupchat") != 0)) {
        log_error("to_matrix: dropping outbox item %lld: %s",
                  (long long)it->id, why);
        job_done(j);
        return;
    }
    j->sender_jid = ids_jid_bare(j->msg.from);
    if (j->msg.reactions_error) {
        job_fail(j, "bad-request", j->msg.reactions_error);
        return;
    }
    if (strcmp(j->msg.type, "groupchat") == 0) {
        char *muc_jid = ids_jid_bare(j->msg.to);
        int found = members_occupant(gw, j->msg.from, muc_jid,
                                         &j->occupant);
        free(muc_jid);
        if (found != 1) {
            job_fail(j, "not-acceptable", "you left the room before the "
                                          "message could be delivered");
            return;
        }
        j->room_id = xstrdup(j->occupant.room_id);
        if (is_action(j)) {
            j->dispatching = true;
            act(j);
            dispatch_end(j);
            return;
        }
        j->start = gw->stanza_start.wall_us ? gw->stanza_start
                                            : metrics_point_now();
        j->dispatching = true;
        send_event(j);
        dispatch_end(j);
        return;
    }
    /* If the queue was idle the stanza is being handled right now; else
     * the gateway could start on it only now. */
    j->start = gw->stanza_start.wall_us ? gw->stanza_start
                                        : metrics_point_now();
    j->dispatching = true;
    ghosts_ensure(gw, j->ghost, j->sender_jid, j->msg.nick, on_ghost_ready, j);
    dispatch_end(j);
}
