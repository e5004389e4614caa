/* matrix/crypto/: the Olm account's signed keys, Olm sessions and Megolm
 * sessions between two of our own accounts, pickles, and cross-signing.
 * The other side of each exchange is libolm too; the integration tests
 * check the same against matrix-nio's vodozemac. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/mem.h"
#include "matrix/crypto/account.h"
#include "matrix/crypto/attachment.h"
#include "matrix/crypto/canonical.h"
#include "matrix/crypto/cross_signing.h"
#include "matrix/crypto/megolm.h"
#include "matrix/crypto/session.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The signature user_id's key_id made over obj, checked with key. */
static void assert_signed(json_t *obj, const char *user_id,
                          const char *key_id, const char *key)
{
    const char *sig = json_string_value(json_object_get(
        json_object_get(json_object_get(obj, "signatures"), user_id),
        key_id));
    assert_non_null(sig);
    char *text = mx_canonical_json(obj);
    assert_int_equal(mx_ed25519_verify(key, text, sig), 0);
    /* and it covers the content: change one field, and it fails */
    json_t *copy = json_deep_copy(obj);
    json_object_set_new(copy, "user_id", json_string("@mallory:hs"));
    char *forged = mx_canonical_json(copy);
    assert_int_equal(mx_ed25519_verify(key, forged, sig), -1);
    free(forged);
    json_decref(copy);
    free(text);
}

static void canonical_json_sorts_and_drops_signatures(void **state)
{
    (void)state;
    json_t *obj = json_loads("{\"b\":1,\"a\":{\"d\":\"é\",\"c\":[1,2]},"
                             "\"signatures\":{},\"unsigned\":{\"x\":1}}",
                             0, NULL);
    char *text = mx_canonical_json(obj);
    assert_string_equal(text, "{\"a\":{\"c\":[1,2],\"d\":\"é\"},\"b\":1}");
    free(text);
    json_decref(obj);
}

static void device_keys_are_signed_by_the_device(void **state)
{
    (void)state;
    struct mx_account *a = mx_account_new();
    json_t *keys = mx_account_device_keys(a, "@_xmpp_alice:hs", "DEV");
    const char *ed = json_string_value(
        json_object_get(json_object_get(keys, "keys"), "ed25519:DEV"));
    assert_string_equal(ed, mx_account_ed25519(a));
    assert_string_equal(
        json_string_value(
            json_object_get(json_object_get(keys, "keys"), "curve25519:DEV")),
        mx_account_curve25519(a));
    assert_signed(keys, "@_xmpp_alice:hs", "ed25519:DEV", ed);
    json_decref(keys);

    json_t *otks = mx_account_one_time_keys(a, "@_xmpp_alice:hs", "DEV", 5);
    assert_int_equal(json_object_size(otks), 5);
    const char *id;
    json_t *entry;
    json_object_foreach(otks, id, entry) {
        assert_true(strncmp(id, "signed_curve25519:", 18) == 0);
        assert_signed(entry, "@_xmpp_alice:hs", "ed25519:DEV",
                      mx_account_ed25519(a));
    }
    json_decref(otks);
    json_t *fb = mx_account_fallback_key(a, "@_xmpp_alice:hs", "DEV", 1);
    assert_int_equal(json_object_size(fb), 1);
    json_object_foreach(fb, id, entry)
        assert_true(json_is_true(json_object_get(entry, "fallback")));
    json_decref(fb);

    /* Published keys are not offered again. */
    mx_account_mark_published(a);
    otks = mx_account_one_time_keys(a, "@_xmpp_alice:hs", "DEV", 0);
    assert_int_equal(json_object_size(otks), 0);
    json_decref(otks);
    assert_null(mx_account_fallback_key(a, "@_xmpp_alice:hs", "DEV", 0));
    mx_account_free(a);
}

/* The one-time key of b's that a would claim. */
static char *claim_one(struct mx_account *b)
{
    json_t *otks = mx_account_one_time_keys(b, "@b:hs", "B", 1);
    mx_account_mark_published(b);
    const char *id;
    json_t *entry;
    char *key = NULL;
    json_object_foreach(otks, id, entry)
        key = strdup(json_string_value(json_object_get(entry, "key")));
    json_decref(otks);
    return key;
}

static void olm_sessions_carry_messages_both_ways(void **state)
{
    (void)state;
    struct mx_account *a = mx_account_new(), *b = mx_account_new();
    char *otk = claim_one(b);
    const char *err = NULL;
    struct mx_session *out =
        mx_session_outbound(a, mx_account_curve25519(b), otk, &err);
    assert_non_null(out);
    int type;
    char *body = mx_session_encrypt(out, "{\"type\":\"m.room_key\"}", &type);
    assert_int_equal(type, MX_OLM_PREKEY);

    struct mx_session *in =
        mx_session_inbound(b, mx_account_curve25519(a), body, &err);
    assert_non_null(in);
    assert_string_equal(mx_session_id(in), mx_session_id(out));
    assert_true(mx_session_matches(in, mx_account_curve25519(a), body));
    char *plain = mx_session_decrypt(in, type, body, &err);
    assert_string_equal(plain, "{\"type\":\"m.room_key\"}");
    free(plain);
    /* The one-time key is spent: the same pre-key message opens nothing
     * new. */
    assert_null(mx_session_inbound(b, mx_account_curve25519(a), body, &err));
    free(body);

    /* A pickled session goes on where it was. */
    char *pickle = mx_session_pickle(in);
    mx_session_free(in);
    in = mx_session_unpickle(pickle, &err);
    assert_non_null(in);
    free(pickle);
    body = mx_session_encrypt(in, "answer", &type);
    assert_int_equal(type, MX_OLM_MESSAGE);
    plain = mx_session_decrypt(out, type, body, &err);
    assert_string_equal(plain, "answer");
    free(plain);
    free(body);
    assert_null(mx_session_unpickle("not a pickle", &err));
    assert_non_null(err);

    mx_session_free(in);
    mx_session_free(out);
    free(otk);
    mx_account_free(a);
    mx_account_free(b);
}

static void account_pickle_keeps_identity_and_keys(void **state)
{
    (void)state;
    struct mx_account *a = mx_account_new();
    json_t *otks = mx_account_one_time_keys(a, "@a:hs", "A", 3);
    char *pickle = mx_account_pickle(a);
    const char *err = NULL;
    struct mx_account *b = mx_account_unpickle(pickle, &err);
    assert_non_null(b);
    assert_string_equal(mx_account_curve25519(a), mx_account_curve25519(b));
    assert_string_equal(mx_account_ed25519(a), mx_account_ed25519(b));
    json_t *again = mx_account_one_time_keys(b, "@a:hs", "A", 0);
    assert_int_equal(json_object_size(again), 3);
    json_decref(again);
    json_decref(otks);
    free(pickle);
    mx_account_free(a);
    mx_account_free(b);
    assert_null(mx_account_unpickle("garbage", &err));
}

static void megolm_decrypts_what_it_was_given_the_key_for(void **state)
{
    (void)state;
    struct mx_megolm_out *out = mx_megolm_out_new();
    char *c0 = mx_megolm_encrypt(out, "zero");
    char *key = mx_megolm_out_key(out); /* shared after message 0 */
    assert_int_equal(mx_megolm_out_index(out), 1);
    char *c1 = mx_megolm_encrypt(out, "one");
    const char *err = NULL;
    struct mx_megolm_in *in = mx_megolm_in_new(key, false, &err);
    assert_non_null(in);
    assert_string_equal(mx_megolm_in_id(in), mx_megolm_out_id(out));
    assert_int_equal(mx_megolm_in_first_index(in), 1);
    uint32_t index = 99;
    char *plain = mx_megolm_decrypt(in, c1, &index, &err);
    assert_string_equal(plain, "one");
    assert_int_equal(index, 1);
    free(plain);
    /* Before the index it was given: no. */
    assert_null(mx_megolm_decrypt(in, c0, &index, &err));
    assert_non_null(err);

    /* Exported and imported (a forwarded key), then pickled. */
    char *exported = mx_megolm_in_export(in, 1);
    struct mx_megolm_in *fwd = mx_megolm_in_new(exported, true, &err);
    assert_non_null(fwd);
    char *pickle = mx_megolm_in_pickle(fwd);
    mx_megolm_in_free(fwd);
    fwd = mx_megolm_in_unpickle(pickle, &err);
    plain = mx_megolm_decrypt(fwd, c1, &index, &err);
    assert_string_equal(plain, "one");
    free(plain);

    char *opickle = mx_megolm_out_pickle(out);
    struct mx_megolm_out *out2 = mx_megolm_out_unpickle(opickle, &err);
    assert_int_equal(mx_megolm_out_index(out2), 2);
    char *c2 = mx_megolm_encrypt(out2, "two");
    plain = mx_megolm_decrypt(in, c2, &index, &err);
    assert_string_equal(plain, "two");
    assert_int_equal(index, 2);
    free(plain);
    assert_null(mx_megolm_in_new("not a key", false, &err));

    free(c0); free(c1); free(c2); free(key); free(exported);
    free(pickle); free(opickle);
    mx_megolm_in_free(in);
    mx_megolm_in_free(fwd);
    mx_megolm_out_free(out);
    mx_megolm_out_free(out2);
}

static void cross_signing_chains_master_to_device(void **state)
{
    (void)state;
    struct mx_cross_signing *x = mx_cross_signing_new();
    json_t *up = mx_cross_signing_upload(x, "@g:hs");
    char *mk = xasprintf("ed25519:%s", mx_cross_signing_master(x));
    json_t *self = json_object_get(up, "self_signing_key");
    assert_signed(self, "@g:hs", mk, mx_cross_signing_master(x));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(self, "usage"), 0)),
        "self_signing");

    struct mx_account *a = mx_account_new();
    json_t *dev = mx_account_device_keys(a, "@g:hs", "D");
    mx_cross_signing_sign_device(x, dev, "@g:hs");
    char *sk = xasprintf("ed25519:%s", mx_cross_signing_self(x));
    assert_signed(dev, "@g:hs", sk, mx_cross_signing_self(x));
    /* the device's own signature still holds beside it */
    assert_signed(dev, "@g:hs", "ed25519:D", mx_account_ed25519(a));

    char *saved = mx_cross_signing_save(x);
    const char *err = NULL;
    struct mx_cross_signing *y = mx_cross_signing_load(saved, &err);
    assert_non_null(y);
    assert_string_equal(mx_cross_signing_master(x),
                        mx_cross_signing_master(y));
    assert_null(mx_cross_signing_load("short", &err));

    free(saved); free(mk); free(sk);
    json_decref(dev);
    json_decref(up);
    mx_account_free(a);
    mx_cross_signing_free(x);
    mx_cross_signing_free(y);
}

/* A file another client encrypted (vector made with pycryptodome, an
 * implementation of its own): read back, and refused once altered. */
static const char vector_cipher_hex[] =
    "0c110fb94a812641ee8da491e2b740d18ad563c834540e204be0b5f635a32392e67040"
    "d7e865d51fe4a9ba7d1b90aa76c3c2893b00";
static const char vector_plain[] =
    "isthmus attachment test vector, longer than one block";

static json_t *vector_file(const char *sha)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:{s:s}}", "v",
                     "v2", "url", "mxc://hs/abc", "key", "kty", "oct", "alg",
                     "A256CTR", "k",
                     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", "iv",
                     "AQIDBAUGBwgAAAAAAAAAAA", "hashes", "sha256", sha);
}

static void attachment_reads_another_clients_file(void **state)
{
    (void)state;
    unsigned char cipher[sizeof vector_plain - 1], plain[sizeof cipher + 1];
    size_t n = 0;
    assert_int_equal(sodium_hex2bin(cipher, sizeof cipher, vector_cipher_hex,
                                    strlen(vector_cipher_hex), NULL, &n,
                                    NULL), 0);
    assert_int_equal(n, sizeof cipher);
    json_t *file = vector_file("nBirBUqkUaZmcn6Ru3neLCudzpVafIGIrZQpThIKQ7Y");
    struct mx_attachment a;
    const char *why = NULL;
    assert_int_equal(mx_attachment_parse(file, &a, &why), 0);
    assert_string_equal(a.url, "mxc://hs/abc");
    /* In two pieces, as it streams in. */
    struct mx_attachment_reader *r = mx_attachment_reader_new(&a);
    mx_attachment_reader_update(r, cipher, 20, plain);
    mx_attachment_reader_update(r, cipher + 20, n - 20, plain + 20);
    plain[n] = '\0';
    assert_string_equal((char *)plain, vector_plain);
    assert_int_equal(mx_attachment_reader_check(r), 0);
    mx_attachment_reader_free(r);
    /* One bit changed on the server: the hash says so. */
    cipher[3] ^= 1;
    r = mx_attachment_reader_new(&a);
    mx_attachment_reader_update(r, cipher, n, plain);
    assert_int_equal(mx_attachment_reader_check(r), -1);
    mx_attachment_reader_free(r);
    mx_attachment_clear(&a);
    json_decref(file);
    /* A hash of the wrong length is no file. */
    file = vector_file("c2hvcnQ");
    assert_int_equal(mx_attachment_parse(file, &a, &why), -1);
    assert_non_null(why);
    json_decref(file);
}

static void attachment_encrypts_for_readers(void **state)
{
    (void)state;
    unsigned char data[1000], copy[1000], back[1000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(i * 7);
    memcpy(copy, data, sizeof data);
    json_t *file = mx_attachment_encrypt(data, sizeof data);
    assert_memory_not_equal(data, copy, sizeof data);
    assert_null(json_object_get(file, "url"));
    json_object_set_new(file, "url", json_string("mxc://hs/x"));
    struct mx_attachment a;
    const char *why = NULL;
    assert_int_equal(mx_attachment_parse(file, &a, &why), 0);
    /* The counter starts at zero, so 64-bit counters agree. */
    for (int i = 8; i < MX_ATTACHMENT_IV_LEN; i++)
        assert_int_equal(a.iv[i], 0);
    struct mx_attachment_reader *r = mx_attachment_reader_new(&a);
    mx_attachment_reader_update(r, data, sizeof data, back);
    assert_int_equal(mx_attachment_reader_check(r), 0);
    assert_memory_equal(back, copy, sizeof back);
    mx_attachment_reader_free(r);
    mx_attachment_clear(&a);
    json_decref(file);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical_json_sorts_and_drops_signatures),
        cmocka_unit_test(device_keys_are_signed_by_the_device),
        cmocka_unit_test(olm_sessions_carry_messages_both_ways),
        cmocka_unit_test(account_pickle_keeps_identity_and_keys),
        cmocka_unit_test(megolm_decrypts_what_it_was_given_the_key_for),
        cmocka_unit_test(cross_signing_chains_master_to_device),
        cmocka_unit_test(attachment_reads_another_clients_file),
        cmocka_unit_test(attachment_encrypts_for_readers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
