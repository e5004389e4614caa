/* Read positions: Matrix m.receipt <-> XEP-0333 chat markers.
 *
 * The store keeps one read position per person per room (a Matrix user,
 * or an XMPP user by their ghost): the last message the other side was
 * told they read. It only moves forward, so each side hears of a read
 * once, and never of an older message than before.
 *
 * XEP-0184 delivery receipts are not read receipts, and Matrix has no
 * delivery receipt: a <received/> from XMPP crosses as nothing (the
 * gateway itself answers <request/> when a message reaches the
 * homeserver, see gateway/edges/to_matrix.c). XEP-0333 <acknowledged/> implies
 * <displayed/> and counts as one. */
#include "gateway/features/markers.h"

#include "common/log.h"
#include "matrix/event_ephemeral.h"
#include "common/mem.h"
#include "gateway/features/conversation.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "gateway/base/matrix_calls.h"
#include "gateway/base/metrics.h"
#include "xep/markers.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------- Matrix -> XMPP -- */

/* The id the XMPP side knows message x by: in gateway-mode rooms the
 * stanza-id the room stamps, which is the event id; elsewhere the id the
 * XMPP sender gave it (a portal's XMPP messages keep the MUC's
 * stanza-id there). */
static const char *marker_id(const struct store_room *room,
                             const struct store_message *x)
{
    if (room->mode == ROOM_GATEWAY)
        return x->event_id;
    return x->stanza_id ? x->stanza_id
                        : x->origin_id ? x->origin_id : x->event_id;
}

/* Matrix user mxid read up to event_id, at read_ts (0 if unknown): the
 * newest XMPP message at or before it is marked displayed, if no later one
 * was. */
/* Receipts for events not (yet) in the store. The receipt for a message
 * from XMPP can come before the answer to the request that sent it (the
 * reader's client saw the event first), so such a receipt is tried again
 * when the message is stored. A few are enough: it is a short race. */
#define PENDING_MAX 64
#define PENDING_TTL_MS 60000
static struct pending_read {
    char *room_id, *mxid, *event_id;
    int64_t read_ts, added_ms;
} pending[PENDING_MAX];

static void pending_clear(struct pending_read *p)
{
    free(p->room_id);
    free(p->mxid);
    free(p->event_id);
    memset(p, 0, sizeof *p);
}

static void pending_add(const char *room_id, const char *mxid,
                        const char *event_id, int64_t read_ts)
{
    int64_t now = gateway_now_ms();
    struct pending_read *slot = &pending[0];
    for (int i = 0; i < PENDING_MAX; i++) {
        struct pending_read *p = &pending[i];
        if (p->event_id && now - p->added_ms > PENDING_TTL_MS)
            pending_clear(p);
        if (!p->event_id || p->added_ms < slot->added_ms)
            slot = p; /* a free slot, else the oldest */
        if (!p->event_id)
            break;
    }
    pending_clear(slot);
    *slot = (struct pending_read){ xstrdup(room_id), xstrdup(mxid),
                                   xstrdup(event_id), read_ts, now };
}

static void matrix_read(struct gateway *gw, const struct store_room *room,
                        const char *mxid, const char *event_id,
                        int64_t read_ts)
{
    struct store_order at, x_at;
    struct store_message x;
    if (store_message_order(gw->store, event_id, &at) != 1) {
        pending_add(room->room_id, mxid, event_id, read_ts);
        /* An event that never crossed (a reaction, a state event): clients
         * put the receipt on the newest event they show, so what had
         * arrived when it was read is what was read. */
        if (read_ts <= 0) {
            log_debug("receipts: %s read %s, which never crossed", mxid,
                      event_id);
            return;
        }
        at.ts = read_ts;
        at.seq = INT64_MAX;
    }
    if (store_message_last_from_xmpp(gw->store, room->room_id, &at, &x,
                                     &x_at) != 1)
        return; /* nothing from XMPP to mark */
    if (store_read_advance(gw->store, room->room_id, mxid, x.event_id, &x_at,
                           gateway_now_ms()) == 1) {
        char *from = conversation_matrix_from(gw, room, mxid);
        if (from) {
            xmpp_stanza_t *st = marker_displayed(
                gw->xmpp, from, room->xmpp_jid,
                room->mode == ROOM_DM ? "chat" : "groupchat",
                marker_id(room, &x));
            conversation_send(gw, room, st, NULL, true);
            xmpp_stanza_release(st);
            free(from);
        }
    }
    store_message_free(&x);
}

struct read_walk {
    struct gateway *gw;
    const struct store_room *room;
};

static void on_read_receipt(const struct mx_read_receipt *rr, void *ud)
{
    struct read_walk *w = ud;
    /* XMPP has no threads' own read positions. */
    if (rr->thread_id && strcmp(rr->thread_id, "main") != 0)
        return;
    if (!gateway_is_ours(w->gw, rr->user_id))
        matrix_read(w->gw, w->room, rr->user_id, rr->event_id, rr->ts);
}

void receipts_matrix_ephemeral(struct gateway *gw,
                               const struct mx_ephemeral *ev)
{
    struct mx_receipt r;
    const char *why;
    if (mx_receipt_parse(ev, &r, &why) < 0) {
        log_debug("receipts: skipping an m.receipt event: %s", why);
        return;
    }
    struct store_room room;
    if (store_room_get(gw->store, r.room_id, &room) != 1)
        return;
    /* Only m.read: private receipts never reach appservices. */
    struct read_walk w = { gw, &room };
    mx_receipt_foreach(&r, "m.read", on_read_receipt, &w);
    store_room_free(&room);
}

/* ---------------------------------------------------- XMPP -> Matrix -- */

/* The ghost's person read message `read` in room_id: true if that was
 * news, and the homeserver is told. */
static bool xmpp_read(struct gateway *gw, const char *room_id,
                      const char *ghost, const struct store_message *read)
{
    struct store_order at;
    if (strcmp(read->room_id, room_id) != 0 ||
        store_message_order(gw->store, read->event_id, &at) != 1)
        return false; /* a message of another conversation */
    if (store_read_advance(gw->store, room_id, ghost, read->event_id, &at,
                           gateway_now_ms()) != 1)
        return false; /* an older message, or told already */
    /* The read position is committed with this turn, so the receipt must
     * not live only in memory: a crash or an outage of the homeserver
     * would lose it for good. One queue per person and room keeps their
     * receipts in order. */
    char *queue = xasprintf("read %s %s", room_id, ghost);
    matrix_call_enqueue(gw, queue,
                        mx_req_read_receipt(room_id, read->event_id, ghost));
    metrics_inc(CNT_READS_TO_MATRIX);
    log_debug("receipts: queued %s reading %s", ghost, read->event_id);
    free(queue);
    return true;
}

/* In a gateway-mode room the other XMPP occupants see the marker as in
 * any MUC: the ghost's receipt, being ours, is not passed back to them. */
static void relay_to_occupants(struct gateway *gw, const char *room_id,
                               const char *ghost, const struct xmsg *m,
                               const char *id)
{
    struct store_room room;
    if (store_room_get(gw->store, room_id, &room) != 1)
        return;
    char *muc_jid = ids_jid_bare(m->to);
    struct store_occupant o;
    if (store_occupant_get(gw->store, m->from, muc_jid, &o) == 1) {
        char *from = xasprintf("%s/%s", muc_jid, o.nick);
        xmpp_stanza_t *st = marker_displayed(gw->xmpp, from, muc_jid,
                                             "groupchat", id);
        conversation_send(gw, &room, st, ghost, true);
        xmpp_stanza_release(st);
        free(from);
        store_occupant_free(&o);
    }
    free(muc_jid);
    store_room_free(&room);
}

static bool is_read_marker(const struct xmsg *m, const char **id)
{
    *id = m->marker_id;
    return m->marker_id && (m->marker == MARKER_DISPLAYED ||
                            m->marker == MARKER_ACKNOWLEDGED);
}

void receipts_xmpp_message(struct gateway *gw, const struct xmsg *m)
{
    const char *id;
    if (!is_read_marker(m, &id))
        return;
    char *room_id, *ghost;
    if (conversation_of_xmpp(gw, m, &room_id, &ghost) != 1)
        return;
    /* A room's markers name its stanza-ids, which are event ids; a chat's
     * name stanza ids, which the messages table maps. */
    struct store_message read;
    char *bare = ids_jid_bare(m->from);
    int found = strcmp(m->type, "groupchat") == 0
                    ? store_message_by_event(gw->store, id, &read)
                    : 0;
    if (found != 1)
        found = store_message_by_stanza_in(gw->store, room_id, bare, id,
                                           &read);
    if (found == 1) {
        if (xmpp_read(gw, room_id, ghost, &read) && *m->type == 'g')
            relay_to_occupants(gw, room_id, ghost, m, id);
        store_message_free(&read);
    }
    free(bare);
    free(room_id);
    free(ghost);
}

void receipts_portal_message(struct gateway *gw,
                             const struct store_room *room,
                             const struct xmsg *m)
{
    const char *id;
    if (!is_read_marker(m, &id))
        return;
    char *ghost = conversation_portal_ghost(gw, room, m);
    struct store_message read;
    /* Markers in a MUC name the stanza-id the MUC stamped. */
    if (ghost &&
        store_message_by_stanza(gw->store, room->xmpp_jid, id, &read) == 1) {
        xmpp_read(gw, room->room_id, ghost, &read);
        store_message_free(&read);
    }
    free(ghost);
}

void receipts_message_stored(struct gateway *gw, const char *event_id)
{
    for (int i = 0; i < PENDING_MAX; i++) {
        struct pending_read *p = &pending[i];
        if (!p->event_id || strcmp(p->event_id, event_id) != 0)
            continue;
        struct store_room room;
        if (store_room_get(gw->store, p->room_id, &room) == 1) {
            matrix_read(gw, &room, p->mxid, p->event_id, p->read_ts);
            store_room_free(&room);
        }
        pending_clear(p);
    }
}
