/* Shared by omemo.c, omemo_pep.c and omemo_messages.c only. */
#ifndef ISTHMUS_GATEWAY_FEATURES_OMEMO_STATE_H
#define ISTHMUS_GATEWAY_FEATURES_OMEMO_STATE_H

#include "gateway/features/omemo.h"

#include "common/strmap.h"
#include "xep/crypto/omemo_crypto.h"

#include <stdint.h>

/* Records of the gateway's own beyond the device's (owner ""): an XMPP
 * user's devices as their device list last said (name: their bare JID,
 * id: the device). */
#define OMEMO_REC_USER_DEVICE 100
#define OMEMO_REC_USER_DEVICE_V2 101 /* the same, from OMEMO 2's list */

/* Someone waiting for a refresh to end. */
struct omemo_waiter {
    omemo_ready_cb *cb;
    void *ud;
};
struct omemo_refresh {
    char *key; /* "puppet user" */
    struct omemo_waiter *waiters;
    int n_waiters;
};

struct omemo_state {
    struct omemo_lib *lib;
    /* The refreshes running, one at a time per (puppet, user). */
    struct omemo_refresh *refreshing;
    int n_refreshing;
    /* "puppet user" pairs that met in this run (omemo_peer_meet). */
    struct strmap met;
    /* puppet JID -> its device id ("%u"), learnt as devices open: a group
     * message names its readers by device id only. */
    struct strmap device_ids;
};

/* The records a puppet's device reads and writes (owner: its JID). */
struct omemo_owner {
    struct gateway *gw;
    char *jid;
};
/* Opens the puppet's device, creating it the first time (then its device
 * list and bundle are announced: omemo_announce). NULL with *why. Close
 * with omemo_puppet_close. */
struct omemo_device *omemo_puppet_open(struct gateway *gw,
                                       const char *puppet_jid,
                                       struct omemo_owner *owner,
                                       const char **why);
void omemo_puppet_close(struct omemo_device *d, struct omemo_owner *owner);
/* The device id of a puppet that has a device (true), without making
 * one for a puppet that has none (false). */
bool omemo_puppet_device_id(struct gateway *gw, const char *puppet_jid,
                            uint32_t *id);

/* ---- gateway-mode rooms (omemo_rooms.c) */
/* The puppet that reads a group message to a gateway MUC: a Matrix
 * member of the room whose device the message has a key for (malloc'd),
 * or NULL with *why. *room_jid: the MUC's bare JID (malloc'd), whenever
 * the sender is one of its occupants, else NULL. */
char *omemo_room_reader(struct gateway *gw, xmpp_stanza_t *st,
                        xmpp_stanza_t *enc, int version, char **room_jid,
                        const char **why);
/* The puppet of the Matrix member a group message from room/nick to an
 * occupant speaks for, when the room is members-only (malloc'd); NULL for
 * an XMPP occupant's message, an open room, or anything else. */
char *omemo_room_speaker(struct gateway *gw, xmpp_stanza_t *st);

/* The devices the user's device list of a version (OMEMO_LEGACY,
 * OMEMO_2) named (malloc'd in *ids, the caller
 * frees): how many, or -1. */
int omemo_user_devices(struct gateway *gw, int version, const char *user,
                       uint32_t **ids);
/* Adds a device to what is known of the user's devices. */
void omemo_user_device_add(struct gateway *gw, int version,
                           const char *user, uint32_t device);
void omemo_user_device_del(struct gateway *gw, int version,
                           const char *user, uint32_t device);
/* Marks a refresh of (puppet, user) as running, with cb (may be NULL)
 * to call when it ends: true when it was not running yet (the caller
 * starts it), false when cb was added to the one running. */
bool omemo_refresh_begin(struct omemo_state *s, const char *key,
                         omemo_ready_cb *cb, void *ud);
/* Ends it: every waiter is called, once. */
void omemo_refresh_done(struct gateway *gw, const char *key);

#endif
