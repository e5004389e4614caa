/* The room event parsers of matrix/: messages, members, state events,
 * reactions and redactions. Each gets well-formed input, then missing and
 * wrong-typed fields, which must give -1 with a reason and never crash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "matrix/event.h"
#include "matrix/event_relation.h"
#include "matrix/event_state.h"

#include <string.h>

/* A parsed event over a tree built from text; the tree is kept in *tree
 * for the caller to drop. */
static struct mx_event event_of(const char *text, json_t **tree)
{
    json_error_t err;
    *tree = json_loads(text, 0, &err);
    assert_non_null(*tree);
    struct mx_event ev;
    const char *why = NULL;
    assert_int_equal(mx_event_parse(*tree, &ev, &why), 0);
    return ev;
}

#define EV(type, extra, content)                                            \
    "{\"event_id\":\"$e\",\"room_id\":\"!r:hs\",\"sender\":\"@a:hs\","     \
    "\"origin_server_ts\":5,\"type\":\"" type "\"" extra                    \
    ",\"content\":" content "}"

static void event_fields_kept_on_failure(void **state)
{
    (void)state;
    json_t *t = json_loads("{\"event_id\":\"$x\",\"origin_server_ts\":7}", 0,
                           NULL);
    struct mx_event ev;
    const char *why = NULL;
    assert_int_equal(mx_event_parse(t, &ev, &why), -1);
    assert_non_null(why);
    assert_string_equal(ev.event_id, "$x");
    assert_int_equal(ev.origin_server_ts, 7);
    json_decref(t);
    why = NULL;
    assert_int_equal(mx_event_parse(NULL, &ev, &why), -1);
    assert_non_null(why);
}

static void message_and_bundled_edit(void **state)
{
    (void)state;
    json_t *t;
    struct mx_event ev = event_of(
        EV("m.room.message",
           ",\"unsigned\":{\"m.relations\":{\"m.replace\":{\"content\":"
           "{\"m.new_content\":{\"msgtype\":\"m.text\",\"body\":\"new\"}}}}}",
           "{\"msgtype\":\"m.text\",\"body\":\"old\",\"format\":"
           "\"org.matrix.custom.html\",\"formatted_body\":\"<b>old</b>\","
           "\"m.relates_to\":{\"m.in_reply_to\":{\"event_id\":\"$q\"}}}"),
        &t);
    struct mx_message m;
    const char *why = NULL;
    assert_int_equal(mx_message_parse(&ev, &m, &why), 0);
    assert_string_equal(m.body, "old");
    assert_string_equal(m.html, "<b>old</b>");
    assert_string_equal(m.reply_to, "$q");
    assert_null(m.replaces);
    assert_int_equal(m.size, -1);
    assert_ptr_equal(m.shown, ev.content);
    struct mx_bundled_edit e;
    assert_int_equal(mx_bundled_edit_parse(&ev, &e, &why), 0);
    assert_string_equal(e.body, "new");
    assert_string_equal(e.msgtype, "m.text");
    json_decref(t);

    ev = event_of(EV("m.room.message", "", "{\"msgtype\":5,\"body\":\"x\"}"),
                  &t);
    why = NULL;
    assert_int_equal(mx_message_parse(&ev, &m, &why), -1);
    assert_non_null(why);
    why = NULL;
    assert_int_equal(mx_bundled_edit_parse(&ev, &e, &why), -1);
    assert_non_null(why);
    json_decref(t);

    why = NULL;
    assert_int_equal(mx_message_content_parse("m.room.message", NULL, &m,
                                              &why), -1);
    assert_non_null(why);
}

static void sticker_content(void **state)
{
    (void)state;
    json_t *c = json_loads("{\"body\":\"cat\",\"url\":\"mxc://hs/x\","
                           "\"info\":{\"mimetype\":\"image/png\",\"size\":3}}",
                           0, NULL);
    struct mx_message m;
    const char *why = NULL;
    assert_int_equal(mx_message_content_parse("m.sticker", c, &m, &why), 0);
    assert_string_equal(m.msgtype, "m.sticker");
    assert_string_equal(m.mimetype, "image/png");
    assert_int_equal(m.size, 3);
    json_decref(c);
}

static void member(void **state)
{
    (void)state;
    json_t *t;
    struct mx_event ev = event_of(
        EV("m.room.member", ",\"state_key\":\"@b:hs\"",
           "{\"membership\":\"join\",\"displayname\":\"B\","
           "\"avatar_url\":\"mxc://hs/b\",\"is_direct\":true}"),
        &t);
    struct mx_member m;
    const char *why = NULL;
    assert_int_equal(mx_member_parse(&ev, &m, &why), 0);
    assert_string_equal(m.avatar_url, "mxc://hs/b");
    assert_true(m.is_direct);
    json_decref(t);
    ev = event_of(EV("m.room.member", ",\"state_key\":\"@b:hs\"",
                     "{\"membership\":[]}"), &t);
    why = NULL;
    assert_int_equal(mx_member_parse(&ev, &m, &why), -1);
    assert_non_null(why);
    json_decref(t);
}

static void power_levels(void **state)
{
    (void)state;
    json_t *c = json_loads("{\"users\":{\"@a:hs\":100,\"@s:hs\":\"50\"},"
                           "\"users_default\":10,\"events\":"
                           "{\"m.room.name\":75},\"kick\":\"x\"}", 0, NULL);
    struct mx_power_levels pl;
    const char *why = NULL;
    assert_int_equal(mx_power_levels_parse(c, &pl, &why), 0);
    assert_int_equal(mx_power_levels_user(&pl, "@a:hs"), 100);
    /* Not an integer: as if absent. */
    assert_int_equal(mx_power_levels_user(&pl, "@s:hs"), 10);
    assert_int_equal(mx_power_levels_user(&pl, "@z:hs"), 10);
    assert_int_equal(pl.kick, 50);
    assert_int_equal(mx_power_levels_event(&pl, "m.room.name", true), 75);
    assert_int_equal(mx_power_levels_event(&pl, "m.room.topic", true), 50);
    assert_int_equal(mx_power_levels_event(&pl, "m.room.message", false), 0);
    json_decref(c);

    c = json_loads("{\"users\":[1]}", 0, NULL);
    assert_int_equal(mx_power_levels_parse(c, &pl, &why), 0);
    assert_null(pl.users);
    assert_int_equal(mx_power_levels_user(&pl, "@a:hs"), 0);
    json_decref(c);

    why = NULL;
    c = json_string("nope");
    assert_int_equal(mx_power_levels_parse(c, &pl, &why), -1);
    assert_non_null(why);
    assert_int_equal(mx_power_levels_user(&pl, "@a:hs"), 0);
    json_decref(c);
}

static void topic_name_avatar_alias(void **state)
{
    (void)state;
    json_t *c = json_loads("{\"topic\":\"t\",\"name\":\"n\",\"url\":"
                           "\"mxc://hs/a\",\"alias\":\"#a:hs\","
                           "\"alt_aliases\":[\"#b:hs\"]}", 0, NULL);
    const char *why = NULL;
    struct mx_topic topic;
    struct mx_name name;
    struct mx_room_avatar av;
    struct mx_canonical_alias al;
    assert_int_equal(mx_topic_parse(c, &topic, &why), 0);
    assert_string_equal(topic.topic, "t");
    assert_int_equal(mx_name_parse(c, &name, &why), 0);
    assert_string_equal(name.name, "n");
    assert_int_equal(mx_room_avatar_parse(c, &av, &why), 0);
    assert_string_equal(av.url, "mxc://hs/a");
    assert_int_equal(mx_canonical_alias_parse(c, &al, &why), 0);
    assert_string_equal(al.alias, "#a:hs");
    assert_int_equal(json_array_size(al.alt_aliases), 1);
    json_decref(c);

    c = json_loads("{\"topic\":1,\"name\":null,\"url\":2,\"alias\":3,"
                   "\"alt_aliases\":[4]}", 0, NULL);
    why = NULL;
    assert_int_equal(mx_topic_parse(c, &topic, &why), -1);
    assert_non_null(why);
    why = NULL;
    assert_int_equal(mx_name_parse(c, &name, &why), -1);
    assert_non_null(why);
    why = NULL;
    assert_int_equal(mx_room_avatar_parse(c, &av, &why), -1);
    assert_non_null(why);
    why = NULL;
    assert_int_equal(mx_canonical_alias_parse(c, &al, &why), -1);
    assert_non_null(why);
    json_decref(c);

    /* Removed avatar and alias: empty contents are fine. */
    c = json_object();
    assert_int_equal(mx_room_avatar_parse(c, &av, &why), 0);
    assert_null(av.url);
    assert_int_equal(mx_canonical_alias_parse(c, &al, &why), 0);
    assert_null(al.alias);
    json_decref(c);
    why = NULL;
    assert_int_equal(mx_topic_parse(NULL, &topic, &why), -1);
    assert_non_null(why);
}

static void create(void **state)
{
    (void)state;
    json_t *t;
    struct mx_event ev = event_of(
        EV("m.room.create", ",\"state_key\":\"\"",
           "{\"room_version\":\"12\",\"additional_creators\":[\"@c:hs\",3]}"),
        &t);
    struct mx_create c;
    const char *why = NULL;
    assert_int_equal(mx_create_parse(&ev, &c, &why), 0);
    assert_true(c.federate);
    assert_true(mx_create_is_creator(&c, "@a:hs"));
    assert_true(mx_create_is_creator(&c, "@c:hs"));
    assert_false(mx_create_is_creator(&c, "@d:hs"));
    json_decref(t);

    ev = event_of(EV("m.room.create", ",\"state_key\":\"\"",
                     "{\"m.federate\":false}"), &t);
    assert_int_equal(mx_create_parse(&ev, &c, &why), 0);
    assert_string_equal(c.room_version, "1");
    assert_false(c.federate);
    assert_false(mx_create_is_creator(&c, "@a:hs"));
    json_decref(t);

    ev = event_of(EV("m.room.create", ",\"state_key\":\"\"",
                     "{\"room_version\":12}"), &t);
    why = NULL;
    assert_int_equal(mx_create_parse(&ev, &c, &why), -1);
    assert_non_null(why);
    json_decref(t);
    ev = event_of(EV("m.room.topic", "", "{}"), &t);
    why = NULL;
    assert_int_equal(mx_create_parse(&ev, &c, &why), -1);
    assert_non_null(why);
    json_decref(t);
}

static void join_rules_and_encryption(void **state)
{
    (void)state;
    json_t *c = json_loads("{\"join_rule\":\"restricted\",\"allow\":[],"
                           "\"algorithm\":\"m.megolm.v1.aes-sha2\"}", 0, NULL);
    struct mx_join_rules jr;
    struct mx_encryption enc;
    const char *why = NULL;
    assert_int_equal(mx_join_rules_parse(c, &jr, &why), 0);
    assert_string_equal(jr.join_rule, "restricted");
    assert_non_null(jr.allow);
    assert_int_equal(mx_encryption_parse(c, &enc, &why), 0);
    assert_int_equal(enc.rotation_period_ms, 604800000LL);
    assert_int_equal(enc.rotation_period_msgs, 100);
    json_decref(c);

    c = json_loads("{\"join_rule\":\"public\",\"allow\":{},"
                   "\"algorithm\":\"x\",\"rotation_period_ms\":\"1\"}", 0,
                   NULL);
    why = NULL;
    assert_int_equal(mx_join_rules_parse(c, &jr, &why), -1);
    assert_non_null(why);
    why = NULL;
    assert_int_equal(mx_encryption_parse(c, &enc, &why), -1);
    assert_non_null(why);
    json_decref(c);
    why = NULL;
    assert_int_equal(mx_encryption_parse(NULL, &enc, &why), -1);
    assert_non_null(why);
}

static void reaction(void **state)
{
    (void)state;
    json_t *t;
    struct mx_event ev = event_of(
        EV("m.reaction", "",
           "{\"m.relates_to\":{\"rel_type\":\"m.annotation\","
           "\"event_id\":\"$t\",\"key\":\"👍\"}}"), &t);
    struct mx_reaction r;
    const char *why = NULL;
    assert_int_equal(mx_reaction_parse(&ev, &r, &why), 0);
    assert_string_equal(r.target, "$t");
    assert_string_equal(r.key, "👍");
    json_decref(t);

    static const char *const bad[] = {
        EV("m.reaction", "", "{}"),
        EV("m.reaction", "", "{\"m.relates_to\":[]}"),
        EV("m.reaction", "", "{\"m.relates_to\":{\"rel_type\":\"m.replace\","
                             "\"event_id\":\"$t\",\"key\":\"k\"}}"),
        EV("m.reaction", "", "{\"m.relates_to\":{\"rel_type\":"
                             "\"m.annotation\",\"event_id\":\"$t\"}}"),
        EV("m.reaction", "", "{\"m.relates_to\":{\"rel_type\":"
                             "\"m.annotation\",\"event_id\":1,\"key\":\"k\"}}"),
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ev = event_of(bad[i], &t);
        why = NULL;
        assert_int_equal(mx_reaction_parse(&ev, &r, &why), -1);
        assert_non_null(why);
        json_decref(t);
    }
}

static void redaction(void **state)
{
    (void)state;
    json_t *t;
    struct mx_redaction r;
    const char *why = NULL;
    /* Room v11: in the content, which wins over a top-level one. */
    struct mx_event ev = event_of(
        EV("m.room.redaction", ",\"redacts\":\"$old\"",
           "{\"redacts\":\"$v11\",\"reason\":\"spam\"}"), &t);
    assert_int_equal(mx_redaction_parse(&ev, &r, &why), 0);
    assert_string_equal(r.redacts, "$v11");
    assert_string_equal(r.reason, "spam");
    json_decref(t);
    ev = event_of(EV("m.room.redaction", ",\"redacts\":\"$old\"", "{}"), &t);
    assert_int_equal(mx_redaction_parse(&ev, &r, &why), 0);
    assert_string_equal(r.redacts, "$old");
    assert_null(r.reason);
    json_decref(t);
    ev = event_of(EV("m.room.redaction", ",\"redacts\":5",
                     "{\"redacts\":[]}"), &t);
    why = NULL;
    assert_int_equal(mx_redaction_parse(&ev, &r, &why), -1);
    assert_non_null(why);
    json_decref(t);
}

static void room_state_test(void **state)
{
    (void)state;
    json_t *t;
    struct mx_event ev = event_of(EV("m.room.topic", ",\"state_key\":\"\"",
                                     "{}"), &t);
    assert_true(mx_event_is_room_state(&ev, "m.room.topic"));
    assert_false(mx_event_is_room_state(&ev, "m.room.name"));
    json_decref(t);
    ev = event_of(EV("m.room.topic", ",\"state_key\":\"x\"", "{}"), &t);
    assert_false(mx_event_is_room_state(&ev, "m.room.topic"));
    json_decref(t);
    ev = event_of(EV("m.room.topic", "", "{}"), &t);
    assert_false(mx_event_is_room_state(&ev, "m.room.topic"));
    json_decref(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_fields_kept_on_failure),
        cmocka_unit_test(message_and_bundled_edit),
        cmocka_unit_test(sticker_content),
        cmocka_unit_test(member),
        cmocka_unit_test(power_levels),
        cmocka_unit_test(topic_name_avatar_alias),
        cmocka_unit_test(create),
        cmocka_unit_test(join_rules_and_encryption),
        cmocka_unit_test(reaction),
        cmocka_unit_test(redaction),
        cmocka_unit_test(room_state_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
