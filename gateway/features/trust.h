/* Trust across the gateway (DESIGN.md §7): the gateway trusts each device
 * blindly the first time it sees it, as Conversations and Dino do. A
 * person who has compared the other side's keys (the `fingerprints`
 * command) says so with `verify`; from then on, every new device of that
 * contact is announced to them in their own client, so that a key they
 * did not compare never slips in unnoticed. Devices are named
 * "omemo:<id>" (an XMPP user's) and "matrix:<device id>". */
#ifndef ISTHMUS_GATEWAY_FEATURES_TRUST_H
#define ISTHMUS_GATEWAY_FEATURES_TRUST_H

#include "gateway/base/context.h"
#include "store/store.h"

#include <stdint.h>

/* A Matrix user verifies the XMPP user's OMEMO devices as the gateway
 * knows them now: how many, or -1. */
int trust_verify_xmpp_user(struct gateway *gw, const char *mxid,
                           const char *user_bare);
/* An XMPP user verifies the Matrix user's devices as the gateway knows
 * them now: how many, or -1. */
int trust_verify_matrix_user(struct gateway *gw, const char *user_bare,
                             const char *mxid);
/* The state of a device for a verifier (STORE_DEVICE_*). */
int trust_state(struct gateway *gw, const char *verifier,
                const char *subject, const char *device);
/* An XMPP user's device list, as just read: the Matrix users who
 * verified them are told of each device they have not seen, in their DM
 * (from the XMPP user's ghost). */
void trust_xmpp_devices_seen(struct gateway *gw, const char *user_bare,
                             const uint32_t *ids, int n);
/* A Matrix user's devices, as just fetched: the XMPP users who verified
 * them are told of each device they have not seen, from the Matrix
 * user's JID (OMEMO-encrypted when it can be). */
void trust_matrix_devices_seen(struct gateway *gw, const char *mxid,
                               const struct store_device_key *keys, int n);

#endif
