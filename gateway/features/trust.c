/* Verification and new-device announcements (trust.h). */
#include "gateway/features/trust.h"

#include "gateway/base/effects.h"
#include "gateway/base/to_xmpp.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/core/ids.h"
#include "gateway/features/omemo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OMEMO_DEVICE "omemo:%u"
#define MATRIX_DEVICE "matrix:%s"

int trust_state(struct gateway *gw, const char *verifier, const char *subject,
                const char *device)
{
    int s = store_verification_get(gw->store, verifier, subject, device);
    return s < 0 ? STORE_DEVICE_UNKNOWN : s;
}

int trust_verify_xmpp_user(struct gateway *gw, const char *mxid,
                           const char *user_bare)
{
    uint32_t *ids;
    int n = omemo_user_known_devices(gw, user_bare, &ids);
    for (int i = 0; i < n; i++) {
        char dev[24];
        snprintf(dev, sizeof dev, OMEMO_DEVICE, ids[i]);
        if (store_verification_put(gw->store, mxid, user_bare, dev,
                                   STORE_DEVICE_VERIFIED) < 0)
            n = -1;
    }
    free(ids);
    return n;
}

int trust_verify_matrix_user(struct gateway *gw, const char *user_bare,
                             const char *mxid)
{
    struct store_device_key *keys = NULL;
    int n = store_device_keys_of(gw->store, mxid, &keys);
    for (int i = 0; i < n; i++) {
        char *dev = xasprintf(MATRIX_DEVICE, keys[i].device_id);
        if (store_verification_put(gw->store, user_bare, mxid, dev,
                                   STORE_DEVICE_VERIFIED) < 0)
            n = -1;
        free(dev);
    }
    store_device_keys_free(keys, n > 0 ? n : 0);
    return n;
}

static void free_list(char **list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* Marks the device as told to the verifier: true the first time. */
static bool first_news(struct gateway *gw, const char *verifier,
                       const char *subject, const char *device)
{
    if (trust_state(gw, verifier, subject, device) != STORE_DEVICE_UNKNOWN)
        return false;
    return store_verification_put(gw->store, verifier, subject, device,
                                  STORE_DEVICE_TOLD) == 0;
}

void trust_xmpp_devices_seen(struct gateway *gw, const char *user_bare,
                             const uint32_t *ids, int n)
{
    char **verifiers;
    int nv = store_verifiers_of(gw->store, user_bare, &verifiers);
    for (int v = 0; v < nv; v++) {
        struct store_room dm;
        char *ghost = NULL;
        const char *why;
        if (store_room_find_dm(gw->store, user_bare, verifiers[v], &dm) != 1)
            continue;
        if (ids_jid_to_ghost(&gw->ids, user_bare, &ghost, &why) == 0) {
            for (int i = 0; i < n; i++) {
                char dev[24];
                snprintf(dev, sizeof dev, OMEMO_DEVICE, ids[i]);
                if (!first_news(gw, verifiers[v], user_bare, dev))
                    continue;
                char *text = xasprintf(
                    "%s has a new OMEMO device, %u, which you have not "
                    "verified. Compare its key with the `fingerprints` "
                    "command, then `verify` again.", user_bare, ids[i]);
                char *seed = xasprintf("new-device %s %s", user_bare, dev);
                gateway_notice(gw, dm.room_id, ghost, seed, text);
                log_info("trust: told %s of a new device of %s",
                         verifiers[v], user_bare);
                free(seed);
                free(text);
            }
        }
        free(ghost);
        store_room_free(&dm);
    }
    free_list(verifiers, nv > 0 ? nv : 0);
}

void trust_matrix_devices_seen(struct gateway *gw, const char *mxid,
                               const struct store_device_key *keys, int n)
{
    char **verifiers;
    int nv = store_verifiers_of(gw->store, mxid, &verifiers);
    char *puppet = NULL;
    const char *why;
    if (nv > 0 && ids_matrix_to_jid(&gw->ids, mxid, &puppet, &why) < 0) {
        log_warn("trust: %s has no JID: %s", mxid, why);
        free_list(verifiers, nv);
        return;
    }
    for (int v = 0; v < nv; v++) {
        for (int i = 0; i < n; i++) {
            char *dev = xasprintf(MATRIX_DEVICE, keys[i].device_id);
            if (first_news(gw, verifiers[v], mxid, dev)) {
                char *text = xasprintf(
                    "[isthmus] %s has a new Matrix device, %s (key %s), "
                    "which you have not verified. Compare it with the "
                    "gateway's `fingerprints` command, then `verify` "
                    "again.", mxid, keys[i].device_id, keys[i].ed25519);
                xmpp_stanza_t *st = xmpp_message_new(gw->xmpp, "chat",
                                                     verifiers[v], NULL);
                xmpp_stanza_set_from(st, puppet);
                char *id = xasprintf("new-device-%s", keys[i].device_id);
                xmpp_stanza_set_id(st, id);
                xmpp_message_set_body(st, text);
                char *queue = xasprintf("trust %s", verifiers[v]);
                to_xmpp_enqueue(gw, queue, st);
                log_info("trust: told %s of a new device of %s",
                         verifiers[v], mxid);
                xmpp_stanza_release(st);
                free(queue);
                free(id);
                free(text);
            }
            free(dev);
        }
    }
    free(puppet);
    free_list(verifiers, nv > 0 ? nv : 0);
}
