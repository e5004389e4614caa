/* OMEMO's cryptography (legacy OMEMO, eu.siacs.conversations.axolotl):
 * one local device per puppet JID, its X3DH bundle, Signal sessions with
 * other devices, and the AES-128-GCM payload. libomemo-c is behind this
 * header (nothing else includes <omemo/...>); the crypto provider it needs
 * is OpenSSL libcrypto and libsodium (omemo_signal.c).
 *
 * Nothing here touches the store: a device reads and writes its records
 * through the struct omemo_records it is opened with, which the gateway
 * backs with sealed rows. The XML of these things is xep/omemo.c's. */
#ifndef ISTHMUS_XEP_CRYPTO_OMEMO_CRYPTO_H
#define ISTHMUS_XEP_CRYPTO_OMEMO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The two OMEMO versions, as the Signal session versions that carry
 * them: legacy OMEMO (eu.siacs.conversations.axolotl) and OMEMO 2
 * (urn:xmpp:omemo:2). A device is one device in both, with one identity;
 * its sessions with a peer device are apart for each. */
#define OMEMO_LEGACY 3
#define OMEMO_2 4
#define OMEMO_KEY_LEN 16  /* AES-128-GCM key */
#define OMEMO_TAG_LEN 16  /* its tag, sent after the key */
#define OMEMO_IV_LEN 12
#define OMEMO_PUBKEY_LEN 33 /* 0x05 and a Curve25519 point */
#define OMEMO_SIG_LEN 64
/* Pre-keys a device offers; one used is replaced by a new one. */
#define OMEMO_PREKEYS 100

/* What a device keeps. name is the other party's bare JID (sessions and
 * their identities), "" for the device's own records. */
enum omemo_record_kind {
    OMEMO_REC_IDENTITY,      /* own: registration id + identity key pair */
    OMEMO_REC_PREKEY,        /* own: by pre-key id */
    OMEMO_REC_SIGNED_PREKEY, /* own: by signed pre-key id */
    OMEMO_REC_SESSION,       /* (name, device id) */
    OMEMO_REC_PEER_IDENTITY, /* (name, device id): the key first seen */
};

/* The device's storage. get: 1 with *data (malloc'd, the caller frees)
 * and *len, 0 when there is none, -1 on error. put and del: 0 or -1.
 * ids: the ids (malloc'd array in *ids, the caller frees) of a kind under
 * a name, their count, or -1. */
struct omemo_records {
    int (*get)(void *ud, enum omemo_record_kind kind, const char *name,
               uint32_t id, uint8_t **data, size_t *len);
    int (*put)(void *ud, enum omemo_record_kind kind, const char *name,
               uint32_t id, const uint8_t *data, size_t len);
    int (*del)(void *ud, enum omemo_record_kind kind, const char *name,
               uint32_t id);
    int (*ids)(void *ud, enum omemo_record_kind kind, const char *name,
               uint32_t **ids);
    void *ud;
};

/* The process-wide library context; one per gateway. NULL if libomemo-c
 * cannot start (logged). */
struct omemo_lib;
struct omemo_lib *omemo_lib_new(void);
void omemo_lib_free(struct omemo_lib *lib);

/* A public bundle: what others need to open a session with a device. */
struct omemo_prekey_pub {
    uint32_t id;
    uint8_t key[OMEMO_PUBKEY_LEN];
};
/* Keys as the version writes them: legacy with the 0x05 type byte (33
 * bytes), OMEMO 2 bare (32 bytes; the identity in its Ed25519 form). */
struct omemo_bundle {
    int version; /* OMEMO_LEGACY or OMEMO_2 */
    uint32_t signed_prekey_id;
    uint8_t signed_prekey[OMEMO_PUBKEY_LEN];
    uint8_t signature[OMEMO_SIG_LEN];
    uint8_t identity[OMEMO_PUBKEY_LEN];
    struct omemo_prekey_pub *prekeys; /* malloc'd */
    int n_prekeys;
};
void omemo_bundle_free(struct omemo_bundle *b);

/* One local device, bound to its records for the duration of one piece of
 * work (a message, a bundle request). Opening a device that has no
 * identity yet creates it: identity key, registration id (which is also
 * its device id), a signed pre-key and OMEMO_PREKEYS pre-keys, all written
 * through recs. NULL with *why on failure. omemo_device_close frees. */
struct omemo_device;
struct omemo_device *omemo_device_open(struct omemo_lib *lib,
                                       const struct omemo_records *recs,
                                       const char **why);
void omemo_device_close(struct omemo_device *d);
uint32_t omemo_device_id(const struct omemo_device *d);
/* Replaces the signed pre-key when it is a week old at now_ms (keeping
 * the one before it, for sessions on their way): 0, or -1. Every open
 * does it with the clock; tests give their own time. */
int omemo_device_rotate(struct omemo_device *d, uint64_t now_ms);
/* The device's public bundle for a version; 0, or -1 with *why. */
int omemo_device_bundle(struct omemo_device *d, int version,
                        struct omemo_bundle *out, const char **why);
/* The identity key's fingerprint as clients show it: 64 lower-case hex
 * digits of the Curve25519 key (without the 0x05). out: 65 bytes. */
int omemo_device_fingerprint(struct omemo_device *d, char out[65]);

/* Whether a session with (peer, device) exists in that version. */
bool omemo_has_session(struct omemo_device *d, int version, const char *peer,
                       uint32_t device);
/* Opens a session with (peer, device) from its bundle (in the bundle's
 * version), with a pre-key
 * chosen at random. Identities are trusted the first time they are seen
 * (blind trust, as Conversations and Dino do); a device whose identity
 * changed afterwards is refused. 0, or -1 with *why. */
int omemo_session_from_bundle(struct omemo_device *d, const char *peer,
                              uint32_t device, const struct omemo_bundle *b,
                              const char **why);
/* Encrypts a message key (key ‖ tag) for (peer, device): *out (malloc'd,
 * the caller frees), *prekey when it is a pre-key message (the session is
 * not yet confirmed by the other side). 0, or -1 with *why. */
int omemo_encrypt_key(struct omemo_device *d, int version, const char *peer,
                      uint32_t device, const uint8_t *key, size_t key_len,
                      uint8_t **out, size_t *out_len, bool *prekey,
                      const char **why);
/* Decrypts the key element addressed to this device by (peer, device); a
 * pre-key message opens the session (and the pre-key it used is replaced
 * by a fresh one: *replaced_prekey is then true, so the bundle is
 * published again). *key: malloc'd, the caller frees (and wipes). 0, or
 * -1 with *why. */
int omemo_decrypt_key(struct omemo_device *d, int version, const char *peer,
                      uint32_t device, const uint8_t *in, size_t in_len,
                      bool prekey, uint8_t **key, size_t *key_len,
                      bool *replaced_prekey, const char **why);

/* The payload, legacy style: AES-128-GCM with a fresh key and 12-byte IV;
 * key_tag receives key ‖ tag (what each device's key element carries),
 * *ct the ciphertext without the tag (malloc'd, same length as plain). */
int omemo_payload_encrypt(const char *plain, size_t len,
                          uint8_t key_tag[OMEMO_KEY_LEN + OMEMO_TAG_LEN],
                          uint8_t iv[OMEMO_IV_LEN], uint8_t **ct,
                          size_t *ct_len);
/* The other way. The key element holds key ‖ tag (32 bytes), or, from
 * older clients, the key alone (16 bytes) with the tag at the end of the
 * payload. *plain: malloc'd, NUL-terminated, the caller frees. 0, or -1
 * with *why (a wrong key, a forged payload). */
int omemo_payload_decrypt(const uint8_t *key, size_t key_len,
                          const uint8_t *iv, size_t iv_len, const uint8_t *ct,
                          size_t ct_len, char **plain, const char **why);

/* OMEMO 2's payload: HKDF-SHA-256 of a fresh 32-byte key ("OMEMO
 * Payload") gives an AES-256-CBC key, an HMAC-SHA-256 key and an IV;
 * key_hmac receives the key ‖ the HMAC truncated to 16 bytes (what each
 * device's key element carries), *ct the ciphertext (malloc'd). */
#define OMEMO2_KEY_HMAC_LEN 48
int omemo2_payload_encrypt(const char *plain, size_t len,
                           uint8_t key_hmac[OMEMO2_KEY_HMAC_LEN],
                           uint8_t **ct, size_t *ct_len);
/* The other way: *plain malloc'd and NUL-terminated; 0, or -1 with *why
 * (the HMAC does not match: altered, or another key). */
int omemo2_payload_decrypt(const uint8_t *key_hmac, size_t key_len,
                           const uint8_t *ct, size_t ct_len, char **plain,
                           const char **why);

#endif
