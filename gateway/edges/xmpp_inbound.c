/* Every stanza the XMPP server hands the component lands here first.
 * Messages are checked, then written to the outbox before any further
 * work (DESIGN.md §4); presence and iq are answered on the spot. */
#include "gateway/edges/xmpp_inbound.h"

#include "gateway/features/members.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "gateway/features/catchup.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/features/mam.h"
#include "gateway/features/avatars.h"
#include "gateway/features/addresses.h"
#include "gateway/features/commands_xmpp.h"
#include "gateway/features/encrypted.h"
#include "gateway/features/omemo.h"
#include "xep/encrypted.h"
#include "gateway/base/metrics.h"
#include "gateway/room/affiliations.h"
#include "gateway/room/muc_gateway.h"
#include "gateway/room/relay.h"
#include "gateway/room/directory.h"
#include "gateway/portal/portal.h"
#include "gateway/features/presence.h"
#include "gateway/base/queues.h"
#include "gateway/core/ratelimit.h"
#include "gateway/features/markers.h"
#include "gateway/features/retractions.h"
#include "gateway/features/chatstates.h"
#include "xep/chatstates.h"
#include "xep/adhoc.h"
#include "xep/avatars.h"
#include "xep/iq_gateway.h"
#include "xep/disco.h"
#include "xep/markers.h"
#include "xep/mam.h"
#include "xep/muc.h"
#include "xep/message.h"
#include "xep/reactions.h"
#include "xep/retractions.h"
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

/* How a message came: live from the server, or out of an archive the
 * catch-up read (features/catchup.c), sent at ts. An archived message is
 * taken in quietly: whatever refused it then was told then, or was lost
 * with it, and a second error about an old message only confuses. */
struct arrival {
    bool archived;
    int64_t ts;
};

static void refuse(struct gateway *gw, xmpp_stanza_t *st,
                   const struct arrival *a, const char *type,
                   const char *condition, const char *text)
{
    if (a->archived)
        log_info("catchup: an archived message was not bridged: %s",
                 text ? text : condition);
    else
        reply_error(gw, st, type, condition, text);
}

/* Returns true when the message was taken in as a new one (written to
 * the outbox). */
static bool on_message_at(struct gateway *gw, xmpp_stanza_t *st,
                          const struct arrival *a)
{
    struct xmsg m;
    const char *why;
    bool taken = false;
    if (omemo_pubsub_event(gw, st))
        return false; /* a contact's OMEMO devices changed */
    /* An OMEMO message to a puppet is decrypted first; from here on it is
     * the message as if it had been sent in clear (only in memory). */
    xmpp_stanza_t *plain = NULL;
    switch (omemo_xmpp_decrypt(gw, st, &plain, &why)) {
    case OMEMO_IN_PLAIN:
        if (xencrypted_decrypted_from(st)) {
            refuse(gw, st, a, "modify", "bad-request",
                   "the message carries the gateway's own decryption mark");
            return false;
        }
        break;
    case OMEMO_IN_DECRYPTED:
        st = plain;
        break;
    case OMEMO_IN_CONSUMED:
        return false;
    case OMEMO_IN_FAILED:
        /* From the archive (the catch-up), a message that no longer
         * decrypts is one taken in before: its keys are used up. */
        if (a->archived)
            log_debug("xmpp: an archived OMEMO message did not decrypt "
                      "(taken in before): %s", why);
        else
            encrypted_xmpp_undecryptable(gw, st, why);
        return false;
    }
    /* Parsed here, once, whatever the conversation. */
    if (xmsg_parse(st, &m, &why) < 0) {
        refuse(gw, st, a, "modify", "bad-request", why);
        if (plain)
            xmpp_stanza_release(plain);
        return false;
    }
    if (from_is_acceptable(gw, m.from) && portal_xmpp_message(gw, st, &m))
        goto out;
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
    /* While the sender's archive is read, their messages wait behind
     * what it gives back (they are in it too: resends then). */
    if (!a->archived && catchup_defer(gw, st, m.from))
        goto out;
    if (!a->archived) {
        typing_xmpp_message(gw, &m);
        receipts_xmpp_message(gw, &m);
    }
    if (m.encryption) {
        encrypted_refuse_xmpp(gw, st, m.encryption);
        goto out;
    }
    /* Reactions and retractions need no body (a retraction's body is only
     * a fallback); they travel the messages' path, in order with them. */
    if (m.reactions_error) {
        refuse(gw, st, a, "modify", "bad-request", m.reactions_error);
        goto out;
    }
    bool fastened = m.reactions.id || m.retract_id;
    if (!m.body && !fastened)
        goto out; /* nothing else to bridge */

    char *mxid = NULL, *target = NULL;
    enum ids_matrix_kind kind;
    if (ids_jid_to_matrix(&gw->ids, m.to, &target, &kind, &why) < 0) {
        char *text = addresses_explain(gw, m.to, why);
        refuse(gw, st, a, "cancel", "item-not-found", text);
        free(text);
        goto out;
    }
    bool groupchat = strcmp(m.type, "groupchat") == 0;
    struct store_occupant occupant = { 0 };
    if (groupchat && kind != IDS_MATRIX_USER) {
        char *muc_jid = ids_jid_bare(m.to);
        int found = members_occupant(gw, m.from, muc_jid, &occupant);
        free(muc_jid);
        if (found != 1) {
            refuse(gw, st, a, "modify", "not-acceptable",
                        "join the room before writing to it");
            goto out_target;
        }
        free(target);
        target = xstrdup(occupant.room_id);
        store_occupant_free(&occupant);
    } else if (kind != IDS_MATRIX_USER || groupchat) {
        refuse(gw, st, a, "cancel", "feature-not-implemented",
                    "Matrix rooms are reached by joining them as a MUC; "
                    "private messages to room occupants are not supported");
        goto out_target;
    }
    if (ids_jid_to_ghost(&gw->ids, m.from, &mxid, &why) < 0) {
        refuse(gw, st, a, "cancel", "not-allowed", why);
        goto out_target;
    }
    if (m.body && strlen(m.body) > (size_t)gw->cfg.max_event_body) {
        char *text = xasprintf("The message is %zu bytes long; Matrix accepts "
                               "at most %d bytes in one message. It was not "
                               "delivered.", strlen(m.body),
                               gw->cfg.max_event_body);
        refuse(gw, st, a, "modify", "not-acceptable", text);
        free(text);
        goto out_mxid;
    }

    char *bare = ids_jid_bare(m.from);
    char *peer = ids_jid_bare(m.to);
    if (!groupchat)
        omemo_peer_meet(gw, peer, bare, NULL, NULL);
    const char *dedupe_id = xmsg_dedupe_id(&m);
    if (dedupe_id) {
        char *event_id = NULL;
        if (store_inbound_get(gw->store, bare, peer, dedupe_id, &event_id) ==
            1) {
            /* A resend: bridged already (or on its way). Confirm again if
             * it is done, so the client stops resending. */
            if (event_id && m.receipt_requested && m.id && !a->archived) {
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
    if (!a->archived &&
        !ratelimit_allow(gw->senders, bare, gateway_now_ms())) {
        refuse(gw, st, a, "wait", "resource-constraint",
                    "You are sending messages faster than the gateway "
                    "accepts; this one was not delivered. Slow down.");
        free(bare);
        free(peer);
        goto out_mxid;
    }
    char *xml = xmsg_stanza_to_xml(st);
    if (!xml) {
        refuse(gw, st, a, "wait", "internal-server-error", NULL);
        free(bare);
        free(peer);
        goto out_mxid;
    }
    char *queue = xasprintf("x2m %s %s", bare, target);
    int64_t item_id;
    if ((item_id = store_outbox_add(gw->store, queue, OUTBOX_XMPP_INBOUND, xml,
                                    a->archived ? a->ts
                                                : gateway_now_ms())) < 0 ||
        (dedupe_id &&
         store_inbound_add(gw->store, bare, peer, dedupe_id,
                           gateway_now_ms()) < 0))
        refuse(gw, st, a, "wait", "internal-server-error",
                    "the gateway could not store the message; send it again");
    else {
        taken = true;
        if (!a->archived)
            gw->stanza_start = metrics_point_now();
        queues_kick_live(gw, queue, item_id, st, &m);
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
    if (plain)
        xmpp_stanza_release(plain);
    return taken;
}

static void on_message(struct gateway *gw, xmpp_stanza_t *st)
{
    struct arrival live = { false, 0 };
    on_message_at(gw, st, &live);
}

bool xmpp_inbound_take_in(struct gateway *gw, xmpp_stanza_t *st,
                          int64_t ts_ms)
{
    struct arrival a = { ts_ms != 0, ts_ms };
    return on_message_at(gw, st, &a);
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
    if (!to || !from_is_acceptable(gw, from) || portal_xmpp_presence(gw, st))
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
    char *bare_to = ids_jid_bare(to);
    char *bare_from = ids_jid_bare(from);
    if (!type || strcmp(type, "unavailable") == 0) {
        if (known)
            presence_xmpp_presence(gw, st);
        /* A contact coming online gets the puppet's OMEMO devices, as
         * from a PEP service. */
        if (known && !type)
            omemo_announce(gw, bare_to, from, false);
        free(target);
        free(bare_to);
        free(bare_from);
        return;
    }
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
            omemo_announce(gw, bare_to, bare_from, true);
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
    NS_DISCO_INFO, NS_DISCO_ITEMS, NS_VERSION, NS_PING, NS_VCARD,
    NS_COMMANDS, NS_IQ_GATEWAY, NULL
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

/* ---------------------------------------------------- iq by namespace -- */

/* What an iq handler sees: *mxid is the Matrix id the iq is addressed to
 * (NULL for the gateway's domain; a handler may replace it, the caller
 * frees it), res the answer to send, if any. */
struct iq_ctx {
    struct gateway *gw;
    xmpp_stanza_t *st;
    xmpp_stanza_t *payload;
    const char *to;
    char *mxid;
    bool to_domain;
    xmpp_stanza_t *res;
};

enum { IQ_GET = 1, IQ_SET = 2, IQ_ANY = 3 };
/* Who an iq is addressed to: the gateway's domain, a Matrix user's JID,
 * or a gateway-mode room. */
enum { TO_DOMAIN = 1, TO_USER = 2, TO_ROOM = 4, TO_ANY = 7 };

static int target_of(const struct iq_ctx *c)
{
    if (c->to_domain)
        return TO_DOMAIN;
    return c->mxid[0] == '@' ? TO_USER : TO_ROOM;
}

static bool iq_disco_info(struct iq_ctx *c)
{
    struct disco_identity gw_id = { "gateway", "matrix", "isthmus" };
    struct disco_identity user_id = { "account", "registered", NULL };
    struct disco_identity room_id = { "conference", "text", c->mxid };
    bool room = !c->to_domain && c->mxid[0] != '@';
    xmpp_stanza_t *res = disco_info_result(c->gw->xmpp, c->st,
                                           c->to_domain ? &gw_id
                                           : room       ? &room_id
                                                        : &user_id,
                                           c->to_domain ? domain_features
                                           : room       ? muc_gateway_features(
                                                              c->gw, xmpp_stanza_get_from(c->st),
                                                              c->to)
                                                        : presence_puppet_features);
    /* A Matrix user who does not exist is no entity (item-not-found):
     * the homeserver is asked first. */
    if (target_of(c) == TO_USER)
        addresses_answer_if_user_exists(c->gw, c->st, c->mxid, res);
    else
        c->res = res;
    return true;
}

/* XEP-0050: the list of commands, on the commands node; any other node
 * is the room directory's (the next route). */
static bool iq_command_list(struct iq_ctx *c)
{
    const char *node = xmpp_stanza_get_attribute(c->payload, "node");
    if (!node || strcmp(node, NS_COMMANDS) != 0)
        return false;
    c->res = commands_xmpp_items(c->gw, c->st);
    return true;
}

static bool iq_command(struct iq_ctx *c)
{
    c->res = commands_xmpp_execute(c->gw, c->st);
    return true;
}

/* XEP-0100: a Matrix user ID in, the JID to write to out. */
static bool iq_gateway(struct iq_ctx *c)
{
    c->res = addresses_iq_gateway(c->gw, c->st);
    return true;
}

static bool iq_directory(struct iq_ctx *c)
{
    room_directory(c->gw, c->st);
    return true;
}

static bool iq_disco_items(struct iq_ctx *c)
{
    c->res = disco_items_result(c->gw->xmpp, c->st);
    return true;
}

/* muc#admin: the affiliation lists OMEMO clients read real JIDs from. */
static bool iq_affiliations(struct iq_ctx *c)
{
    room_affiliations_iq(c->gw, c->st);
    return true;
}

static bool iq_moderate(struct iq_ctx *c)
{
    retractions_moderate_iq(c->gw, c->st);
    return true;
}

/* History of a gateway MUC or of a DM (gateway/features/mam.c). */
static bool iq_mam(struct iq_ctx *c)
{
    mam_query(c->gw, c->st, c->payload, c->mxid);
    return true;
}

static bool iq_ping(struct iq_ctx *c)
{
    c->res = empty_result(c->gw->xmpp, c->st);
    return true;
}

static bool iq_version(struct iq_ctx *c)
{
    c->res = version_result(c->gw->xmpp, c->st, "isthmus", PACKAGE_VERSION);
    return true;
}

/* XEP-0084: answered by avatars.c, when it is an avatar request. */
static bool iq_pubsub(struct iq_ctx *c)
{
    char *puppet = ids_jid_bare(c->to);
    bool done = omemo_pubsub_get(c->gw, c->st, puppet) ||
                avatars_pubsub_get(c->gw, c->st, c->mxid);
    free(puppet);
    return done;
}

static bool iq_vcard(struct iq_ctx *c)
{
    struct gateway *gw = c->gw;
    /* A Matrix member's occupant JID in a gateway room serves their
     * vCard (XEP-0153 clients ask occupants for avatars). */
    char *member = !c->to_domain && c->mxid[0] != '@'
                       ? room_member_at(gw, xmpp_stanza_get_from(c->st), c->to)
                       : NULL;
    if (member) {
        free(c->mxid);
        c->mxid = member;
    }
    if (c->to_domain) {
        c->res = vcard_result(gw->xmpp, c->st, "isthmus XMPP-Matrix gateway",
                              NULL);
    } else if (c->mxid[0] == '@') {
        struct vcard_job *j = xcalloc(1, sizeof *j);
        j->gw = gw;
        j->iq = xmpp_stanza_copy(c->st);
        j->mxid = xstrdup(c->mxid);
        mx_profile_get(gw->mx, c->mxid, 2, on_profile, j);
    } else {
        c->res = vcard_result(gw->xmpp, c->st, c->mxid, NULL);
    }
    return true;
}

/* The iqs the gateway answers, by payload namespace, type and addressee:
 * the first entry that matches and whose handler takes the iq wins, so
 * the order matters where one namespace has several entries. */
struct iq_route {
    const char *ns;
    int types;   /* IQ_* */
    int targets; /* TO_* */
    bool (*run)(struct iq_ctx *c);
};

static const struct iq_route iq_routes[] = {
    { NS_DISCO_INFO, IQ_GET, TO_ANY, iq_disco_info },
    { NS_DISCO_ITEMS, IQ_GET, TO_DOMAIN, iq_command_list },
    { NS_DISCO_ITEMS, IQ_GET, TO_DOMAIN, iq_directory },
    { NS_COMMANDS, IQ_SET, TO_DOMAIN, iq_command },
    { NS_IQ_GATEWAY, IQ_ANY, TO_DOMAIN, iq_gateway },
    { NS_DISCO_ITEMS, IQ_GET, TO_USER | TO_ROOM, iq_disco_items },
    { NS_MODERATE, IQ_SET, TO_ROOM, iq_moderate },
    { NS_MUC_ADMIN, IQ_ANY, TO_ROOM, iq_affiliations },
    { NS_FASTEN, IQ_SET, TO_ROOM, iq_moderate },
    { NS_MAM, IQ_ANY, TO_USER | TO_ROOM, iq_mam },
    { NS_PING, IQ_GET, TO_ANY, iq_ping },
    { NS_VERSION, IQ_GET, TO_DOMAIN, iq_version },
    { NS_PUBSUB, IQ_GET, TO_USER, iq_pubsub },
    { NS_VCARD, IQ_GET, TO_ANY, iq_vcard },
    { NULL, 0, 0, NULL },
};

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
        char *text = addresses_explain(gw, bare_to, why);
        reply_error(gw, st, "cancel", "item-not-found", text);
        free(text);
        free(bare_to);
        return;
    }
    struct iq_ctx c = { gw, st, payload, to, mxid, to_domain, NULL };
    const struct iq_route *r = iq_routes;
    int type_bit = get ? IQ_GET : IQ_SET, target = target_of(&c);
    for (; r->ns; r++)
        if (strcmp(ns, r->ns) == 0 && (r->types & type_bit) &&
            (r->targets & target) && r->run(&c))
            break;
    if (!r->ns)
        reply_error(gw, st, "cancel", "service-unavailable",
                    "this entity does not support that request");
    mxid = c.mxid;
    xmpp_stanza_t *res = c.res;
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
