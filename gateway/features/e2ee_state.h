/* What e2ee_devices.c and e2ee_inbound.c share: the state behind
 * gw->e2ee, and the account loading both need. Not for other files. */
#ifndef ISTHMUS_GATEWAY_FEATURES_E2EE_STATE_H
#define ISTHMUS_GATEWAY_FEATURES_E2EE_STATE_H

#include "common/strmap.h"
#include "gateway/features/e2ee.h"
#include "matrix/crypto/account.h"
#include "store/store.h"

#include <stdint.h>

struct device_job;
struct lane;

struct e2ee {
    /* The homeserver refused to create a device (no MSC4190): said once,
     * then ghosts go without. */
    bool refused;
    struct device_job *jobs; /* devices being set up */
    /* "user|device" -> "1" while its key upload is in flight */
    struct strmap uploading;
    /* ghost -> "1" once its device is known to be ready: the check runs
     * for every ghost a message passes, so it stays in memory */
    struct strmap ready;
    /* "room|session" -> "1" once the ghost asked for that key */
    struct strmap requested;
    /* room -> its other members' ids (JSON), "" once a member event
     * made it stale */
    struct strmap members;
    struct lane *lanes; /* encrypted sends under way (e2ee_outbound.c) */
    e2ee_dispatch_fn *dispatch;
    int64_t next_wait_check_ms;
};

/* The ghost's device and its account, when it has a usable one: 1 (free
 * both with e2ee_device_release), 0 none, -1 error (logged). */
int e2ee_device_load(struct gateway *gw, const char *mxid,
                     struct store_crypto_device *dev,
                     struct mx_account **account);
/* Saves the account back (after it changed); 0 or -1. */
int e2ee_device_save(struct gateway *gw, struct store_crypto_device *dev,
                     struct mx_account *account);
void e2ee_device_release(struct store_crypto_device *dev,
                         struct mx_account *account);
/* Drops the sends still waiting (at shutdown). */
void e2ee_outbound_free(struct e2ee *e);

#endif
