#include "matrix/crypto/megolm.h"

#include "common/mem.h"
#include "matrix/crypto/internal.h"

#include <olm/olm.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct mx_megolm_in {
    OlmInboundGroupSession *olm;
    char *id;
};

struct mx_megolm_out {
    OlmOutboundGroupSession *olm;
    char *id;
};

/* ------------------------------------------------------------ inbound -- */

static struct mx_megolm_in *in_alloc(void)
{
    struct mx_megolm_in *s = xcalloc(1, sizeof *s);
    s->olm = olm_inbound_group_session(
        xmalloc(olm_inbound_group_session_size()));
    return s;
}

static void in_read_id(struct mx_megolm_in *s)
{
    size_t len = olm_inbound_group_session_id_length(s->olm);
    s->id = xmalloc(len + 1);
    if (olm_inbound_group_session_id(s->olm, (uint8_t *)s->id, len) ==
        olm_error())
        mx_crypto_fatal("megolm inbound id",
                        olm_inbound_group_session_last_error(s->olm));
    s->id[len] = '\0';
}

struct mx_megolm_in *mx_megolm_in_new(const char *session_key, bool exported,
                                      const char **err)
{
    struct mx_megolm_in *s = in_alloc();
    size_t len = strlen(session_key);
    size_t rc = exported
                    ? olm_import_inbound_group_session(
                          s->olm, (const uint8_t *)session_key, len)
                    : olm_init_inbound_group_session(
                          s->olm, (const uint8_t *)session_key, len);
    if (rc == olm_error()) {
        *err = olm_inbound_group_session_last_error(s->olm);
        mx_megolm_in_free(s);
        return NULL;
    }
    in_read_id(s);
    return s;
}

void mx_megolm_in_free(struct mx_megolm_in *s)
{
    if (!s)
        return;
    olm_clear_inbound_group_session(s->olm);
    free(s->olm);
    free(s->id);
    free(s);
}

char *mx_megolm_in_pickle(const struct mx_megolm_in *s)
{
    size_t len = olm_pickle_inbound_group_session_length(s->olm);
    char *out = xmalloc(len + 1);
    if (olm_pickle_inbound_group_session(s->olm, MX_PICKLE_KEY,
                                         MX_PICKLE_KEY_LEN, out, len) ==
        olm_error())
        mx_crypto_fatal("megolm inbound pickle",
                        olm_inbound_group_session_last_error(s->olm));
    out[len] = '\0';
    return out;
}

struct mx_megolm_in *mx_megolm_in_unpickle(const char *pickle,
                                           const char **err)
{
    struct mx_megolm_in *s = in_alloc();
    char *copy = xstrdup(pickle);
    size_t rc = olm_unpickle_inbound_group_session(
        s->olm, MX_PICKLE_KEY, MX_PICKLE_KEY_LEN, copy, strlen(copy));
    free(copy);
    if (rc == olm_error()) {
        *err = olm_inbound_group_session_last_error(s->olm);
        mx_megolm_in_free(s);
        return NULL;
    }
    in_read_id(s);
    return s;
}

const char *mx_megolm_in_id(const struct mx_megolm_in *s)
{
    return s->id;
}

uint32_t mx_megolm_in_first_index(struct mx_megolm_in *s)
{
    return olm_inbound_group_session_first_known_index(s->olm);
}

char *mx_megolm_decrypt(struct mx_megolm_in *s, const char *ciphertext,
                        uint32_t *index, const char **err)
{
    size_t clen = strlen(ciphertext);
    char *copy = xstrdup(ciphertext); /* both calls overwrite their input */
    size_t max = olm_group_decrypt_max_plaintext_length(s->olm,
                                                        (uint8_t *)copy, clen);
    free(copy);
    if (max == olm_error()) {
        *err = olm_inbound_group_session_last_error(s->olm);
        return NULL;
    }
    char *plain = xmalloc(max + 1);
    copy = xstrdup(ciphertext);
    size_t n = olm_group_decrypt(s->olm, (uint8_t *)copy, clen,
                                 (uint8_t *)plain, max, index);
    free(copy);
    if (n == olm_error()) {
        *err = olm_inbound_group_session_last_error(s->olm);
        free(plain);
        return NULL;
    }
    plain[n] = '\0';
    return plain;
}

char *mx_megolm_in_export(struct mx_megolm_in *s, uint32_t index)
{
    size_t len = olm_export_inbound_group_session_length(s->olm);
    char *out = xmalloc(len + 1);
    if (olm_export_inbound_group_session(s->olm, (uint8_t *)out, len,
                                         index) == olm_error()) {
        free(out);
        return NULL;
    }
    out[len] = '\0';
    return out;
}

/* ----------------------------------------------------------- outbound -- */

static struct mx_megolm_out *out_alloc(void)
{
    struct mx_megolm_out *s = xcalloc(1, sizeof *s);
    s->olm = olm_outbound_group_session(
        xmalloc(olm_outbound_group_session_size()));
    return s;
}

static void out_read_id(struct mx_megolm_out *s)
{
    size_t len = olm_outbound_group_session_id_length(s->olm);
    s->id = xmalloc(len + 1);
    if (olm_outbound_group_session_id(s->olm, (uint8_t *)s->id, len) ==
        olm_error())
        mx_crypto_fatal("megolm outbound id",
                        olm_outbound_group_session_last_error(s->olm));
    s->id[len] = '\0';
}

struct mx_megolm_out *mx_megolm_out_new(void)
{
    struct mx_megolm_out *s = out_alloc();
    size_t rn = olm_init_outbound_group_session_random_length(s->olm);
    uint8_t *r = sodium_malloc(rn ? rn : 1);
    if (!r)
        abort();
    randombytes_buf(r, rn);
    if (olm_init_outbound_group_session(s->olm, r, rn) == olm_error())
        mx_crypto_fatal("megolm outbound init",
                        olm_outbound_group_session_last_error(s->olm));
    sodium_free(r);
    out_read_id(s);
    return s;
}

void mx_megolm_out_free(struct mx_megolm_out *s)
{
    if (!s)
        return;
    olm_clear_outbound_group_session(s->olm);
    free(s->olm);
    free(s->id);
    free(s);
}

char *mx_megolm_out_pickle(const struct mx_megolm_out *s)
{
    size_t len = olm_pickle_outbound_group_session_length(s->olm);
    char *out = xmalloc(len + 1);
    if (olm_pickle_outbound_group_session(s->olm, MX_PICKLE_KEY,
                                          MX_PICKLE_KEY_LEN, out, len) ==
        olm_error())
        mx_crypto_fatal("megolm outbound pickle",
                        olm_outbound_group_session_last_error(s->olm));
    out[len] = '\0';
    return out;
}

struct mx_megolm_out *mx_megolm_out_unpickle(const char *pickle,
                                             const char **err)
{
    struct mx_megolm_out *s = out_alloc();
    char *copy = xstrdup(pickle);
    size_t rc = olm_unpickle_outbound_group_session(
        s->olm, MX_PICKLE_KEY, MX_PICKLE_KEY_LEN, copy, strlen(copy));
    free(copy);
    if (rc == olm_error()) {
        *err = olm_outbound_group_session_last_error(s->olm);
        mx_megolm_out_free(s);
        return NULL;
    }
    out_read_id(s);
    return s;
}

const char *mx_megolm_out_id(const struct mx_megolm_out *s)
{
    return s->id;
}

uint32_t mx_megolm_out_index(const struct mx_megolm_out *s)
{
    return olm_outbound_group_session_message_index(s->olm);
}

char *mx_megolm_out_key(struct mx_megolm_out *s)
{
    size_t len = olm_outbound_group_session_key_length(s->olm);
    char *out = xmalloc(len + 1);
    if (olm_outbound_group_session_key(s->olm, (uint8_t *)out, len) ==
        olm_error())
        mx_crypto_fatal("megolm outbound key",
                        olm_outbound_group_session_last_error(s->olm));
    out[len] = '\0';
    return out;
}

char *mx_megolm_encrypt(struct mx_megolm_out *s, const char *plaintext)
{
    size_t plen = strlen(plaintext);
    size_t len = olm_group_encrypt_message_length(s->olm, plen);
    char *out = xmalloc(len + 1);
    if (olm_group_encrypt(s->olm, (const uint8_t *)plaintext, plen,
                          (uint8_t *)out, len) == olm_error())
        mx_crypto_fatal("megolm encrypt",
                        olm_outbound_group_session_last_error(s->olm));
    out[len] = '\0';
    return out;
}
