/* Portal mode, the MUC -> Matrix: messages, subjects, moderation and
 * errors from the MUC (see messages.h). */
#include "gateway/portal/messages.h"

#include "gateway/portal/state.h"
#include "gateway/portal/common.h"
#include "gateway/portal/occupants.h"

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
#include "xep/encrypted.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/reactions.h"
#include "xep/retractions.h"
#include "xep/xml.h"
#include <stdlib.h>
#include <string.h>

static void on_subject(struct gateway *gw, const struct store_room *room,
                       const char *subject)
{
    portal_sync_finish(gw, room);
    char *known = NULL;
    store_room_subject_get(gw->store, room->room_id, &known);
    if (!known || strcmp(known, subject) != 0) {
        store_room_subject_set(gw->store, room->room_id, subject);
        struct portal_op op = { .kind = PORTAL_OP_TOPIC,
                                .user_id = gw->bot_mxid, .topic = subject };
        portal_op_enqueue(gw, room->room_id, &op);
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
    struct portal_op op = { .kind = PORTAL_OP_TOPIC, .user_id = gw->bot_mxid,
                            .topic = c.previous };
    portal_op_enqueue(gw, room->room_id, &op);
    char *notice = xasprintf("The XMPP room %s refused the topic change by "
                             "%s%s%s%s. The topic is back to the room's "
                             "subject.", room->xmpp_jid, c.who,
                             text ? " (" : "", text ? text : "",
                             text ? ")" : "");
    portal_bot_notice(gw, room->room_id, id, notice);
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
    portal_bot_notice(gw, room->room_id, id, notice);
    free(notice);
    free(text);
    store_message_free(&m);
}

/* An XMPP occupant's reactions or retraction, relayed by the MUC: their
 * ghost does the same to the message in the Matrix room. */
static void on_muc_action(struct gateway *gw, const struct store_room *room,
                          const char *nick,
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
    char *event_id = relations_event_for(gw, muc, room->room_id, xmpp_id);
    if (!event_id) {
        log_debug("portal: %s in %s acted on %s, which never crossed", nick,
                  muc, xmpp_id);
        store_occupant_free(&o);
        return;
    }
    struct portal_op op = {
        .kind = retract_id ? PORTAL_OP_REDACT : PORTAL_OP_REACT,
        .user_id = o.ghost, .event_id = event_id,
        .keys = retract_id ? NULL : (const char **)reactions->keys,
        .nkeys = retract_id ? 0 : (size_t)reactions->n,
    };
    portal_op_enqueue(gw, room->room_id, &op);
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
    char *event_id = relations_event_for(gw, muc, room->room_id, mod->id);
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
        struct portal_op op = {
            .kind = PORTAL_OP_MODERATED, .user_id = gw->bot_mxid,
            .event_id = event_id, .nick = nick,
            .reason = mod->reason && *mod->reason ? mod->reason : NULL,
        };
        bool found = nick &&
                     store_occupant_get(gw->store, mod->by, muc, &o) == 1;
        if (found)
            op.ghost = o.ghost;
        portal_op_enqueue(gw, room->room_id, &op);
        if (found)
            store_occupant_free(&o);
        log_info("portal: %s in %s removed %s", nick ? nick : "a moderator",
                 muc, event_id);
    }
    free(by_room);
    free(event_id);
out:
    free(seen);
}

void portal_on_muc_message(struct gateway *gw, xmpp_stanza_t *st,
                           struct xmsg *m, const struct store_room *room)
{
    const char *muc = room->xmpp_jid;
    if (strcmp(m->type, "error") == 0) {
        on_message_error(gw, st, room);
        return;
    }
    if (strcmp(m->type, "groupchat") != 0)
        return; /* private messages through the MUC are not bridged */
    const char *nick = ids_jid_resource(m->from);
    /* An XMPP occupant's chat state or chat marker
     * (gateway/features/chatstates.c, gateway/features/markers.c). */
    typing_portal_message(gw, room, m);
    receipts_portal_message(gw, room, m);
    if (m->subject && !m->body) {
        on_subject(gw, room, m->subject);
        return;
    }
    if (m->moderated.id) {
        /* Only the room itself (its bare JID) announces a moderation; an
         * occupant's "announcement", relayed from room@service/nick, is
         * a forgery, whatever it claims. */
        if (!nick)
            on_muc_moderated(gw, room, &m->moderated);
        else
            log_info("portal: %s in %s forged a moderation announcement; "
                     "ignored", nick, muc);
        return;
    }
    if (m->reactions_error)
        return;
    bool action = m->retract_id || m->reactions.id;
    if ((!m->body && !action) || !nick)
        return;
    const char *sid = m->stanza_id; /* stamped by the room: m->from's bare */
    struct store_portal_user u;
    if (store_portal_user_by_nick(gw->store, muc, nick, &u) == 1) {
        /* A Matrix user's message reflected by the room, stamped with the
         * stanza-id that XMPP replies will name it by. */
        struct store_message mine;
        if (sid && m->origin_id &&
            store_message_by_event(gw->store, m->origin_id, &mine) == 1) {
            store_message_set_stanza_id(gw->store, mine.event_id, sid);
            store_message_free(&mine);
        }
        store_portal_user_free(&u);
        return;
    }
    const char *dedupe = sid ? sid : xmsg_dedupe_id(m);
    struct store_message known;
    if ((m->origin_id &&
         store_message_by_stanza(gw->store, muc, m->origin_id, &known) == 1) ||
        (dedupe && store_message_by_stanza(gw->store, muc, dedupe, &known) ==
                       1)) {
        store_message_free(&known);
        return; /* bridged already, or our own reflection */
    }
    if (dedupe && store_inbound_get(gw->store, muc, muc, dedupe, NULL) == 1)
        return; /* another Matrix user's copy of the same message */
    if (action) {
        on_muc_action(gw, room, nick, &m->reactions, m->retract_id);
        if (dedupe)
            store_inbound_add(gw->store, muc, muc, dedupe, gateway_now_ms());
        return;
    }
    char *occ_jid = xasprintf("%s/%s", muc, nick);
    struct store_occupant o;
    char *ghost = NULL;
    if (store_occupant_get(gw->store, occ_jid, muc, &o) == 1) {
        ghost = xstrdup(o.ghost);
        store_occupant_free(&o);
    } else if ((ghost = portal_ghost_of(gw, muc, nick, NULL))) {
        /* Someone who is not (or no longer) in the room, e.g. in history
         * after a restart: their ghost joins first. */
        struct portal_op join = { .kind = PORTAL_OP_JOIN, .user_id = ghost,
                                  .jid = occ_jid, .nick = nick };
        portal_op_enqueue(gw, room->room_id, &join);
    }
    char *xml = ghost ? xmsg_stanza_to_xml(st) : NULL;
    if (xml) {
        int64_t now = gateway_now_ms();
        /* The message as it came is what is stored; it is translated when
         * the op runs (gateway/portal/ops.c), as a
         * DM's is. */
        struct portal_op op = {
            .kind = PORTAL_OP_SAY, .user_id = ghost, .stanza = xml,
            .ts = m->delay_ms > 0 ? m->delay_ms : now, .stanza_id = dedupe,
            .muc = muc,
        };
        if (dedupe)
            store_inbound_add(gw->store, muc, muc, dedupe, now);
        portal_op_enqueue_live(gw, room->room_id, &op, st, m);
    }
    free(xml);
    free(ghost);
    free(occ_jid);
}
