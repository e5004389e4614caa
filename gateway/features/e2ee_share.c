/* Sharing a sender's Megolm session with the members' devices, before an
 * encrypted send (e2ee_outbound.c). Each device that lacks the key gets
 * it over Olm; a device with no Olm session with the sender first has a
 * one-time key claimed, checked against its signature, and a session
 * made with it.
 *
 * In a large room that is a lot of public-key work (an Olm session and an
 * encryption per device), so it runs in slices of at most SLICE_US per
 * loop turn: other rooms keep flowing while a key goes to a thousand
 * devices. The lane keeps the sender's session still meanwhile. */
#include "gateway/features/e2ee_state.h"
#include "gateway/features/trust.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "gateway/base/metrics.h"
#include "matrix/crypto/device_keys.h"
#include "matrix/crypto/session.h"
#include "matrix/event_encrypted.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SLICE_US 8000

/* What a job's slices are doing. */
enum phase { VERIFY, SCAN, SESSIONS, ENCRYPT };

/* ------------------------------------------------------------ slices -- */

static void working_add(struct send_job *j)
{
    j->next_working = j->gw->e2ee->working;
    j->gw->e2ee->working = j;
}

static void working_remove(struct send_job *j)
{
    for (struct send_job **p = &j->gw->e2ee->working; *p;
         p = &(*p)->next_working)
        if (*p == j) {
            *p = j->next_working;
            break;
        }
    j->next_working = NULL;
}

/* A device as the slices carry it: [user, device, curve25519, ed25519]. */
static const char *dev_field(json_t *d, size_t i)
{
    return json_string_value(json_array_get(d, i));
}

static bool has_olm_session(struct send_job *j, const char *curve)
{
    char **pickles;
    int n = store_olm_sessions(j->gw->store, j->sender, curve, &pickles);
    if (n > 0)
        store_strings_free(pickles, n);
    return n > 0;
}

json_t *e2ee_olm_for_device(struct gateway *gw, const char *sender,
                            struct mx_account *acc, const char *sender_device,
                            const char *user, const char *curve,
                            const char *ed, const char *type,
                            json_t *content)
{
    char **pickles;
    int n = store_olm_sessions(gw->store, sender, curve, &pickles);
    if (n <= 0)
        return NULL;
    const char *err;
    struct mx_session *s = mx_session_unpickle(pickles[0], &err);
    store_strings_free(pickles, n);
    if (!s)
        return NULL;
    json_t *payload = json_pack(
        "{s:s, s:O, s:s, s:s, s:{s:s}, s:s, s:{s:s}}", "type", type,
        "content", content, "sender", sender, "sender_device", sender_device,
        "keys", "ed25519", mx_account_ed25519(acc), "recipient", user,
        "recipient_keys", "ed25519", ed);
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    int msg_type;
    char *body = mx_session_encrypt(s, text, &msg_type);
    sodium_memzero(text, strlen(text)); /* it holds a session key */
    free(text);
    char *pickle = mx_session_pickle(s);
    store_olm_session_put(gw->store, sender, curve, mx_session_id(s), pickle,
                          gateway_now_ms());
    free(pickle);
    mx_session_free(s);
    json_t *out = json_pack("{s:s, s:s, s:{s:{s:i, s:s}}}", "algorithm",
                            MX_OLM, "sender_key", mx_account_curve25519(acc),
                            "ciphertext", curve, "type", msg_type, "body",
                            body);
    free(body);
    return out;
}

/* The m.room_key, encrypted over Olm for one device (its first Olm
 * session with the sender). NULL when there is none. Caller frees. */
static json_t *room_key_for(struct send_job *j, struct mx_account *acc,
                            const char *device_id, json_t *to,
                            json_t *room_key)
{
    return e2ee_olm_for_device(j->gw, j->sender, acc, device_id,
                               dev_field(to, 0), dev_field(to, 2),
                               dev_field(to, 3), "m.room_key", room_key);
}

static void on_claimed(const struct mx_response *r, void *ud);
static void send_messages(struct send_job *j);

/* One slice of the job's work, until deadline_us. True when its phase is
 * done. */
static bool slice(struct send_job *j, struct mx_account *acc,
                  const char *device_id, int64_t deadline_us)
{
    json_t *room_key = json_object_get(j->messages, "room_key");
    json_t *out = json_object_get(j->messages, "out");
    json_t *claims = json_object_get(j->messages, "claims");
    json_t *ready = json_object_get(j->messages, "ready");
    json_t *verified = json_object_get(j->messages, "verified");
    json_t *list = j->phase == SESSIONS ? j->claimed : j->todo;
    if (j->phase == ENCRYPT)
        list = ready;
    for (; j->cursor < json_array_size(list); j->cursor++) {
        if (clock_mono_us() > deadline_us)
            return false;
        json_t *d = json_array_get(list, j->cursor);
        const char *user = dev_field(d, 0), *device = dev_field(d, 1);
        if (j->phase == VERIFY) {
            /* [user, device, keys]: a signature check each, the costly
             * part of a large room's device lists. */
            struct mx_device_info info;
            const char *why;
            if (mx_device_keys_check(json_array_get(d, 2), user, device,
                                     &info, &why) < 0) {
                log_warn("e2ee: %s's device %s left out: %s", user, device,
                         why);
                continue;
            }
            json_array_append_new(json_object_get(verified, user),
                                  json_pack("[s, s, s]", device,
                                            info.curve25519, info.ed25519));
        } else if (j->phase == SCAN) {
            if (has_olm_session(j, dev_field(d, 2))) {
                json_array_append(ready, d);
            } else {
                json_t *per_user = json_object_get(claims, user);
                if (!per_user) {
                    per_user = json_object();
                    json_object_set_new(claims, user, per_user);
                }
                json_object_set_new(per_user, device,
                                    json_string("signed_curve25519"));
            }
        } else if (j->phase == SESSIONS) {
            /* [user, device, curve, ed, claimed keys] */
            const char *why;
            const char *otk = mx_claimed_key_check(json_array_get(d, 4), user,
                                                   device, dev_field(d, 3),
                                                   &why);
            struct mx_session *s =
                otk ? mx_session_outbound(acc, dev_field(d, 2), otk, &why)
                    : NULL;
            if (!s) {
                log_warn("e2ee: no Olm session with %s's %s: %s", user,
                         device, why);
                continue;
            }
            char *pickle = mx_session_pickle(s);
            store_olm_session_put(j->gw->store, j->sender, dev_field(d, 2),
                                  mx_session_id(s), pickle, gateway_now_ms());
            free(pickle);
            mx_session_free(s);
            json_array_append(ready, d);
        } else {
            json_t *c = room_key_for(j, acc, device_id, d, room_key);
            if (!c)
                continue;
            json_t *per_user = json_object_get(out, user);
            if (!per_user) {
                per_user = json_object();
                json_object_set_new(out, user, per_user);
            }
            json_object_set_new(per_user, device, c);
            char *id = xasprintf("%s|%s", user, device);
            json_array_append_new(j->sharing, json_string(id));
            free(id);
        }
    }
    return true;
}

/* The verified devices become the users' device lists. */
static void keep_verified(struct send_job *j)
{
    const char *user;
    json_t *list;
    json_object_foreach(json_object_get(j->messages, "verified"), user,
                        list) {
        size_t n = json_array_size(list);
        struct store_device_key *keys = xcalloc(n ? n : 1, sizeof *keys);
        for (size_t i = 0; i < n; i++) {
            json_t *d = json_array_get(list, i);
            keys[i] = (struct store_device_key){
                (char *)user, (char *)dev_field(d, 0),
                (char *)dev_field(d, 1), (char *)dev_field(d, 2) };
        }
        store_device_keys_set(j->gw->store, user, keys, (int)n);
        /* Who verified this user hears of a device they have not seen. */
        trust_matrix_devices_seen(j->gw, user, keys, (int)n);
        free(keys);
    }
}

/* What to do once a phase's slices are all done. */
static void phase_done(struct send_job *j)
{
    if (j->phase == VERIFY) {
        keep_verified(j);
        working_remove(j);
        e2ee_share_start(j);
        return;
    }
    json_t *claims = json_object_get(j->messages, "claims");
    if (j->phase == SCAN && json_object_size(claims) > 0) {
        working_remove(j);
        mx_keys_claim(j->gw->mx, j->sender, json_incref(claims), 3,
                      on_claimed, j);
        return;
    }
    if (j->phase == SCAN || j->phase == SESSIONS) {
        j->phase = ENCRYPT;
        j->cursor = 0;
        return; /* the next slice encrypts */
    }
    working_remove(j);
    send_messages(j);
}

long e2ee_share_work(struct gateway *gw)
{
    int64_t deadline = clock_mono_us() + SLICE_US;
    while (gw->e2ee->working && clock_mono_us() < deadline) {
        struct send_job *j = gw->e2ee->working;
        struct store_crypto_device dev;
        struct mx_account *acc;
        if (e2ee_device_load(gw, j->sender, &dev, &acc) != 1) {
            working_remove(j);
            e2ee_job_fail(j, "the sender's device does not load");
            continue;
        }
        bool done = slice(j, acc, dev.device_id, deadline);
        e2ee_device_release(&dev, acc);
        if (done)
            phase_done(j);
    }
    return gw->e2ee->working ? 0 : -1;
}

/* -------------------------------------------------- claims and sends -- */

static void on_claimed(const struct mx_response *r, void *ud)
{
    struct send_job *j = ud;
    json_t *all = r->status == 200 ? json_object_get(r->body,
                                                     "one_time_keys")
                                   : NULL;
    json_decref(j->claimed);
    j->claimed = json_array();
    if (!all)
        /* Devices without a session get no key; the others still do. */
        log_warn("e2ee: claiming one-time keys in %s failed: %s", j->room_id,
                 r->error);
    size_t i;
    json_t *d;
    /* Checked in the slices: a signature each. */
    json_array_foreach(j->todo, i, d) {
        json_t *keys = json_object_get(json_object_get(all, dev_field(d, 0)),
                                       dev_field(d, 1));
        if (!json_is_object(keys))
            continue;
        json_t *with = json_copy(d);
        json_array_append(with, keys);
        json_array_append_new(j->claimed, with);
    }
    j->phase = SESSIONS;
    j->cursor = 0;
    working_add(j);
}

static void on_shared(const struct mx_response *r, void *ud)
{
    struct send_job *j = ud;
    if (r->status != 200) {
        e2ee_job_fail(j, "the room key could not be sent to the members");
        return;
    }
    const char *session_id = json_string_value(
        json_object_get(json_object_get(j->messages, "room_key"),
                        "session_id"));
    json_int_t index = json_integer_value(json_object_get(j->messages,
                                                          "index"));
    size_t i;
    json_t *d;
    json_array_foreach(j->sharing, i, d) {
        const char *text = json_string_value(d);
        const char *bar = strchr(text, '|');
        char *user = xstrndup(text, (size_t)(bar - text));
        store_megolm_shared_add(j->gw->store, session_id, user, bar + 1,
                                index);
        free(user);
    }
    metrics_inc(CNT_E2EE_KEY_SHARES);
    e2ee_job_encrypt(j);
}

/* The session key goes (the session id stays, for on_shared); the
 * messages leave. */
static void send_messages(struct send_job *j)
{
    json_t *room_key = json_object_get(j->messages, "room_key");
    json_t *out = json_incref(json_object_get(j->messages, "out"));
    char *txn = gateway_txn_id("share", j->room_id, j->txn, NULL);
    char *key = (char *)json_string_value(json_object_get(room_key,
                                                          "session_key"));
    if (key)
        sodium_memzero(key, strlen(key));
    json_object_del(room_key, "session_key");
    if (json_array_size(j->sharing) == 0) {
        json_decref(out);
        free(txn);
        e2ee_job_encrypt(j);
        return;
    }
    struct store_crypto_device dev;
    if (store_crypto_device_get(j->gw->store, j->sender, &dev) != 1) {
        json_decref(out);
        free(txn);
        e2ee_job_fail(j, "the sender's device does not load");
        return;
    }
    log_info("e2ee: %s shares its key in %s with %zu devices", j->sender,
             j->room_id, json_array_size(j->sharing));
    mx_send_to_device(j->gw->mx, j->sender, dev.device_id,
                      "m.room.encrypted", txn, out, 3, on_shared, j);
    store_crypto_device_free(&dev);
    free(txn);
}

void e2ee_share_verify(struct send_job *j, json_t *device_keys)
{
    json_decref(j->todo);
    j->todo = json_array();
    json_decref(j->messages);
    j->messages = json_pack("{s:{}}", "verified");
    json_t *verified = json_object_get(j->messages, "verified");
    const char *user;
    json_t *devices;
    json_object_foreach(device_keys, user, devices) {
        /* A user with no device that passes still gets a (now empty)
         * current list. */
        json_object_set_new(verified, user, json_array());
        const char *device_id;
        json_t *obj;
        json_object_foreach(devices, device_id, obj)
            json_array_append_new(j->todo,
                                  json_pack("[s, s, O]", user, device_id,
                                            obj));
    }
    j->phase = VERIFY;
    j->cursor = 0;
    working_add(j);
}

void e2ee_share_start(struct send_job *j)
{
    struct gateway *gw = j->gw;
    int64_t messages;
    int64_t created_ts;
    struct mx_megolm_out *s = e2ee_current_session(j, &messages, &created_ts);
    if (!s) {
        e2ee_job_fail(j, "the session could not be stored");
        return;
    }
    char **shared;
    int n_shared = store_megolm_shared_list(gw->store, mx_megolm_out_id(s),
                                            &shared);
    struct strmap have = STRMAP_INIT;
    for (int i = 0; i < n_shared; i++)
        strmap_put(&have, shared[i], "1");
    if (n_shared > 0)
        store_strings_free(shared, n_shared);
    /* The devices that lack the key, from the members' device lists. */
    json_decref(j->todo);
    j->todo = json_array();
    size_t i;
    json_t *u;
    json_array_foreach(j->members, i, u) {
        struct store_device_key *keys;
        int n = store_device_keys_of(gw->store, json_string_value(u), &keys);
        for (int k = 0; k < n; k++) {
            char *id = xasprintf("%s|%s", keys[k].user_id, keys[k].device_id);
            if (!strmap_get(&have, id))
                json_array_append_new(
                    j->todo, json_pack("[s, s, s, s]", keys[k].user_id,
                                       keys[k].device_id, keys[k].curve25519,
                                       keys[k].ed25519));
            free(id);
        }
        if (n > 0)
            store_device_keys_free(keys, n);
    }
    strmap_clear(&have);
    /* Kept for the encryption: loaded once per message. */
    mx_megolm_out_free(j->session);
    j->session = s;
    j->session_messages = messages;
    j->session_created_ts = created_ts;
    if (json_array_size(j->todo) == 0) {
        e2ee_job_encrypt(j);
        return;
    }
    char *session_key = mx_megolm_out_key(s);
    json_decref(j->messages);
    j->messages = json_pack("{s:{s:s, s:s, s:s, s:s}, s:{}, s:{}, s:[], "
                            "s:I}",
                            "room_key", "algorithm", MX_MEGOLM, "room_id",
                            j->room_id, "session_id", mx_megolm_out_id(s),
                            "session_key", session_key, "out", "claims",
                            "ready", "index",
                            (json_int_t)mx_megolm_out_index(s));
    sodium_memzero(session_key, strlen(session_key));
    free(session_key);
    json_decref(j->sharing);
    j->sharing = json_array();
    j->phase = SCAN;
    j->cursor = 0;
    working_add(j);
}
