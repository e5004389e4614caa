/* The store's end-to-bridge encryption state (store/crypto.c): ghost
 * devices with their Olm accounts and cross-signing keys, Olm sessions,
 * inbound Megolm sessions, and encrypted events waiting for their key.
 * Included by store.h; callers include store.h.
 *
 * Every pickle and key is sealed (store/seal.c) before it is written and
 * opened when read: without the operator's key file the database holds
 * no key that decrypts anything. Without a store key set, these writes
 * fail (-1) rather than keep keys in clear. */
#ifndef ISTHMUS_STORE_CRYPTO_H
#define ISTHMUS_STORE_CRYPTO_H

#include <stdint.h>

struct store;

/* A ghost's device. ready: its keys (and cross-signing) reached the
 * homeserver. */
struct store_crypto_device {
    char *mxid;
    char *device_id;
    char *account;       /* the Olm account's pickle */
    char *cross_signing; /* mx_cross_signing_save's text */
    int ready;
};
/* 1 found (free with store_crypto_device_free), 0 none, -1 error (also
 * when a sealed value does not open). */
int store_crypto_device_get(struct store *st, const char *mxid,
                            struct store_crypto_device *out);
int store_crypto_device_put(struct store *st,
                            const struct store_crypto_device *d);
void store_crypto_device_free(struct store_crypto_device *d);
/* A ghost's Olm sessions with one sender device (by its Curve25519 key),
 * most recently used first: their pickles into *out (store_strings_free);
 * how many, or -1. */
int store_olm_sessions(struct store *st, const char *mxid,
                       const char *sender_key, char ***out);
int store_olm_session_put(struct store *st, const char *mxid,
                          const char *sender_key, const char *session_id,
                          const char *pickle, int64_t now_ms);

/* An inbound Megolm session of a room, and who it came from. */
struct store_megolm_in {
    char *room_id;
    char *session_id;
    char *sender_key;     /* Curve25519 of the device that shared it */
    char *sender_ed25519; /* its claimed Ed25519 key, or NULL */
    char *pickle;
};
int store_megolm_in_get(struct store *st, const char *room_id,
                        const char *session_id, struct store_megolm_in *out);
int store_megolm_in_put(struct store *st, const struct store_megolm_in *m,
                        int64_t now_ms);
void store_megolm_in_free(struct store_megolm_in *m);

/* A message index of a session is used by one event only: 1 when
 * (room, session, index) was free or already this event's, 0 when another
 * event used it (a replay), -1 on error. */
int store_megolm_index_claim(struct store *st, const char *room_id,
                             const char *session_id, int64_t index,
                             const char *event_id);

/* Encrypted events waiting for their session's key, in arrival order. */
struct store_megolm_wait {
    int64_t seq;
    char *room_id;
    char *session_id;
    char *event; /* the event as received (JSON text) */
    int64_t received_ts;
};
int store_megolm_wait_add(struct store *st, const char *room_id,
                          const char *session_id, const char *event,
                          int64_t now_ms);
/* Those of one session (room_id and session_id), or, with session_id
 * NULL, those of every session received before before_ms; at most limit,
 * oldest first. *out: free with store_megolm_waits_free. Count or -1. */
int store_megolm_waiting(struct store *st, const char *room_id,
                         const char *session_id, int64_t before_ms,
                         int limit, struct store_megolm_wait **out);
void store_megolm_waits_free(struct store_megolm_wait *w, int n);
int store_megolm_wait_done(struct store *st, int64_t seq);
/* How many wait (for the metrics). */
int store_megolm_wait_count(struct store *st);

/* ---- sending */

/* Whether a room is encrypted: 1 known (*algorithm: the algorithm, caller
 * frees, or NULL for a room known to be clear), 0 not known, -1. */
struct store_room_encryption {
    char *algorithm;
    int64_t rotation_ms;
    int64_t rotation_msgs;
};
int store_room_encryption_get(struct store *st, const char *room_id,
                              struct store_room_encryption *out);
int store_room_encryption_put(struct store *st, const char *room_id,
                              const struct store_room_encryption *e);

/* A Matrix user's devices, as the gateway last fetched them. */
struct store_device_key {
    char *user_id;
    char *device_id;
    char *curve25519;
    char *ed25519;
};
/* 1 when the user's list is known and current, 0 when it was never
 * fetched or changed since (stale), -1. */
int store_device_list_current(struct store *st, const char *user_id);
/* The homeserver said the user's devices changed. */
int store_device_list_stale(struct store *st, const char *user_id);
/* Replaces the user's devices with keys (n of them), now current. */
int store_device_keys_set(struct store *st, const char *user_id,
                          const struct store_device_key *keys, int n);
/* The user's devices into *out (store_device_keys_free): n, or -1. */
int store_device_keys_of(struct store *st, const char *user_id,
                         struct store_device_key **out);
void store_device_keys_free(struct store_device_key *keys, int n);

/* A ghost's outbound Megolm session in a room. */
struct store_megolm_out {
    char *session_id;
    char *pickle;
    int64_t created_ts;
    int64_t messages;
};
int store_megolm_out_get(struct store *st, const char *room_id,
                         const char *mxid, struct store_megolm_out *out);
int store_megolm_out_put(struct store *st, const char *room_id,
                         const char *mxid, const struct store_megolm_out *m);
void store_megolm_out_free(struct store_megolm_out *m);
/* Saves the session after it encrypted (its new pickle and count), only
 * if it is still the ghost's session in the room: one dropped meanwhile
 * (a member left) stays dropped. 0 or -1. */
int store_megolm_out_advance(struct store *st, const char *room_id,
                             const char *mxid, const char *session_id,
                             const char *pickle, int64_t messages);
/* Every ghost's session in the room is replaced at its next message (a
 * member left: it must not read what follows). */
int store_megolm_out_drop_room(struct store *st, const char *room_id);
/* The devices ("user|device") a session was shared with
 * (store_strings_free): n or -1. */
int store_megolm_shared_list(struct store *st, const char *session_id,
                             char ***out);
/* first_index: the message index the device was given the session at. */
int store_megolm_shared_add(struct store *st, const char *session_id,
                            const char *user_id, const char *device_id,
                            int64_t first_index);
/* The index the device was given the session at: 1 (*first_index set),
 * 0 never shared with it, -1 error. */
int store_megolm_shared_index(struct store *st, const char *session_id,
                              const char *user_id, const char *device_id,
                              int64_t *first_index);

#endif
