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
#include "matrix/crypto/device_keys.h"
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

/* ------------------------------------------------------------- lanes -- */

static void job_free(struct send_job *j)
{
    free(j->room_id);
    free(j->type);
    free(j->txn);
    free(j->as_user);
    free(j->sender);
    json_decref(j->content);
    json_decref(j->members);
    json_decref(j->todo);
    json_decref(j->claimed);
    json_decref(j->messages);
    json_decref(j->sharing);
    free(j);
}

static void lane_push(struct gateway *gw, struct send_job *j)
{
    char *key = xasprintf("%s|%s", j->room_id, j->sender);
    struct lane *l = gw->e2ee->lanes;
    while (l && strcmp(l->key, key) != 0)
        l = l->next;
    if (!l) {
        l = xcalloc(1, sizeof *l);
        l->key = key;
        l->next = gw->e2ee->lanes;
        gw->e2ee->lanes = l;
    } else {
        free(key);
    }
    j->lane = l;
    bool idle = !l->head;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
    if (idle)
        job_run(j);
}

/* The job is done with the session: the next in its lane may start. */
static void job_next(struct send_job *j)
{
    struct gateway *gw = j->gw;
    struct lane *l = j->lane;
    l->head = j->next;
    if (!l->head)
        l->tail = NULL;
    job_free(j);
    if (l->head) {
        job_run(l->head);
        return;
    }
    for (struct lane **p = &gw->e2ee->lanes; *p; p = &(*p)->next)
        if (*p == l) {
            *p = l->next;
            break;
        }
    free(l->key);
    free(l);
}

void e2ee_outbound_free(struct e2ee *e)
{
    for (struct lane *l = e->lanes, *ln; l; l = ln) {
        ln = l->next;
        for (struct send_job *j = l->head, *jn; j; j = jn) {
            jn = j->next;
            job_free(j);
        }
        free(l->key);
        free(l);
    }
    e->lanes = NULL;
    e->working = NULL; /* those jobs were in the lanes */
}

void e2ee_job_fail(struct send_job *j, const char *why)
{
    char *text = xasprintf("the room is end-to-end encrypted, and the "
                           "gateway could not encrypt for it: %s", why);
    log_warn("e2ee: %s could not send to %s: %s", j->sender, j->room_id, why);
    struct mx_response r = { .status = 0, .error = text };
    if (j->cb)
        j->cb(&r, NULL, j->ud);
    free(text);
    job_next(j);
}

/* The event goes out as it is: the room is not encrypted. */
static void send_plain(struct send_job *j)
{
    mx_send_event(j->gw->mx, j->room_id, j->type, j->txn, j->as_user, j->ts,
                  json_incref(j->content), j->attempts, j->cb, j->ud);
    job_next(j);
}

/* --------------------------------------------------- room encryption -- */

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

void e2ee_room_member_event(struct gateway *gw, const struct mx_event *ev,
                            const char *membership)
{
    strmap_put(&gw->e2ee->members, ev->room_id, "");
    /* Someone who leaves must not read what follows: every sender starts
     * a new session at its next message. */
    if (strcmp(membership, "leave") == 0 || strcmp(membership, "ban") == 0)
        store_megolm_out_drop_room(gw->store, ev->room_id);
}

static void on_encryption_state(const struct mx_response *r,
                                const struct mx_state *res, void *ud)
{
    struct send_job *j = ud;
    if (res) {
        keep_encryption(j->gw, j->room_id, res->content);
    } else if (r->status == 404) {
        struct store_room_encryption clear = { NULL, 0, 0 };
        store_room_encryption_put(j->gw->store, j->room_id, &clear);
        send_plain(j);
        return;
    } else {
        e2ee_job_fail(j, "the homeserver did not say whether it is encrypted");
        return;
    }
    j->encryption_known = true;
    job_run(j);
}

/* ------------------------------------------------ members and devices -- */


static void on_query(const struct mx_response *r, void *ud)
{
    struct send_job *j = ud;
    struct gateway *gw = j->gw;
    json_t *all = r->status == 200 ? json_object_get(r->body, "device_keys")
                                   : NULL;
    if (!json_is_object(all)) {
        e2ee_job_fail(j, "the homeserver did not give the members' devices");
        return;
    }
    const char *user;
    json_t *devices;
    json_object_foreach(all, user, devices) {
        size_t n = json_object_size(devices), k = 0;
        struct store_device_key *keys = xcalloc(n ? n : 1, sizeof *keys);
        const char *device_id;
        json_t *obj;
        json_object_foreach(devices, device_id, obj) {
            struct mx_device_info info;
            const char *why;
            if (mx_device_keys_check(obj, user, device_id, &info, &why) < 0) {
                log_warn("e2ee: %s's device %s left out: %s", user, device_id,
                         why);
                continue;
            }
            keys[k++] = (struct store_device_key){
                (char *)user, (char *)device_id, (char *)info.curve25519,
                (char *)info.ed25519 };
        }
        store_device_keys_set(gw->store, user, keys, (int)k);
        free(keys);
    }
    e2ee_share_start(j);
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

/* Those joined and those invited read the room (an invited Matrix user
 * reads what was said before they joined, as history_visibility "shared"
 * and "invited" allow, and as Element shares). */
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
             strcmp(m.membership, "invite") != 0) ||
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

static void on_device_ready(struct gateway *gw, void *ud)
{
    struct send_job *j = ud;
    struct store_crypto_device dev;
    int found = store_crypto_device_get(gw->store, j->sender, &dev);
    bool ready = found == 1 && dev.ready;
    if (found == 1)
        store_crypto_device_free(&dev);
    if (!ready) {
        e2ee_job_fail(j, "the sender has no device to encrypt with");
        return;
    }
    const char *cached = strmap_get(&gw->e2ee->members, j->room_id);
    if (cached && *cached) {
        set_members(j, cached);
        query_devices(j);
        return;
    }
    mx_room_members(gw->mx, j->room_id, j->sender, 3, on_members, j);
}

/* -------------------------------------------------------- the event -- */

void e2ee_job_encrypt(struct send_job *j)
{
    struct gateway *gw = j->gw;
    struct store_crypto_device dev;
    struct mx_account *acc;
    if (e2ee_device_load(gw, j->sender, &dev, &acc) != 1) {
        e2ee_job_fail(j, "the sender's device does not load");
        return;
    }
    int64_t messages;
    struct mx_megolm_out *s = e2ee_current_session(j, &messages);
    if (!s) {
        e2ee_device_release(&dev, acc);
        e2ee_job_fail(j, "the session could not be loaded");
        return;
    }
    json_t *plain = json_pack("{s:s, s:O, s:s}", "type", j->type, "content",
                              j->content, "room_id", j->room_id);
    char *text = json_dumps(plain, JSON_COMPACT);
    json_decref(plain);
    char *ciphertext = mx_megolm_encrypt(s, text);
    sodium_memzero(text, strlen(text));
    free(text);
    /* Saved before the event leaves: the loop commits before its calls go
     * out, so a crash cannot hand this index to another message. */
    char *pickle = mx_megolm_out_pickle(s);
    struct store_megolm_out out;
    if (store_megolm_out_get(gw->store, j->room_id, j->sender, &out) == 1) {
        free(out.pickle);
        out.pickle = pickle;
        out.messages = messages + 1;
        store_megolm_out_put(gw->store, j->room_id, j->sender, &out);
        store_megolm_out_free(&out);
    } else {
        free(pickle);
    }
    json_t *enc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "algorithm",
                            MX_MEGOLM, "sender_key",
                            mx_account_curve25519(acc), "ciphertext",
                            ciphertext, "session_id", mx_megolm_out_id(s),
                            "device_id", dev.device_id);
    free(ciphertext);
    /* Relations stay in clear, as the spec asks: the homeserver needs
     * them to aggregate edits and reactions. */
    json_t *rel = json_object_get(j->content, "m.relates_to");
    if (rel)
        json_object_set(enc, "m.relates_to", rel);
    mx_megolm_out_free(s);
    e2ee_device_release(&dev, acc);
    metrics_inc(CNT_E2EE_ENCRYPTED);
    mx_send_event(gw->mx, j->room_id, "m.room.encrypted", j->txn, j->as_user,
                  j->ts, enc, j->attempts, j->cb, j->ud);
    job_next(j);
}

static void job_run(struct send_job *j)
{
    if (!j->encryption_known) {
        mx_state_get(j->gw->mx, j->room_id, "m.room.encryption", "",
                     j->sender, false, 3, on_encryption_state, j);
        return;
    }
    e2ee_device_ensure(j->gw, j->sender, on_device_ready, j);
}

void e2ee_send_event(struct gateway *gw, const char *room_id,
                     const char *type, const char *txn_id,
                     const char *as_user, long long ts, json_t *content,
                     int max_attempts, mx_event_id_cb cb, void *ud)
{
    struct store_room_encryption enc = { 0 };
    int known = e2ee_active(gw)
                    ? store_room_encryption_get(gw->store, room_id, &enc)
                    : 1;
    bool clear = known == 1 && !enc.algorithm;
    free(enc.algorithm);
    if (clear || known < 0) {
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
    lane_push(gw, j);
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
