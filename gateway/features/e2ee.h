/* End-to-bridge encryption, Matrix side (DESIGN.md §7): each ghost has a
 * device of its own, with an Olm account and cross-signing keys
 * (e2ee_devices.c); room keys sent to those devices are taken in and
 * encrypted room events decrypted before the type dispatch, after which
 * they take the plaintext path (e2ee_inbound.c). Decrypted text exists
 * only in memory; every key is sealed in the store.
 *
 * The state lives in gw->e2ee; e2ee_free releases it. */
#ifndef ISTHMUS_GATEWAY_FEATURES_E2EE_H
#define ISTHMUS_GATEWAY_FEATURES_E2EE_H

#include "matrix/api.h"
#include "matrix/event.h"
#include "matrix/transaction.h"

#include <stdbool.h>

struct gateway;
struct e2ee;

/* Hands a room event to the edge's type dispatch, as if it had just
 * arrived: for encrypted events that waited for their key. The loop
 * passes the edge's own (this floor may not name the edge). */
typedef void e2ee_dispatch_fn(struct gateway *gw, const struct mx_event *ev);

struct e2ee *e2ee_new(e2ee_dispatch_fn *dispatch);
void e2ee_free(struct e2ee *e);

/* False when [e2ee] enabled = false, or when the homeserver refused to
 * create devices for the appservice (no MSC4190). */
bool e2ee_active(const struct gateway *gw);

/* ---- devices (e2ee_devices.c) */

typedef void e2ee_device_cb(struct gateway *gw, void *ud);
/* Makes sure the ghost has its device, keys uploaded and cross-signed;
 * calls cb exactly once, synchronously when it has. A failure is logged
 * and still calls cb: the ghost then works without encryption. */
void e2ee_device_ensure(struct gateway *gw, const char *mxid,
                        e2ee_device_cb *cb, void *ud);
/* What a transaction says of devices: the ghosts' one-time keys running
 * low and used fallback keys are replaced; users whose devices changed
 * are fetched again before the next key share. */
void e2ee_transaction(struct gateway *gw, const struct mx_transaction *txn);

/* The ghost's device id and its Ed25519 key (what Element shows as the
 * session key), for comparing: false when it has none. Both malloc'd. */
bool e2ee_ghost_fingerprint(struct gateway *gw, const char *mxid,
                            char **device_id, char **ed25519);

/* ---- sending (e2ee_outbound.c) */

/* mx_send_event's arguments: into a room known to be clear the event goes
 * as it is; into an encrypted one (or one whose state is not known yet,
 * which is asked first) it is encrypted as the sender's device, after the
 * session key has reached the members' devices. content is consumed. A
 * failure to encrypt reaches cb as a failed send (status 0). */
void e2ee_send_event(struct gateway *gw, const char *room_id,
                     const char *type, const char *txn_id,
                     const char *as_user, long long ts, json_t *content,
                     int max_attempts, mx_event_id_cb cb, void *ud);
/* Whether what goes into room_id must be encrypted: cb hears 1 or 0, or
 * -1 with why when the homeserver could not say. At once when the store
 * knows; else the room's state is asked as as_user. Always 0 when
 * encryption is off. */
typedef void e2ee_encrypted_cb(struct gateway *gw, int encrypted,
                               const char *why, void *ud);
void e2ee_room_encrypted(struct gateway *gw, const char *room_id,
                         const char *as_user, e2ee_encrypted_cb *cb, void *ud);
/* What the room events say about encryption: m.room.encryption, and
 * members coming and going (a leave replaces the room's sessions). */
void e2ee_room_encryption_event(struct gateway *gw, const struct mx_event *ev);
void e2ee_room_member_event(struct gateway *gw, const struct mx_event *ev,
                            const char *membership);
void e2ee_room_visibility_event(struct gateway *gw, const struct mx_event *ev);

/* ---- room keys and decryption (e2ee_inbound.c) */

/* A to-device event of the transaction (taken before its room events, so
 * a key that arrives with its message opens it). */
void e2ee_to_device(struct gateway *gw, json_t *raw);

enum e2ee_outcome {
    E2EE_DECRYPTED, /* *ev is now the plaintext event */
    E2EE_WAITING,   /* kept until its key comes (or the wait ends) */
    E2EE_DROPPED,   /* not for bridging (a replay, our own echo), or told */
};
/* Decrypts an m.room.encrypted room event in place: on E2EE_DECRYPTED,
 * ev's type and content are the plaintext's, borrowed from *plain, which
 * the caller drops (json_decref) after dispatching. */
enum e2ee_outcome e2ee_decrypt_event(struct gateway *gw, struct mx_event *ev,
                                     json_t **plain);
/* Decrypts an m.room.encrypted event from the archive (MAM) in place,
 * with the keys already held, also the ghosts' own: true with ev's type
 * and content borrowed from *plain (the caller drops it), false when it
 * does not open. Nothing waits, nobody is told. */
bool e2ee_decrypt_archived(struct gateway *gw, struct mx_event *ev,
                           json_t **plain);
/* Once a loop turn: events that waited too long for their key are told
 * to the XMPP side as undecryptable. */
void e2ee_tick(struct gateway *gw);
/* 0 when work is waiting for the next loop turn (a key share in slices),
 * else -1: for the loop's sleep. */
long e2ee_next_due_ms(const struct gateway *gw);

#endif
