/* Others' requests for the ghosts' room keys (m.room_key_request).
 *
 * A device that lost a key the ghost gave it may ask for it again. The
 * policy is the narrow one legacy Element followed for its own sessions:
 * the ghost answers only for a session it created itself (never passing on
 * what others shared with it), only to a device it shared that session
 * with, and only from the message index that device was given, so nobody
 * reads further back than they could before. Everything else is refused,
 * counted, and logged at info. The answer is an m.forwarded_room_key over
 * the Olm session the ghost already has with the device.
 *
 * To answer from the right index the ghost keeps an inbound copy of each
 * session it creates (sealed like every key), made when the session
 * starts (e2ee_job.c). */
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

static void refuse(const struct mx_to_device *td, const char *why)
{
    metrics_inc(CNT_E2EE_KEYREQ_REFUSED);
    log_info("e2ee: a key request from %s to %s refused: %s", td->sender,
             td->to_user_id, why);
}

static void on_answered(const struct mx_response *r, void *ud)
{
    (void)ud;
    if (r->status != 200)
        log_warn("e2ee: a key request's answer was not sent: %s", r->error);
}

/* The requesting device's keys, as the ghost last fetched them: 1, or 0
 * when it is not known (then nothing was ever shared with it either). */
static int device_keys(struct gateway *gw, const char *user,
                       const char *device_id, char **curve, char **ed)
{
    struct store_device_key *keys;
    int n = store_device_keys_of(gw->store, user, &keys);
    int found = 0;
    for (int i = 0; i < n && !found; i++)
        if (strcmp(keys[i].device_id, device_id) == 0) {
            *curve = xstrdup(keys[i].curve25519);
            *ed = xstrdup(keys[i].ed25519);
            found = 1;
        }
    if (n > 0)
        store_device_keys_free(keys, n);
    return found;
}

/* Sends the session, from first_index, to the device: 0, or -1 with why. */
static int answer(struct gateway *gw, const struct mx_to_device *td,
                  const struct mx_key_request *kr,
                  const struct store_megolm_in *own, int64_t first_index,
                  struct store_crypto_device *dev, struct mx_account *acc,
                  const char **why)
{
    char *curve = NULL, *ed = NULL;
    if (device_keys(gw, td->sender, kr->requesting_device_id, &curve, &ed) !=
        1) {
        *why = "the requesting device's keys are not known";
        return -1;
    }
    const char *err;
    struct mx_megolm_in *in = mx_megolm_in_unpickle(own->pickle, &err);
    char *key = in ? mx_megolm_in_export(in, (uint32_t)first_index) : NULL;
    mx_megolm_in_free(in);
    int rc = -1;
    *why = "the session cannot be exported from that index";
    if (key) {
        json_t *content = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:[]}", "algorithm", MX_MEGOLM,
            "room_id", kr->room_id, "sender_key", own->sender_key,
            "session_id", kr->session_id, "session_key", key,
            "sender_claimed_ed25519_key", mx_account_ed25519(acc),
            "forwarding_curve25519_key_chain");
        sodium_memzero(key, strlen(key));
        free(key);
        json_t *olm = e2ee_olm_for_device(gw, td->to_user_id, acc,
                                          dev->device_id, td->sender, curve,
                                          ed, "m.forwarded_room_key",
                                          content);
        json_t *k = json_object_get(content, "session_key");
        if (json_string_value(k))
            sodium_memzero((char *)json_string_value(k),
                           strlen(json_string_value(k)));
        json_decref(content);
        *why = "the ghost has no Olm session with the device";
        if (olm) {
            json_t *messages = json_pack("{s:{s:o}}", td->sender,
                                         kr->requesting_device_id, olm);
            char *txn = gateway_txn_id("keyreq", td->sender,
                                       kr->requesting_device_id,
                                       kr->request_id, NULL);
            mx_send_to_device(gw->mx, td->to_user_id, dev->device_id,
                              "m.room.encrypted", txn, messages, 3,
                              on_answered, NULL);
            free(txn);
            rc = 0;
        }
    }
    free(curve);
    free(ed);
    return rc;
}

void e2ee_key_request(struct gateway *gw, const struct mx_to_device *td)
{
    struct mx_key_request kr;
    const char *why;
    if (mx_key_request_parse(td->content, &kr, &why) < 0) {
        log_info("e2ee: a key request from %s skipped: %s", td->sender, why);
        return;
    }
    /* A cancellation needs nothing: answers go out at once. */
    if (strcmp(kr.action, "request") != 0 || gateway_is_ours(gw, td->sender))
        return;
    if (strcmp(kr.algorithm, MX_MEGOLM) != 0) {
        refuse(td, "not a Megolm session");
        return;
    }
    struct store_crypto_device dev;
    struct mx_account *acc;
    if (e2ee_device_load(gw, td->to_user_id, &dev, &acc) != 1) {
        refuse(td, "the ghost has no device");
        return;
    }
    struct store_megolm_in own;
    int found = store_megolm_in_get(gw->store, kr.room_id, kr.session_id,
                                    &own);
    int64_t first_index = 0;
    if (found != 1 ||
        strcmp(own.sender_key, mx_account_curve25519(acc)) != 0) {
        refuse(td, "the session is not one the ghost created");
    } else if (store_megolm_shared_index(gw->store, kr.session_id, td->sender,
                                         kr.requesting_device_id,
                                         &first_index) != 1) {
        refuse(td, "the session was never shared with that device");
    } else if (answer(gw, td, &kr, &own, first_index, &dev, acc, &why) < 0) {
        refuse(td, why);
    } else {
        metrics_inc(CNT_E2EE_KEYREQ_ANSWERED);
        log_info("e2ee: %s answered a key request from %s (%s) in %s",
                 td->to_user_id, td->sender, kr.requesting_device_id,
                 kr.room_id);
    }
    if (found == 1)
        store_megolm_in_free(&own);
    e2ee_device_release(&dev, acc);
}
