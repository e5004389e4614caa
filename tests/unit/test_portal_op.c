/* A portal operation's stored form: rows written by earlier versions
 * (JSON objects with the keys below) still read back, and what is written
 * reads back the same; the in-memory string map the room joins use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/strmap.h"
#include "gateway/core/portal_op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct portal_op decode_text(const char *text, int *rc)
{
    json_t *doc = json_loads(text, 0, NULL);
    struct portal_op op;
    const char *why = NULL;
    *rc = portal_op_decode(doc, &op, &why);
    json_decref(doc);
    return op;
}

/* Rows as the previous version wrote them. */
static void reads_stored_rows(void **state)
{
    (void)state;
    int rc;
    struct portal_op op = decode_text(
        "{\"op\":\"say\",\"user_id\":\"@g:hs\",\"content\":{\"body\":\"hi\"},"
        "\"ts\":1234,\"stanza_id\":\"s1\",\"origin_id\":\"o1\","
        "\"muc\":\"r@c\",\"room_id\":\"!r:hs\"}", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(op.kind, PORTAL_OP_SAY);
    assert_string_equal(op.user_id, "@g:hs");
    assert_string_equal(op.room_id, "!r:hs");
    assert_string_equal(op.muc, "r@c");
    assert_string_equal(op.stanza_id, "s1");
    assert_string_equal(op.origin_id, "o1");
    assert_null(op.replaces);
    assert_int_equal(op.ts, 1234);
    assert_string_equal(json_string_value(json_object_get(op.content, "body")),
                        "hi");
    portal_op_clear(&op);

    op = decode_text("{\"op\":\"react\",\"user_id\":\"@g:hs\",\"event_id\":"
                     "\"$e\",\"keys\":[\"a\",3,\"b\"],\"room_id\":\"!r:hs\"}",
                     &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(op.kind, PORTAL_OP_REACT);
    assert_int_equal(op.nkeys, 2);
    assert_string_equal(op.keys[0], "a");
    assert_string_equal(op.keys[1], "b");
    portal_op_clear(&op);

    op = decode_text("{\"op\":\"join\",\"user_id\":\"@g:hs\",\"jid\":\"a@b\","
                     "\"nick\":\"A\",\"real\":true,\"room_id\":\"!r:hs\"}",
                     &rc);
    assert_int_equal(rc, 0);
    assert_true(op.real);
    assert_string_equal(op.nick, "A");
    portal_op_clear(&op);

    op = decode_text("{\"op\":\"power\",\"user_id\":\"@g:hs\",\"level\":50,"
                     "\"room_id\":\"!r:hs\"}", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(op.level, 50);
    portal_op_clear(&op);

    op = decode_text("{\"op\":\"dance\",\"user_id\":\"@g:hs\","
                     "\"room_id\":\"!r:hs\"}", &rc);
    assert_int_equal(rc, -1);
    portal_op_clear(&op);
    op = decode_text("{\"op\":\"leave\",\"user_id\":\"@g:hs\"}", &rc);
    assert_int_equal(rc, -1);
    portal_op_clear(&op);
}

/* What is written carries the same keys as before, and only those. */
static void writes_the_same_keys(void **state)
{
    (void)state;
    const char *keys[] = { "x" };
    struct portal_op op = { .kind = PORTAL_OP_REACT, .user_id = "@g:hs",
                            .room_id = "!r:hs", .event_id = "$e",
                            .keys = keys, .nkeys = 1 };
    json_t *doc = portal_op_encode(&op);
    json_t *want = json_loads("{\"op\":\"react\",\"user_id\":\"@g:hs\","
                              "\"room_id\":\"!r:hs\",\"event_id\":\"$e\","
                              "\"keys\":[\"x\"]}", 0, NULL);
    assert_true(json_equal(doc, want));
    json_decref(doc);
    json_decref(want);

    struct portal_op power = { .kind = PORTAL_OP_POWER, .user_id = "@g:hs",
                               .room_id = "!r:hs", .level = 0 };
    doc = portal_op_encode(&power);
    want = json_loads("{\"op\":\"power\",\"user_id\":\"@g:hs\","
                      "\"room_id\":\"!r:hs\",\"level\":0}", 0, NULL);
    assert_true(json_equal(doc, want));
    json_decref(doc);
    json_decref(want);

    /* A message is kept as the stanza the MUC relayed, as a DM's is. */
    struct portal_op say = { .kind = PORTAL_OP_SAY, .user_id = "@g:hs",
                             .room_id = "!r:hs", .muc = "r@c",
                             .stanza = "<message><body>hi</body></message>",
                             .stanza_id = "s1", .ts = 5 };
    doc = portal_op_encode(&say);
    want = json_loads("{\"op\":\"say\",\"user_id\":\"@g:hs\",\"room_id\":"
                      "\"!r:hs\",\"muc\":\"r@c\",\"stanza_id\":\"s1\","
                      "\"stanza\":\"<message><body>hi</body></message>\","
                      "\"ts\":5}", 0, NULL);
    assert_true(json_equal(doc, want));
    json_decref(doc);
    json_decref(want);

    struct portal_op join = { .kind = PORTAL_OP_JOIN, .user_id = "@g:hs",
                              .room_id = "!r:hs", .jid = "r@c/A",
                              .nick = "A", .real = false };
    doc = portal_op_encode(&join);
    want = json_loads("{\"op\":\"join\",\"user_id\":\"@g:hs\",\"room_id\":"
                      "\"!r:hs\",\"jid\":\"r@c/A\",\"nick\":\"A\","
                      "\"real\":false}", 0, NULL);
    assert_true(json_equal(doc, want));
    struct portal_op back;
    const char *why;
    assert_int_equal(portal_op_decode(doc, &back, &why), 0);
    assert_int_equal(back.kind, PORTAL_OP_JOIN);
    assert_string_equal(back.jid, "r@c/A");
    assert_false(back.real);
    portal_op_clear(&back);
    json_decref(doc);
    json_decref(want);
}

static void strmap_keeps_order(void **state)
{
    (void)state;
    struct strmap m = STRMAP_INIT;
    assert_null(strmap_get(&m, "a"));
    char key[32], value[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "nick%d", i);
        snprintf(value, sizeof value, "@u%d:hs", i);
        strmap_put(&m, key, value);
    }
    strmap_put(&m, "nick5", "@other:hs"); /* replaced in place */
    assert_int_equal(m.n, 1000);
    assert_string_equal(strmap_get(&m, "nick999"), "@u999:hs");
    assert_string_equal(strmap_get(&m, "nick5"), "@other:hs");
    assert_string_equal(m.entries[5].key, "nick5");
    assert_string_equal(m.entries[6].key, "nick6");
    assert_null(strmap_get(&m, "nick1000"));
    strmap_clear(&m);
    assert_int_equal(m.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_stored_rows),
        cmocka_unit_test(writes_the_same_keys),
        cmocka_unit_test(strmap_keeps_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
