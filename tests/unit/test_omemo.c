/* Legacy OMEMO: two devices over a real (sealed) store open a session from
 * a bundle and talk both ways; the XML of messages, bundles and device
 * lists reads back what was written; nothing opens with the wrong key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/store_fixture.h"
#include "xep/crypto/omemo_crypto.h"
#include "xep/omemo.h"
#include "xep/xml.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct owner {
    struct store *st;
    const char *jid;
};

static int rec_get(void *ud, enum omemo_record_kind kind, const char *name,
                   uint32_t id, uint8_t **data, size_t *len)
{
    struct owner *o = ud;
    return store_omemo_get(o->st, o->jid, (int)kind, name, id, data, len);
}
static int rec_put(void *ud, enum omemo_record_kind kind, const char *name,
                   uint32_t id, const uint8_t *data, size_t len)
{
    struct owner *o = ud;
    return store_omemo_put(o->st, o->jid, (int)kind, name, id, data, len);
}
static int rec_del(void *ud, enum omemo_record_kind kind, const char *name,
                   uint32_t id)
{
    struct owner *o = ud;
    return store_omemo_del(o->st, o->jid, (int)kind, name, id);
}
static int rec_ids(void *ud, enum omemo_record_kind kind, const char *name,
                   uint32_t **ids)
{
    struct owner *o = ud;
    return store_omemo_ids(o->st, o->jid, (int)kind, name, ids);
}

static struct omemo_records records(struct owner *o)
{
    return (struct omemo_records){ rec_get, rec_put, rec_del, rec_ids, o };
}

/* One message from `from` to `to`: the payload encrypted, its key for
 * to's device, decrypted there. Returns the plain text (caller frees). */
static char *send_one(struct omemo_device *from, const char *from_jid,
                      struct omemo_device *to, const char *to_jid,
                      const char *text, bool *was_prekey)
{
    uint8_t key_tag[OMEMO_KEY_LEN + OMEMO_TAG_LEN], iv[OMEMO_IV_LEN];
    uint8_t *ct = NULL, *kel = NULL, *key = NULL;
    size_t ct_len, kel_len, key_len;
    const char *why = NULL;
    assert_int_equal(omemo_payload_encrypt(text, strlen(text), key_tag, iv,
                                           &ct, &ct_len), 0);
    assert_int_equal(omemo_encrypt_key(from, OMEMO_LEGACY, to_jid, omemo_device_id(to),
                                       key_tag, sizeof key_tag, &kel,
                                       &kel_len, was_prekey, &why), 0);
    bool replaced = false;
    int rc = omemo_decrypt_key(to, OMEMO_LEGACY, from_jid, omemo_device_id(from), kel,
                               kel_len, *was_prekey, &key, &key_len,
                               &replaced, &why);
    if (rc != 0)
        fail_msg("decrypting the key failed: %s", why);
    assert_int_equal(replaced, *was_prekey);
    char *plain = NULL;
    assert_int_equal(omemo_payload_decrypt(key, key_len, iv, sizeof iv, ct,
                                           ct_len, &plain, &why), 0);
    free(ct);
    free(kel);
    free(key);
    return plain;
}

static void two_devices_talk_both_ways_and_survive_a_restart(void **state)
{
    (void)state;
    struct store_fixture f;
    assert_int_equal(store_fixture_open(&f, "omemo"), 0);
    struct omemo_lib *lib = omemo_lib_new();
    assert_non_null(lib);
    struct owner a = { f.st, "bob%hs@gw" }, b = { f.st, "alice@xmpp" };
    struct omemo_records ra = records(&a), rb = records(&b);
    const char *why = NULL;
    struct omemo_device *da = omemo_device_open(lib, &ra, &why);
    struct omemo_device *db = omemo_device_open(lib, &rb, &why);
    assert_non_null(da);
    assert_non_null(db);
    assert_int_not_equal(omemo_device_id(da), omemo_device_id(db));

    /* b's bundle, through its XML, opens a's session */
    struct omemo_bundle bundle, parsed;
    assert_int_equal(omemo_device_bundle(db, OMEMO_LEGACY, &bundle, &why), 0);
    assert_int_equal(bundle.n_prekeys, OMEMO_PREKEYS);
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_stanza_t *xml = omemo_bundle_build(ctx, &bundle);
    assert_int_equal(omemo_bundle_parse(xml, &parsed, &why), 0);
    assert_memory_equal(parsed.identity, bundle.identity, OMEMO_PUBKEY_LEN);
    assert_int_equal(parsed.n_prekeys, bundle.n_prekeys);
    xmpp_stanza_release(xml);
    assert_false(omemo_has_session(da, OMEMO_LEGACY, b.jid, omemo_device_id(db)));
    assert_int_equal(omemo_session_from_bundle(da, b.jid, omemo_device_id(db),
                                               &parsed, &why), 0);
    assert_true(omemo_has_session(da, OMEMO_LEGACY, b.jid, omemo_device_id(db)));

    bool prekey;
    char *got = send_one(da, a.jid, db, b.jid, "hello ☃", &prekey);
    assert_string_equal(got, "hello ☃");
    assert_true(prekey);
    free(got);
    /* the used pre-key was replaced: still as many on offer */
    struct omemo_bundle after;
    assert_int_equal(omemo_device_bundle(db, OMEMO_LEGACY, &after, &why), 0);
    assert_int_equal(after.n_prekeys, OMEMO_PREKEYS);
    omemo_bundle_free(&after);

    got = send_one(db, b.jid, da, a.jid, "and back", &prekey);
    assert_string_equal(got, "and back");
    assert_false(prekey);
    free(got);

    /* a restart: the devices come back from the store as they were */
    uint32_t ida = omemo_device_id(da);
    omemo_device_close(da);
    omemo_device_close(db);
    store_fixture_reopen(&f);
    a.st = b.st = f.st;
    da = omemo_device_open(lib, &ra, &why);
    db = omemo_device_open(lib, &rb, &why);
    assert_int_equal(omemo_device_id(da), ida);
    got = send_one(da, a.jid, db, b.jid, "after the restart", &prekey);
    assert_string_equal(got, "after the restart");
    assert_false(prekey);
    free(got);

    /* another identity under a known device id is not trusted */
    struct owner c = { f.st, "mallory@xmpp" };
    struct omemo_records rc_ = records(&c);
    struct omemo_device *dc = omemo_device_open(lib, &rc_, &why);
    struct omemo_bundle cb;
    assert_int_equal(omemo_device_bundle(dc, OMEMO_LEGACY, &cb, &why), 0);
    assert_int_equal(omemo_session_from_bundle(da, b.jid, omemo_device_id(db),
                                               &cb, &why), -1);
    omemo_bundle_free(&cb);
    omemo_device_close(dc);

    omemo_bundle_free(&bundle);
    omemo_bundle_free(&parsed);
    omemo_device_close(da);
    omemo_device_close(db);
    omemo_lib_free(lib);
    xmpp_ctx_free(ctx);
    assert_int_equal(store_fixture_close(&f), 0);
}

static void the_signed_prekey_is_replaced_weekly(void **state)
{
    (void)state;
    struct store_fixture f;
    assert_int_equal(store_fixture_open(&f, "omemo-rotate"), 0);
    struct omemo_lib *lib = omemo_lib_new();
    struct owner a = { f.st, "bob%hs@gw" }, b = { f.st, "alice@xmpp" };
    struct omemo_records ra = records(&a), rb = records(&b);
    const char *why = NULL;
    struct omemo_device *da = omemo_device_open(lib, &ra, &why);
    struct omemo_device *db = omemo_device_open(lib, &rb, &why);
    struct omemo_bundle old, now;
    assert_int_equal(omemo_device_bundle(db, OMEMO_LEGACY, &old, &why), 0);
    assert_int_equal(old.signed_prekey_id, 1);
    uint64_t day = 24ull * 3600 * 1000, t = (uint64_t)time(NULL) * 1000;
    /* Not yet a week old: kept. */
    assert_int_equal(omemo_device_rotate(db, t + 6 * day), 0);
    assert_int_equal(omemo_device_bundle(db, OMEMO_LEGACY, &now, &why), 0);
    assert_int_equal(now.signed_prekey_id, 1);
    omemo_bundle_free(&now);
    assert_int_equal(omemo_device_rotate(db, t + 8 * day), 0);
    assert_int_equal(omemo_device_bundle(db, OMEMO_LEGACY, &now, &why), 0);
    assert_int_equal(now.signed_prekey_id, 2);
    assert_memory_not_equal(now.signed_prekey, old.signed_prekey,
                            OMEMO_PUBKEY_LEN);
    omemo_bundle_free(&now);
    /* A sender holding the bundle from before still gets through. */
    assert_int_equal(omemo_session_from_bundle(da, b.jid, omemo_device_id(db),
                                               &old, &why), 0);
    bool prekey;
    char *got = send_one(da, a.jid, db, b.jid, "across a rotation", &prekey);
    assert_string_equal(got, "across a rotation");
    free(got);
    /* Two rotations on, the first key is gone. */
    assert_int_equal(omemo_device_rotate(db, t + 16 * day), 0);
    uint32_t *ids = NULL;
    int n = store_omemo_ids(f.st, b.jid, OMEMO_REC_SIGNED_PREKEY, "", &ids);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 3);
    free(ids);
    omemo_bundle_free(&old);
    omemo_device_close(da);
    omemo_device_close(db);
    omemo_lib_free(lib);
    assert_int_equal(store_fixture_close(&f), 0);
}

/* OMEMO 2: a session from a bundle read back from its XML, a message each
 * way with the OMEMO 2 payload, and an SCE envelope that binds sender and
 * recipient. */
static void omemo2_devices_talk_both_ways(void **state)
{
    (void)state;
    struct store_fixture f;
    assert_int_equal(store_fixture_open(&f, "omemo2"), 0);
    struct omemo_lib *lib = omemo_lib_new();
    struct owner a = { f.st, "bob%hs@gw" }, b = { f.st, "alice@xmpp" };
    struct omemo_records ra = records(&a), rb = records(&b);
    const char *why = NULL;
    struct omemo_device *da = omemo_device_open(lib, &ra, &why);
    struct omemo_device *db = omemo_device_open(lib, &rb, &why);
    struct omemo_bundle bundle, parsed;
    assert_int_equal(omemo_device_bundle(db, OMEMO_2, &bundle, &why), 0);
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_stanza_t *xml = omemo2_bundle_build(ctx, &bundle);
    assert_int_equal(omemo2_bundle_parse(xml, &parsed, &why), 0);
    xmpp_stanza_release(xml);
    assert_int_equal(parsed.n_prekeys, OMEMO_PREKEYS);
    assert_int_equal(omemo_session_from_bundle(da, b.jid, omemo_device_id(db),
                                               &parsed, &why), 0);
    assert_true(omemo_has_session(da, OMEMO_2, b.jid, omemo_device_id(db)));
    assert_false(omemo_has_session(da, OMEMO_LEGACY, b.jid,
                                   omemo_device_id(db)));
    for (int round = 0; round < 2; round++) {
        struct omemo_device *from = round ? db : da, *to = round ? da : db;
        const char *from_jid = round ? b.jid : a.jid;
        const char *to_jid = round ? a.jid : b.jid;
        uint8_t key_hmac[OMEMO2_KEY_HMAC_LEN], *ct = NULL, *kel = NULL,
                                               *key = NULL;
        size_t ct_len, kel_len, key_len;
        bool kex, replaced;
        assert_int_equal(omemo2_payload_encrypt("zwei ☃", strlen("zwei ☃"),
                                                key_hmac, &ct, &ct_len), 0);
        assert_int_equal(omemo_encrypt_key(from, OMEMO_2, to_jid,
                                           omemo_device_id(to), key_hmac,
                                           sizeof key_hmac, &kel, &kel_len,
                                           &kex, &why), 0);
        assert_int_equal(kex, round == 0);
        if (omemo_decrypt_key(to, OMEMO_2, from_jid, omemo_device_id(from),
                              kel, kel_len, kex, &key, &key_len, &replaced,
                              &why) != 0)
            fail_msg("OMEMO 2 key did not decrypt: %s", why);
        char *plain = NULL;
        assert_int_equal(omemo2_payload_decrypt(key, key_len, ct, ct_len,
                                                &plain, &why), 0);
        assert_string_equal(plain, "zwei ☃");
        /* An altered payload does not open. */
        ct[0] ^= 1;
        char *none = NULL;
        assert_int_equal(omemo2_payload_decrypt(key, key_len, ct, ct_len,
                                                &none, &why), -1);
        free(plain);
        free(ct);
        free(kel);
        free(key);
    }
    /* The envelope binds sender and recipient. */
    xmpp_stanza_t *msg = xmpp_message_new(ctx, "chat", b.jid, "m1");
    xmpp_message_set_body(msg, "inside");
    char *env = omemo2_envelope(ctx, msg, a.jid, b.jid);
    xmpp_stanza_t *back = xmpp_message_new(ctx, "chat", b.jid, "m1");
    assert_int_equal(omemo2_envelope_open(ctx, env, back, a.jid, b.jid, &why),
                     0);
    char *body = xml_child_text(back, "body", NULL);
    assert_string_equal(body, "inside");
    free(body);
    xmpp_stanza_t *other = xmpp_message_new(ctx, "chat", b.jid, "m1");
    assert_int_equal(omemo2_envelope_open(ctx, env, other, "mallory@xmpp",
                                          b.jid, &why), -1);
    assert_int_equal(omemo2_envelope_open(ctx, env, other, a.jid,
                                          "alice@xmppx", &why), -1);
    free(env);
    xmpp_stanza_release(msg);
    xmpp_stanza_release(back);
    xmpp_stanza_release(other);
    omemo_bundle_free(&bundle);
    omemo_bundle_free(&parsed);
    omemo_device_close(da);
    omemo_device_close(db);
    omemo_lib_free(lib);
    xmpp_ctx_free(ctx);
    assert_int_equal(store_fixture_close(&f), 0);
}

static void a_payload_with_the_wrong_key_does_not_open(void **state)
{
    (void)state;
    uint8_t key_tag[OMEMO_KEY_LEN + OMEMO_TAG_LEN], iv[OMEMO_IV_LEN];
    uint8_t *ct;
    size_t ct_len;
    char *plain = NULL;
    const char *why = NULL;
    assert_int_equal(omemo_payload_encrypt("secret", 6, key_tag, iv, &ct,
                                           &ct_len), 0);
    key_tag[0] ^= 1;
    assert_int_equal(omemo_payload_decrypt(key_tag, sizeof key_tag, iv,
                                           sizeof iv, ct, ct_len, &plain,
                                           &why), -1);
    assert_null(plain);
    assert_non_null(why);
    free(ct);
}

static void message_xml_reads_back(void **state)
{
    (void)state;
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    uint8_t k1[] = { 1, 2, 3 }, k2[] = { 4, 5 }, iv[12] = { 9 },
            pl[] = { 7, 7, 7, 7 };
    struct omemo_key_el keys[] = { { 11, true, k1, 3 }, { 22, false, k2, 2 } };
    struct omemo_message m = { 1234, keys, 2, iv, 12, pl, 4 };
    xmpp_stanza_t *msg = xmpp_message_new(ctx, "chat", "a@b", "id1");
    xmpp_message_set_body(msg, "old body");
    omemo_message_add(ctx, msg, &m);
    struct omemo_message back;
    const char *why = NULL;
    assert_int_equal(omemo_message_parse(omemo_encrypted_of(msg), &back, &why),
                     0);
    assert_int_equal(back.sid, 1234);
    assert_int_equal(back.n_keys, 2);
    assert_int_equal(back.keys[0].rid, 11);
    assert_true(back.keys[0].prekey);
    assert_false(back.keys[1].prekey);
    assert_memory_equal(back.keys[1].data, k2, 2);
    assert_int_equal(back.payload_len, 4);
    omemo_message_free(&back);
    xmpp_stanza_t *bare = omemo_message_stripped(ctx, msg, false);
    assert_null(omemo_encrypted_of(bare));
    assert_null(xmpp_stanza_get_child_by_name(bare, "body"));
    assert_string_equal(xmpp_stanza_get_id(bare), "id1");
    xmpp_stanza_release(bare);
    xmpp_stanza_release(msg);

    uint32_t ids_in[] = { 5, 77 }, *ids = NULL;
    xmpp_stanza_t *list = omemo_devicelist_build(ctx, ids_in, 2);
    assert_int_equal(omemo_devicelist_parse(list, &ids), 2);
    assert_int_equal(ids[1], 77);
    free(ids);
    xmpp_stanza_release(list);
    assert_int_equal(omemo_bundle_node_device(OMEMO_NODE_BUNDLES "42"), 42);
    assert_int_equal(omemo_bundle_node_device(OMEMO_NODE_BUNDLES "x"), 0);
    xmpp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(two_devices_talk_both_ways_and_survive_a_restart),
        cmocka_unit_test(the_signed_prekey_is_replaced_weekly),
        cmocka_unit_test(omemo2_devices_talk_both_ways),
        cmocka_unit_test(a_payload_with_the_wrong_key_does_not_open),
        cmocka_unit_test(message_xml_reads_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
