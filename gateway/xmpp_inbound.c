/* Every stanza the XMPP server hands the component lands here first.
 * Messages are checked, then written to the outbox before any further
 * work (DESIGN.md §4); presence and iq are answered on the spot. */
#include "gateway/gateway.h"
#include "gateway/catchup.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/mam.h"
#include "gateway/avatars.h"
#include "gateway/metrics.h"
#include "gateway/muc_gateway.h"
#include "gateway/portal.h"
#include "gateway/presence.h"
#include "gateway/queues.h"
#include "gateway/ratelimit.h"
#include "gateway/receipts.h"
#include "gateway/retractions.h"
#include "gateway/typing.h"
#include "xep/chatstates.h"
#include "xep/avatar.h"
#include "xep/disco.h"
#include "xep/encrypted.h"
#include "xep/markers.h"
#include "xep/mam.h"
#include "xep/message.h"
#include "xep/reactions.h"
#include "xep/retract.h"
#include "xep/stanza_error.h"

#include <stdlib.h>
#include <string.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

static void reply_error(struct gateway *gw, xmpp_stanza_t *st,
                        const char *type, const char *condition,
                        const char *text)
{
    const char *stype = xmpp_stanza_get_type(st);
    if (stype && strcmp(stype, "error") == 0)
        return; /* never answer an error with an error */
    metrics_inc(CNT_REFUSED);
    xmpp_stanza_t *r = stanza_error_reply(gw->xmpp, st, type, condition, text);
    gateway_send_now(gw, r);
    xmpp_stanza_release(r);
}

/* The server stamps `from`, but a stanza claiming to come from our own
 * domain can only be a spoof or a loop. */
static bool from_is_acceptable(struct gateway *gw, const char *from)
{
    if (!from || !*from)
        return false;
    char *bare = ids_jid_bare(from);
    const char *domain = strchr(bare, '@');
    domain = domain ? domain + 1 : bare;
    bool ok = strcmp(domain, gw->ids.component) != 0;
    free(bare);
    return ok;
}

/* ------------------------------------------------------------ messages -- */

/* The gateway cannot decrypt yet: the sender learns that the message did
 * not cross, rather than the recipient getting a fallback body ("I sent
 * you an OMEMO message...") or nothing at all. */
static void refuse_encrypted(struct gateway *gw, xmpp_stanza_t *st,
                             const char *scheme)
{
    log_info("xmpp: a %s-encrypted message from %s was refused: the gateway "
             "cannot carry encrypted messages yet", scheme,
             xmpp_stanza_get_from(st));
    char *text = xasprintf("This message is encrypted with %s, and this "
                           "gateway cannot carry encrypted messages to Matrix "
                           "yet, so it was not delivered. Turn encryption off "
                           "for this contact to reach them.", scheme);
    reply_error(gw, st, "cancel", "feature-not-implemented", text);
    free(text);
}

static void on_message(struct gateway *gw, xmpp_stanza_t *st)
{
    if (from_is_acceptable(gw, xmpp_stanza_get_from(st)) &&
        portal_xmpp_stanza(gw, st))
        return;
    struct xmsg m;
    const char *why;
    if (xmsg_parse(st, &m, &why) < 0) {
        reply_error(gw, st, "modify", "bad-request", why);
        return;
    }
    if (strcmp(m.type, "error") == 0) {
        log_info("xmpp: error bounce from %s for stanza %s", m.from,
                 m.id ? m.id : "(no id)");
        /* XEP-0045 services drop occupants whose clients bounce. */
        const char *res = ids_jid_resource(m.to);
        if (res && (m.to[0] == '#' || m.to[0] == '!')) {
            char *muc_jid = ids_jid_bare(m.to);
            muc_gateway_bounced(gw, m.from, muc_jid);
            free(muc_jid);
        }
        goto out;
    }
    if (!from_is_acceptable(gw, m.from)) {
        log_warn("xmpp: ignoring a message with a spoofed from (%s)", m.from);
        goto out;
    }
    typing_xmpp_message(gw, st, &m);
    receipts_xmpp_message(gw, st, &m);
    const char *scheme = xencrypted_scheme(st);
    if (scheme) {
        refuse_encrypted(gw, st, scheme);
        goto out;
    }
    /* Reactions and retractions need no body (a retraction's body is only
     * a fallback); they travel the messages' path, in order with them. */
    struct xreactions reactions;
    int has_reactions = xreactions_parse(st, &reactions, &why);
    xreactions_free(&reactions);
    if (has_reactions < 0) {
        reply_error(gw, st, "modify", "bad-request", why);
        goto out;
    }
    bool fastened = has_reactions || xretract_present(st);
    if (!m.body && !fastened)
        goto out; /* nothing else to bridge */

    char *mxid = NULL, *target = NULL;
    enum ids_matrix_kind kind;
    if (ids_jid_to_matrix(&gw->ids, m.to, &target, &kind, &why) < 0) {
        reply_error(gw, st, "cancel", "item-not-found", why);
        goto out;
    }
    bool groupchat = strcmp(m.type, "groupchat") == 0;
    struct store_occupant occupant = { 0 };
    if (groupchat && kind != IDS_MATRIX_USER) {
        char *muc_jid = ids_jid_bare(m.to);
        int found = muc_gateway_occupant(gw, m.from, muc_jid, &occupant);
        free(muc_jid);
        if (found != 1) {
            reply_error(gw, st, "modify", "not-acceptable",
                        "join the room before writing to it");
            goto out_target;
        }
        free(target);
        target = xstrdup(occupant.room_id);
        store_occupant_free(&occupant);
    } else if (kind != IDS_MATRIX_USER || groupchat) {
        reply_error(gw, st, "cancel", "feature-not-implemented",
                    "Matrix rooms are reached by joining them as a MUC; "
                    "private messages to room occupants are not supported");
        goto out_target;
    }
    if (ids_jid_to_ghost(&gw->ids, m.from, &mxid, &why) < 0) {
        reply_error(gw, st, "cancel", "not-allowed", why);
        goto out_target;
    }
    if (m.body && strlen(m.body) > (size_t)gw->cfg.max_event_body) {
        char *text = xasprintf("The message is %zu bytes long; Matrix accepts "
                               "at most %d bytes in one message. It was not "
                               "delivered.", strlen(m.body),
                               gw->cfg.max_event_body);
        reply_error(gw, st, "modify", "not-acceptable", text);
        free(text);
        goto out_mxid;
    }

    char *bare = ids_jid_bare(m.from);
    char *peer = ids_jid_bare(m.to);
    const char *dedupe_id = xmsg_dedupe_id(&m);
    if (dedupe_id) {
        char *event_id = NULL;
        if (store_inbound_get(gw->store, bare, peer, dedupe_id, &event_id) ==
            1) {
            /* A resend: bridged already (or on its way). Confirm again if
             * it is done, so the client stops resending. */
            if (event_id && m.receipt_requested && m.id) {
                xmpp_stanza_t *r = xmsg_receipt(gw->xmpp, m.to, m.from, m.id);
                gateway_send_now(gw, r);
                xmpp_stanza_release(r);
            }
            log_debug("xmpp: %s resent %s to %s; not bridged twice", bare,
                      dedupe_id, peer);
            free(event_id);
            free(bare);
            free(peer);
            goto out_mxid;
        }
    }
    if (!ratelimit_allow(gw->senders, bare, gateway_now_ms())) {
        reply_error(gw, st, "wait", "resource-constraint",
                    "You are sending messages faster than the gateway "
                    "accepts; this one was not delivered. Slow down.");
        free(bare);
        free(peer);
        goto out_mxid;
    }
    char *xml = xmsg_stanza_to_xml(st);
    if (!xml) {
        reply_error(gw, st, "wait", "internal-server-error", NULL);
        free(bare);
        free(peer);
        goto out_mxid;
    }
    char *queue = xasprintf("x2m %s %s", bare, target);
    int64_t item_id;
    if ((item_id = store_outbox_add(gw->store, queue, OUTBOX_XMPP_INBOUND, xml,
                                    gateway_now_ms())) < 0 ||
        (dedupe_id &&
         store_inbound_add(gw->store, bare, peer, dedupe_id,
                           gateway_now_ms()) < 0))
        reply_error(gw, st, "wait", "internal-server-error",
                    "the gateway could not store the message; send it again");
    else {
        gw->stanza_start = metrics_point_now();
        gw->live_stanza = st;
        gw->live_item_id = item_id;
        queues_kick(gw, queue);
        gw->live_stanza = NULL;
        gw->live_item_id = 0;
        gw->stanza_start.wall_us = 0;
    }
    free(queue);
    free(bare);
    free(peer);
    free(xml);
out_mxid:
    free(mxid);
out_target:
    free(target);
out:
    xmsg_free(&m);
}

/* ------------------------------------------------------------ presence -- */

static void send_presence(struct gateway *gw, const char *from, const char *to,
                          const char *type)
{
    xmpp_stanza_t *p = presence_new(gw->xmpp, from, to, type);
    gateway_send_now(gw, p);
    xmpp_stanza_release(p);
}

static void on_presence(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *type = xmpp_stanza_get_type(st);
    const char *from = xmpp_stanza_get_from(st);
    const char *to = xmpp_stanza_get_to(st);
    if (!to || !from_is_acceptable(gw, from) || portal_xmpp_stanza(gw, st))
        return;
    char *target = NULL;
    enum ids_matrix_kind kind;
    const char *why;
    bool known = ids_jid_to_matrix(&gw->ids, to, &target, &kind, &why) == 0;
    if (known && kind != IDS_MATRIX_USER) {
        if (!type || strcmp(type, "unavailable") == 0)
            presence_xmpp_presence(gw, st); /* show and status in a room */
        muc_gateway_presence(gw, st, target);
        free(target);
        return;
    }
    if (!type || strcmp(type, "unavailable") == 0) {
        if (known)
            presence_xmpp_presence(gw, st);
        free(target);
        return;
    }
    char *bare_to = ids_jid_bare(to);
    char *bare_from = ids_jid_bare(from);
    if (strcmp(type, "subscribe") == 0) {
        /* Ghosts accept everyone, so they can sit in any roster. */
        send_presence(gw, bare_to, bare_from, known ? "subscribed"
                                                    : "unsubscribed");
        if (known) {
            presence_subscribed(gw, target, bare_from, true);
            presence_send_current(gw, target, from);
            /* Her presence reaches the Matrix user only if the JID is
             * subscribed to her too (her server answers on its own when
             * it already is). */
            send_presence(gw, bare_to, bare_from, "subscribe");
        }
    } else if (strcmp(type, "probe") == 0) {
        if (known)
            presence_send_current(gw, target, from);
        else
            send_presence(gw, bare_to, from, "unsubscribed");
    } else if (strcmp(type, "unsubscribe") == 0) {
        send_presence(gw, bare_to, bare_from, "unsubscribed");
        if (known)
            presence_subscribed(gw, target, bare_from, false);
    }
    free(target);
    free(bare_to);
    free(bare_from);
}

/* ------------------------------------------------------------------ iq -- */

static const char *const domain_features[] = {
    NS_DISCO_INFO, NS_DISCO_ITEMS, NS_VERSION, NS_PING, NS_VCARD, NULL
};
static const char *const muc_features[] = {
    NS_DISCO_INFO, "http://jabber.org/protocol/muc", "muc_nonanonymous",
    "muc_persistent", "muc_open", "urn:xmpp:sid:0", NS_REACTIONS,
    NS_RETRACT, NS_MODERATE, NS_MODERATE_LEGACY, NS_CHATSTATES,
    NS_CHAT_MARKERS, NS_MAM, NULL
};
static const char *const user_features[] = {
    NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VCARD, NS_RECEIPTS,
    NS_REACTIONS, NS_RETRACT, NS_CHATSTATES, NS_CHAT_MARKERS, NS_MAM, NULL
};

struct vcard_job {
    struct gateway *gw;
    xmpp_stanza_t *iq;
    char *mxid;
};

static void on_profile(const struct mx_response *r,
                       const struct mx_profile *res, void *ud)
{
    struct vcard_job *j = ud;
    if (res) {
        const char *name = res->displayname;
        avatars_vcard_reply(j->gw, j->iq, name ? name : j->mxid, name,
                            res->avatar_url);
    } else if (r->status == 404) {
        reply_error(j->gw, j->iq, "cancel", "item-not-found",
                    "no such Matrix user");
    } else {
        reply_error(j->gw, j->iq, "wait", "remote-server-timeout", r->error);
    }
    xmpp_stanza_release(j->iq);
    free(j->mxid);
    free(j);
}

static void on_iq(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *type = xmpp_stanza_get_type(st);
    const char *to = xmpp_stanza_get_to(st);
    if (!type || (strcmp(type, "get") != 0 && strcmp(type, "set") != 0))
        return; /* untracked results and errors */
    if (!to || !xmpp_stanza_get_id(st)) {
        reply_error(gw, st, "modify", "bad-request", "an iq needs to and id");
        return;
    }
    xmpp_stanza_t *payload = xmpp_stanza_get_children(st);
    while (payload && !xmpp_stanza_is_tag(payload))
        payload = xmpp_stanza_get_next(payload);
    const char *ns = payload ? xmpp_stanza_get_ns(payload) : NULL;
    if (!ns) {
        reply_error(gw, st, "modify", "bad-request", "the iq has no payload");
        return;
    }
    bool get = strcmp(type, "get") == 0;
    char *bare_to = ids_jid_bare(to);
    bool to_domain = strcmp(bare_to, gw->ids.component) == 0;
    char *mxid = NULL;
    const char *why = NULL;
    if (!to_domain && ids_jid_to_matrix(&gw->ids, bare_to, &mxid, NULL, &why) < 0) {
        reply_error(gw, st, "cancel", "item-not-found", why);
        free(bare_to);
        return;
    }
    xmpp_stanza_t *res = NULL;
    if (get && strcmp(ns, NS_DISCO_INFO) == 0) {
        struct disco_identity gw_id = { "gateway", "matrix", "isthmus" };
        struct disco_identity user_id = { "account", "registered", NULL };
        struct disco_identity room_id = { "conference", "text", mxid };
        bool room = !to_domain && mxid[0] != '@';
        res = disco_info_result(gw->xmpp, st,
                                to_domain ? &gw_id : room ? &room_id : &user_id,
                                to_domain ? domain_features
                                : room    ? muc_features
                                          : user_features);
    } else if (get && strcmp(ns, NS_DISCO_ITEMS) == 0 && to_domain) {
        muc_gateway_directory(gw, st);
    } else if (get && strcmp(ns, NS_DISCO_ITEMS) == 0) {
        res = disco_items_result(gw->xmpp, st);
    } else if (!get && !to_domain && mxid[0] != '@' &&
               (strcmp(ns, NS_MODERATE) == 0 ||
                strcmp(ns, NS_FASTEN) == 0)) {
        retractions_moderate_iq(gw, st);
    } else if (!to_domain && strcmp(ns, NS_MAM) == 0) {
        /* History of a gateway MUC or of a DM (gateway/mam.c). */
        mam_query(gw, st, payload, mxid);
    } else if (get && strcmp(ns, NS_PING) == 0) {
        res = empty_result(gw->xmpp, st);
    } else if (get && to_domain && strcmp(ns, NS_VERSION) == 0) {
        res = version_result(gw->xmpp, st, "isthmus", PACKAGE_VERSION);
    } else if (get && !to_domain && mxid[0] == '@' &&
               strcmp(ns, NS_PUBSUB) == 0 &&
               avatars_pubsub_get(gw, st, mxid)) {
        /* XEP-0084: answered by avatars.c */
    } else if (get && strcmp(ns, NS_VCARD) == 0) {
        /* A Matrix member's occupant JID in a gateway room serves their
         * vCard (XEP-0153 clients ask occupants for avatars). */
        char *member = !to_domain && mxid[0] != '@'
                           ? muc_gateway_member_at(gw, xmpp_stanza_get_from(st),
                                                   to)
                           : NULL;
        if (member) {
            free(mxid);
            mxid = member;
        }
        if (to_domain) {
            res = vcard_result(gw->xmpp, st, "isthmus XMPP-Matrix gateway",
                               NULL);
        } else if (mxid[0] == '@') {
            struct vcard_job *j = xcalloc(1, sizeof *j);
            j->gw = gw;
            j->iq = xmpp_stanza_copy(st);
            j->mxid = xstrdup(mxid);
            mx_profile_get(gw->mx, mxid, 2, on_profile, j);
        } else {
            res = vcard_result(gw->xmpp, st, mxid, NULL);
        }
    } else {
        reply_error(gw, st, "cancel", "service-unavailable",
                    "this entity does not support that request");
    }
    if (res) {
        gateway_send_now(gw, res);
        xmpp_stanza_release(res);
    }
    free(mxid);
    free(bare_to);
}

void xmpp_inbound_stanza(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *name = xmpp_stanza_get_name(st);
    if (!name || catchup_take_stanza(gw, st))
        return;
    if (strcmp(name, "message") == 0)
        on_message(gw, st);
    else if (strcmp(name, "presence") == 0)
        on_presence(gw, st);
    else if (strcmp(name, "iq") == 0)
        on_iq(gw, st);
}
