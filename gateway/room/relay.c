/* Gateway mode, Matrix -> XMPP: messages, membership and power levels of
 * a Matrix room reach its XMPP occupants; and the echo of an occupant's
 * own message (see relay.h). */
#include "gateway/room/relay.h"

#include "gateway/room/common.h"

#include "common/log.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "gateway/base/effects.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/core/translate.h"
#include "gateway/features/encrypted.h"
#include "gateway/features/ghosts.h"
#include "gateway/features/m2x_env.h"
#include "gateway/features/media.h"
#include "gateway/features/members.h"
#include "gateway/features/omemo.h"
#include "gateway/features/presence.h"
#include "matrix/event_state.h"
#include "xep/avatars.h"
#include "xep/disco.h"
#include "xep/encrypted.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/presence_stanza.h"
#include "xep/stanza_error.h"
#include "xep/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void room_pass_on(struct gateway *gw, const struct store_occupant *o,
                  xmpp_stanza_t *sent, const char *event_id)
{
    /* A message the gateway decrypted goes on as the ciphertext its
     * sender wrote, which the decryption mark kept: the other occupants
     * read it with their own sessions with the sender. */
    xmpp_stanza_t *kept = xencrypted_kept_original(sent);
    xmpp_stanza_t *src = kept ? kept : sent;
    struct store_occupant *all;
    int n = store_occupants_in_room(gw->store, o->room_id, &all);
    char *from = xasprintf("%s/%s", o->muc_jid, o->nick);
    char *queue = xasprintf("m2x %s", o->room_id);
    for (int i = 0; i < n; i++) {
        xmpp_stanza_t *st = muc_pass_on(gw->xmpp, src, from,
                                        all[i].occupant_jid, event_id,
                                        event_id, o->muc_jid);
        /* Every resource of the sender sees its own message come back
         * at once, with the room's stanza-id, as MUC clients expect; the
         * others get it through the stanza outbox, as Matrix messages. */
        if (strcmp(all[i].ghost, o->ghost) == 0) {
            room_send_now(gw, st);
        } else {
            to_xmpp_enqueue(gw, queue, st);
            xmpp_stanza_release(st);
        }
    }
    free(queue);
    free(from);
    store_occupants_free(all, n);
}

/* Tells the room a file did not reach XMPP. The gateway's bot is not in
 * these rooms; an XMPP occupant's ghost is, so it speaks. */
static void notify_file_refused(struct gateway *gw, const struct mx_event *ev,
                                const char *why)
{
    struct store_occupant *all;
    int n = store_occupants_in_room(gw->store, ev->room_id, &all);
    if (n > 0) {
        char *text = xasprintf("A file was not delivered to XMPP: %s", why);
        gateway_notice(gw, ev->room_id, all[0].ghost, ev->event_id, text);
        free(text);
    }
    store_occupants_free(all, n);
}

void room_relay_message(struct gateway *gw, const struct mx_event *ev,
                        const struct store_room *room)
{
    struct mx_message msg;
    struct m2x_message out;
    struct m2x_env env;
    const char *why;
    /* An XMPP occupant's message reached the others when it was sent
     * (room_pass_on), as its sender wrote it; its Matrix copy would be a
     * second one, in clear if the sender had encrypted it. */
    if (ids_is_ghost(&gw->ids, ev->sender))
        return;
    if (mx_message_parse(ev, &msg, &why) < 0) {
        log_debug("muc: not relaying %s: %s", ev->event_id, why);
        return;
    }
    /* The room relays every event under its event id, so an edit
     * corrects, and a reply names, the stanza whose id is the event's. */
    m2x_env_for(gw, ROOM_GATEWAY, &env);
    if (m2x_translate(&msg, &env, &out, &why) < 0) {
        if (m2x_is_file(&msg)) {
            log_info("muc: not relaying %s: %s", ev->event_id, why);
            notify_file_refused(gw, ev, why);
        } else {
            log_debug("muc: not relaying %s: %s", ev->event_id, why);
        }
        return;
    }
    char *nick = members_stored_nick(gw, ev->room_id, ev->sender);
    if (!nick)
        nick = members_default_nick(ev->sender, NULL);
    char *from = xasprintf("%s/%s", room->xmpp_jid, nick);
    struct store_occupant *all;
    int n = store_occupants_in_room(gw->store, ev->room_id, &all);
    char *queue = xasprintf("m2x %s", ev->room_id);
    /* Encrypted on Matrix: it reaches an occupant encrypted by the
     * sender's puppet in a members-only room, where OMEMO is carried;
     * anyone else gets it under [e2ee] downgrade. */
    char *speaker = NULL;
    bool sealed_room = mx_event_was_encrypted(ev) &&
                       members_only(gw, ev->room_id) &&
                       ids_matrix_to_jid(&gw->ids, ev->sender, &speaker,
                                         &why) == 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(all[i].ghost, ev->sender) == 0)
            continue; /* reflected when it was sent */
        if (mx_event_was_encrypted(ev)) {
            char *bare = ids_jid_bare(all[i].occupant_jid);
            bool drop = encrypted_matrix_downgrade(
                gw, ev, sealed_room && omemo_can_encrypt_to(gw, speaker, bare),
                bare, all[i].ghost);
            free(bare);
            if (drop)
                continue;
        }
        struct xmsg x = { .from = from, .to = all[i].occupant_jid,
                          .id = (char *)ev->event_id, .type = "groupchat" };
        m2x_fill_xmsg(&out, &x);
        xmpp_stanza_t *st = xmsg_build(gw->xmpp, &x);
        muc_add_stanza_id(gw->xmpp, st, ev->event_id, room->xmpp_jid);
        to_xmpp_enqueue(gw, queue, st);
        xmpp_stanza_release(st);
    }
    free(queue);
    free(speaker);
    store_occupants_free(all, n);
    /* Remembered so that reactions, deletions and read markers can find
     * it (and its place in the room), and a moderator's deletion is told
     * from the sender's. An XMPP user's message is stored when it is sent,
     * with the ids its sender knows it by. */
    struct store_message m = {
        .event_id = (char *)ev->event_id, .room_id = (char *)ev->room_id,
        .xmpp_jid = room->xmpp_jid, .stanza_id = (char *)ev->event_id,
        .direction = DIR_MATRIX_TO_XMPP, .ts = ev->origin_server_ts,
        .replaces = (char *)msg.replaces, .sender = (char *)ev->sender,
    };
    if (!ids_is_ghost(&gw->ids, ev->sender))
        store_message_put(gw->store, &m);
    m2x_message_free(&out);
    free(from);
    free(nick);
}

void room_relay_member(struct gateway *gw, const struct mx_event *ev,
                       const struct store_room *room)
{
    struct mx_member m;
    const char *why;
    if (mx_member_parse(ev, &m, &why) < 0)
        return;
    bool joined = strcmp(m.membership, "join") == 0;
    /* An XMPP occupant's ghost goes by its MUC nick, not its display
     * name; its own join event changes nothing. */
    if (joined &&
        store_occupants_of_ghost(gw->store, ev->room_id, ev->state_key) > 0)
        return;
    char *old = members_stored_nick(gw, ev->room_id, ev->state_key);
    char *nick = joined ? members_default_nick(ev->state_key, m.displayname) : NULL;
    if (joined) {
        struct store_member prev;
        long level = 0;
        if (store_member_get(gw->store, ev->room_id, ev->state_key, &prev) ==
            1) {
            level = prev.level;
            free(prev.mxid);
            free(prev.nick);
        }
        store_member_put(gw->store, ev->room_id, ev->state_key, nick, level);
    }
    else if (old)
        store_member_delete(gw->store, ev->room_id, ev->state_key);
    if ((joined && old && strcmp(old, nick) == 0) || (!joined && !old)) {
        free(old);
        free(nick);
        return; /* nothing an occupant would see */
    }
    char *jid = members_real_jid(gw, ev->state_key);
    /* 303 nick change, 307 kicked, 301 banned, else a plain leave. */
    bool renamed = joined && old;
    bool banned = strcmp(m.membership, "ban") == 0;
    bool kicked = !joined && !banned && strcmp(ev->sender, ev->state_key) != 0;
    int codes[] = { renamed ? 303 : banned ? 301 : kicked ? 307 : 0, 0 };
    struct store_occupant *all;
    int n = store_occupants_in_room(gw->store, ev->room_id, &all);
    for (int i = 0; i < n; i++) {
        if (strcmp(all[i].ghost, ev->state_key) == 0) {
            if (!joined) {
                /* An XMPP user's ghost was removed: their MUC session
                 * ends the same way. */
                static const int self_extra[] = { 110, 0 };
                int self_codes[] = { codes[0], self_extra[0], 0 };
                char *from = xasprintf("%s/%s", room->xmpp_jid, all[i].nick);
                struct muc_item gone = { banned ? "outcast" : "none", "none",
                                         all[i].occupant_jid, NULL };
                room_send_now(gw, muc_presence(gw->xmpp, from, all[i].occupant_jid,
                                          "unavailable", &gone,
                                          codes[0] ? self_codes
                                                   : self_extra));
                free(from);
                store_occupant_delete(gw->store, all[i].occupant_jid,
                                      all[i].muc_jid);
            }
            continue;
        }
        if (old) {
            char *from = xasprintf("%s/%s", room->xmpp_jid, old);
            struct muc_item gone = { banned ? "outcast" : "member", "none",
                                     jid, renamed ? nick : NULL };
            room_send_now(gw, muc_presence(gw->xmpp, from, all[i].occupant_jid,
                                      "unavailable", &gone, codes));
            free(from);
        }
        if (joined) {
            if (!old && jid && !ids_is_ghost(&gw->ids, ev->state_key)) {
                /* A new member's puppet meets the occupants' devices. */
                char *bare = ids_jid_bare(all[i].occupant_jid);
                if (members_only(gw, ev->room_id))
                    omemo_peer_meet(gw, jid, bare, NULL, NULL);
                free(bare);
            }
            char *from = xasprintf("%s/%s", room->xmpp_jid, nick);
            struct muc_item item = { "member", "participant", jid, NULL };
            room_send_now(gw, muc_presence(gw->xmpp, from, all[i].occupant_jid,
                                      NULL, &item, NULL));
            free(from);
        }
    }
    store_occupants_free(all, n);
    free(jid);
    free(old);
    free(nick);
}

char *room_member_at(struct gateway *gw, const char *requester,
                     const char *occupant_jid)
{
    const char *nick = ids_jid_resource(occupant_jid);
    if (!requester || !nick || !*nick)
        return NULL;
    char *muc_jid = ids_jid_bare(occupant_jid);
    struct store_occupant o;
    char *mxid = NULL;
    if (store_occupant_get(gw->store, requester, muc_jid, &o) == 1) {
        if (store_member_by_nick(gw->store, o.room_id, nick, &mxid) != 1)
            mxid = NULL;
        store_occupant_free(&o);
    }
    free(muc_jid);
    return mxid;
}

/* New power levels: every member whose level changed gets a presence
 * with the new affiliation and role (the occupant's own with 110). */
void room_relay_power_levels(struct gateway *gw, const struct mx_event *ev,
                             const struct store_room *room)
{
    struct mx_power_levels levels;
    room_parse_levels(ev->content, &levels);
    struct store_member *members;
    int nm = store_members_in_room(gw->store, ev->room_id, &members);
    struct store_occupant *all;
    int no = store_occupants_in_room(gw->store, ev->room_id, &all);
    for (int k = 0; k < nm; k++) {
        if (members[k].level == ROOM_CREATOR_LEVEL)
            continue; /* creators are above power levels */
        long level = room_power_level(&levels, members[k].mxid);
        if (level == members[k].level)
            continue;
        store_member_put(gw->store, ev->room_id, members[k].mxid,
                         members[k].nick, level);
        char *from = xasprintf("%s/%s", room->xmpp_jid, members[k].nick);
        char *jid = members_real_jid(gw, members[k].mxid);
        struct muc_item item = members_muc_item(level, jid);
        static const int self_codes[] = { 110, 0 };
        for (int i = 0; i < no; i++) {
            bool own = strcmp(all[i].ghost, members[k].mxid) == 0;
            room_send_now(gw, muc_presence(gw->xmpp, from, all[i].occupant_jid,
                                      NULL, &item, own ? self_codes : NULL));
        }
        free(jid);
        free(from);
    }
    store_occupants_free(all, no);
    store_members_free(members, nm);
}
