/* Portal mode, the MUC -> Matrix: messages, subjects, moderation and
 * errors from the MUC (see messages.h). */
#include "gateway/portal/messages.h"

#include "gateway/portal/state.h"
#include "gateway/portal/common.h"
#include "gateway/portal/occupants.h"

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
    struct portal_op op = {
        .kind = retract_id ? PORTAL_OP_REDACT : PORTAL_OP_REACT,
        .user_id = o.ghost, .event_id = event_id,
        .keys = retract_id ? NULL : (const char **)reactions->keys,
        .nkeys = retract_id ? 0 : (size_t)reactions->n,
    };
    portal_op_enqueue(gw, room->room_id, &op);
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
    /* An XMPP occupant's chat state or chat marker
     * (gateway/features/chatstates.c, gateway/features/markers.c). */
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
    /* An encrypted message's body is only a fallback for clients without
     * the scheme: the room is told plainly what it cannot see. */
    const char *scheme = xencrypted_scheme(st);
    if (scheme) {
        free(m.body);
        m.body = xasprintf("[%s sent a %s-encrypted message, which this "
                           "gateway cannot decrypt yet]", nick, scheme);
    }
    char *replaces = NULL;
    struct x2m_lookups lookups = { gw, muc, m.from };
    struct x2m_env env;
    x2m_env_for(&lookups, &env);
    json_t *content = x2m_translate(&m, &env, &replaces, &why);
    if (!content) {
        log_info("portal: a message in %s was not bridged: %s", muc, why);
        goto out;
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
    if (ghost) {
        long long delayed = muc_delay_ms(st);
        int64_t now = gateway_now_ms();
        bool share = media_is_share(&m);
        struct portal_op op = {
            .kind = PORTAL_OP_SAY, .user_id = ghost, .content = content,
            .replaces = replaces, .ts = delayed > 0 ? delayed : now,
            .stanza_id = dedupe,
            /* The sender's own id for the message (origin-id, else the id
             * the room passed on), which corrections name it by. */
            .origin_id = m.origin_id ? m.origin_id : m.id, .muc = muc,
            /* A file share: the op fetches it and posts it as media. */
            .media_url = share ? m.oob_url : NULL,
            .media_desc = share ? m.oob_desc : NULL,
        };
        portal_op_enqueue(gw, room->room_id, &op);
        if (dedupe)
            store_inbound_add(gw->store, muc, muc, dedupe, now);
    }
    free(ghost);
    free(occ_jid);
    free(replaces);
    json_decref(content);
out:
    xreactions_free(&reactions);
    free(retract_id);
    free(subject);
    xmsg_free(&m);
}
