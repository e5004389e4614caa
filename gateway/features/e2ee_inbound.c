/* Room keys in, room events decrypted. To-device events addressed to a
 * ghost's device are opened with its Olm account; the Megolm keys they
 * carry are kept (sealed) per room and session. An m.room.encrypted room
 * event is decrypted before the edge's type dispatch and then takes the
 * plaintext path. One whose key has not come waits in the store, the
 * ghost asks the sender's devices for the key, and after
 * [e2ee] key_wait_seconds the XMPP side is told it could not be read. */
#include "gateway/features/e2ee_state.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "gateway/base/metrics.h"
#include "gateway/features/encrypted.h"
#include "matrix/crypto/megolm.h"
#include "matrix/crypto/session.h"
#include "matrix/event_device.h"
#include "matrix/event_encrypted.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_CHECK_MS 1000
#define WAIT_BATCH 20       /* events told per check: turns stay short */
#define RELEASE_BATCH 200   /* events released per key */

/* Frees decrypted text: wiped first, since it is the one copy of what
 * someone wrote that the gateway holds. */
static void free_plain(char *plain)
{
    if (!plain)
        return;
    sodium_memzero(plain, strlen(plain));
    free(plain);
}

/* ------------------------------------------------------ olm messages -- */

/* Decrypts an Olm message to mxid's device with the sessions it has with
 * the sender's device, or a new one when it is a pre-key message that
 * none of them matches. The sessions (and the account, when a one-time
 * key was spent) are saved. Caller frees (free_plain); NULL when it does
 * not decrypt (logged). */
static char *olm_decrypt(struct gateway *gw, struct store_crypto_device *dev,
                         struct mx_account *acc,
                         const struct mx_olm_content *c)
{
    char **pickles;
    int n = store_olm_sessions(gw->store, dev->mxid, c->sender_key,
                               &pickles);
    char *plain = NULL;
    const char *err = "no session with that device";
    struct mx_session *used = NULL;
    for (int i = 0; i < n && !plain; i++) {
        struct mx_session *s = mx_session_unpickle(pickles[i], &err);
        if (!s)
            continue;
        if (c->type == MX_OLM_PREKEY &&
            !mx_session_matches(s, c->sender_key, c->body)) {
            mx_session_free(s);
            continue;
        }
        plain = mx_session_decrypt(s, (int)c->type, c->body, &err);
        if (plain)
            used = s;
        else
            mx_session_free(s);
    }
    if (n > 0)
        store_strings_free(pickles, n);
    if (!plain && c->type == MX_OLM_PREKEY) {
        struct mx_session *s = mx_session_inbound(acc, c->sender_key, c->body,
                                                  &err);
        if (s) {
            plain = mx_session_decrypt(s, (int)c->type, c->body, &err);
            if (plain) {
                used = s;
                e2ee_device_save(gw, dev, acc); /* its one-time key is spent */
            } else {
                mx_session_free(s);
            }
        }
    }
    if (!plain) {
        log_warn("e2ee: an Olm message to %s from device key %s does not "
                 "decrypt: %s", dev->mxid, c->sender_key, err);
        return NULL;
    }
    char *pickle = mx_session_pickle(used);
    store_olm_session_put(gw->store, dev->mxid, c->sender_key,
                          mx_session_id(used), pickle, gateway_now_ms());
    free(pickle);
    mx_session_free(used);
    return plain;
}

/* ------------------------------------------------------- room keys -- */

static void release_waiting(struct gateway *gw, const char *room_id,
                            const char *session_id);

/* Keeps an inbound Megolm session unless the one already kept reaches
 * further back (a forwarded key may start later than the original). */
static void keep_session(struct gateway *gw, const char *room_id,
                         struct mx_megolm_in *s, const char *sender_key,
                         const char *sender_ed25519)
{
    struct store_megolm_in old;
    int found = store_megolm_in_get(gw->store, room_id, mx_megolm_in_id(s),
                                    &old);
    if (found == 1) {
        const char *err;
        struct mx_megolm_in *o = mx_megolm_in_unpickle(old.pickle, &err);
        bool better = !o || mx_megolm_in_first_index(s) <
                                mx_megolm_in_first_index(o);
        mx_megolm_in_free(o);
        store_megolm_in_free(&old);
        if (!better)
            return;
    } else if (found < 0) {
        return;
    }
    char *pickle = mx_megolm_in_pickle(s);
    struct store_megolm_in m = {
        .room_id = (char *)room_id, .session_id = (char *)mx_megolm_in_id(s),
        .sender_key = (char *)sender_key,
        .sender_ed25519 = (char *)sender_ed25519, .pickle = pickle,
    };
    store_megolm_in_put(gw->store, &m, gateway_now_ms());
    free(pickle);
    metrics_inc(CNT_E2EE_KEYS_RECEIVED);
    log_info("e2ee: got the key of session %s in %s", mx_megolm_in_id(s),
             room_id);
    release_waiting(gw, room_id, mx_megolm_in_id(s));
}

/* An m.room_key or m.forwarded_room_key that came over Olm from
 * sender_key's device. */
static void on_room_key(struct gateway *gw, const struct mx_olm_plain *p,
                        const char *sender_key, bool forwarded)
{
    struct mx_room_key k;
    const char *why;
    if (mx_room_key_parse(p->content, &k, &why) < 0) {
        log_info("e2ee: a room key from %s ignored: %s", p->sender, why);
        return;
    }
    struct mx_megolm_in *s = mx_megolm_in_new(k.session_key, forwarded, &why);
    if (!s || strcmp(mx_megolm_in_id(s), k.session_id) != 0) {
        log_warn("e2ee: a room key from %s for %s does not load: %s",
                 p->sender, k.room_id, s ? "its session id differs" : why);
        mx_megolm_in_free(s);
        return;
    }
    /* A forwarded key stands for the original sender's device, which the
     * forwarder names. */
    if (forwarded)
        keep_session(gw, k.room_id, s, k.sender_key ? k.sender_key : "",
                     k.sender_claimed_ed25519);
    else
        keep_session(gw, k.room_id, s, sender_key, p->sender_ed25519);
    mx_megolm_in_free(s);
}

/* What an Olm message may carry, by type. */
typedef void olm_payload_handler(struct gateway *gw,
                                 const struct mx_olm_plain *p,
                                 const char *sender_key);

static void on_plain_room_key(struct gateway *gw, const struct mx_olm_plain *p,
                              const char *sender_key)
{
    on_room_key(gw, p, sender_key, false);
}

static void on_forwarded_room_key(struct gateway *gw,
                                  const struct mx_olm_plain *p,
                                  const char *sender_key)
{
    on_room_key(gw, p, sender_key, true);
}

static void on_dummy(struct gateway *gw, const struct mx_olm_plain *p,
                     const char *sender_key)
{
    (void)gw;
    (void)p;
    (void)sender_key; /* it only moved the Olm session on */
}

static const struct {
    const char *type;
    olm_payload_handler *fn;
} olm_payload_handlers[] = {
    { "m.room_key", on_plain_room_key },
    { "m.forwarded_room_key", on_forwarded_room_key },
    { "m.dummy", on_dummy },
};

static void on_olm_event(struct gateway *gw, const struct mx_to_device *td)
{
    struct store_crypto_device dev;
    struct mx_account *acc;
    if (e2ee_device_load(gw, td->to_user_id, &dev, &acc) != 1)
        return;
    if (strcmp(dev.device_id, td->to_device_id) != 0) {
        log_debug("e2ee: a message to %s's device %s, which is not ours",
                  td->to_user_id, td->to_device_id);
        e2ee_device_release(&dev, acc);
        return;
    }
    struct mx_olm_content c;
    const char *why;
    if (mx_olm_content_parse(td->content, mx_account_curve25519(acc), &c,
                             &why) < 0) {
        log_info("e2ee: a to-device message from %s ignored: %s", td->sender,
                 why);
        e2ee_device_release(&dev, acc);
        return;
    }
    char *plain = olm_decrypt(gw, &dev, acc, &c);
    json_t *tree = plain ? json_loads(plain, 0, NULL) : NULL;
    free_plain(plain);
    struct mx_olm_plain p;
    if (tree && mx_olm_plain_parse(tree, &p, &why) == 0) {
        /* The checks Olm itself cannot make: that the message was meant
         * for this device and sent by who the homeserver says. */
        if (strcmp(p.sender, td->sender) != 0 ||
            strcmp(p.recipient, td->to_user_id) != 0 ||
            strcmp(p.recipient_ed25519, mx_account_ed25519(acc)) != 0) {
            log_warn("e2ee: an Olm message to %s claims another sender or "
                     "recipient; ignored", td->to_user_id);
        } else {
            size_t i, n = sizeof olm_payload_handlers /
                          sizeof olm_payload_handlers[0];
            for (i = 0; i < n; i++)
                if (strcmp(olm_payload_handlers[i].type, p.type) == 0)
                    break;
            if (i < n)
                olm_payload_handlers[i].fn(gw, &p, c.sender_key);
            else
                log_debug("e2ee: an Olm message of type %s ignored", p.type);
        }
    } else if (tree) {
        log_info("e2ee: a decrypted to-device message ignored: %s", why);
    }
    json_decref(tree);
    e2ee_device_release(&dev, acc);
}

/* The sender's client decided not to share a key with the ghost: events
 * that wait for it are told now, with the reason, not after the wait. */
static void tell_waiting(struct gateway *gw, const struct store_megolm_wait *w,
                         const char *why);

static void on_withheld(struct gateway *gw, const struct mx_to_device *td)
{
    struct mx_withheld wh;
    const char *why;
    if (mx_withheld_parse(td->content, &wh, &why) < 0 || !wh.room_id ||
        !wh.session_id)
        return;
    log_info("e2ee: %s withheld the key of session %s in %s from %s: %s",
             td->sender, wh.session_id, wh.room_id, td->to_user_id, wh.code);
    struct store_megolm_wait *w;
    int n = store_megolm_waiting(gw->store, wh.room_id, wh.session_id, 0,
                                 RELEASE_BATCH, &w);
    char *reason = xasprintf("the sender's client withheld the key (%s%s%s)",
                             wh.code, wh.reason ? ": " : "",
                             wh.reason ? wh.reason : "");
    for (int i = 0; i < n; i++)
        tell_waiting(gw, &w[i], reason);
    free(reason);
    if (n > 0)
        store_megolm_waits_free(w, n);
}

typedef void to_device_handler(struct gateway *gw,
                               const struct mx_to_device *td);
static const struct {
    const char *type;
    to_device_handler *fn;
} to_device_handlers[] = {
    { "m.room.encrypted", on_olm_event },
    { "m.room_key.withheld", on_withheld },
    { "org.matrix.room_key.withheld", on_withheld },
    { "m.room_key_request", e2ee_key_request },
};

void e2ee_to_device(struct gateway *gw, json_t *raw)
{
    if (!e2ee_active(gw))
        return;
    struct mx_to_device td;
    const char *why;
    if (mx_to_device_parse(raw, &td, &why) < 0) {
        log_info("e2ee: a to-device event skipped: %s", why);
        return;
    }
    if (!gateway_is_ours(gw, td.to_user_id))
        return;
    for (size_t i = 0;
         i < sizeof to_device_handlers / sizeof to_device_handlers[0]; i++)
        if (strcmp(to_device_handlers[i].type, td.type) == 0) {
            to_device_handlers[i].fn(gw, &td);
            return;
        }
    log_debug("e2ee: a to-device event of type %s ignored", td.type);
}

/* ------------------------------------------------------ room events -- */

static void on_request_sent(const struct mx_response *r, void *ud)
{
    (void)ud;
    if (r->status != 200)
        log_info("e2ee: a key request failed: %s", r->error);
}

/* Asks the sender's devices for a session's key, once per session. */
static void request_key(struct gateway *gw, const struct mx_event *ev,
                        const struct mx_megolm_content *c)
{
    char *key = xasprintf("%s|%s", ev->room_id, c->session_id);
    bool asked = strmap_get(&gw->e2ee->requested, key) != NULL;
    strmap_put(&gw->e2ee->requested, key, "1");
    free(key);
    char *ghost = NULL;
    struct store_room room;
    if (!asked && store_room_get(gw->store, ev->room_id, &room) == 1) {
        ghost = encrypted_room_ghost(gw, &room);
        store_room_free(&room);
    }
    struct store_crypto_device dev;
    if (!ghost || store_crypto_device_get(gw->store, ghost, &dev) != 1) {
        free(ghost);
        return;
    }
    char *request_id = gateway_txn_id("keyreq", ev->room_id, c->session_id,
                                      NULL);
    json_t *body = json_pack("{s:s, s:s, s:s}", "algorithm", MX_MEGOLM,
                             "room_id", ev->room_id, "session_id",
                             c->session_id);
    if (c->sender_key)
        json_object_set_new(body, "sender_key", json_string(c->sender_key));
    json_t *content = json_pack("{s:s, s:o, s:s, s:s}", "action", "request",
                                "body", body, "request_id", request_id,
                                "requesting_device_id", dev.device_id);
    json_t *messages = json_pack("{s:{s:o}}", ev->sender, "*", content);
    mx_send_to_device(gw->mx, ghost, dev.device_id, "m.room_key_request",
                      request_id, messages, 3, on_request_sent, NULL);
    metrics_inc(CNT_E2EE_KEY_REQUESTS);
    free(request_id);
    store_crypto_device_free(&dev);
    free(ghost);
}

static void wait_for_key(struct gateway *gw, const struct mx_event *ev,
                         const struct mx_megolm_content *c)
{
    char *text = json_dumps(ev->raw, JSON_COMPACT);
    if (store_megolm_wait_add(gw->store, ev->room_id, c->session_id, text,
                              gateway_now_ms()) == 0) {
        metrics_inc(CNT_E2EE_WAITED);
        log_info("e2ee: %s in %s waits for the key of session %s",
                 ev->event_id, ev->room_id, c->session_id);
    }
    free(text);
    request_key(gw, ev, c);
}

/* m.relates_to stays outside the ciphertext (the server needs it for
 * aggregation): the plaintext content gets it back, unless it has its
 * own. */
static void merge_relation(json_t *outer, json_t *inner)
{
    json_t *rel = json_object_get(outer, "m.relates_to");
    if (json_is_object(rel) && !json_object_get(inner, "m.relates_to"))
        json_object_set(inner, "m.relates_to", rel);
}

/* Opens c (ev's content) with the key the store holds: 1 with *tree (the
 * plaintext event, caller frees) and *index, 0 when no key is held, -1
 * with *why when the key does not open it or what it opens is not an
 * event of this room, -2 when the store fails (logged). */
static int open_event(struct gateway *gw, const struct mx_event *ev,
                      const struct mx_megolm_content *c, json_t **tree,
                      uint32_t *index, const char **why)
{
    *tree = NULL;
    struct store_megolm_in kept;
    int found = store_megolm_in_get(gw->store, ev->room_id, c->session_id,
                                    &kept);
    if (found <= 0)
        return found < 0 ? -2 : 0;
    if (c->sender_key && *kept.sender_key &&
        strcmp(c->sender_key, kept.sender_key) != 0) {
        store_megolm_in_free(&kept);
        *why = "it names another device than the one that shared its key";
        return -1;
    }
    const char *err = NULL;
    struct mx_megolm_in *s = mx_megolm_in_unpickle(kept.pickle, &err);
    store_megolm_in_free(&kept);
    char *plain = s ? mx_megolm_decrypt(s, c->ciphertext, index, &err) : NULL;
    mx_megolm_in_free(s);
    if (!plain) {
        log_info("e2ee: %s in %s does not open with the key held: %s",
                 ev->event_id, ev->room_id, err);
        *why = "the key the gateway holds does not open it";
        return -1;
    }
    *tree = json_loads(plain, 0, NULL);
    free_plain(plain);
    struct mx_megolm_plain p;
    if (!*tree || mx_megolm_plain_parse(*tree, &p, why) < 0 ||
        strcmp(p.room_id, ev->room_id) != 0) {
        *why = *tree ? "its plaintext is not an event of this room"
                     : "its plaintext is not JSON";
        json_decref(*tree);
        *tree = NULL;
        return -1;
    }
    return 1;
}

/* ev takes the plaintext's type and content (borrowed from tree), keeping
 * the relation the homeserver saw. */
static void become_plain(struct mx_event *ev, json_t *tree)
{
    struct mx_megolm_plain p;
    const char *why;
    mx_megolm_plain_parse(tree, &p, &why); /* checked by open_event */
    merge_relation(ev->content, p.content);
    ev->type = p.type;
    ev->content = p.content;
}

/* A message index opens one event only: the same ciphertext under
 * another event id is a replay. True when ev may have it. */
static bool index_is_its(struct gateway *gw, const struct mx_event *ev,
                         const struct mx_megolm_content *c, uint32_t index)
{
    int claim = store_megolm_index_claim(gw->store, ev->room_id, c->session_id,
                                         index, ev->event_id);
    if (claim == 0)
        log_warn("e2ee: %s in %s replays message %u of session %s; dropped",
                 ev->event_id, ev->room_id, index, c->session_id);
    return claim == 1;
}

enum e2ee_outcome e2ee_decrypt_event(struct gateway *gw, struct mx_event *ev,
                                     json_t **plain_out)
{
    *plain_out = NULL;
    if (!e2ee_active(gw)) {
        encrypted_matrix_event(gw, ev);
        return E2EE_DROPPED;
    }
    if (gateway_is_ours(gw, ev->sender))
        return E2EE_DROPPED; /* our own ghosts' echo (when they encrypt) */
    struct store_room room;
    if (store_room_get(gw->store, ev->room_id, &room) != 1)
        return E2EE_DROPPED; /* not a bridged room: nothing waits for it */
    store_room_free(&room);
    struct mx_megolm_content c;
    const char *why;
    if (mx_megolm_content_parse(ev->content, &c, &why) < 0) {
        encrypted_matrix_undecryptable(gw, ev, why);
        metrics_inc(CNT_E2EE_UNDECRYPTABLE);
        return E2EE_DROPPED;
    }
    json_t *tree;
    uint32_t index = 0;
    int opened = open_event(gw, ev, &c, &tree, &index, &why);
    if (opened == 0) {
        wait_for_key(gw, ev, &c);
        return E2EE_WAITING;
    }
    if (opened == -1) {
        encrypted_matrix_undecryptable(gw, ev, why);
        metrics_inc(CNT_E2EE_UNDECRYPTABLE);
    }
    if (opened < 0)
        return E2EE_DROPPED;
    if (!index_is_its(gw, ev, &c, index)) {
        json_decref(tree);
        return E2EE_DROPPED;
    }
    become_plain(ev, tree);
    *plain_out = tree;
    metrics_inc(CNT_E2EE_DECRYPTED);
    return E2EE_DECRYPTED;
}

bool e2ee_decrypt_archived(struct gateway *gw, struct mx_event *ev,
                           json_t **plain_out)
{
    *plain_out = NULL;
    struct mx_megolm_content c;
    const char *why;
    json_t *tree;
    uint32_t index = 0;
    if (!e2ee_active(gw) ||
        mx_megolm_content_parse(ev->content, &c, &why) < 0 ||
        open_event(gw, ev, &c, &tree, &index, &why) != 1)
        return false;
    if (!index_is_its(gw, ev, &c, index)) {
        json_decref(tree);
        return false;
    }
    become_plain(ev, tree);
    *plain_out = tree;
    return true;
}

/* ---------------------------------------------- waiting for their key -- */

/* Tells the XMPP side (and the sender) that a waiting event will not be
 * decrypted, and lets it go. */
static void tell_waiting(struct gateway *gw, const struct store_megolm_wait *w,
                         const char *why)
{
    json_t *raw = json_loads(w->event, 0, NULL);
    struct mx_event ev;
    const char *err;
    if (raw && mx_event_parse(raw, &ev, &err) == 0) {
        encrypted_matrix_undecryptable(gw, &ev, why);
        metrics_inc(CNT_E2EE_UNDECRYPTABLE);
    }
    json_decref(raw);
    store_megolm_wait_done(gw->store, w->seq);
}

static void release_waiting(struct gateway *gw, const char *room_id,
                            const char *session_id)
{
    struct store_megolm_wait *w;
    int n = store_megolm_waiting(gw->store, room_id, session_id, 0,
                                 RELEASE_BATCH, &w);
    for (int i = 0; i < n; i++) {
        json_t *raw = json_loads(w[i].event, 0, NULL);
        struct mx_event ev;
        const char *why;
        json_t *plain = NULL;
        /* Done first: should the dispatch fail, the event is not tried
         * forever. */
        store_megolm_wait_done(gw->store, w[i].seq);
        if (raw && mx_event_parse(raw, &ev, &why) == 0 &&
            e2ee_decrypt_event(gw, &ev, &plain) == E2EE_DECRYPTED) {
            log_info("e2ee: %s in %s decrypted after waiting for its key",
                     ev.event_id, ev.room_id);
            gw->e2ee->dispatch(gw, &ev);
        }
        json_decref(plain);
        json_decref(raw);
    }
    if (n > 0)
        store_megolm_waits_free(w, n);
}

void e2ee_inbound_tick(struct gateway *gw)
{
    int64_t now = gateway_now_ms();
    if (now < gw->e2ee->next_wait_check_ms)
        return;
    gw->e2ee->next_wait_check_ms = now + WAIT_CHECK_MS;
    struct store_megolm_wait *w;
    int n = store_megolm_waiting(gw->store, NULL, NULL,
                                 now - (int64_t)gw->cfg.e2ee_key_wait_s * 1000,
                                 WAIT_BATCH, &w);
    for (int i = 0; i < n; i++)
        tell_waiting(gw, &w[i], "its key never reached the gateway");
    if (n > 0)
        store_megolm_waits_free(w, n);
}
