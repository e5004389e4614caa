#include "gateway/retractions.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/conversation.h"
#include "gateway/muc_gateway.h"
#include "gateway/portal.h"
#include "xep/disco.h"
#include "xep/retract.h"
#include "xep/stanza_error.h"

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
 * fresh one. */
static void redact(struct gateway *gw, const char *room_id, const char *user,
                   const char *event_id, const char *txn, const char *reason,
                   struct redact_job *j)
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
    char *room = mx_escape(room_id);
    char *ev = mx_escape(event_id);
    char *uid = mx_escape(user);
    char *path = xasprintf("/_matrix/client/v3/rooms/%s/redact/%s/%s"
                           "?user_id=%s", room, ev, txn, uid);
    json_t *body = json_object();
    if (reason && *reason)
        json_object_set_new(body, "reason", json_string(reason));
    mx_client_call(gw->mx, "PUT", path, body, 0, on_redacted, j);
    free(path);
    free(uid);
    free(ev);
    free(room);
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
    int found = muc_gateway_occupant(gw, xmpp_stanza_get_from(iq), muc_jid,
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
 * MUC: their occupant asks the MUC to (XEP-0425). Best effort: a MUC
 * without moderation support answers with an error, which is logged. */
static void moderate_in_portal(struct gateway *gw, const struct store_room *room,
                               const char *moderator, const char *xmpp_id,
                               const char *reason)
{
    struct store_portal_user u;
    if (store_portal_user_get(gw->store, room->xmpp_jid, moderator, &u) != 1)
        return;
    store_portal_user_free(&u);
    char *occupant = portal_occupant_of(gw, moderator);
    if (!occupant)
        return;
    xmpp_stanza_t *iq = xmpp_iq_new(gw->xmpp, "set", NULL);
    char idbuf[33];
    unsigned char rnd[16];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(idbuf, sizeof idbuf, rnd, sizeof rnd);
    xmpp_stanza_set_id(iq, idbuf);
    xmpp_stanza_set_from(iq, occupant);
    xmpp_stanza_set_to(iq, room->xmpp_jid);
    xmpp_stanza_t *mod = xmpp_stanza_new(gw->xmpp);
    xmpp_stanza_set_name(mod, "moderate");
    xmpp_stanza_set_ns(mod, NS_MODERATE);
    xmpp_stanza_set_attribute(mod, "id", xmpp_id);
    xmpp_stanza_t *r = xmpp_stanza_new(gw->xmpp);
    xmpp_stanza_set_name(r, "retract");
    xmpp_stanza_set_ns(r, NS_RETRACT);
    xmpp_stanza_add_child_ex(mod, r, 0);
    xmpp_stanza_add_child_ex(iq, mod, 0);
    if (reason && *reason) {
        xmpp_stanza_t *re = xmpp_stanza_new(gw->xmpp);
        xmpp_stanza_set_name(re, "reason");
        xmpp_stanza_t *t = xmpp_stanza_new(gw->xmpp);
        xmpp_stanza_set_text(t, reason);
        xmpp_stanza_add_child_ex(re, t, 0);
        xmpp_stanza_add_child_ex(mod, re, 0);
    }
    char *queue = xasprintf("m2x %s", room->room_id);
    to_xmpp_enqueue(gw, queue, iq);
    free(queue);
    xmpp_stanza_release(iq);
    free(occupant);
}

void retractions_matrix_event(struct gateway *gw, const struct mx_event *ev,
                              json_t *raw, const struct store_room *room)
{
    const char *redacts = json_string_value(json_object_get(ev->content,
                                                            "redacts"));
    if (!redacts)
        redacts = json_string_value(json_object_get(raw, "redacts"));
    if (!redacts)
        return;
    if (reactions_matrix_redaction(gw, ev, redacts, room))
        return;
    struct store_message m;
    if (store_message_by_event(gw->store, redacts, &m) != 1)
        return; /* never crossed */
    const char *reason = json_string_value(json_object_get(ev->content,
                                                           "reason"));
    bool moderated = m.sender && strcmp(m.sender, ev->sender) != 0;
    char *xmpp_id = relations_xmpp_id(gw, room, redacts);
    if (!xmpp_id)
        goto out;
    struct retract_fill f = { xmpp_id, NULL, reason };
    if (!moderated) {
        conversation_tell(gw, room, ev->sender, false, ev->event_id,
                          fill_retract, &f);
    } else if (room->mode == ROOM_GATEWAY) {
        char *nick = muc_gateway_nick(gw, room->room_id, ev->sender,
                                      NULL);
        char *by = xasprintf("%s/%s", room->xmpp_jid, nick);
        f.moderated_by = by;
        conversation_tell(gw, room, ev->sender, true, ev->event_id,
                          fill_retract, &f);
        free(by);
        free(nick);
    } else if (room->mode == ROOM_PORTAL) {
        moderate_in_portal(gw, room, ev->sender, xmpp_id, reason);
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
