/* Encrypted sending: everything a ghost (or the bot) sends into a room
 * with m.room.encryption is a Megolm ciphertext, never the plaintext.
 *
 * Each sender has one outbound session per room, replaced after the
 * room's rotation_period_msgs messages or rotation_period_ms, and when a
 * member leaves. Before a message, the session key goes over Olm to every
 * device of every other member that does not have it yet: device lists
 * are fetched with /keys/query when unknown or changed (MSC3202's
 * device_lists), one-time keys claimed with /keys/claim, each checked
 * against the device's own signature. A sender's messages in a room are
 * encrypted one at a time, in order ("lanes"); the session is saved with
 * its advanced index before the event leaves, so no index is used twice.
 * Whatever cannot be encrypted fails the send, which the caller reports
 * to the XMPP sender as for any refused message. */
#include "gateway/features/e2ee_state.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "gateway/base/metrics.h"
#include "matrix/crypto/megolm.h"
#include "matrix/crypto/session.h"
#include "matrix/event_device.h"
#include "matrix/event_encrypted.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ROTATION_MS (7LL * 24 * 3600 * 1000)
#define DEFAULT_ROTATION_MSGS 100

static void job_run(struct send_job *j);

static void keep_encryption(struct gateway *gw, const char *room_id,
                            json_t *content)
{
    const char *alg = json_string_value(json_object_get(content,
                                                        "algorithm"));
    json_int_t ms = json_integer_value(json_object_get(content,
                                                       "rotation_period_ms"));
    json_int_t msgs = json_integer_value(
        json_object_get(content, "rotation_period_msgs"));
    struct store_room_encryption e = {
        .algorithm = (char *)(alg ? alg : "unknown"),
        .rotation_ms = ms > 0 ? ms : DEFAULT_ROTATION_MS,
        .rotation_msgs = msgs > 0 ? msgs : DEFAULT_ROTATION_MSGS,
    };
    store_room_encryption_put(gw->store, room_id, &e);
}

void e2ee_room_encryption_event(struct gateway *gw, const struct mx_event *ev)
{
    if (ev->state_key && !*ev->state_key)
        keep_encryption(gw, ev->room_id, ev->content);
}

void e2ee_room_visibility_event(struct gateway *gw, const struct mx_event *ev)
{
    /* Who reads the room may have changed: the members are asked again. */
    if (e2ee_active(gw))
        strmap_put(&gw->e2ee->members, ev->room_id, "");
}

void e2ee_room_member_event(struct gateway *gw, const struct mx_event *ev,
                            const char *membership)
{
    strmap_put(&gw->e2ee->members, ev->room_id, "");
    /* Someone who leaves must not read what follows: every sender starts
     * a new session at its next message. */
    if (strcmp(membership, "leave") == 0 || strcmp(membership, "ban") == 0)
        store_megolm_out_drop_room(gw->store, ev->room_id);
}

struct encryption_query {
    struct gateway *gw;
    char *room_id;
    e2ee_encrypted_cb *cb;
    void *ud;
};

static void on_encryption_state(const struct mx_response *r,
                                const struct mx_state *res, void *ud)
{
    struct encryption_query *q = ud;
    int encrypted = 1;
    const char *why = NULL;
    if (res) {
        keep_encryption(q->gw, q->room_id, res->content);
    } else if (r->status == 404) {
        struct store_room_encryption clear = { NULL, 0, 0 };
        store_room_encryption_put(q->gw->store, q->room_id, &clear);
        encrypted = 0;
    } else {
        encrypted = -1;
        why = "the homeserver did not say whether the room is encrypted";
    }
    q->cb(q->gw, encrypted, why, q->ud);
    free(q->room_id);
    free(q);
}

/* What the store knows: 1 encrypted, 0 clear, -1 not known yet. A store
 * that cannot answer counts as clear: the send goes as before encryption
 * existed rather than not at all. */
static int stored_encryption(struct gateway *gw, const char *room_id)
{
    if (!e2ee_active(gw))
        return 0;
    struct store_room_encryption enc = { 0 };
    int known = store_room_encryption_get(gw->store, room_id, &enc);
    bool encrypted = known == 1 && enc.algorithm;
    free(enc.algorithm);
    return known == 0 ? -1 : encrypted ? 1 : 0;
}

void e2ee_room_encrypted(struct gateway *gw, const char *room_id,
                         const char *as_user, e2ee_encrypted_cb *cb, void *ud)
{
    int known = stored_encryption(gw, room_id);
    if (known >= 0) {
        cb(gw, known, NULL, ud);
        return;
    }
    struct encryption_query *q = xcalloc(1, sizeof *q);
    q->gw = gw;
    q->room_id = xstrdup(room_id);
    q->cb = cb;
    q->ud = ud;
    mx_state_get(gw->mx, room_id, "m.room.encryption", "", as_user, false, 3,
                 on_encryption_state, q);
}

static void on_encryption_known(struct gateway *gw, int encrypted,
                                const char *why, void *ud)
{
    (void)gw;
    struct send_job *j = ud;
    if (encrypted < 0) {
        e2ee_job_fail(j, why);
    } else if (encrypted == 0) {
        e2ee_job_send_plain(j);
    } else {
        j->encryption_known = true;
        job_run(j);
    }
}

/* ------------------------------------------------ members and devices -- */


static void on_query(const struct mx_response *r, void *ud)
{
    struct send_job *j = ud;
    json_t *all = r->status == 200 ? json_object_get(r->body, "device_keys")
                                   : NULL;
    if (!json_is_object(all)) {
        e2ee_job_fail(j, "the homeserver did not give the members' devices");
        return;
    }
    e2ee_share_verify(j, all);
}

static void query_devices(struct send_job *j)
{
    json_t *stale = json_array();
    size_t i;
    json_t *u;
    json_array_foreach(j->members, i, u) {
        if (store_device_list_current(j->gw->store, json_string_value(u)) ==
            0)
            json_array_append(stale, u);
    }
    if (json_array_size(stale) == 0) {
        json_decref(stale);
        e2ee_share_start(j);
        return;
    }
    mx_keys_query(j->gw->mx, j->sender, stale, 3, on_query, j);
}

/* The members other than our own users (which read the plaintext on the
 * XMPP side and need no key), from a cache the member events clear. */
static void set_members(struct send_job *j, const char *cached)
{
    j->members = json_loads(cached, 0, NULL);
    if (!json_is_array(j->members)) {
        json_decref(j->members);
        j->members = json_array();
    }
}

/* Those joined read the room, and those invited too unless the room's
 * history_visibility is "joined": "shared" and "invited" let an invited
 * user read what is said from the invite on, and Element shares with
 * them then. */
static void on_members(const struct mx_response *r, void *ud)
{
    struct send_job *j = ud;
    json_t *chunk = r->status == 200 ? json_object_get(r->body, "chunk")
                                     : NULL;
    if (!json_is_array(chunk)) {
        e2ee_job_fail(j, r->status == 200 ? "the member list is malformed"
                                     : r->error);
        return;
    }
    json_t *users = json_array();
    size_t i;
    json_t *raw;
    json_array_foreach(chunk, i, raw) {
        struct mx_event ev;
        struct mx_member m;
        const char *why;
        if (mx_event_parse(raw, &ev, &why) < 0 || !ev.state_key ||
            mx_member_parse(&ev, &m, &why) < 0 ||
            (strcmp(m.membership, "join") != 0 &&
             (strcmp(m.membership, "invite") != 0 || !j->invited_read)) ||
            gateway_is_ours(j->gw, ev.state_key))
            continue;
        json_array_append_new(users, json_string(ev.state_key));
    }
    char *text = json_dumps(users, JSON_COMPACT);
    strmap_put(&j->gw->e2ee->members, j->room_id, text);
    free(text);
    j->members = users;
    query_devices(j);
}

static void on_visibility(const struct mx_response *r,
                          const struct mx_state *res, void *ud)
{
    struct send_job *j = ud;
    if (!res && r->status != 404) {
        e2ee_job_fail(j, "the homeserver did not give the room's history "
                         "visibility");
        return;
    }
    /* No event means "shared", the spec's default. */
    const char *vis = res ? json_string_value(json_object_get(
                                res->content, "history_visibility"))
                          : NULL;
    j->invited_read = !vis || strcmp(vis, "joined") != 0;
    mx_room_members(j->gw->mx, j->room_id, j->sender, 3, on_members, j);
}

static void on_device_ready(struct gateway *gw, void *ud)
{
    struct send_job *j = ud;
    if (!strmap_get(&gw->e2ee->ready, j->sender)) {
        e2ee_job_fail(j, "the sender has no device to encrypt with");
        return;
    }
    const char *cached = strmap_get(&gw->e2ee->members, j->room_id);
    if (cached && *cached) {
        set_members(j, cached);
        query_devices(j);
        return;
    }
    mx_state_get(gw->mx, j->room_id, "m.room.history_visibility", "",
                 j->sender, false, 3, on_visibility, j);
}

/* -------------------------------------------------------- the event -- */

static void job_run(struct send_job *j)
{
    if (!j->encryption_known) {
        e2ee_room_encrypted(j->gw, j->room_id, j->sender, on_encryption_known,
                            j);
        return;
    }
    e2ee_device_ensure(j->gw, j->sender, on_device_ready, j);
}

void e2ee_send_event(struct gateway *gw, const char *room_id,
                     const char *type, const char *txn_id,
                     const char *as_user, long long ts, json_t *content,
                     int max_attempts, mx_event_id_cb cb, void *ud)
{
    int known = stored_encryption(gw, room_id);
    if (known == 0) {
        mx_send_event(gw->mx, room_id, type, txn_id, as_user, ts, content,
                      max_attempts, cb, ud);
        return;
    }
    struct send_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->room_id = xstrdup(room_id);
    j->type = xstrdup(type);
    j->txn = xstrdup(txn_id);
    j->as_user = xstrdup(as_user);
    j->sender = xstrdup(as_user ? as_user : gw->bot_mxid);
    j->ts = ts;
    j->content = content;
    j->attempts = max_attempts;
    j->cb = cb;
    j->ud = ud;
    j->encryption_known = known == 1;
    j->run = job_run;
    e2ee_lane_push(gw, j);
}

void e2ee_device_lists(struct gateway *gw, const struct mx_transaction *txn)
{
    struct mx_device_lists dl;
    const char *why;
    if (mx_device_lists_parse(txn->device_lists, &dl, &why) < 0) {
        log_info("e2ee: device lists unreadable: %s", why);
        return;
    }
    struct mx_str_list *lists[] = { &dl.changed, &dl.left };
    for (size_t l = 0; l < 2; l++)
        for (size_t i = 0; i < lists[l]->n; i++) {
            const char *user = mx_str_list_at(lists[l], i);
            if (user && !gateway_is_ours(gw, user)) {
                store_device_list_stale(gw->store, user);
                metrics_inc(CNT_E2EE_DEVICE_CHANGES);
            }
        }
}
