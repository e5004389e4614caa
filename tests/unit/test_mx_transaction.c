/* The appservice transaction and what it carries besides room events:
 * ephemeral events (typing, receipts, presence), to-device events, device
 * lists, one-time-key counts and fallback key types. Well-formed input,
 * then missing and wrong-typed fields: -1 with a reason, never a crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "matrix/event_device.h"
#include "matrix/event_ephemeral.h"
#include "matrix/transaction.h"

#include <string.h>

static json_t *load(const char *text)
{
    json_error_t err;
    json_t *t = json_loads(text, JSON_DECODE_ANY, &err);
    assert_non_null(t);
    return t;
}

static void transaction_names(void **state)
{
    (void)state;
    struct mx_transaction txn;
    const char *why = NULL;
    /* Stable names win; unstable ones are the fallback, never merged. */
    json_t *b = load("{\"events\":[],\"ephemeral\":[1],"
                     "\"de.sorunome.msc2409.ephemeral\":[1,2],"
                     "\"de.sorunome.msc2409.to_device\":[1],"
                     "\"org.matrix.msc3202.device_lists\":{},"
                     "\"org.matrix.msc3202.device_one_time_key_counts\":{},"
                     "\"device_unused_fallback_key_types\":{}}");
    assert_int_equal(mx_transaction_parse(b, &txn, &why), 0);
    assert_int_equal(json_array_size(txn.ephemeral), 1);
    assert_int_equal(json_array_size(txn.to_device), 1);
    assert_non_null(txn.events);
    assert_non_null(txn.device_lists);
    assert_non_null(txn.otk_counts);
    assert_non_null(txn.fallback_key_types);
    json_decref(b);

    /* A part of the wrong type reads as absent, the next name counts. */
    b = load("{\"events\":{},\"ephemeral\":\"x\","
             "\"de.sorunome.msc2409.ephemeral\":[1,2],"
             "\"org.matrix.msc3202.device_one_time_keys_count\":{\"a\":{}},"
             "\"to_device\":5}");
    assert_int_equal(mx_transaction_parse(b, &txn, &why), 0);
    assert_null(txn.events);
    assert_int_equal(json_array_size(txn.ephemeral), 2);
    assert_null(txn.to_device);
    assert_non_null(txn.otk_counts);
    assert_null(txn.device_lists);
    json_decref(b);

    b = load("[]");
    why = NULL;
    assert_int_equal(mx_transaction_parse(b, &txn, &why), -1);
    assert_non_null(why);
    assert_null(txn.events);
    json_decref(b);
}

static void ephemeral(void **state)
{
    (void)state;
    struct mx_ephemeral e;
    const char *why = NULL;
    static const char *const bad[] = {
        "[]", "{\"type\":\"m.typing\"}", "{\"type\":1,\"content\":{}}",
        "{\"type\":\"m.typing\",\"content\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *t = load(bad[i]);
        why = NULL;
        assert_int_equal(mx_ephemeral_parse(t, &e, &why), -1);
        assert_non_null(why);
        json_decref(t);
    }
}

static void typing(void **state)
{
    (void)state;
    json_t *t = load("{\"type\":\"m.typing\",\"room_id\":\"!r:hs\","
                     "\"content\":{\"user_ids\":[\"@a:hs\",7]}}");
    struct mx_ephemeral e;
    struct mx_typing ty;
    const char *why = NULL;
    assert_int_equal(mx_ephemeral_parse(t, &e, &why), 0);
    assert_int_equal(mx_typing_parse(&e, &ty, &why), 0);
    assert_string_equal(ty.room_id, "!r:hs");
    assert_int_equal(ty.user_ids.n, 2);
    assert_string_equal(mx_str_list_at(&ty.user_ids, 0), "@a:hs");
    assert_null(mx_str_list_at(&ty.user_ids, 1));
    assert_null(mx_str_list_at(&ty.user_ids, 2));
    json_decref(t);

    static const char *const bad[] = {
        "{\"type\":\"m.typing\",\"content\":{\"user_ids\":[]}}",
        "{\"type\":\"m.typing\",\"room_id\":\"!r\",\"content\":{}}",
        "{\"type\":\"m.typing\",\"room_id\":\"!r\",\"content\":"
        "{\"user_ids\":\"@a:hs\"}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = load(bad[i]);
        assert_int_equal(mx_ephemeral_parse(t, &e, &why), 0);
        why = NULL;
        assert_int_equal(mx_typing_parse(&e, &ty, &why), -1);
        assert_non_null(why);
        json_decref(t);
    }
}

struct seen {
    int n;
    char users[8][32];
    long long ts[8];
    const char *thread[8];
};

static void note(const struct mx_read_receipt *rr, void *ud)
{
    struct seen *s = ud;
    if (s->n == 8)
        return;
    strncpy(s->users[s->n], rr->user_id, 31);
    s->ts[s->n] = rr->ts;
    s->thread[s->n] = rr->thread_id;
    s->n++;
}

static void receipts(void **state)
{
    (void)state;
    json_t *t = load(
        "{\"type\":\"m.receipt\",\"room_id\":\"!r:hs\",\"content\":"
        "{\"$e\":{\"m.read\":{\"@a:hs\":{\"ts\":9},\"@b:hs\":{\"ts\":\"x\","
        "\"thread_id\":\"main\"},\"@c:hs\":[]},"
        "\"m.read.private\":{\"@d:hs\":{\"ts\":1}}},"
        "\"$f\":[],\"$g\":{\"m.read\":5}}}");
    struct mx_ephemeral e;
    struct mx_receipt r;
    const char *why = NULL;
    assert_int_equal(mx_ephemeral_parse(t, &e, &why), 0);
    assert_int_equal(mx_receipt_parse(&e, &r, &why), 0);
    struct seen s = { 0 };
    mx_receipt_foreach(&r, "m.read", note, &s);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.users[0], "@a:hs");
    assert_int_equal(s.ts[0], 9);
    assert_int_equal(s.ts[1], 0);
    assert_string_equal(s.thread[1], "main");
    assert_null(s.thread[2]);
    struct seen all = { 0 };
    mx_receipt_foreach(&r, NULL, note, &all);
    assert_int_equal(all.n, 4);
    json_decref(t);

    t = load("{\"type\":\"m.receipt\",\"content\":{}}");
    assert_int_equal(mx_ephemeral_parse(t, &e, &why), 0);
    why = NULL;
    assert_int_equal(mx_receipt_parse(&e, &r, &why), -1);
    assert_non_null(why);
    json_decref(t);
}

static void presence(void **state)
{
    (void)state;
    json_t *t = load("{\"type\":\"m.presence\",\"sender\":\"@a:hs\","
                     "\"content\":{\"presence\":\"online\",\"status_msg\":"
                     "\"hi\",\"last_active_ago\":3,\"currently_active\":"
                     "false}}");
    struct mx_ephemeral e;
    struct mx_presence p;
    const char *why = NULL;
    assert_int_equal(mx_ephemeral_parse(t, &e, &why), 0);
    assert_int_equal(mx_presence_parse(&e, &p, &why), 0);
    assert_string_equal(p.user_id, "@a:hs");
    assert_string_equal(p.presence, "online");
    assert_string_equal(p.status_msg, "hi");
    assert_int_equal(p.last_active_ago, 3);
    assert_int_equal(p.currently_active, 0);
    assert_null(p.avatar_url);
    json_decref(t);

    static const char *const bad[] = {
        "{\"type\":\"m.presence\",\"content\":{\"presence\":\"online\"}}",
        "{\"type\":\"m.presence\",\"sender\":\"@a:hs\",\"content\":"
        "{\"presence\":1}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = load(bad[i]);
        assert_int_equal(mx_ephemeral_parse(t, &e, &why), 0);
        why = NULL;
        assert_int_equal(mx_presence_parse(&e, &p, &why), -1);
        assert_non_null(why);
        json_decref(t);
    }
}

static void to_device(void **state)
{
    (void)state;
    json_t *t = load("{\"type\":\"m.room_key_request\",\"sender\":\"@a:hs\","
                     "\"to_user_id\":\"@_xmpp_b:hs\",\"to_device_id\":\"D\","
                     "\"content\":{\"action\":\"request\"}}");
    struct mx_to_device td;
    const char *why = NULL;
    assert_int_equal(mx_to_device_parse(t, &td, &why), 0);
    assert_string_equal(td.type, "m.room_key_request");
    assert_string_equal(td.to_device_id, "D");
    assert_non_null(td.content);
    json_decref(t);

    static const char *const bad[] = {
        "5",
        "{\"type\":\"t\",\"sender\":\"@a\",\"to_user_id\":\"@b\","
        "\"to_device_id\":\"D\"}",
        "{\"type\":\"t\",\"sender\":\"@a\",\"to_user_id\":\"@b\","
        "\"content\":{}}",
        "{\"type\":\"t\",\"sender\":1,\"to_user_id\":\"@b\","
        "\"to_device_id\":\"D\",\"content\":{}}",
        "{\"type\":\"t\",\"sender\":\"@a\",\"to_user_id\":[],"
        "\"to_device_id\":\"D\",\"content\":{}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = load(bad[i]);
        why = NULL;
        assert_int_equal(mx_to_device_parse(t, &td, &why), -1);
        assert_non_null(why);
        json_decref(t);
    }
}

static void device_lists(void **state)
{
    (void)state;
    json_t *t = load("{\"changed\":[\"@a:hs\",\"@b:hs\"],\"left\":[]}");
    struct mx_device_lists dl;
    const char *why = NULL;
    assert_int_equal(mx_device_lists_parse(t, &dl, &why), 0);
    assert_int_equal(dl.changed.n, 2);
    assert_string_equal(mx_str_list_at(&dl.changed, 1), "@b:hs");
    assert_int_equal(dl.left.n, 0);
    json_decref(t);
    assert_int_equal(mx_device_lists_parse(NULL, &dl, &why), 0);
    assert_int_equal(dl.changed.n, 0);

    static const char *const bad[] = {
        "[]", "{\"changed\":\"@a:hs\"}", "{\"left\":[1]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = load(bad[i]);
        why = NULL;
        assert_int_equal(mx_device_lists_parse(t, &dl, &why), -1);
        assert_non_null(why);
        assert_int_equal(dl.changed.n, 0);
        json_decref(t);
    }
}

static void count_otk(const struct mx_otk_count *c, void *ud)
{
    long long *sum = ud;
    assert_string_equal(c->algorithm, "signed_curve25519");
    *sum += c->count;
}

static void otk_counts(void **state)
{
    (void)state;
    json_t *t = load("{\"@a:hs\":{\"D1\":{\"signed_curve25519\":3},"
                     "\"D2\":{\"signed_curve25519\":4}}}");
    long long sum = 0;
    const char *why = NULL;
    assert_int_equal(mx_otk_counts_foreach(t, count_otk, &sum, &why), 0);
    assert_int_equal(sum, 7);
    assert_int_equal(mx_otk_count_of(t, "@a:hs", "D2", "signed_curve25519"),
                     4);
    assert_int_equal(mx_otk_count_of(t, "@a:hs", "D3", "signed_curve25519"),
                     -1);
    assert_int_equal(mx_otk_count_of(NULL, "@a:hs", "D1", "x"), -1);
    json_decref(t);
    assert_int_equal(mx_otk_counts_foreach(NULL, count_otk, &sum, &why), 0);

    static const char *const bad[] = {
        "[]", "{\"@a:hs\":[]}", "{\"@a:hs\":{\"D\":5}}",
        "{\"@a:hs\":{\"D\":{\"signed_curve25519\":\"3\"}}}",
        "{\"@a:hs\":{\"D\":{\"signed_curve25519\":-1}}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = load(bad[i]);
        why = NULL;
        sum = 0;
        assert_int_equal(mx_otk_counts_foreach(t, count_otk, &sum, &why), -1);
        assert_non_null(why);
        assert_int_equal(sum, 0); /* checked whole before any call */
        json_decref(t);
    }
}

static void count_fallback(const struct mx_fallback_keys *f, void *ud)
{
    size_t *n = ud;
    *n += f->algorithms.n;
}

static void fallback_keys(void **state)
{
    (void)state;
    json_t *t = load("{\"@a:hs\":{\"D1\":[\"signed_curve25519\"],"
                     "\"D2\":[]}}");
    size_t n = 0;
    const char *why = NULL;
    assert_int_equal(mx_fallback_keys_foreach(t, count_fallback, &n, &why),
                     0);
    assert_int_equal(n, 1);
    json_decref(t);
    static const char *const bad[] = {
        "5", "{\"@a:hs\":5}", "{\"@a:hs\":{\"D\":{}}}",
        "{\"@a:hs\":{\"D\":[1]}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = load(bad[i]);
        why = NULL;
        assert_int_equal(mx_fallback_keys_foreach(t, count_fallback, &n,
                                                  &why), -1);
        assert_non_null(why);
        json_decref(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(transaction_names),
        cmocka_unit_test(ephemeral),
        cmocka_unit_test(typing),
        cmocka_unit_test(receipts),
        cmocka_unit_test(presence),
        cmocka_unit_test(to_device),
        cmocka_unit_test(device_lists),
        cmocka_unit_test(otk_counts),
        cmocka_unit_test(fallback_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
