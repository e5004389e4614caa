/* Portal mode: creating portal rooms (an alias query, or an invitation
 * to a MUC) after checking the MUC exists (see create.h). */
#include "gateway/portal/create.h"

#include "gateway/portal/common.h"

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
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/reactions.h"
#include "xep/retractions.h"
#include "xep/xml.h"
#include <stdlib.h>
#include <string.h>

#define DISCO_TIMEOUT_MS 5000

/* ------------------------------------------- creating portal rooms -- */

/* room_id is NULL if the room exists but is not known here (another query
 * created it meanwhile); error is set when !ok. */
typedef void (*portal_ready_cb)(struct gateway *gw, bool ok,
                                const char *room_id, const char *error,
                                void *ud);

struct create_job {
    struct gateway *gw;
    char *muc_jid;
    portal_ready_cb cb;
    void *ud;
};

static void create_job_end(struct create_job *j, bool ok, const char *room_id,
                           const char *error)
{
    j->cb(j->gw, ok, room_id, error, j->ud);
    free(j->muc_jid);
    free(j);
}

static void on_room_created(const struct mx_response *r,
                            const struct mx_room_id *res, void *ud)
{
    struct create_job *j = ud;
    const char *room_id = res ? res->room_id : NULL;
    if (room_id) {
        struct store_room room = { (char *)room_id, ROOM_PORTAL, j->muc_jid,
                                   NULL };
        store_room_put(j->gw->store, &room, gateway_now_ms());
        log_info("portal: created %s for %s", room_id, j->muc_jid);
        create_job_end(j, true, room_id, NULL);
    } else if (r->errcode && strcmp(r->errcode, "M_ROOM_IN_USE") == 0) {
        create_job_end(j, true, NULL, NULL); /* the alias exists by now */
    } else {
        log_warn("portal: could not create a room for %s: %s", j->muc_jid,
                 r->error);
        create_job_end(j, false, NULL, r->error);
    }
}

static void create_room(struct create_job *j, const char *name)
{
    char *alias = NULL;
    const char *why;
    if (ids_muc_to_alias(&j->gw->ids, j->muc_jid, &alias, &why) < 0) {
        create_job_end(j, false, NULL, why);
        return;
    }
    char *localpart = xstrndup(alias + 1, strcspn(alias + 1, ":"));
    /* Anyone may set the topic: the MUC decides who may change the
     * subject, and refuses the others. */
    struct mx_create_room opts = {
        .room_alias_name = localpart,
        .name = name && *name ? name : j->muc_jid,
        .preset = "public_chat",
        .visibility = "private",
        .power_level_content_override =
            json_pack("{s:{s:i}}", "events", "m.room.topic", 0),
    };
    mx_create_room(j->gw->mx, NULL, &opts, 3, on_room_created, j);
    free(localpart);
    free(alias);
}

static void on_disco_info(xmpp_stanza_t *result, void *ud)
{
    struct create_job *j = ud;
    const char *type = result ? xmpp_stanza_get_type(result) : NULL;
    if (!result || !type || strcmp(type, "result") != 0) {
        create_job_end(j, false, NULL, result ? "there is no such XMPP room"
                                              : "the XMPP room did not answer");
        return;
    }
    xmpp_stanza_t *q = xmpp_stanza_get_child_by_name_and_ns(result, "query",
                                                            NS_DISCO_INFO);
    const char *name = NULL;
    bool conference = false;
    for (xmpp_stanza_t *c = q ? xmpp_stanza_get_children(q) : NULL; c;
         c = xmpp_stanza_get_next(c)) {
        const char *cn = xmpp_stanza_get_name(c);
        const char *cat = xmpp_stanza_get_attribute(c, "category");
        if (cn && cat && strcmp(cn, "identity") == 0 &&
            strcmp(cat, "conference") == 0) {
            conference = true;
            name = xmpp_stanza_get_attribute(c, "name");
        }
    }
    if (!conference) {
        create_job_end(j, false, NULL, "that XMPP address is not a room");
        return;
    }
    create_room(j, name);
}

/* Finds the MUC's portal room, or checks that the MUC exists and creates
 * one. cb runs exactly once. */
static void portal_ensure(struct gateway *gw, const char *muc_jid,
                          portal_ready_cb cb, void *ud)
{
    struct store_room room;
    if (store_room_find_portal(gw->store, muc_jid, &room) == 1) {
        cb(gw, true, room.room_id, NULL, ud);
        store_room_free(&room);
        return;
    }
    struct create_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->muc_jid = xstrdup(muc_jid);
    j->cb = cb;
    j->ud = ud;
    struct component_query q = { .to = muc_jid, .name = "query",
                                 .ns = NS_DISCO_INFO };
    if (component_query(gw->component, &q, DISCO_TIMEOUT_MS, on_disco_info,
                        j) < 0)
        create_job_end(j, false, NULL, "the XMPP server is not reachable");
}

static void on_alias_ready(struct gateway *gw, bool ok, const char *room_id,
                           const char *error, void *ud)
{
    (void)gw;
    (void)room_id;
    struct as_request *req = ud;
    if (ok)
        as_request_reply(req, 200, NULL);
    else
        as_request_reply_error(req, 404, "M_NOT_FOUND", error);
}

static void on_alias_restored(const struct mx_response *r, void *ud)
{
    struct as_request *req = ud;
    if (r->status == 200)
        as_request_reply(req, 200, NULL);
    else
        as_request_reply_error(req, 404, "M_NOT_FOUND", r->error);
}

void portal_alias_query(struct gateway *gw, struct as_request *req,
                        const char *alias)
{
    char *muc_jid = NULL;
    const char *why;
    if (ids_alias_to_muc(&gw->ids, alias, &muc_jid, &why) < 0) {
        as_request_reply_error(req, 404, "M_NOT_FOUND", why);
        return;
    }
    struct store_room room;
    if (store_room_find_portal(gw->store, muc_jid, &room) == 1) {
        /* The portal exists but its alias was removed: point it back. */
        mx_alias_put(gw->mx, alias, room.room_id, 3, on_alias_restored, req);
        store_room_free(&room);
    } else {
        portal_ensure(gw, muc_jid, on_alias_ready, req);
    }
    free(muc_jid);
}

/* ------------------------------------------------------------ invites -- */

struct invite_job {
    char *mxid;
    char *muc_jid;
    char *inviter;
};

static void on_invite_ready(struct gateway *gw, bool ok, const char *room_id,
                            const char *error, void *ud)
{
    struct invite_job *j = ud;
    struct store_room room = { 0 };
    if (ok && !room_id &&
        store_room_find_portal(gw->store, j->muc_jid, &room) == 1)
        room_id = room.room_id;
    if (!ok || !room_id) {
        log_warn("portal: cannot invite %s to %s: %s", j->mxid, j->muc_jid,
                 error ? error : "the portal room is unknown");
    } else {
        char *reason = xasprintf("%s invites you to the XMPP room %s",
                                 j->inviter ? j->inviter : "someone",
                                 j->muc_jid);
        mx_invite(gw->mx, room_id, j->mxid, reason, NULL, 3, portal_on_call_logged,
                  xstrdup("an invite"));
        log_info("portal: %s invites %s to %s", j->inviter, j->mxid,
                 j->muc_jid);
        free(reason);
    }
    store_room_free(&room);
    free(j->mxid);
    free(j->muc_jid);
    free(j->inviter);
    free(j);
}

/* A XEP-0249 direct or XEP-0045 mediated invitation to a Matrix user's
 * JID becomes an invitation to the portal room. */
bool portal_handle_invite(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *inviter;
    const char *muc = muc_invite_room(st, &inviter);
    const char *to = xmpp_stanza_get_to(st);
    if (!muc || !to)
        return false;
    char *mxid = NULL;
    enum ids_matrix_kind kind;
    const char *why;
    if (ids_jid_to_matrix(&gw->ids, to, &mxid, &kind, &why) < 0 ||
        kind != IDS_MATRIX_USER) {
        free(mxid);
        return false;
    }
    char *muc_jid = ids_jid_bare(muc);
    if (!ids_jid_is_valid_bare(muc_jid, &why) || !strchr(muc_jid, '@')) {
        log_info("portal: ignoring an invite to %s: %s", muc, why);
        free(muc_jid);
        free(mxid);
        return true;
    }
    struct invite_job *j = xcalloc(1, sizeof *j);
    j->mxid = mxid;
    j->muc_jid = muc_jid;
    j->inviter = inviter ? ids_jid_bare(inviter) : NULL;
    portal_ensure(gw, muc_jid, on_invite_ready, j);
    return true;
}
