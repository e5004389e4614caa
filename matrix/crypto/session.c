#include "matrix/crypto/session.h"

#include "common/mem.h"
#include "matrix/crypto/internal.h"

#include <olm/olm.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct mx_session {
    OlmSession *olm;
    char *id;
};

static struct mx_session *session_alloc(void)
{
    struct mx_session *s = xcalloc(1, sizeof *s);
    s->olm = olm_session(xmalloc(olm_session_size()));
    return s;
}

static void read_id(struct mx_session *s)
{
    size_t len = olm_session_id_length(s->olm);
    s->id = xmalloc(len + 1);
    if (olm_session_id(s->olm, s->id, len) == olm_error())
        mx_crypto_fatal("olm session id", olm_session_last_error(s->olm));
    s->id[len] = '\0';
}

void mx_session_free(struct mx_session *s)
{
    if (!s)
        return;
    olm_clear_session(s->olm);
    free(s->olm);
    free(s->id);
    free(s);
}

char *mx_session_pickle(const struct mx_session *s)
{
    size_t len = olm_pickle_session_length(s->olm);
    char *out = xmalloc(len + 1);
    if (olm_pickle_session(s->olm, MX_PICKLE_KEY, MX_PICKLE_KEY_LEN, out,
                           len) == olm_error())
        mx_crypto_fatal("olm session pickle", olm_session_last_error(s->olm));
    out[len] = '\0';
    return out;
}

struct mx_session *mx_session_unpickle(const char *pickle, const char **err)
{
    struct mx_session *s = session_alloc();
    char *copy = xstrdup(pickle); /* libolm overwrites it */
    size_t rc = olm_unpickle_session(s->olm, MX_PICKLE_KEY, MX_PICKLE_KEY_LEN,
                                     copy, strlen(copy));
    free(copy);
    if (rc == olm_error()) {
        *err = olm_session_last_error(s->olm);
        mx_session_free(s);
        return NULL;
    }
    read_id(s);
    return s;
}

const char *mx_session_id(const struct mx_session *s)
{
    return s->id;
}

struct mx_session *mx_session_inbound(struct mx_account *a,
                                      const char *sender_curve,
                                      const char *body, const char **err)
{
    OlmAccount *acc = mx_account_olm(a);
    struct mx_session *s = session_alloc();
    char *copy = xstrdup(body);
    size_t rc = olm_create_inbound_session_from(
        s->olm, acc, sender_curve, strlen(sender_curve), copy, strlen(copy));
    free(copy);
    if (rc == olm_error()) {
        *err = olm_session_last_error(s->olm);
        mx_session_free(s);
        return NULL;
    }
    /* The one-time key is spent: keeping it would let a replayed message
     * open a second session. */
    /* It fails only when the message used the fallback key, which stays
     * until a new one replaces it. */
    (void)olm_remove_one_time_keys(acc, s->olm);
    read_id(s);
    return s;
}

bool mx_session_matches(struct mx_session *s, const char *sender_curve,
                        const char *body)
{
    char *copy = xstrdup(body);
    size_t rc = olm_matches_inbound_session_from(
        s->olm, sender_curve, strlen(sender_curve), copy, strlen(copy));
    free(copy);
    return rc == 1;
}

char *mx_session_decrypt(struct mx_session *s, int type, const char *body,
                         const char **err)
{
    char *copy = xstrdup(body);
    size_t max = olm_decrypt_max_plaintext_length(s->olm, (size_t)type, copy,
                                                  strlen(copy));
    free(copy);
    if (max == olm_error()) {
        *err = olm_session_last_error(s->olm);
        return NULL;
    }
    char *plain = xmalloc(max + 1);
    copy = xstrdup(body);
    size_t n = olm_decrypt(s->olm, (size_t)type, copy, strlen(copy), plain,
                           max);
    free(copy);
    if (n == olm_error()) {
        *err = olm_session_last_error(s->olm);
        sodium_memzero(plain, max);
        free(plain);
        return NULL;
    }
    plain[n] = '\0';
    return plain;
}

struct mx_session *mx_session_outbound(struct mx_account *a,
                                       const char *their_curve,
                                       const char *their_one_time_key,
                                       const char **err)
{
    struct mx_session *s = session_alloc();
    size_t rn = olm_create_outbound_session_random_length(s->olm);
    void *r = sodium_malloc(rn ? rn : 1);
    if (!r)
        abort();
    randombytes_buf(r, rn);
    size_t rc = olm_create_outbound_session(
        s->olm, mx_account_olm(a), their_curve, strlen(their_curve),
        their_one_time_key, strlen(their_one_time_key), r, rn);
    sodium_free(r);
    if (rc == olm_error()) {
        *err = olm_session_last_error(s->olm);
        mx_session_free(s);
        return NULL;
    }
    read_id(s);
    return s;
}

char *mx_session_encrypt(struct mx_session *s, const char *plaintext,
                         int *type)
{
    *type = (int)olm_encrypt_message_type(s->olm);
    size_t plen = strlen(plaintext);
    size_t rn = olm_encrypt_random_length(s->olm);
    void *r = sodium_malloc(rn ? rn : 1);
    if (!r)
        abort();
    randombytes_buf(r, rn);
    size_t mlen = olm_encrypt_message_length(s->olm, plen);
    char *out = xmalloc(mlen + 1);
    if (olm_encrypt(s->olm, plaintext, plen, r, rn, out, mlen) ==
        olm_error())
        mx_crypto_fatal("olm encrypt", olm_session_last_error(s->olm));
    sodium_free(r);
    out[mlen] = '\0';
    return out;
}
