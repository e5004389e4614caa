/* A local OMEMO device over libomemo-c: the store callbacks the library
 * calls, mapped onto struct omemo_records; the device's creation; its
 * bundle; sessions with other devices. */
#include "xep/crypto/omemo_crypto.h"
#include "xep/crypto/omemo_internal.h"

#include "common/mem.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The identity record: registration id (big-endian) ‖ public ‖ private. */
#define IDENTITY_PRIV_LEN 32
#define IDENTITY_LEN (4 + OMEMO_PUBKEY_LEN + IDENTITY_PRIV_LEN)

struct omemo_device {
    struct omemo_lib *lib;
    struct omemo_records recs;
    signal_protocol_store_context *store;
    uint32_t id;
    uint8_t identity[IDENTITY_LEN];
};

void omemo_bundle_free(struct omemo_bundle *b)
{
    free(b->prekeys);
    memset(b, 0, sizeof *b);
}

/* The library's names are counted, not terminated. malloc'd. */
static char *name_of(const char *name, size_t len)
{
    return xstrndup(name, len);
}

static int rec_get_buffer(struct omemo_device *d, enum omemo_record_kind kind,
                          const char *name, uint32_t id, signal_buffer **out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = d->recs.get(d->recs.ud, kind, name, id, &data, &len);
    if (rc == 1) {
        *out = signal_buffer_create(data, len);
        sodium_memzero(data, len);
    }
    free(data);
    return rc;
}

/* ------------------------------------------------------- session store -- */

static int load_session(signal_buffer **record, signal_buffer **user_record,
                        const signal_protocol_address *a, void *ud)
{
    (void)user_record;
    char *name = name_of(a->name, a->name_len);
    int rc = rec_get_buffer(ud, OMEMO_REC_SESSION, name, (uint32_t)a->device_id,
                            record);
    free(name);
    return rc < 0 ? SG_ERR_UNKNOWN : rc;
}

static int sub_device_sessions(signal_int_list **sessions, const char *n,
                               size_t len, void *ud)
{
    struct omemo_device *d = ud;
    char *name = name_of(n, len);
    uint32_t *ids = NULL;
    int count = d->recs.ids(d->recs.ud, OMEMO_REC_SESSION, name, &ids);
    free(name);
    if (count < 0)
        return SG_ERR_UNKNOWN;
    *sessions = signal_int_list_alloc();
    for (int i = 0; i < count; i++)
        signal_int_list_push_back(*sessions, (int)ids[i]);
    free(ids);
    return count;
}

static int store_session(const signal_protocol_address *a, uint8_t *record,
                         size_t len, uint8_t *user_record, size_t user_len,
                         void *ud)
{
    (void)user_record;
    (void)user_len;
    struct omemo_device *d = ud;
    char *name = name_of(a->name, a->name_len);
    int rc = d->recs.put(d->recs.ud, OMEMO_REC_SESSION, name,
                         (uint32_t)a->device_id, record, len);
    free(name);
    return rc < 0 ? SG_ERR_UNKNOWN : 0;
}

static int contains_session(const signal_protocol_address *a, void *ud)
{
    signal_buffer *b = NULL;
    char *name = name_of(a->name, a->name_len);
    int rc = rec_get_buffer(ud, OMEMO_REC_SESSION, name, (uint32_t)a->device_id,
                            &b);
    free(name);
    signal_buffer_bzero_free(b);
    return rc == 1;
}

static int delete_session(const signal_protocol_address *a, void *ud)
{
    struct omemo_device *d = ud;
    char *name = name_of(a->name, a->name_len);
    int rc = d->recs.del(d->recs.ud, OMEMO_REC_SESSION, name,
                         (uint32_t)a->device_id);
    free(name);
    return rc < 0 ? SG_ERR_UNKNOWN : 1;
}

static int delete_all_sessions(const char *n, size_t len, void *ud)
{
    struct omemo_device *d = ud;
    char *name = name_of(n, len);
    uint32_t *ids = NULL;
    int count = d->recs.ids(d->recs.ud, OMEMO_REC_SESSION, name, &ids);
    for (int i = 0; i < count; i++)
        d->recs.del(d->recs.ud, OMEMO_REC_SESSION, name, ids[i]);
    free(ids);
    free(name);
    return count < 0 ? SG_ERR_UNKNOWN : count;
}

/* ------------------------------------------------ pre-key stores (own) -- */

static int load_key(struct omemo_device *d, enum omemo_record_kind kind,
                    signal_buffer **record, uint32_t id)
{
    int rc = rec_get_buffer(d, kind, "", id, record);
    return rc == 1 ? SG_SUCCESS : rc == 0 ? SG_ERR_INVALID_KEY_ID
                                          : SG_ERR_UNKNOWN;
}

static int put_key(struct omemo_device *d, enum omemo_record_kind kind,
                   uint32_t id, const uint8_t *record, size_t len)
{
    return d->recs.put(d->recs.ud, kind, "", id, record, len) < 0
               ? SG_ERR_UNKNOWN
               : 0;
}

static int has_key(struct omemo_device *d, enum omemo_record_kind kind,
                   uint32_t id)
{
    signal_buffer *b = NULL;
    int rc = rec_get_buffer(d, kind, "", id, &b);
    signal_buffer_bzero_free(b);
    return rc == 1;
}

static int load_prekey(signal_buffer **r, uint32_t id, void *ud)
{
    return load_key(ud, OMEMO_REC_PREKEY, r, id);
}
static int store_prekey(uint32_t id, uint8_t *r, size_t len, void *ud)
{
    return put_key(ud, OMEMO_REC_PREKEY, id, r, len);
}
static int contains_prekey(uint32_t id, void *ud)
{
    return has_key(ud, OMEMO_REC_PREKEY, id);
}
static int remove_prekey(uint32_t id, void *ud)
{
    struct omemo_device *d = ud;
    return d->recs.del(d->recs.ud, OMEMO_REC_PREKEY, "", id) < 0
               ? SG_ERR_UNKNOWN
               : 0;
}
static int load_signed(signal_buffer **r, uint32_t id, void *ud)
{
    return load_key(ud, OMEMO_REC_SIGNED_PREKEY, r, id);
}
static int store_signed(uint32_t id, uint8_t *r, size_t len, void *ud)
{
    return put_key(ud, OMEMO_REC_SIGNED_PREKEY, id, r, len);
}
static int contains_signed(uint32_t id, void *ud)
{
    return has_key(ud, OMEMO_REC_SIGNED_PREKEY, id);
}
static int remove_signed(uint32_t id, void *ud)
{
    struct omemo_device *d = ud;
    return d->recs.del(d->recs.ud, OMEMO_REC_SIGNED_PREKEY, "", id) < 0
               ? SG_ERR_UNKNOWN
               : 0;
}

/* ------------------------------------------------------ identity store -- */

static int identity_pair(signal_buffer **pub, signal_buffer **priv, void *ud)
{
    struct omemo_device *d = ud;
    *pub = signal_buffer_create(d->identity + 4, OMEMO_PUBKEY_LEN);
    *priv = signal_buffer_create(d->identity + 4 + OMEMO_PUBKEY_LEN,
                                 IDENTITY_PRIV_LEN);
    return *pub && *priv ? 0 : SG_ERR_NOMEM;
}

static int registration_id(void *ud, uint32_t *id)
{
    *id = ((struct omemo_device *)ud)->id;
    return 0;
}

static int save_identity(const signal_protocol_address *a, uint8_t *key,
                         size_t len, void *ud)
{
    struct omemo_device *d = ud;
    char *name = name_of(a->name, a->name_len);
    int rc = key ? d->recs.put(d->recs.ud, OMEMO_REC_PEER_IDENTITY, name,
                               (uint32_t)a->device_id, key, len)
                 : d->recs.del(d->recs.ud, OMEMO_REC_PEER_IDENTITY, name,
                               (uint32_t)a->device_id);
    free(name);
    return rc < 0 ? SG_ERR_UNKNOWN : 0;
}

/* Blind trust: the first key a device shows is its key; another one later
 * is not (the session would silently move to whoever holds it). */
static int is_trusted(const signal_protocol_address *a, uint8_t *key,
                      size_t len, void *ud)
{
    struct omemo_device *d = ud;
    char *name = name_of(a->name, a->name_len);
    uint8_t *known = NULL;
    size_t known_len = 0;
    int rc = d->recs.get(d->recs.ud, OMEMO_REC_PEER_IDENTITY, name,
                         (uint32_t)a->device_id, &known, &known_len);
    free(name);
    int trusted = rc == 0 || (rc == 1 && known_len == len &&
                              sodium_memcmp(known, key, len) == 0);
    free(known);
    return rc < 0 ? SG_ERR_UNKNOWN : trusted;
}

/* --------------------------------------------------------------- device -- */

static int bind_stores(struct omemo_device *d)
{
    signal_protocol_session_store ss = {
        .load_session_func = load_session,
        .get_sub_device_sessions_func = sub_device_sessions,
        .store_session_func = store_session,
        .contains_session_func = contains_session,
        .delete_session_func = delete_session,
        .delete_all_sessions_func = delete_all_sessions,
        .user_data = d,
    };
    signal_protocol_pre_key_store ps = {
        .load_pre_key = load_prekey, .store_pre_key = store_prekey,
        .contains_pre_key = contains_prekey, .remove_pre_key = remove_prekey,
        .user_data = d,
    };
    signal_protocol_signed_pre_key_store sps = {
        .load_signed_pre_key = load_signed,
        .store_signed_pre_key = store_signed,
        .contains_signed_pre_key = contains_signed,
        .remove_signed_pre_key = remove_signed,
        .user_data = d,
    };
    signal_protocol_identity_key_store is = {
        .get_identity_key_pair = identity_pair,
        .get_local_registration_id = registration_id,
        .save_identity = save_identity,
        .is_trusted_identity = is_trusted,
        .user_data = d,
    };
    return signal_protocol_store_context_create(&d->store, d->lib->ctx) ||
           signal_protocol_store_context_set_session_store(d->store, &ss) ||
           signal_protocol_store_context_set_pre_key_store(d->store, &ps) ||
           signal_protocol_store_context_set_signed_pre_key_store(d->store,
                                                                  &sps) ||
           signal_protocol_store_context_set_identity_key_store(d->store, &is);
}

static int store_prekeys(struct omemo_device *d, unsigned start,
                         unsigned count)
{
    signal_protocol_key_helper_pre_key_list_node *head = NULL;
    if (signal_protocol_key_helper_generate_pre_keys(&head, start, count,
                                                     d->lib->ctx) != 0)
        return -1;
    int rc = 0;
    for (signal_protocol_key_helper_pre_key_list_node *n = head; n && !rc;
         n = signal_protocol_key_helper_key_list_next(n))
        rc = signal_protocol_pre_key_store_key(
            d->store, signal_protocol_key_helper_key_list_element(n));
    signal_protocol_key_helper_key_list_free(head);
    return rc ? -1 : 0;
}

/* A new identity: keys, ids, the signed pre-key and the pre-keys. */
static int create_identity(struct omemo_device *d, const char **why)
{
    ratchet_identity_key_pair *pair = NULL;
    signal_buffer *pub = NULL, *priv = NULL;
    session_signed_pre_key *spk = NULL;
    int rc = -1;
    /* Device ids are 31-bit and not 0 (some clients read them signed). */
    do
        d->id = randombytes_random() & 0x7fffffffu;
    while (d->id == 0);
    if (signal_protocol_key_helper_generate_identity_key_pair(&pair,
                                                              d->lib->ctx) ||
        ec_public_key_serialize(&pub, ratchet_identity_key_pair_get_public(pair)) ||
        ec_private_key_serialize(&priv,
                                 ratchet_identity_key_pair_get_private(pair)) ||
        signal_buffer_len(pub) != OMEMO_PUBKEY_LEN ||
        signal_buffer_len(priv) != IDENTITY_PRIV_LEN) {
        *why = "could not make an identity key";
        goto out;
    }
    d->identity[0] = (uint8_t)(d->id >> 24);
    d->identity[1] = (uint8_t)(d->id >> 16);
    d->identity[2] = (uint8_t)(d->id >> 8);
    d->identity[3] = (uint8_t)d->id;
    memcpy(d->identity + 4, signal_buffer_data(pub), OMEMO_PUBKEY_LEN);
    memcpy(d->identity + 4 + OMEMO_PUBKEY_LEN, signal_buffer_data(priv),
           IDENTITY_PRIV_LEN);
    if (signal_protocol_key_helper_generate_signed_pre_key(
            &spk, pair, 1, (uint64_t)time(NULL) * 1000, d->lib->ctx) ||
        signal_protocol_signed_pre_key_store_key(d->store, spk) ||
        store_prekeys(d, 1, OMEMO_PREKEYS) < 0) {
        *why = "could not make the pre-keys";
        goto out;
    }
    /* Written last: a device whose identity is stored is complete. */
    if (d->recs.put(d->recs.ud, OMEMO_REC_IDENTITY, "", 0, d->identity,
                    IDENTITY_LEN) < 0) {
        *why = "could not store the identity";
        goto out;
    }
    rc = 0;
out:
    SIGNAL_UNREF(pair);
    SIGNAL_UNREF(spk);
    signal_buffer_bzero_free(priv);
    signal_buffer_free(pub);
    return rc;
}

static int cmp_u32(const void *a, const void *b);

/* The signed pre-key is replaced every week, as Signal clients do, so
 * that one leaked key opens no new session for long; the one before
 * stays, for sessions that a message on its way still starts with it. */
#define SIGNED_PREKEY_LIFE_MS (7LL * 24 * 3600 * 1000)

int omemo_device_rotate(struct omemo_device *d, uint64_t now_ms)
{
    uint32_t *ids = NULL;
    int n = d->recs.ids(d->recs.ud, OMEMO_REC_SIGNED_PREKEY, "", &ids);
    if (n <= 0) {
        free(ids);
        return n < 0 ? -1 : 0;
    }
    qsort(ids, (size_t)n, sizeof *ids, cmp_u32);
    uint32_t newest = ids[n - 1];
    session_signed_pre_key *spk = NULL;
    int rc = 0;
    if (signal_protocol_signed_pre_key_load_key(d->store, &spk, newest) == 0 &&
        session_signed_pre_key_get_timestamp(spk) + SIGNED_PREKEY_LIFE_MS <
            now_ms) {
        session_signed_pre_key *fresh = NULL;
        ratchet_identity_key_pair *pair = NULL;
        ec_public_key *pub = NULL;
        ec_private_key *priv = NULL;
        rc = curve_decode_point(&pub, d->identity + 4, OMEMO_PUBKEY_LEN,
                                d->lib->ctx) ||
                     curve_decode_private_point(
                         &priv, d->identity + 4 + OMEMO_PUBKEY_LEN,
                         IDENTITY_PRIV_LEN, d->lib->ctx) ||
                     ratchet_identity_key_pair_create(&pair, pub, priv) ||
                     signal_protocol_key_helper_generate_signed_pre_key(
                         &fresh, pair, newest + 1, now_ms, d->lib->ctx) ||
                     signal_protocol_signed_pre_key_store_key(d->store, fresh)
                 ? -1
                 : 0;
        /* Older than the one it replaces: no session starts with them. */
        for (int i = 0; rc == 0 && i < n - 1; i++)
            d->recs.del(d->recs.ud, OMEMO_REC_SIGNED_PREKEY, "", ids[i]);
        SIGNAL_UNREF(fresh);
        SIGNAL_UNREF(pair);
        SIGNAL_UNREF(pub);
        SIGNAL_UNREF(priv);
    }
    SIGNAL_UNREF(spk);
    free(ids);
    return rc;
}

struct omemo_device *omemo_device_open(struct omemo_lib *lib,
                                       const struct omemo_records *recs,
                                       const char **why)
{
    struct omemo_device *d = xcalloc(1, sizeof *d);
    d->lib = lib;
    d->recs = *recs;
    if (bind_stores(d) != 0) {
        *why = "libomemo-c refused the stores";
        omemo_device_close(d);
        return NULL;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = recs->get(recs->ud, OMEMO_REC_IDENTITY, "", 0, &data, &len);
    if (rc == 1 && len == IDENTITY_LEN) {
        memcpy(d->identity, data, IDENTITY_LEN);
        d->id = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
                (uint32_t)data[2] << 8 | data[3];
    }
    if (data)
        sodium_memzero(data, len);
    free(data);
    if ((rc == 1 && len != IDENTITY_LEN) || rc < 0) {
        *why = "the device's identity does not read";
        omemo_device_close(d);
        return NULL;
    }
    if (rc == 0 && create_identity(d, why) < 0) {
        omemo_device_close(d);
        return NULL;
    }
    if (omemo_device_rotate(d, (uint64_t)time(NULL) * 1000) < 0) {
        *why = "could not replace the week-old signed pre-key";
        omemo_device_close(d);
        return NULL;
    }
    return d;
}

void omemo_device_close(struct omemo_device *d)
{
    if (!d)
        return;
    if (d->store)
        signal_protocol_store_context_destroy(d->store);
    sodium_memzero(d->identity, sizeof d->identity);
    free(d);
}

uint32_t omemo_device_id(const struct omemo_device *d)
{
    return d->id;
}

int omemo_device_fingerprint(struct omemo_device *d, char out[65])
{
    sodium_bin2hex(out, 65, d->identity + 5, OMEMO_PUBKEY_LEN - 1);
    return 0;
}

static int serialize_pub(ec_public_key *key, uint8_t out[OMEMO_PUBKEY_LEN])
{
    signal_buffer *b = NULL;
    int ok = ec_public_key_serialize(&b, key) == 0 &&
             signal_buffer_len(b) == OMEMO_PUBKEY_LEN;
    if (ok)
        memcpy(out, signal_buffer_data(b), OMEMO_PUBKEY_LEN);
    signal_buffer_free(b);
    return ok ? 0 : -1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* A public key as the version writes it. */
static int serialize_for(int version, ec_public_key *key,
                         uint8_t out[OMEMO_PUBKEY_LEN])
{
    if (version != OMEMO_2)
        return serialize_pub(key, out);
    signal_buffer *b = NULL;
    int ok = ec_public_key_serialize_omemo(&b, key) == 0 &&
             signal_buffer_len(b) == 32;
    if (ok)
        memcpy(out, signal_buffer_data(b), 32);
    signal_buffer_free(b);
    return ok ? 0 : -1;
}

int omemo_device_bundle(struct omemo_device *d, int version,
                        struct omemo_bundle *out, const char **why)
{
    memset(out, 0, sizeof *out);
    out->version = version;
    if (version == OMEMO_2) {
        ec_public_key *ik = NULL;
        signal_buffer *ed = NULL;
        int ok = curve_decode_point(&ik, d->identity + 4, OMEMO_PUBKEY_LEN,
                                    d->lib->ctx) == 0 &&
                 (ed = ec_public_key_get_ed(ik)) != NULL &&
                 signal_buffer_len(ed) == 32;
        if (ok)
            memcpy(out->identity, signal_buffer_data(ed), 32);
        signal_buffer_free(ed);
        SIGNAL_UNREF(ik);
        if (!ok) {
            *why = "the identity key has no Ed25519 form";
            return -1;
        }
    } else {
        memcpy(out->identity, d->identity + 4, OMEMO_PUBKEY_LEN);
    }
    uint32_t *ids = NULL;
    int n = d->recs.ids(d->recs.ud, OMEMO_REC_SIGNED_PREKEY, "", &ids);
    session_signed_pre_key *spk = NULL;
    if (n <= 0) {
        free(ids);
        *why = "the device has no signed pre-key";
        return -1;
    }
    qsort(ids, (size_t)n, sizeof *ids, cmp_u32);
    out->signed_prekey_id = ids[n - 1];
    free(ids);
    bool v2 = version == OMEMO_2;
    if (signal_protocol_signed_pre_key_load_key(d->store, &spk,
                                                out->signed_prekey_id) ||
        serialize_for(version, ec_key_pair_get_public(
                                   session_signed_pre_key_get_key_pair(spk)),
                      out->signed_prekey) < 0 ||
        (v2 ? session_signed_pre_key_get_signature_omemo_len(spk)
            : session_signed_pre_key_get_signature_len(spk)) !=
            OMEMO_SIG_LEN) {
        SIGNAL_UNREF(spk);
        *why = "the signed pre-key does not read";
        return -1;
    }
    memcpy(out->signature,
           v2 ? session_signed_pre_key_get_signature_omemo(spk)
              : session_signed_pre_key_get_signature(spk),
           OMEMO_SIG_LEN);
    SIGNAL_UNREF(spk);
    n = d->recs.ids(d->recs.ud, OMEMO_REC_PREKEY, "", &ids);
    if (n < 0) {
        *why = "the pre-keys do not read";
        return -1;
    }
    out->prekeys = xcalloc((size_t)n + 1, sizeof *out->prekeys);
    for (int i = 0; i < n; i++) {
        session_pre_key *pk = NULL;
        if (signal_protocol_pre_key_load_key(d->store, &pk, ids[i]) == 0 &&
            serialize_for(version, ec_key_pair_get_public(
                                       session_pre_key_get_key_pair(pk)),
                          out->prekeys[out->n_prekeys].key) == 0)
            out->prekeys[out->n_prekeys++].id = ids[i];
        SIGNAL_UNREF(pk);
    }
    free(ids);
    return 0;
}

/* ------------------------------------------------------------- sessions -- */

/* The name a version's sessions with a peer are kept under: OMEMO 2's
 * apart from legacy ones with the same device (different ratchets). */
static char *session_name(int version, const char *peer)
{
    return version == OMEMO_2 ? xasprintf("omemo2:%s", peer) : xstrdup(peer);
}

bool omemo_has_session(struct omemo_device *d, int version, const char *peer,
                       uint32_t device)
{
    char *name = session_name(version, peer);
    signal_protocol_address a = { name, strlen(name), (int32_t)device };
    bool has = signal_protocol_session_contains_session(d->store, &a) == 1;
    free(name);
    return has;
}

int omemo_session_from_bundle(struct omemo_device *d, const char *peer,
                              uint32_t device, const struct omemo_bundle *b,
                              const char **why)
{
    if (b->n_prekeys <= 0) {
        *why = "the bundle offers no pre-key";
        return -1;
    }
    const struct omemo_prekey_pub *pk =
        &b->prekeys[randombytes_uniform((uint32_t)b->n_prekeys)];
    ec_public_key *ik = NULL, *spk = NULL, *pkk = NULL;
    session_pre_key_bundle *bundle = NULL;
    session_builder *builder = NULL;
    bool v2 = b->version == OMEMO_2;
    char *name = session_name(b->version, peer);
    signal_protocol_address a = { name, strlen(name), (int32_t)device };
    int rc = -1;
    signal_context *ctx = d->lib->ctx;
    /* OMEMO 2 writes bare keys, and the identity in its Ed25519 form. */
    if ((v2 ? curve_decode_point_ed(&ik, b->identity, 32, ctx)
            : curve_decode_point(&ik, b->identity, OMEMO_PUBKEY_LEN, ctx)) ||
        (v2 ? curve_decode_point_mont(&spk, b->signed_prekey, 32, ctx)
            : curve_decode_point(&spk, b->signed_prekey, OMEMO_PUBKEY_LEN,
                                 ctx)) ||
        (v2 ? curve_decode_point_mont(&pkk, pk->key, 32, ctx)
            : curve_decode_point(&pkk, pk->key, OMEMO_PUBKEY_LEN, ctx))) {
        *why = "the bundle holds a key that is not a Curve25519 key";
        goto out;
    }
    if (session_pre_key_bundle_create(&bundle, 0, (int)device, pk->id, pkk,
                                      b->signed_prekey_id, spk, b->signature,
                                      OMEMO_SIG_LEN, ik) ||
        session_builder_create(&builder, d->store, &a, ctx)) {
        *why = "libomemo-c could not take the bundle";
        goto out;
    }
    if (v2)
        session_builder_set_version(builder, CIPHERTEXT_OMEMO_VERSION);
    int r = session_builder_process_pre_key_bundle(builder, bundle);
    if (r == SG_ERR_UNTRUSTED_IDENTITY)
        *why = "the device's identity key changed since it was first seen";
    else if (r == SG_ERR_INVALID_KEY)
        *why = "the bundle's signed pre-key signature does not verify";
    else if (r)
        *why = "the bundle does not open a session";
    else
        rc = 0;
out:
    session_builder_free(builder);
    free(name); /* the builder kept the address, not a copy */
    SIGNAL_UNREF(bundle);
    SIGNAL_UNREF(ik);
    SIGNAL_UNREF(spk);
    SIGNAL_UNREF(pkk);
    return rc;
}

int omemo_encrypt_key(struct omemo_device *d, int version, const char *peer,
                      uint32_t device, const uint8_t *key, size_t key_len,
                      uint8_t **out, size_t *out_len, bool *prekey,
                      const char **why)
{
    char *name = session_name(version, peer);
    signal_protocol_address a = { name, strlen(name), (int32_t)device };
    session_cipher *c = NULL;
    ciphertext_message *m = NULL;
    int rc = session_cipher_create(&c, d->store, &a, d->lib->ctx);
    if (rc == 0 && version == OMEMO_2)
        session_cipher_set_version(c, CIPHERTEXT_OMEMO_VERSION);
    if (rc == 0)
        rc = session_cipher_encrypt(c, key, key_len, &m);
    if (rc) {
        session_cipher_free(c);
        free(name);
        *why = rc == SG_ERR_NO_SESSION ? "no session with that device"
                                       : "libomemo-c could not encrypt";

        return -1;
    }
    free(name);
    signal_buffer *s = ciphertext_message_get_serialized(m);
    *out_len = signal_buffer_len(s);
    *out = xmemdup(signal_buffer_data(s), *out_len);
    *prekey = ciphertext_message_get_type(m) == CIPHERTEXT_PREKEY_TYPE;
    SIGNAL_UNREF(m);
    session_cipher_free(c);
    return 0;
}

static const char *decrypt_error(int r)
{
    switch (r) {
    case SG_ERR_DUPLICATE_MESSAGE: return "the message was received before";
    case SG_ERR_NO_SESSION: return "there is no session with that device";
    case SG_ERR_INVALID_KEY_ID: return "it uses a pre-key that is gone";
    case SG_ERR_UNTRUSTED_IDENTITY:
        return "the device's identity key changed since it was first seen";
    case SG_ERR_INVALID_MAC:
    case SG_ERR_INVALID_MESSAGE: return "the key element does not decrypt";
    default: return "the key element is not understood";
    }
}

int omemo_decrypt_key(struct omemo_device *d, int version, const char *peer,
                      uint32_t device, const uint8_t *in, size_t in_len,
                      bool prekey, uint8_t **key, size_t *key_len,
                      bool *replaced_prekey, const char **why)
{
    char *name = session_name(version, peer);
    signal_protocol_address a = { name, strlen(name), (int32_t)device };
    session_cipher *c = NULL;
    signal_buffer *plain = NULL;
    bool v2 = version == OMEMO_2;
    int r;
    *replaced_prekey = false;
    if (session_cipher_create(&c, d->store, &a, d->lib->ctx)) {
        free(name);
        *why = "libomemo-c could not start";
        return -1;
    }
    if (v2)
        session_cipher_set_version(c, CIPHERTEXT_OMEMO_VERSION);
    if (prekey) {
        pre_key_signal_message *m = NULL;
        /* OMEMO 2's key exchange does not carry the registration id. */
        r = v2 ? pre_key_signal_message_deserialize_omemo(&m, in, in_len,
                                                          device, d->lib->ctx)
               : pre_key_signal_message_deserialize(&m, in, in_len,
                                                    d->lib->ctx);
        if (r == 0)
            r = session_cipher_decrypt_pre_key_signal_message(c, m, NULL,
                                                              &plain);
        /* The library removed the pre-key the message used: one fresh
         * key takes its place (a new id, so no sender mistakes it). */
        if (r == 0 && pre_key_signal_message_has_pre_key_id(m) &&
            !contains_prekey(pre_key_signal_message_get_pre_key_id(m), d)) {
            uint32_t *ids = NULL;
            int n = d->recs.ids(d->recs.ud, OMEMO_REC_PREKEY, "", &ids);
            uint32_t next = 1;
            for (int i = 0; i < n; i++)
                if (ids[i] >= next)
                    next = ids[i] + 1;
            free(ids);
            if (next < pre_key_signal_message_get_pre_key_id(m) + 1)
                next = pre_key_signal_message_get_pre_key_id(m) + 1;
            *replaced_prekey = store_prekeys(d, next, 1) == 0;
        }
        SIGNAL_UNREF(m);
    } else {
        signal_message *m = NULL;
        r = v2 ? signal_message_deserialize_omemo(&m, in, in_len, d->lib->ctx)
               : signal_message_deserialize(&m, in, in_len, d->lib->ctx);
        if (r == 0)
            r = session_cipher_decrypt_signal_message(c, m, NULL, &plain);
        SIGNAL_UNREF(m);
    }
    /* The cipher keeps the address, not a copy: freed after it. */
    session_cipher_free(c);
    free(name);
    if (r) {
        *why = decrypt_error(r);
        return -1;
    }
    *key_len = signal_buffer_len(plain);
    *key = xmemdup(signal_buffer_data(plain), *key_len);
    signal_buffer_bzero_free(plain);
    return 0;
}
