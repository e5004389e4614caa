#include "gateway/features/reactions.h"
#include "gateway/features/relations.h"
#include "gateway/base/effects.h"

#include "common/log.h"
#include "matrix/event_relation.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "gateway/features/conversation.h"
#include "xep/reactions.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------- XMPP -> Matrix -- */

struct react_job {
    struct gateway *gw;
    char *room_id;
    char *ghost;
    char *target;
    int pending;        /* requests still in flight */
    char *error;        /* the first failure, if any */
    action_done_cb cb;
    void *ud;
};

/* One request of a job; knows which key it adds or which event it
 * redacts. */
struct react_call {
    struct react_job *job;
    char *key;      /* an addition */
    char *event_id; /* a removal: the m.reaction event */
};

static void call_ended(struct react_call *c, const struct mx_response *r)
{
    struct react_job *j = c->job;
    if (r->status != 200 && !j->error)
        j->error = xstrdup(r->error ? r->error : "the homeserver refused");
    free(c->key);
    free(c->event_id);
    free(c);
    if (--j->pending > 0)
        return;
    j->cb(j->gw, j->error, j->ud);
    free(j->room_id);
    free(j->ghost);
    free(j->target);
    free(j->error);
    free(j);
}

static void on_added(const struct mx_response *r,
                     const struct mx_event_id *res, void *ud)
{
    struct react_call *c = ud;
    struct react_job *j = c->job;
    const char *event_id = res ? res->event_id : NULL;
    if (event_id) {
        struct store_reaction row = { j->target, j->ghost, c->key,
                                      (char *)event_id, j->room_id };
        store_reaction_put(j->gw->store, &row);
    } else if (r->status != 200) {
        log_warn("reactions: %s could not react to %s: %s", j->ghost,
                 j->target, r->error);
    }
    call_ended(c, r);
}

static void on_removed(const struct mx_response *r, void *ud)
{
    struct react_call *c = ud;
    /* Gone already (404) is as good as removed. A redaction that worked
     * leaves the row to its echo, which deletes it and tells the room the
     * new set (reactions_matrix_redaction): the answer may come first, and
     * without the row the echo would tell nobody. */
    if (r->status == 404)
        store_reaction_delete(c->job->gw->store, c->event_id);
    else if (r->status != 200)
        log_warn("reactions: %s could not withdraw %s: %s", c->job->ghost,
                 c->event_id, r->error);
    struct mx_response ok = *r;
    if (r->status == 404)
        ok.status = 200;
    call_ended(c, &ok);
}

/* A transaction id for one request of a change: the same change replayed
 * gives the same id. Caller frees. */
static char *txn_for(const char *seed, const char *what, const char *which)
{
    return gateway_txn_id("r", seed, what, which, (const char *)NULL);
}

static bool in_set(const char *const *keys, int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(keys[i], key) == 0)
            return true;
    return false;
}

void reactions_from_xmpp(struct gateway *gw, const char *room_id,
                         const char *ghost, const char *target_event_id,
                         const char *const *keys, int n,
                         const char *txn_seed, action_done_cb cb, void *ud)
{
    struct store_reaction *have;
    int nhave = store_reactions_of(gw->store, target_event_id, ghost, &have);
    if (nhave < 0) {
        cb(gw, "the gateway's store failed", ud);
        return;
    }
    struct react_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->room_id = xstrdup(room_id);
    j->ghost = xstrdup(ghost);
    j->target = xstrdup(target_event_id);
    j->cb = cb;
    j->ud = ud;
    /* One extra count, dropped at the end, so that requests finishing at
     * once cannot end the job while others are still being started. */
    j->pending = 1;
    for (int i = 0; i < n; i++) {
        bool known = false;
        for (int k = 0; k < nhave && !known; k++)
            known = strcmp(have[k].key, keys[i]) == 0;
        if (known)
            continue;
        struct react_call *c = xcalloc(1, sizeof *c);
        c->job = j;
        c->key = xstrdup(keys[i]);
        j->pending++;
        char *txn = txn_for(txn_seed, "add", keys[i]);
        json_t *content = json_pack("{s:{s:s, s:s, s:s}}", "m.relates_to",
                                    "rel_type", "m.annotation", "event_id",
                                    target_event_id, "key", keys[i]);
        gateway_send_event(gw, room_id, "m.reaction", txn, ghost, -1, content,
                      0, on_added, c);
        free(txn);
    }
    for (int k = 0; k < nhave; k++) {
        if (in_set(keys, n, have[k].key))
            continue;
        struct react_call *c = xcalloc(1, sizeof *c);
        c->job = j;
        c->event_id = xstrdup(have[k].event_id);
        j->pending++;
        char *txn = txn_for(txn_seed, "remove", have[k].event_id);
        mx_redact(gw->mx, room_id, have[k].event_id, txn, ghost, NULL, 0,
                  on_removed, c);
        free(txn);
    }
    store_reactions_free(have, nhave);
    struct react_call *last = xcalloc(1, sizeof *last);
    last->job = j;
    struct mx_response ok = { .status = 200 };
    call_ended(last, &ok);
}

/* ---------------------------------------------------- Matrix -> XMPP -- */

struct set_fill {
    const char *target_xmpp_id;
    const char **keys;
    int n;
};

static void fill_set(struct gateway *gw, xmpp_stanza_t *st, void *ud)
{
    struct set_fill *f = ud;
    xreactions_add(gw->xmpp, st, f->target_xmpp_id, f->keys, f->n);
}

/* Tells the XMPP side `sender`'s whole current set of reactions to
 * target_event_id, in a stanza with id `id`. */
static void send_set(struct gateway *gw, const struct store_room *room,
                     const char *sender, const char *target_event_id,
                     const char *id)
{
    char *xmpp_id = relations_xmpp_id(gw, room, target_event_id);
    if (!xmpp_id) {
        log_debug("reactions: %s reacted to %s, which never crossed",
                  sender, target_event_id);
        return;
    }
    struct store_reaction *have;
    int n = store_reactions_of(gw->store, target_event_id, sender, &have);
    if (n >= 0) {
        const char **keys = xcalloc((size_t)n + 1, sizeof *keys);
        for (int i = 0; i < n; i++)
            keys[i] = have[i].key;
        struct set_fill f = { xmpp_id, keys, n };
        conversation_tell(gw, room, sender, false, id, fill_set, &f);
        free(keys);
        store_reactions_free(have, n);
    }
    free(xmpp_id);
}

void reactions_matrix_event(struct gateway *gw, const struct mx_event *ev,
                            const struct store_room *room)
{
    struct mx_reaction r;
    const char *why = "an empty, overlong or invalid key";
    if (mx_reaction_parse(ev, &r, &why) < 0 || !*r.key ||
        strlen(r.key) > REACTION_MAX_BYTES ||
        !utf8_valid(r.key, strlen(r.key))) {
        log_debug("reactions: skipping malformed reaction %s: %s",
                  ev->event_id, why);
        return;
    }
    const char *target = r.target, *key = r.key;
    /* Stored whoever sent it, our ghosts included: the echo of a ghost's
     * reaction may come before the answer to the request that made it. */
    struct store_reaction row = { (char *)target, (char *)ev->sender,
                                  (char *)key, (char *)ev->event_id,
                                  (char *)ev->room_id };
    if (store_reaction_put(gw->store, &row) == 0)
        send_set(gw, room, ev->sender, target, ev->event_id);
}

bool reactions_matrix_redaction(struct gateway *gw, const struct mx_event *ev,
                                const char *redacts,
                                const struct store_room *room)
{
    struct store_reaction r;
    if (store_reaction_by_event(gw->store, redacts, &r) != 1)
        return false;
    store_reaction_delete(gw->store, redacts);
    send_set(gw, room, r.sender, r.target_event_id, ev->event_id);
    store_reaction_free(&r);
    return true;
}
