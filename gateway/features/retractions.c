#include "gateway/features/retractions.h"
#include "gateway/features/relations.h"
#include "gateway/base/effects.h"

#include "gateway/features/members.h"
#include "common/log.h"
#include "matrix/event_relation.h"
#include "common/mem.h"
#include "gateway/features/conversation.h"
#include "xep/disco.h"
#include "xep/retractions.h"
#include "xep/stanza_error.h"
#include "xep/xml.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------- XMPP -> Matrix -- */

struct redact_job {
    struct gateway *gw;
    action_done_cb cb;
    void *ud;
    xmpp_stanza_t *iq; /* a moderation request to answer, or NULL */
};

/* Did `ghost` send message m? Rows from before the store kept senders
 * name the XMPP party instead. */
static bool sent_by(struct gateway *gw, const struct store_message *m,
                    const char *ghost)
{
    if (m->sender)
        return strcmp(m->sender, ghost) == 0;
    char *own = NULL;
    const char *why;
    bool mine = m->direction == DIR_XMPP_TO_MATRIX &&
                ids_jid_to_ghost(&gw->ids, m->xmpp_jid, &own, &why) == 0 &&
                strcmp(own, ghost) == 0;
    free(own);
    return mine;
}

static void on_redacted(const struct mx_response *r, void *ud)
{
    struct redact_job *j = ud;
    /* Gone already (404) is as good as deleted. */
    bool ok = r->status == 200 || r->status == 404;
    if (!ok)
        log_warn("retractions: redaction refused: %s", r->error);
    if (j->cb)
        j->cb(j->gw, ok ? NULL : r->error, j->ud);
    if (j->iq) {
        xmpp_stanza_t *res =
            ok ? empty_result(j->gw->xmpp, j->iq)
               : stanza_error_reply(j->gw->xmpp, j->iq,
                                    r->status == 403 ? "auth" : "wait",
                                    r->status == 403 ? "forbidden"
                                                     : "internal-server-error",
                                    r->error);
        gateway_send_now(j->gw, res);
        xmpp_stanza_release(res);
        xmpp_stanza_release(j->iq);
    }
    free(j);
}

/* PUT /rooms/{room}/redact/{event}/{txn} as `user`; txn NULL picks a
 * fresh one. cb gets the homeserver's answer. */
static void redact_call(struct gateway *gw, const char *room_id,
                        const char *user, const char *event_id,
                        const char *txn, const char *reason, mx_done_cb cb,
                        void *ud)
{
    char fresh[48];
    if (!txn) {
        unsigned char rnd[16];
        char hex[33];
        randombytes_buf(rnd, sizeof rnd);
        sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
        snprintf(fresh, sizeof fresh, "isthmus.d%s", hex);
        txn = fresh;
    }
    mx_redact(gw->mx, room_id, event_id, txn, user, reason, 0, cb, ud);
}

static void redact(struct gateway *gw, const char *room_id, const char *user,
                   const char *event_id, const char *txn, const char *reason,
                   struct redact_job *j)
{
    redact_call(gw, room_id, user, event_id, txn, reason, on_redacted, j);
}

void retractions_from_xmpp(struct gateway *gw, const char *room_id,
                           const char *ghost, const char *event_id,
                           const char *txn_seed, action_done_cb cb, void *ud)
{
    struct store_message m;
    if (store_message_by_event(gw->store, event_id, &m) != 1) {
        cb(gw, "that message never reached Matrix", ud);
        return;
    }
    bool mine = sent_by(gw, &m, ghost) && strcmp(m.room_id, room_id) == 0;
    store_message_free(&m);
    if (!mine) {
        cb(gw, "only the sender may retract a message", ud);
        return;
    }
    char *txn = gateway_txn_id("d", txn_seed, (const char *)NULL);
    struct redact_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->cb = cb;
    j->ud = ud;
    redact(gw, room_id, ghost, event_id, txn, NULL, j);
    free(txn);
}

struct moderated_job {
    struct gateway *gw;
    char *room_id;
    char *event_id;
    char *bot_reason; /* what the bot says if it must act instead */
    char *txn_seed;
    action_done_cb cb;
    void *ud;
};

static void moderated_job_end(struct moderated_job *j, const char *error)
{
    j->cb(j->gw, error, j->ud);
    free(j->room_id);
    free(j->event_id);
    free(j->bot_reason);
    free(j->txn_seed);
    free(j);
}

static void on_moderated_by_bot(const struct mx_response *r, void *ud)
{
    struct moderated_job *j = ud;
    bool ok = r->status == 200 || r->status == 404;
    if (!ok)
        log_warn("retractions: the bot could not redact %s: %s", j->event_id,
                 r->error);
    moderated_job_end(j, ok ? NULL : r->error);
}

/* As the bot: it created the portal room, so it has the power. */
static void moderate_as_bot(struct moderated_job *j)
{
    char *txn = gateway_txn_id("d", j->txn_seed, "bot", (const char *)NULL);
    redact_call(j->gw, j->room_id, j->gw->bot_mxid, j->event_id, txn,
                j->bot_reason, on_moderated_by_bot, j);
    free(txn);
}

static void on_moderated_by_ghost(const struct mx_response *r, void *ud)
{
    struct moderated_job *j = ud;
    if (r->status == 200 || r->status == 404) {
        moderated_job_end(j, NULL);
        return;
    }
    /* The MUC said the moderator may, and the MUC has the last word in a
     * portal; their ghost's power level may just lag behind the role. */
    log_info("retractions: the moderator's ghost could not redact %s (%s); "
             "the bot does", j->event_id, r->error);
    moderate_as_bot(j);
}

void retractions_moderated_in_portal(struct gateway *gw, const char *room_id,
                                     const char *ghost, const char *nick,
                                     const char *event_id, const char *reason,
                                     const char *txn_seed, action_done_cb cb,
                                     void *ud)
{
    struct moderated_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->room_id = xstrdup(room_id);
    j->event_id = xstrdup(event_id);
    j->txn_seed = xstrdup(txn_seed);
    j->cb = cb;
    j->ud = ud;
    /* A redaction by the bot names nobody: the reason says who. */
    bool why = reason && *reason;
    j->bot_reason = xasprintf("Removed by %s in the XMPP room%s%s",
                              nick ? nick : "a moderator", why ? ": " : "",
                              why ? reason : "");
    if (!ghost) {
        moderate_as_bot(j);
        return;
    }
    char *txn = gateway_txn_id("d", txn_seed, (const char *)NULL);
    redact_call(gw, room_id, ghost, event_id, txn, reason,
                on_moderated_by_ghost, j);
    free(txn);
}

static void refuse(struct gateway *gw, xmpp_stanza_t *iq, const char *type,
                   const char *condition, const char *text)
{
    xmpp_stanza_t *r = stanza_error_reply(gw->xmpp, iq, type, condition, text);
    gateway_send_now(gw, r);
    xmpp_stanza_release(r);
}

void retractions_moderate_iq(struct gateway *gw, xmpp_stanza_t *iq)
{
    char *id = NULL, *reason = NULL;
    const char *why = NULL;
    if (xmoderate_parse(iq, &id, &reason, &why) <= 0) {
        refuse(gw, iq, "modify", "bad-request",
               why ? why : "not a moderation request");
        goto out;
    }
    char *muc_jid = ids_jid_bare(xmpp_stanza_get_to(iq));
    struct store_occupant o;
    int found = members_occupant(gw, xmpp_stanza_get_from(iq), muc_jid,
                                     &o);
    free(muc_jid);
    if (found != 1) {
        refuse(gw, iq, "auth", "forbidden", "join the room first");
        goto out;
    }
    struct store_message m;
    if (id[0] != '$' || store_message_by_event(gw->store, id, &m) != 1) {
        refuse(gw, iq, "cancel", "item-not-found", "no such message here");
        store_occupant_free(&o);
        goto out;
    }
    bool here = strcmp(m.room_id, o.room_id) == 0;
    store_message_free(&m);
    if (!here) {
        refuse(gw, iq, "cancel", "item-not-found", "no such message here");
        store_occupant_free(&o);
        goto out;
    }
    /* Matrix's power levels decide: the redaction is made as the
     * moderator's ghost, and refused with 403 if they may not. */
    struct redact_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->iq = xmpp_stanza_clone(iq);
    redact(gw, o.room_id, o.ghost, id, NULL, reason, j);
    store_occupant_free(&o);
out:
    free(id);
    free(reason);
}

/* ---------------------------------------------------- Matrix -> XMPP -- */

struct retract_fill {
    const char *id;
    const char *moderated_by;
    const char *reason;
};

static void fill_retract(struct gateway *gw, xmpp_stanza_t *st, void *ud)
{
    struct retract_fill *f = ud;
    xretract_add(gw->xmpp, st, f->id, f->moderated_by, f->reason);
}

/* A Matrix moderator removes an XMPP occupant's message from a portal
 * MUC: their occupant asks the MUC to (XEP-0425), and the MUC tells its
 * occupants. The request is sent live rather than through the stanza
 * outbox, because the room's answer matters: a refusal (not a moderator
 * there, no moderation in that room) is told to the Matrix room. */
struct portal_moderation {
    struct gateway *gw;
    char *room_id;   /* the Matrix room, for notices */
    char *muc_jid;
    char *occupant;  /* the moderator's occupant JID */
    char *xmpp_id;   /* the room's stanza-id of the message */
    char *reason;    /* or NULL */
    char *event_id;  /* the redaction: names the notices */
};

static void portal_moderation_free(struct portal_moderation *pm)
{
    free(pm->room_id);
    free(pm->muc_jid);
    free(pm->occupant);
    free(pm->xmpp_id);
    free(pm->reason);
    free(pm->event_id);
    free(pm);
}

static void moderation_notice(struct portal_moderation *pm, const char *why)
{
    char *seed = xasprintf("%s.moderation", pm->event_id);
    char *text = xasprintf("The message was removed here, but not in the "
                           "XMPP room %s: %s", pm->muc_jid, why);
    gateway_notice(pm->gw, pm->room_id, NULL, seed, text);
    free(text);
    free(seed);
}

static void on_moderation_answer(xmpp_stanza_t *result, void *ud)
{
    struct portal_moderation *pm = ud;
    const char *type = result ? xmpp_stanza_get_type(result) : NULL;
    if (type && strcmp(type, "result") == 0) {
        log_info("retractions: %s removed %s from %s", pm->occupant,
                 pm->xmpp_id, pm->muc_jid);
    } else if (!result) {
        log_warn("retractions: %s did not answer the moderation of %s",
                 pm->muc_jid, pm->xmpp_id);
        moderation_notice(pm, "the room did not answer");
    } else {
        char *text = NULL;
        const char *cond = stanza_error_condition(result, &text);
        log_warn("retractions: %s refused to remove %s: %s%s%s", pm->muc_jid,
                 pm->xmpp_id, cond, text ? ": " : "", text ? text : "");
        char *why = strcmp(cond, "forbidden") == 0
                        ? xstrdup("you are not a moderator there")
                        : xasprintf("the room refused (%s%s%s)", cond,
                                    text ? ": " : "", text ? text : "");
        moderation_notice(pm, why);
        free(why);
        free(text);
    }
    portal_moderation_free(pm);
}

#define MODERATION_TIMEOUT_MS 10000

static void send_moderation(struct portal_moderation *pm, bool legacy)
{
    struct gateway *gw = pm->gw;
    xmpp_stanza_t *payload = xmoderate_request(gw->xmpp, pm->xmpp_id,
                                               pm->reason, legacy);
    struct component_query q = { .type = "set", .from = pm->occupant,
                                 .to = pm->muc_jid, .payload = payload };
    if (component_query(gw->component, &q, MODERATION_TIMEOUT_MS,
                        on_moderation_answer, pm) < 0) {
        log_warn("retractions: not connected; the moderation of %s in %s is "
                 "not sent", pm->xmpp_id, pm->muc_jid);
        moderation_notice(pm, "the XMPP server is not reachable");
        portal_moderation_free(pm);
    }
    xmpp_stanza_release(payload);
}

/* The room says which version of XEP-0425 it speaks. Servers of 2023 and
 * later speak moderate:1, and may speak both; older ones (and Debian 12's
 * prosody-modules) only moderate:0, with a different request (fastened
 * with <apply-to/>) that a moderate:1 room would not understand, and vice
 * versa. So: moderate:1 when offered, else moderate:0 when offered. A room
 * that offers neither cannot moderate, and is not asked. No answer at all
 * says nothing about the room, so the current version is tried. */
static void on_moderation_disco(xmpp_stanza_t *result, void *ud)
{
    struct portal_moderation *pm = ud;
    const char *type = result ? xmpp_stanza_get_type(result) : NULL;
    bool answered = type && strcmp(type, "result") == 0;
    if (answered && !disco_has_feature(result, NS_MODERATE) &&
        !disco_has_feature(result, NS_MODERATE_LEGACY)) {
        log_info("retractions: %s does not support moderation (XEP-0425)",
                 pm->muc_jid);
        moderation_notice(pm, "that room does not support moderation "
                              "(XEP-0425)");
        portal_moderation_free(pm);
        return;
    }
    send_moderation(pm, answered && !disco_has_feature(result, NS_MODERATE));
}

static void moderate_in_portal(struct gateway *gw, const struct store_room *room,
                               const char *moderator, const char *xmpp_id,
                               const char *reason, const char *event_id)
{
    struct store_portal_user u;
    if (store_portal_user_get(gw->store, room->xmpp_jid, moderator, &u) != 1)
        return; /* not in the MUC: nobody there to ask on their behalf */
    store_portal_user_free(&u);
    char *occupant = members_portal_occupant(gw, moderator);
    if (!occupant)
        return;
    struct portal_moderation *pm = xcalloc(1, sizeof *pm);
    pm->gw = gw;
    pm->room_id = xstrdup(room->room_id);
    pm->muc_jid = xstrdup(room->xmpp_jid);
    pm->occupant = occupant;
    pm->xmpp_id = xstrdup(xmpp_id);
    pm->reason = reason && *reason ? xstrdup(reason) : NULL;
    pm->event_id = xstrdup(event_id);
    /* Asked as the occupant that will make the request. */
    struct component_query q = { .from = occupant, .to = room->xmpp_jid,
                                 .name = "query", .ns = NS_DISCO_INFO };
    if (component_query(gw->component, &q, MODERATION_TIMEOUT_MS,
                        on_moderation_disco, pm) < 0) {
        moderation_notice(pm, "the XMPP server is not reachable");
        portal_moderation_free(pm);
    }
}

void retractions_matrix_event(struct gateway *gw, const struct mx_event *ev,
                              const struct store_room *room)
{
    struct mx_redaction red;
    const char *why;
    if (mx_redaction_parse(ev, &red, &why) < 0) {
        log_debug("retractions: skipping redaction %s: %s", ev->event_id,
                  why);
        return;
    }
    const char *redacts = red.redacts;
    if (reactions_matrix_redaction(gw, ev, redacts, room))
        return;
    struct store_message m;
    if (store_message_by_event(gw->store, redacts, &m) != 1)
        return; /* never crossed */
    const char *reason = red.reason;
    bool moderated = m.sender && strcmp(m.sender, ev->sender) != 0;
    char *xmpp_id = relations_xmpp_id(gw, room, redacts);
    if (!xmpp_id)
        goto out;
    struct retract_fill f = { xmpp_id, NULL, reason };
    if (!moderated) {
        conversation_tell(gw, room, ev->sender, false, ev->event_id,
                          fill_retract, &f);
    } else if (room->mode == ROOM_GATEWAY) {
        char *nick = members_nick(gw, room->room_id, ev->sender,
                                      NULL);
        char *by = xasprintf("%s/%s", room->xmpp_jid, nick);
        f.moderated_by = by;
        conversation_tell(gw, room, ev->sender, true, ev->event_id,
                          fill_retract, &f);
        free(by);
        free(nick);
    } else if (room->mode == ROOM_PORTAL) {
        moderate_in_portal(gw, room, ev->sender, xmpp_id, reason,
                           ev->event_id);
    } else {
        /* In a chat only the sender can retract; XMPP has no way to say
         * that the other party deleted one's message. */
        log_info("retractions: %s deleted %s's message %s in a DM; not "
                 "told to XMPP", ev->sender, m.sender, redacts);
    }
    free(xmpp_id);
out:
    store_message_free(&m);
}
