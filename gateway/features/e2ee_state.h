/* What e2ee_devices.c and e2ee_inbound.c share: the state behind
 * gw->e2ee, and the account loading both need. Not for other files. */
#ifndef ISTHMUS_GATEWAY_FEATURES_E2EE_STATE_H
#define ISTHMUS_GATEWAY_FEATURES_E2EE_STATE_H

#include "common/strmap.h"
#include "gateway/features/e2ee.h"
#include "matrix/crypto/account.h"
#include "matrix/crypto/megolm.h"
#include "matrix/event_device.h"
#include "store/store.h"

#include <stdint.h>

struct device_job;
struct send_job;

struct e2ee {
    /* The homeserver refused to create a device (no MSC4190): said once,
     * then ghosts go without. */
    bool refused;
    struct device_job *jobs; /* devices being set up */
    /* "user|device" -> "1" while its key upload is in flight */
    struct strmap uploading;
    /* ghost -> "device_id curve25519" once its device is known to be
     * ready: the check runs for every ghost a message passes, and every
     * encrypted event names the two, so they stay in memory (both are
     * public) */
    struct strmap ready;
    /* "room|session" -> "1" once the ghost asked for that key */
    struct strmap requested;
    /* room -> its other members' ids (JSON), "" once a member event
     * made it stale */
    struct strmap members;
    struct lane *lanes; /* encrypted sends under way (e2ee_outbound.c) */
    /* sends whose key share goes on in slices, one per loop turn */
    struct send_job *working;
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
/* The ready device of a ghost, from memory: true with its id and
 * Curve25519 key (caller frees both), false when it has none ready. */
bool e2ee_device_identity(struct gateway *gw, const char *mxid,
                          char **device_id, char **curve25519);

/* ---- an encrypted send, between e2ee_outbound.c and e2ee_share.c */

struct send_job {
    struct gateway *gw;
    char *room_id;
    char *type;
    char *txn;
    char *as_user; /* NULL: the bot */
    char *sender;  /* as_user, or the bot's id */
    long long ts;
    json_t *content;
    int attempts;
    mx_event_id_cb cb;
    void *ud;
    bool encryption_known;
    json_t *members; /* the other members' user ids */
    bool invited_read; /* history_visibility lets invited users read */
    /* The sender's session, from the key share to the encryption, with
     * how many messages it had encrypted and when it began. */
    struct mx_megolm_out *session;
    int64_t session_messages, session_created_ts;
    /* The key share, done in slices across loop turns (e2ee_share.c):
     * the devices still to go (an array of [user, device, curve, ed]),
     * where the slices are, the to-device messages made so far, and
     * "user|device" of each, marked shared once they are sent. */
    json_t *todo;
    int phase; /* e2ee_share.c's */
    size_t cursor;
    json_t *claimed; /* keys/claim's one_time_keys, while sessions are made */
    json_t *messages; /* {room_key, out, claims, ready, index} */
    json_t *sharing;
    void (*run)(struct send_job *j); /* starts it, when its lane turn comes */
    struct lane *lane;
    struct send_job *next;         /* in its lane */
    struct send_job *next_working; /* in e2ee->working */
};

/* The jobs of one sender in one room, run one after the other. */
struct lane {
    char *key;
    struct send_job *head, *tail;
    struct lane *next;
};

/* ---- e2ee_devices.c */

/* Drops the device set-ups under way (at shutdown). */
void e2ee_device_jobs_free(struct e2ee *e);
/* What a transaction says of the ghosts' devices: one-time keys running
 * low and used fallback keys are replaced. */
void e2ee_devices_transaction(struct gateway *gw,
                              const struct mx_transaction *txn);

/* ---- e2ee_job.c: a send's life */

/* Queues j behind the sender's other sends in its room; j->run starts it
 * when its turn comes (at once if the lane is idle). */
void e2ee_lane_push(struct gateway *gw, struct send_job *j);
/* j is done with its session: freed, and the next in its lane starts. */
void e2ee_job_next(struct send_job *j);
/* Drops the sends still waiting (at shutdown). */
void e2ee_jobs_free(struct e2ee *e);
/* The room is clear: the event goes as it is. */
void e2ee_job_send_plain(struct send_job *j);
/* The send cannot be encrypted: cb hears why, the lane moves on. */
void e2ee_job_fail(struct send_job *j, const char *why);
/* The members' devices are known: Olm sessions where missing, then the
 * session key to every device that lacks it (e2ee_share.c), then
 * e2ee_job_encrypt. */
void e2ee_share_start(struct send_job *j);
/* keys/query's device_keys for the members whose lists were stale:
 * checked in slices, kept, then e2ee_share_start. */
void e2ee_share_verify(struct send_job *j, json_t *device_keys);
/* Encrypts the event and hands it to the homeserver. */
void e2ee_job_encrypt(struct send_job *j);
/* The sender's outbound session in the room, replaced when the room's
 * rotation says it is spent; *messages: how many it encrypted, and
 * *created_ts: when it began. NULL on a store failure. Free with
 * mx_megolm_out_free. */
struct mx_megolm_out *e2ee_current_session(struct send_job *j,
                                           int64_t *messages,
                                           int64_t *created_ts);
/* ---- e2ee_outbound.c */

/* Users whose devices changed (MSC3202 device_lists). */
void e2ee_device_lists(struct gateway *gw, const struct mx_transaction *txn);

/* ---- e2ee_share.c */

/* An Olm to-device message of type with content, from sender (its account
 * acc, on sender_device) to one device of user (its curve and ed keys),
 * over the first Olm session with that device, which advances and is
 * saved. NULL when there is no session. Caller frees (json_decref). */
json_t *e2ee_olm_for_device(struct gateway *gw, const char *sender,
                            struct mx_account *acc, const char *sender_device,
                            const char *user, const char *curve,
                            const char *ed, const char *type,
                            json_t *content);

/* Runs the slices of key shares under way; 0 when more wait (the loop
 * should come back at once), else -1. */
long e2ee_share_work(struct gateway *gw);

/* ---- e2ee_keyreq.c */

/* An m.room_key_request to a ghost: answered (m.forwarded_room_key from
 * the index the device was given) only for a session the ghost created and
 * only to a device it was shared with. */
void e2ee_key_request(struct gateway *gw, const struct mx_to_device *td);

/* ---- e2ee_inbound.c */

/* Tells of the events that waited too long for their key. */
void e2ee_inbound_tick(struct gateway *gw);

#endif
