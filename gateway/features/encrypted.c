#include "gateway/features/encrypted.h"
#include "gateway/base/effects.h"
#include "gateway/base/metrics.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/features/conversation.h"
#include "gateway/features/omemo.h"
#include "xep/stanza_error.h"

#include <stdlib.h>
#include <string.h>

void encrypted_refuse_xmpp(struct gateway *gw, xmpp_stanza_t *st,
                           const char *scheme)
{
    log_info("xmpp: a %s-encrypted message from %s was refused: the gateway "
             "cannot carry encrypted messages yet", scheme,
             xmpp_stanza_get_from(st));
    /* Rather than the recipient getting the fallback body ("I sent you an
     * OMEMO message...") or nothing at all. */
    char *text = xasprintf("This message is encrypted with %s, and this "
                           "gateway cannot carry encrypted messages to Matrix "
                           "yet, so it was not delivered. Turn encryption off "
                           "for this contact to reach them.", scheme);
    metrics_inc(CNT_REFUSED);
    xmpp_stanza_t *r = stanza_error_reply(gw->xmpp, st, "cancel",
                                          "feature-not-implemented", text);
    gateway_send_now(gw, r);
    xmpp_stanza_release(r);
    free(text);
}

void encrypted_xmpp_undecryptable(struct gateway *gw, xmpp_stanza_t *st,
                                  const char *why)
{
    log_info("xmpp: an OMEMO message from %s did not decrypt: %s",
             xmpp_stanza_get_from(st), why);
    char *text = xasprintf("The gateway could not decrypt this OMEMO "
                           "message, so it was not delivered: %s.", why);
    metrics_inc(CNT_REFUSED);
    xmpp_stanza_t *r = stanza_error_reply(gw->xmpp, st, "modify",
                                          "not-acceptable", text);
    gateway_send_now(gw, r);
    xmpp_stanza_release(r);
    free(text);
}

/* The XMPP side is told in place of the message, under its event id, so
 * that a replay after a crash is recognised by the client. */
static void fill_placeholder(struct gateway *gw, xmpp_stanza_t *st, void *ud)
{
    (void)gw;
    xmpp_message_set_body(st, ud);
}

char *encrypted_room_ghost(struct gateway *gw, const struct store_room *room)
{
    char *ghost = NULL;
    const char *why;
    if (room->mode == ROOM_DM &&
        ids_jid_to_ghost(&gw->ids, room->xmpp_jid, &ghost, &why) < 0)
        log_warn("matrix: no ghost for %s: %s", room->xmpp_jid, why);
    if (room->mode == ROOM_GATEWAY) {
        struct store_occupant *all;
        int n = store_occupants_in_room(gw->store, room->room_id, &all);
        if (n > 0)
            ghost = xstrdup(all[0].ghost);
        store_occupants_free(all, n);
    }
    return ghost;
}

void encrypted_matrix_undecryptable(struct gateway *gw,
                                    const struct mx_event *ev,
                                    const char *why)
{
    if (gateway_is_ours(gw, ev->sender))
        return;
    struct store_room room;
    if (store_room_get(gw->store, ev->room_id, &room) != 1)
        return;
    log_info("matrix: %s from %s in %s is encrypted and was not bridged: %s",
             ev->event_id, ev->sender, ev->room_id, why);
    char *text = xasprintf("[%s sent an end-to-end encrypted message that "
                           "this gateway could not decrypt: %s]", ev->sender,
                           why);
    conversation_tell(gw, &room, ev->sender, false, ev->event_id,
                      fill_placeholder, text);
    char *notice = xasprintf("Your encrypted message was not delivered to "
                             "%s: the gateway could not decrypt it (%s).",
                             room.xmpp_jid, why);
    char *poster = encrypted_room_ghost(gw, &room);
    if (room.mode != ROOM_DM || poster)
        gateway_notice(gw, ev->room_id, poster, ev->event_id, notice);
    free(poster);
    free(notice);
    free(text);
    store_room_free(&room);
}

void encrypted_matrix_event(struct gateway *gw, const struct mx_event *ev)
{
    encrypted_matrix_undecryptable(
        gw, ev, "end-to-bridge encryption is off on this gateway");
}

bool encrypted_matrix_downgrade(struct gateway *gw, const struct mx_event *ev,
                                bool encryptable, const char *user_bare,
                                const char *ghost)
{
    if (!mx_event_was_encrypted(ev) || encryptable)
        return false;
    if (gw->cfg.e2ee_refuse_downgrade) {
        char *text = xasprintf(
            "Not delivered: %s has no OMEMO device this gateway can "
            "encrypt to, and it does not pass encrypted messages on in "
            "clear.", user_bare);
        log_info("matrix: %s not delivered to %s: no OMEMO device to "
                 "encrypt to ([e2ee] downgrade = refuse)", ev->event_id,
                 user_bare);
        gateway_notice(gw, ev->room_id, ghost, ev->event_id, text);
        free(text);
        return true;
    }
    char *key = xasprintf("downgrade told %s %s", ev->room_id, user_bare);
    int64_t told = 0;
    if (store_setting_get(gw->store, key, &told) != 1 || !told) {
        store_setting_put(gw->store, key, 1);
        char *text = xasprintf(
            "%s reads this conversation on XMPP without end-to-end "
            "encryption the gateway can use (no OMEMO device): your "
            "encrypted messages are decrypted by the gateway and reach "
            "them unencrypted.", user_bare);
        log_info("matrix: messages in %s leave encryption at the gateway "
                 "(%s has no OMEMO device); told once", ev->room_id,
                 user_bare);
        gateway_notice(gw, ev->room_id, ghost, ev->event_id, text);
        free(text);
    }
    free(key);
    return false;
}
