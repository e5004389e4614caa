/* An encrypted send's life (e2ee_outbound.c starts it, e2ee_share.c
 * shares its key): the lanes that run a sender's sends in a room one
 * after the other, the end of a send (encrypted, sent in clear into a
 * clear room, or failed), and the encryption itself. */
#include "gateway/features/e2ee_state.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "gateway/base/metrics.h"
#include "matrix/event_encrypted.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ROTATION_MS (7LL * 24 * 3600 * 1000)
#define DEFAULT_ROTATION_MSGS 100

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
    mx_megolm_out_free(j->session);
    free(j);
}

void e2ee_lane_push(struct gateway *gw, struct send_job *j)
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
        j->run(j);
}

/* The job is done with the session: the next in its lane may start. */
void e2ee_job_next(struct send_job *j)
{
    struct gateway *gw = j->gw;
    struct lane *l = j->lane;
    l->head = j->next;
    if (!l->head)
        l->tail = NULL;
    job_free(j);
    if (l->head) {
        l->head->run(l->head);
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

void e2ee_jobs_free(struct e2ee *e)
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
    e2ee_job_next(j);
}

/* The event goes out as it is: the room is not encrypted. */
void e2ee_job_send_plain(struct send_job *j)
{
    mx_send_event(j->gw->mx, j->room_id, j->type, j->txn, j->as_user, j->ts,
                  json_incref(j->content), j->attempts, j->cb, j->ud);
    e2ee_job_next(j);
}

/* The session's key from its first message, as an inbound session: what
 * key requests are answered from (e2ee_keyreq.c), and what opens the
 * ghost's own messages in history. */
static void keep_own_session(struct gateway *gw, const char *room_id,
                           const char *sender, struct mx_megolm_out *s)
{
    struct store_crypto_device dev;
    struct mx_account *acc;
    if (e2ee_device_load(gw, sender, &dev, &acc) != 1)
        return;
    char *key = mx_megolm_out_key(s);
    const char *err;
    struct mx_megolm_in *in = mx_megolm_in_new(key, false, &err);
    sodium_memzero(key, strlen(key));
    free(key);
    if (in) {
        char *pickle = mx_megolm_in_pickle(in);
        struct store_megolm_in m = {
            .room_id = (char *)room_id,
            .session_id = (char *)mx_megolm_in_id(in),
            .sender_key = (char *)mx_account_curve25519(acc),
            .sender_ed25519 = (char *)mx_account_ed25519(acc),
            .pickle = pickle,
        };
        store_megolm_in_put(gw->store, &m, gateway_now_ms());
        free(pickle);
        mx_megolm_in_free(in);
    } else {
        log_error("e2ee: a new session's key does not load: %s", err);
    }
    e2ee_device_release(&dev, acc);
}

struct mx_megolm_out *e2ee_current_session(struct send_job *j,
                                           int64_t *messages,
                                           int64_t *created_ts)
{
    struct gateway *gw = j->gw;
    struct store_room_encryption enc;
    if (store_room_encryption_get(gw->store, j->room_id, &enc) != 1)
        enc = (struct store_room_encryption){ NULL, DEFAULT_ROTATION_MS,
                                              DEFAULT_ROTATION_MSGS };
    free(enc.algorithm);
    struct store_megolm_out out;
    int found = store_megolm_out_get(gw->store, j->room_id, j->sender, &out);
    if (found < 0)
        return NULL;
    int64_t now = gateway_now_ms();
    if (found == 1 && out.messages < enc.rotation_msgs &&
        now - out.created_ts < enc.rotation_ms) {
        const char *err;
        struct mx_megolm_out *s = mx_megolm_out_unpickle(out.pickle, &err);
        *messages = out.messages;
        *created_ts = out.created_ts;
        store_megolm_out_free(&out);
        if (s)
            return s;
        log_error("e2ee: an outbound session does not load: %s", err);
    } else if (found == 1) {
        store_megolm_out_free(&out);
    }
    struct mx_megolm_out *s = mx_megolm_out_new();
    char *pickle = mx_megolm_out_pickle(s);
    struct store_megolm_out fresh = { (char *)mx_megolm_out_id(s), pickle,
                                      now, 0 };
    int rc = store_megolm_out_put(gw->store, j->room_id, j->sender, &fresh);
    free(pickle);
    if (rc < 0) {
        mx_megolm_out_free(s);
        return NULL;
    }
    keep_own_session(gw, j->room_id, j->sender, s);
    log_info("e2ee: %s starts session %s in %s", j->sender,
             mx_megolm_out_id(s), j->room_id);
    *messages = 0;
    *created_ts = now;
    return s;
}

void e2ee_job_encrypt(struct send_job *j)
{
    struct gateway *gw = j->gw;
    char *device_id, *curve;
    if (!e2ee_device_identity(gw, j->sender, &device_id, &curve)) {
        e2ee_job_fail(j, "the sender has no device to encrypt with");
        return;
    }
    if (!j->session)
        j->session = e2ee_current_session(j, &j->session_messages,
                                          &j->session_created_ts);
    struct mx_megolm_out *s = j->session;
    if (!s) {
        free(device_id);
        free(curve);
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
     * out, so a crash cannot hand this index to another message. A
     * session dropped meanwhile (a member left) is not brought back. */
    char *pickle = mx_megolm_out_pickle(s);
    store_megolm_out_advance(gw->store, j->room_id, j->sender,
                             mx_megolm_out_id(s), pickle,
                             j->session_messages + 1);
    free(pickle);
    json_t *enc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "algorithm",
                            MX_MEGOLM, "sender_key", curve, "ciphertext",
                            ciphertext, "session_id", mx_megolm_out_id(s),
                            "device_id", device_id);
    free(ciphertext);
    free(device_id);
    free(curve);
    /* Relations stay in clear, as the spec asks: the homeserver needs
     * them to aggregate edits and reactions. */
    json_t *rel = json_object_get(j->content, "m.relates_to");
    if (rel)
        json_object_set(enc, "m.relates_to", rel);
    metrics_inc(CNT_E2EE_ENCRYPTED);
    mx_send_event(gw->mx, j->room_id, "m.room.encrypted", j->txn, j->as_user,
                  j->ts, enc, j->attempts, j->cb, j->ud);
    e2ee_job_next(j);
}
