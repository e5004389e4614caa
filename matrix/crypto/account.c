#include "matrix/crypto/account.h"

#include "common/mem.h"
#include "matrix/crypto/canonical.h"
#include "matrix/crypto/internal.h"

#include <olm/olm.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct mx_account {
    OlmAccount *olm;
    char curve[MX_KEY_TEXT];
    char ed[MX_KEY_TEXT];
};

static OlmAccount *new_olm(void)
{
    return olm_account(xmalloc(olm_account_size()));
}

static void free_olm(OlmAccount *o)
{
    if (!o)
        return;
    olm_clear_account(o);
    free(o);
}

/* Random bytes for libolm, in sodium's guarded memory so they are wiped
 * and never swapped out. Free with free_random. */
static void *random_bytes(size_t n)
{
    void *r = sodium_malloc(n ? n : 1);
    if (!r)
        abort();
    randombytes_buf(r, n);
    return r;
}

static void free_random(void *r)
{
    sodium_free(r);
}

static void check(OlmAccount *o, size_t rc)
{
    /* The calls checked here fail only on programming errors (buffers too
     * small) or on corrupt memory: neither can be recovered from. */
    if (rc == olm_error())
        mx_crypto_fatal("olm account", olm_account_last_error(o));
}

static void read_identity(struct mx_account *a)
{
    size_t len = olm_account_identity_keys_length(a->olm);
    char *buf = xmalloc(len + 1);
    check(a->olm, olm_account_identity_keys(a->olm, buf, len));
    buf[len] = '\0';
    json_t *keys = json_loads(buf, 0, NULL);
    const char *c = json_string_value(json_object_get(keys, "curve25519"));
    const char *e = json_string_value(json_object_get(keys, "ed25519"));
    if (!c || !e || strlen(c) >= MX_KEY_TEXT || strlen(e) >= MX_KEY_TEXT)
        mx_crypto_fatal("olm account", "identity keys unreadable");
    strcpy(a->curve, c);
    strcpy(a->ed, e);
    json_decref(keys);
    free(buf);
}

struct mx_account *mx_account_new(void)
{
    struct mx_account *a = xcalloc(1, sizeof *a);
    a->olm = new_olm();
    size_t n = olm_create_account_random_length(a->olm);
    void *r = random_bytes(n);
    check(a->olm, olm_create_account(a->olm, r, n));
    free_random(r);
    read_identity(a);
    return a;
}

void mx_account_free(struct mx_account *a)
{
    if (!a)
        return;
    free_olm(a->olm);
    free(a);
}

char *mx_account_pickle(const struct mx_account *a)
{
    size_t len = olm_pickle_account_length(a->olm);
    char *out = xmalloc(len + 1);
    check(a->olm, olm_pickle_account(a->olm, MX_PICKLE_KEY,
                                     MX_PICKLE_KEY_LEN, out, len));
    out[len] = '\0';
    return out;
}

struct mx_account *mx_account_unpickle(const char *pickle, const char **err)
{
    struct mx_account *a = xcalloc(1, sizeof *a);
    a->olm = new_olm();
    /* olm_unpickle_account overwrites its input. */
    char *copy = xstrdup(pickle);
    size_t rc = olm_unpickle_account(a->olm, MX_PICKLE_KEY, MX_PICKLE_KEY_LEN,
                                     copy, strlen(copy));
    free(copy);
    if (rc == olm_error()) {
        *err = olm_account_last_error(a->olm);
        mx_account_free(a);
        return NULL;
    }
    read_identity(a);
    return a;
}

const char *mx_account_curve25519(const struct mx_account *a)
{
    return a->curve;
}

const char *mx_account_ed25519(const struct mx_account *a)
{
    return a->ed;
}

char *mx_account_sign(struct mx_account *a, const char *text)
{
    size_t len = olm_account_signature_length(a->olm);
    char *sig = xmalloc(len + 1);
    check(a->olm, olm_account_sign(a->olm, text, strlen(text), sig, len));
    sig[len] = '\0';
    return sig;
}

void mx_account_sign_json(struct mx_account *a, json_t *obj,
                          const char *user_id, const char *device_id)
{
    char *text = mx_canonical_json(obj);
    char *sig = mx_account_sign(a, text);
    char *key_id = xasprintf("ed25519:%s", device_id);
    mx_signature_add(obj, user_id, key_id, sig);
    free(key_id);
    free(sig);
    free(text);
}

json_t *mx_account_device_keys(struct mx_account *a, const char *user_id,
                               const char *device_id)
{
    char *ck = xasprintf("curve25519:%s", device_id);
    char *ek = xasprintf("ed25519:%s", device_id);
    json_t *keys = json_pack("{s:s, s:s, s:[s, s], s:{s:s, s:s}}", "user_id",
                             user_id, "device_id", device_id, "algorithms",
                             "m.olm.v1.curve25519-aes-sha2",
                             "m.megolm.v1.aes-sha2", "keys", ck, a->curve,
                             ek, a->ed);
    free(ck);
    free(ek);
    mx_account_sign_json(a, keys, user_id, device_id);
    return keys;
}

/* libolm's {"curve25519": {id: key}} as signed_curve25519 entries. */
static json_t *signed_keys(struct mx_account *a, const char *json_text,
                           const char *user_id, const char *device_id,
                           int fallback)
{
    json_t *in = json_loads(json_text, 0, NULL);
    json_t *out = json_object();
    const char *id;
    json_t *key;
    json_object_foreach(json_object_get(in, "curve25519"), id, key) {
        json_t *entry = json_pack("{s:O}", "key", key);
        if (fallback)
            json_object_set_new(entry, "fallback", json_true());
        mx_account_sign_json(a, entry, user_id, device_id);
        char *name = xasprintf("signed_curve25519:%s", id);
        json_object_set_new(out, name, entry);
        free(name);
    }
    json_decref(in);
    return out;
}

json_t *mx_account_one_time_keys(struct mx_account *a, const char *user_id,
                                 const char *device_id, size_t n)
{
    if (n > 0) {
        size_t rn = olm_account_generate_one_time_keys_random_length(a->olm,
                                                                     n);
        void *r = random_bytes(rn);
        check(a->olm, olm_account_generate_one_time_keys(a->olm, n, r, rn));
        free_random(r);
    }
    size_t len = olm_account_one_time_keys_length(a->olm);
    char *buf = xmalloc(len + 1);
    check(a->olm, olm_account_one_time_keys(a->olm, buf, len));
    buf[len] = '\0';
    json_t *out = signed_keys(a, buf, user_id, device_id, 0);
    free(buf);
    return out;
}

json_t *mx_account_fallback_key(struct mx_account *a, const char *user_id,
                                const char *device_id, int fresh)
{
    if (fresh) {
        size_t rn = olm_account_generate_fallback_key_random_length(a->olm);
        void *r = random_bytes(rn);
        check(a->olm, olm_account_generate_fallback_key(a->olm, r, rn));
        free_random(r);
    }
    size_t len = olm_account_unpublished_fallback_key_length(a->olm);
    char *buf = xmalloc(len + 1);
    check(a->olm, olm_account_unpublished_fallback_key(a->olm, buf, len));
    buf[len] = '\0';
    json_t *out = signed_keys(a, buf, user_id, device_id, 1);
    free(buf);
    if (json_object_size(out) == 0) {
        json_decref(out);
        return NULL;
    }
    return out;
}

void mx_account_mark_published(struct mx_account *a)
{
    olm_account_mark_keys_as_published(a->olm);
}

size_t mx_account_max_one_time_keys(const struct mx_account *a)
{
    return olm_account_max_number_of_one_time_keys(a->olm);
}

void *mx_account_olm(struct mx_account *a)
{
    return a->olm;
}
