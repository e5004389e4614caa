/* What the homeserver pushes to the appservice: transactions of events, and
 * queries about users and aliases in the gateway's namespaces.
 *
 * A transaction's effects (room mappings, stanzas to send, joins to make)
 * are written to the store, and the 200 goes out only once the loop turn
 * has committed them (DESIGN.md §4). */
#include "gateway/edges/matrix_inbound.h"

#include "gateway/base/context.h"
#include "gateway/features/relations.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/base/effects.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/features/e2ee.h"
#include "gateway/features/omemo.h"
#include "gateway/features/encrypted.h"
#include "gateway/features/m2x_env.h"
#include "common/utf8.h"
#include "gateway/features/avatars.h"
#include "gateway/features/bot.h"
#include "gateway/features/ghosts.h"
#include "gateway/features/media.h"
#include "gateway/base/metrics.h"
#include "gateway/room/muc_gateway.h"
#include "gateway/portal/portal.h"
#include "gateway/portal/create.h"
#include "gateway/portal/to_muc.h"
#include "gateway/features/presence.h"
#include "gateway/base/queues.h"
#include "gateway/features/reactions.h"
#include "gateway/features/markers.h"
#include "gateway/features/retractions.h"
#include "gateway/features/chatstates.h"
#include "gateway/core/translate.h"
#include "matrix/event.h"
#include "matrix/event_ephemeral.h"
#include "matrix/transaction.h"
#include "xep/message.h"
#include "xep/muc.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Tells the Matrix sender, as the ghost, that their message did not
 * cross. */
static void notify_undelivered(struct gateway *gw, const char *room_id,
                               const char *ghost, const char *event_id,
                               const char *why)
{
    char *text = xasprintf("Your message was not delivered to XMPP: %s", why);
    gateway_notice(gw, room_id, ghost, event_id, text);
    free(text);
}

/* ------------------------------------------------- join outbox items -- */

/* An invited ghost's join, kept in the outbox (OUTBOX_MATRIX_JOIN) until
 * the homeserver has it: the one place its stored JSON is written and
 * read. */
struct join_item {
    const char *room_id;
    const char *user_id; /* the ghost */
    const char *jid;     /* the XMPP user behind it */
};

/* The payload to store; the caller frees it. */
static char *join_item_encode(const struct join_item *item)
{
    json_t *job = json_pack("{s:s, s:s, s:s}", "room_id", item->room_id,
                            "user_id", item->user_id, "jid", item->jid);
    char *payload = json_dumps(job, JSON_COMPACT);
    json_decref(job);
    return payload;
}

/* Fills *out with strings borrowed from the returned tree, which the
 * caller drops with json_decref(); NULL with *why set when the payload is
 * not a join item. */
static json_t *join_item_decode(const char *payload, struct join_item *out,
                                const char **why)
{
    json_t *tree = json_loads(payload, 0, NULL);
    if (!tree || json_unpack_ex(tree, NULL, 0, "{s:s, s:s, s:s}", "room_id",
                                &out->room_id, "user_id", &out->user_id,
                                "jid", &out->jid) < 0) {
        json_decref(tree);
        *why = "not {room_id, user_id, jid} strings";
        return NULL;
    }
    return tree;
}

/* ------------------------------------------------------- room events -- */

/* omemo_ready_cb: the DM's join waited for the XMPP user's devices. */
static void kick_join(struct gateway *gw, void *ud)
{
    /* Not while stopping (the iqs are cancelled then): the join is in
     * the outbox and runs at the next start. */
    if (!gw->stop)
        queues_kick(gw, ud);
    free(ud);
}

static void on_member(struct gateway *gw, const struct mx_event *ev)
{
    struct mx_member m;
    const char *why;
    if (mx_member_parse(ev, &m, &why) < 0) {
        log_warn("to_xmpp: skipping member event %s: %s", ev->event_id, why);
        return;
    }
    e2ee_room_member_event(gw, ev, m.membership);
    if (bot_matrix_member(gw, ev, &m))
        return; /* the bot's own DMs (features/bot.c) */
    if (strcmp(m.membership, "invite") == 0 &&
        ids_is_ghost(&gw->ids, ev->state_key) && !gateway_is_ours(gw, ev->sender)) {
        char *jid = NULL;
        if (ids_ghost_to_jid(&gw->ids, ev->state_key, &jid, &why) < 0) {
            log_warn("to_xmpp: invite for %s which maps to no JID: %s",
                     ev->state_key, why);
            return;
        }
        if (m.is_direct) {
            struct store_room room = { (char *)ev->room_id, ROOM_DM, jid,
                                       (char *)ev->sender };
            store_room_put(gw->store, &room, gateway_now_ms());
            log_info("to_xmpp: %s opened DM %s with %s", ev->sender,
                     ev->room_id, jid);
        } else {
            /* A group room: tell the XMPP user (XEP-0249); their ghost
             * joins when they join the MUC. */
            char *inviter = NULL, *room_jid = NULL;
            if (ids_matrix_to_jid(&gw->ids, ev->sender, &inviter, &why) == 0 &&
                ids_matrix_to_jid(&gw->ids, ev->room_id, &room_jid, &why) ==
                    0) {
                char *reason = xasprintf("%s invites you to a Matrix room",
                                         ev->sender);
                xmpp_stanza_t *st = muc_direct_invite(gw->xmpp, inviter, jid,
                                                      room_jid, reason);
                char *queue = xasprintf("m2x %s", ev->room_id);
                to_xmpp_enqueue(gw, queue, st);
                free(queue);
                xmpp_stanza_release(st);
                free(reason);
            }
            free(inviter);
            free(room_jid);
            free(jid);
            return;
        }
        struct join_item item = { ev->room_id, ev->state_key, jid };
        char *payload = join_item_encode(&item);
        char *queue = xasprintf("join %s", ev->room_id);
        store_outbox_add(gw->store, queue, OUTBOX_MATRIX_JOIN, payload,
                         gateway_now_ms());
        /* The ghost joins once the gateway knows whether the XMPP user
         * speaks OMEMO (and has sessions with their devices), so that the
         * first message is already encrypted. */
        char *puppet = NULL;
        if (ids_matrix_to_jid(&gw->ids, ev->sender, &puppet, &why) == 0)
            omemo_peer_meet(gw, puppet, jid, kick_join, xstrdup(queue));
        else
            queues_kick(gw, queue);
        free(puppet);
        free(queue);
        free(payload);
        free(jid);
        return;
    }
    struct store_room room;
    if (store_room_get(gw->store, ev->room_id, &room) != 1)
        return;
    /* A Matrix user's avatar, in whichever kind of room it shows. */
    if (strcmp(m.membership, "join") == 0 && !gateway_is_ours(gw, ev->state_key))
        avatars_matrix_user(gw, ev->state_key, m.avatar_url);
    if (room.mode == ROOM_GATEWAY) {
        muc_gateway_event(gw, ev, &room);
    } else if (room.mode == ROOM_PORTAL) {
        portal_matrix_event(gw, ev, &room);
    } else if (strcmp(m.membership, "join") == 0 &&
               strcmp(ev->state_key, room.matrix_user) == 0) {
        /* The Matrix end of a DM (re)named themselves. */
        presence_matrix_name(gw, ev->state_key, room.xmpp_jid,
                             m.displayname);
    } else if ((strcmp(m.membership, "leave") == 0 ||
                strcmp(m.membership, "ban") == 0) &&
               (strcmp(ev->state_key, room.matrix_user) == 0 ||
                ids_is_ghost(&gw->ids, ev->state_key))) {
        /* Either side leaving ends the DM; the next message opens a new one
         * instead of talking into an empty room. */
        log_info("to_xmpp: DM %s ended (%s left)", ev->room_id,
                 ev->state_key);
        store_room_delete(gw->store, ev->room_id);
    }
    store_room_free(&room);
}

static void on_message(struct gateway *gw, const struct mx_event *ev)
{
    struct store_room room;
    if (store_room_get(gw->store, ev->room_id, &room) != 1) {
        /* Not a bridged room; perhaps a DM with the bot (commands). */
        bot_matrix_message(gw, ev);
        return;
    }
    if (room.mode == ROOM_GATEWAY) {
        /* Other XMPP users' ghosts speak here too; the sender's own
         * resources got their reflection when it was sent. */
        if (strcmp(ev->sender, gw->bot_mxid) != 0)
            muc_gateway_event(gw, ev, &room);
        store_room_free(&room);
        return;
    }
    if (room.mode == ROOM_PORTAL) {
        portal_matrix_event(gw, ev, &room);
        store_room_free(&room);
        return;
    }
    if (gateway_is_ours(gw, ev->sender)) {
        store_room_free(&room);
        return; /* our own ghosts' messages echoing back */
    }
    struct mx_message msg;
    struct m2x_message out;
    struct m2x_env env;
    const char *why;
    char *from = NULL, *ghost = NULL;
    if (mx_message_parse(ev, &msg, &why) < 0) {
        log_debug("to_xmpp: skipping %s: %s", ev->event_id, why);
        goto out;
    }
    if (ids_jid_to_ghost(&gw->ids, room.xmpp_jid, &ghost, &why) < 0 ||
        ids_matrix_to_jid(&gw->ids, ev->sender, &from, &why) < 0) {
        log_warn("to_xmpp: cannot address %s from %s: %s", ev->event_id,
                 ev->sender, why);
        goto out;
    }
    /* Encrypted on Matrix, and the XMPP user has no OMEMO to keep it so:
     * [e2ee] downgrade says whether it goes on (and the room is told). */
    if (encrypted_matrix_downgrade(
            gw, ev, omemo_can_encrypt_to(gw, from, room.xmpp_jid),
            room.xmpp_jid, ghost))
        goto out;
    m2x_env_for(gw, ROOM_DM, &env);
    if (m2x_translate(&msg, &env, &out, &why) < 0) {
        notify_undelivered(gw, ev->room_id, ghost, ev->event_id, why);
        goto out;
    }
    /* The event id doubles as stanza id and origin-id, so a stanza resent
     * after a crash carries the same ids and clients can deduplicate. */
    struct xmsg x = { .from = from, .to = room.xmpp_jid,
                      .id = (char *)ev->event_id, .type = (char *)out.type,
                      .origin_id = (char *)ev->event_id };
    m2x_fill_xmsg(&out, &x);
    xmpp_stanza_t *st = xmsg_build(gw->xmpp, &x);
    char *queue = xasprintf("m2x %s", ev->room_id);
    if (to_xmpp_enqueue(gw, queue, st) == 0) {
        struct store_message m = {
            .event_id = (char *)ev->event_id, .room_id = (char *)ev->room_id,
            .xmpp_jid = room.xmpp_jid, .stanza_id = (char *)ev->event_id,
            .origin_id = (char *)ev->event_id,
            .direction = DIR_MATRIX_TO_XMPP, .ts = ev->origin_server_ts,
            .replaces = (char *)msg.replaces,
            .sender = (char *)ev->sender,
        };
        store_message_put(gw->store, &m);
    }
    free(queue);
    xmpp_stanza_release(st);
    m2x_message_free(&out);
out:
    free(from);
    free(ghost);
    store_room_free(&room);
}

/* The numeric value of an all-digit txn id, or -1. */
static int64_t txn_number(const char *txn_id)
{
    size_t n = strlen(txn_id);
    if (n == 0 || n > 18 || strspn(txn_id, "0123456789") != n)
        return -1;
    return strtoll(txn_id, NULL, 10);
}

/* Synapse numbers an appservice's transactions 1, 2, 3, ... and sends them
 * in order. Its recoverer can strand one: a transaction created while the
 * appservice is still marked down, just after the recoverer's last look,
 * is never sent until the next failure (seen with Synapse 1.163 after a
 * gateway restart). A jump in the numbering reveals it. Refusing the
 * transaction once puts the homeserver back into recovery, which sends the
 * oldest unsent transaction first; the same id is accepted the second time
 * so that a real hole in the numbering cannot stall us.
 *
 * But Synapse numbers every appservice's transactions from one sequence:
 * with another bridge on the homeserver, jumps are the rule. When refused
 * transactions come back with nothing older before them three times in a
 * run, the jumps were not ours, and from then on (in this run) jumps are
 * taken as they come: three 503s per start, not one per transaction.
 * (Once is not proof: after a SIGKILL, the last number this gateway kept
 * can be behind the one it last answered, and the first transaction then
 * looks like a jump.) */
#define BENIGN_GAPS_TO_TRUST 3
#define GAP_PING_DELAY_MS 1000

static bool refuse_for_gap(struct gateway *gw, struct as_request *req,
                           const char *txn_id)
{
    int64_t n = txn_number(txn_id);
    if (n < 0 || gw->highest_txn < 0 || n <= gw->highest_txn + 1 ||
        gw->gaps_are_normal)
        return false;
    if (n == gw->gap_refused_txn) {
        if (++gw->benign_gaps >= BENIGN_GAPS_TO_TRUST) {
            gw->gaps_are_normal = true;
            log_info("to_xmpp: transaction %s came back with nothing "
                     "older, %d times: another appservice shares the "
                     "homeserver's numbering, and jumps in it are no longer "
                     "taken for lost transactions", txn_id, gw->benign_gaps);
        }
        return false;
    }
    log_warn("to_xmpp: transaction %s arrived but %lld never did; asking the "
             "homeserver to resend from the oldest unsent one", txn_id,
             (long long)(gw->highest_txn + 1));
    gw->gap_refused_txn = n;
    /* Synapse meets the 503 with its recoverer, whose backoff doubles at
     * every failure (up to 512 s, and kills of the gateway are failures
     * too): a ping a moment later, once it has scheduled that, makes it
     * retry at once (its ping handler forces the recoverer). */
    gw->ping_due_ms = gateway_now_ms() + GAP_PING_DELAY_MS;
    as_request_reply_error(req, 503, "M_UNKNOWN",
                           "an earlier transaction has not arrived; send the "
                           "oldest unsent transaction first");
    return true;
}

/* Reactions and redactions, in any kind of bridged room. */
static void on_reaction(struct gateway *gw, const struct mx_event *ev)
{
    struct store_room room;
    if (store_room_get(gw->store, ev->room_id, &room) != 1)
        return;
    reactions_matrix_event(gw, ev, &room);
    store_room_free(&room);
}

static void on_redaction(struct gateway *gw, const struct mx_event *ev)
{
    struct store_room room;
    if (store_room_get(gw->store, ev->room_id, &room) != 1)
        return;
    retractions_matrix_event(gw, ev, &room);
    store_room_free(&room);
}

/* Any other event: only gateway-mode rooms care (power levels...). */
static void on_other(struct gateway *gw, const struct mx_event *ev)
{
    struct store_room room;
    if (store_room_get(gw->store, ev->room_id, &room) != 1)
        return;
    if (room.mode == ROOM_GATEWAY)
        muc_gateway_event(gw, ev, &room);
    else if (room.mode == ROOM_PORTAL)
        portal_matrix_event(gw, ev, &room);
    store_room_free(&room);
}

static void on_encryption(struct gateway *gw, const struct mx_event *ev)
{
    e2ee_room_encryption_event(gw, ev);
    on_other(gw, ev);
}

static void on_visibility(struct gateway *gw, const struct mx_event *ev)
{
    e2ee_room_visibility_event(gw, ev);
    on_other(gw, ev);
}

/* Room events by type. Messages (m.room.message, m.sticker) are found by
 * mx_event_is_message, which knows their types; any type not here goes to
 * on_other. */
typedef void event_handler(struct gateway *gw, const struct mx_event *ev);
static const struct {
    const char *type;
    event_handler *fn;
} event_handlers[] = {
    { "m.room.member", on_member },
    { "m.reaction", on_reaction },
    { "m.room.redaction", on_redaction },
    { "m.room.encryption", on_encryption },
    { "m.room.history_visibility", on_visibility },
};

static event_handler *handler_for(const char *type)
{
    if (mx_event_is_message(type))
        return on_message;
    for (size_t i = 0; i < sizeof event_handlers / sizeof event_handlers[0];
         i++)
        if (strcmp(event_handlers[i].type, type) == 0)
            return event_handlers[i].fn;
    return on_other;
}

void matrix_inbound_dispatch(struct gateway *gw, const struct mx_event *ev)
{
    handler_for(ev->type)(gw, ev);
}

/* Ephemeral events by type; others are not bridged. */
typedef void ephemeral_handler(struct gateway *gw,
                               const struct mx_ephemeral *ev);
static const struct {
    const char *type;
    ephemeral_handler *fn;
} ephemeral_handlers[] = {
    { "m.typing", typing_matrix_ephemeral },
    { "m.receipt", receipts_matrix_ephemeral },
    { "m.presence", presence_matrix_ephemeral },
};

static ephemeral_handler *ephemeral_handler_for(const char *type)
{
    for (size_t i = 0;
         i < sizeof ephemeral_handlers / sizeof ephemeral_handlers[0]; i++)
        if (strcmp(ephemeral_handlers[i].type, type) == 0)
            return ephemeral_handlers[i].fn;
    return NULL;
}

/* What a transaction carried, as a short hash of its event ids and its
 * ephemeral events (which have no ids): a retry carries the same events, a
 * new transaction under a reused id does not. Writes 33 characters into
 * out. */
static void txn_digest(const struct mx_transaction *txn, char out[33])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, 16);
    size_t i;
    json_t *ev;
    json_array_foreach(txn->events, i, ev) {
        /* Even an event that does not parse counts by its id, if it has
         * one (mx_event_parse keeps the fields it found). */
        struct mx_event parsed;
        const char *why;
        mx_event_parse(ev, &parsed, &why);
        const char *id = parsed.event_id;
        if (id)
            crypto_generichash_update(&h, (const unsigned char *)id,
                                      strlen(id) + 1);
    }
    /* Ephemeral and to-device events have no ids: their text counts. A
     * transaction of room keys alone must not pass for another one. */
    json_t *parts[] = { txn->ephemeral, txn->to_device };
    for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++)
        json_array_foreach(parts[p], i, ev) {
            char *text = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
            if (text)
                crypto_generichash_update(&h, (const unsigned char *)text,
                                          strlen(text) + 1);
            free(text);
        }
    unsigned char bin[16];
    crypto_generichash_final(&h, bin, sizeof bin);
    sodium_bin2hex(out, 33, bin, sizeof bin);
}

static void on_transaction(struct as_request *req, const char *txn_id,
                           json_t *body, void *ud)
{
    struct gateway *gw = ud;
    struct mx_transaction txn;
    const char *why;
    if (mx_transaction_parse(body, &txn, &why) < 0)
        log_warn("to_xmpp: transaction %s carries nothing: %s", txn_id, why);
    char digest[33];
    txn_digest(&txn, digest);
    int seen = store_txn_seen(gw->store, txn_id, digest);
    if (seen < 0) {
        as_request_reply_error(req, 500, "M_UNKNOWN", "store failure");
        return;
    }
    if (seen) {
        metrics_inc(CNT_TXNS_DUPLICATE);
        log_debug("to_xmpp: transaction %s already applied", txn_id);
        as_request_reply(req, 200, NULL);
        return;
    }
    if (refuse_for_gap(gw, req, txn_id))
        return;
    metrics_inc(CNT_TXNS);
    gw->txn_start = metrics_point_now();
    uint64_t writes_before = store_write_count(gw->store);
    size_t i;
    json_t *raw;
    /* Keys first: a room key that comes with its message opens it. */
    e2ee_transaction(gw, &txn);
    json_array_foreach(txn.to_device, i, raw)
        e2ee_to_device(gw, raw);
    json_array_foreach(txn.events, i, raw) {
        struct mx_event ev;
        if (mx_event_parse(raw, &ev, &why) < 0) {
            /* One bad event must not make the homeserver retry the whole
             * transaction forever. */
            log_warn("to_xmpp: skipping event %zu of transaction %s: %s", i,
                     txn_id, why);
            continue;
        }
        /* Parsed once, decrypted if it is encrypted, then dispatched by
         * type: a decrypted event takes the plaintext path. */
        json_t *plain = NULL;
        if (strcmp(ev.type, "m.room.encrypted") == 0 &&
            (bot_matrix_encrypted(gw, &ev) ||
             e2ee_decrypt_event(gw, &ev, &plain) != E2EE_DECRYPTED))
            continue;
        handler_for(ev.type)(gw, &ev);
        json_decref(plain);
    }
    json_array_foreach(txn.ephemeral, i, raw) {
        struct mx_ephemeral eph;
        if (mx_ephemeral_parse(raw, &eph, &why) < 0)
            continue;
        ephemeral_handler *fn = ephemeral_handler_for(eph.type);
        if (fn)
            fn(gw, &eph);
    }
    gw->txn_start.wall_us = 0;
    int64_t n = txn_number(txn_id);
    if (store_write_count(gw->store) == writes_before) {
        /* Nothing changed (typically the echo of a ghost's own message):
         * applying it again would change nothing either, so it needs no
         * stored id and no commit before its 200. Its number still counts
         * for gap detection, and is stored with the next commit. */
        if (n >= 0) {
            gw->highest_txn = n;
            gw->unsaved_txn = n;
        }
        as_request_reply(req, 200, NULL);
        return;
    }
    if (store_txn_mark(gw->store, txn_id, digest, gateway_now_ms()) < 0) {
        as_request_reply_error(req, 500, "M_UNKNOWN", "store failure");
        return;
    }
    /* The last one applied, not the highest: Synapse sends in order, and
     * starts again from 1 after a restart. */
    if (n >= 0) {
        gw->highest_txn = n;
        gw->unsaved_txn = -1; /* this one is stored */
    }
    as_request_reply_after_commit(req);
}

/* ------------------------------------------------------------ queries -- */

static void on_user_ready(struct gateway *gw, bool ok, const char *error,
                          void *ud)
{
    (void)gw;
    struct as_request *req = ud;
    if (ok)
        as_request_reply(req, 200, NULL);
    else
        as_request_reply_error(req, 500, "M_UNKNOWN", error);
}

static void on_user_query(struct as_request *req, const char *user_id,
                          void *ud)
{
    struct gateway *gw = ud;
    char *jid = NULL;
    const char *why;
    if (ids_ghost_to_jid(&gw->ids, user_id, &jid, &why) < 0) {
        as_request_reply_error(req, 404, "M_NOT_FOUND", why);
        return;
    }
    ghosts_ensure(gw, user_id, jid, NULL, on_user_ready, req);
    free(jid);
}

static void on_alias_query(struct as_request *req, const char *alias, void *ud)
{
    struct gateway *gw = ud;
    /* Gateway-mode aliases (#room%server@gw) live on the XMPP side; only
     * portal aliases are ever asked about here. */
    portal_alias_query(gw, req, alias);
}

static char *on_metrics(void *ud)
{
    (void)ud;
    return metrics_render();
}

const struct as_handlers matrix_inbound_handlers = {
    .transaction = on_transaction,
    .user_query = on_user_query,
    .alias_query = on_alias_query,
    .metrics = on_metrics,
    .media = media_proxy_request,
};

/* ---------------------------------------------------------- join jobs -- */

struct join_job {
    struct gateway *gw;
    int64_t item_id;
    char *queue;
    char *room_id;
    char *user_id;
    char *jid;
};

static void join_job_free(struct join_job *j)
{
    queues_done(j->gw, j->queue, j->item_id);
    free(j->queue);
    free(j->room_id);
    free(j->user_id);
    free(j->jid);
    free(j);
}

static void on_joined(const struct mx_response *r,
                      const struct mx_room_id *res, void *ud)
{
    (void)res;
    struct join_job *j = ud;
    if (r->status == 200)
        log_info("to_xmpp: %s joined %s", j->user_id, j->room_id);
    else
        log_warn("to_xmpp: %s could not join %s: %s", j->user_id, j->room_id,
                 r->error);
    join_job_free(j);
}

static void on_join_ghost_ready(struct gateway *gw, bool ok, const char *error,
                                void *ud)
{
    struct join_job *j = ud;
    if (!ok) {
        log_warn("to_xmpp: ghost %s unavailable: %s", j->user_id, error);
        join_job_free(j);
        return;
    }
    mx_join(gw->mx, j->room_id, j->user_id, 0, on_joined, j);
}

void matrix_join_process(struct gateway *gw, const struct store_outbox_item *it)
{
    struct join_item item;
    const char *why;
    json_t *tree = join_item_decode(it->payload, &item, &why);
    if (!tree) {
        log_error("to_xmpp: malformed join item %lld: %s", (long long)it->id,
                  why);
        queues_done(gw, it->queue, it->id);
        return;
    }
    struct join_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->item_id = it->id;
    j->queue = xstrdup(it->queue);
    j->room_id = xstrdup(item.room_id);
    j->user_id = xstrdup(item.user_id);
    j->jid = xstrdup(item.jid);
    json_decref(tree);
    ghosts_ensure(gw, j->user_id, j->jid, NULL, on_join_ghost_ready, j);
}
