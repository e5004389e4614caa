/* Presence: the derivation of one state from many sources, the coalescer
 * that bounds how often a person's changes go out, the presence stanza
 * payloads, and the store's presence tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/core/coalesce.h"
#include "gateway/core/presence_state.h"
#include "store/store.h"
#include "tests/unit/store_fixture.h"
#include "xep/avatars.h"
#include "xep/disco.h"
#include "xep/presence_stanza.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------- derivation -- */

static void no_source_is_offline(void **state)
{
    (void)state;
    struct presence_derived d;
    presence_derive(NULL, 0, &d);
    assert_int_equal(d.state, PSTATE_OFFLINE);
    assert_null(d.status);
}

static void any_online_source_wins(void **state)
{
    (void)state;
    struct presence_source s[] = {
        { "phone", PSTATE_UNAVAILABLE, "on the train", 300 },
        { "laptop", PSTATE_ONLINE, NULL, 100 },
        { "old", PSTATE_OFFLINE, "bye", 400 },
    };
    struct presence_derived d;
    presence_derive(s, 3, &d);
    assert_int_equal(d.state, PSTATE_ONLINE);
    /* the newest status of a source that is there, not the goodbye */
    assert_string_equal(d.status, "on the train");
}

static void one_resource_leaving_keeps_the_other(void **state)
{
    (void)state;
    struct presence_source s[] = {
        { "a", PSTATE_ONLINE, "", 100 },
        { "b", PSTATE_OFFLINE, "gone", 200 },
    };
    struct presence_derived d;
    presence_derive(s, 2, &d);
    assert_int_equal(d.state, PSTATE_ONLINE);
    assert_null(d.status); /* an empty status is none */
}

static void all_gone_keeps_the_last_goodbye(void **state)
{
    (void)state;
    struct presence_source s[] = {
        { "a", PSTATE_OFFLINE, "first", 100 },
        { "b", PSTATE_OFFLINE, "last", 200 },
    };
    struct presence_derived d;
    presence_derive(s, 2, &d);
    assert_int_equal(d.state, PSTATE_OFFLINE);
    assert_string_equal(d.status, "last");
}

static void mappings_both_ways(void **state)
{
    (void)state;
    assert_int_equal(presence_state_from_xmpp(NULL, NULL), PSTATE_ONLINE);
    assert_int_equal(presence_state_from_xmpp(NULL, "chat"), PSTATE_ONLINE);
    assert_int_equal(presence_state_from_xmpp(NULL, "away"),
                     PSTATE_UNAVAILABLE);
    assert_int_equal(presence_state_from_xmpp(NULL, "xa"), PSTATE_UNAVAILABLE);
    assert_int_equal(presence_state_from_xmpp(NULL, "dnd"),
                     PSTATE_UNAVAILABLE);
    assert_int_equal(presence_state_from_xmpp("unavailable", "away"),
                     PSTATE_OFFLINE);
    assert_int_equal(presence_state_from_matrix("online"), PSTATE_ONLINE);
    assert_int_equal(presence_state_from_matrix("unavailable"),
                     PSTATE_UNAVAILABLE);
    assert_int_equal(presence_state_from_matrix("offline"), PSTATE_OFFLINE);
    assert_int_equal(presence_state_from_matrix("weird"), -1);
    assert_int_equal(presence_state_from_matrix(NULL), -1);
    assert_string_equal(presence_state_matrix(PSTATE_ONLINE), "online");
    assert_string_equal(presence_state_matrix(PSTATE_UNAVAILABLE),
                        "unavailable");
    assert_string_equal(presence_state_matrix(PSTATE_OFFLINE), "offline");
    assert_null(presence_state_show(PSTATE_ONLINE));
    assert_string_equal(presence_state_show(PSTATE_UNAVAILABLE), "away");
}

/* -------------------------------------------------------- coalescer -- */

static int flushes;
static char last_key[64];

static void count_flush(const char *key, void *ud)
{
    (void)ud;
    flushes++;
    snprintf(last_key, sizeof last_key, "%s", key);
}

static void a_single_change_goes_out_at_once(void **state)
{
    (void)state;
    struct coalesce *c = coalesce_new(1000);
    flushes = 0;
    coalesce_mark(c, "@bob:hs", 5000);
    assert_int_equal(coalesce_run(c, 5000, 0, count_flush, NULL), 1);
    assert_string_equal(last_key, "@bob:hs");
    assert_int_equal(coalesce_run(c, 5001, 0, count_flush, NULL), 0);
    /* quiet for a window: forgotten */
    coalesce_run(c, 6000, 0, count_flush, NULL);
    assert_int_equal(coalesce_size(c), 0);
    coalesce_free(c);
}

static void a_burst_is_bounded_by_the_window(void **state)
{
    (void)state;
    struct coalesce *c = coalesce_new(1000);
    flushes = 0;
    /* 200 changes over two seconds, a loop turn every 10 ms */
    for (int64_t t = 0; t < 2000; t += 10) {
        coalesce_mark(c, "@bob:hs", t);
        coalesce_run(c, t, 0, count_flush, NULL);
    }
    for (int64_t t = 2000; t <= 4000; t += 10)
        coalesce_run(c, t, 0, count_flush, NULL);
    /* at once, after 1 s, after 2 s (the last change, not lost) */
    assert_int_equal(flushes, 3);
    assert_int_equal(coalesce_size(c), 0);
    coalesce_free(c);
}

static void keys_are_independent(void **state)
{
    (void)state;
    struct coalesce *c = coalesce_new(1000);
    flushes = 0;
    coalesce_mark(c, "a", 0);
    coalesce_run(c, 0, 0, count_flush, NULL);
    coalesce_mark(c, "a", 10);
    coalesce_mark(c, "b", 10);
    assert_int_equal(coalesce_next_due(c), 10); /* b, at once */
    assert_int_equal(coalesce_run(c, 10, 0, count_flush, NULL), 1); /* b */
    assert_string_equal(last_key, "b");
    assert_int_equal(coalesce_next_due(c), 1000); /* a, after its window */
    assert_int_equal(coalesce_run(c, 999, 0, count_flush, NULL), 0);
    assert_int_equal(coalesce_run(c, 1000, 0, count_flush, NULL), 1); /* a */
    assert_string_equal(last_key, "a");
    assert_int_equal(coalesce_next_due(c), -1); /* nothing pending */
    coalesce_free(c);
}

/* The loop sleeps until coalesce_next_due: woken only then, it still
 * sends every burst's last change, once per window. */
static void a_loop_woken_only_when_due_loses_nothing(void **state)
{
    (void)state;
    struct coalesce *c = coalesce_new(1000);
    flushes = 0;
    int64_t now = 0;
    coalesce_mark(c, "@bob:hs", now);
    for (int turns = 0; turns < 10 && coalesce_next_due(c) >= 0; turns++) {
        now = coalesce_next_due(c);
        coalesce_run(c, now, 0, count_flush, NULL);
        if (flushes == 1) /* changes while the window runs */
            for (int64_t t = now + 1; t < now + 500; t += 50)
                coalesce_mark(c, "@bob:hs", t);
    }
    assert_int_equal(flushes, 2); /* at once, then the burst's last */
    assert_int_equal(now, 1000);
    assert_int_equal(coalesce_next_due(c), -1);
    coalesce_free(c);
}

/* ---------------------------------------------------------- stanzas -- */

static void presence_parse_and_build(void **state)
{
    (void)state;
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_stanza_t *p = xpresence_build(ctx, "bob%hs@gw", "alice@x", NULL,
                                       "away", "lunch \xc3\xa9t\xc3\xa9",
                                       "Bob");
    struct xpresence x;
    xpresence_parse(p, &x, 512);
    assert_null(x.type);
    assert_string_equal(x.show, "away");
    assert_string_equal(x.status, "lunch \xc3\xa9t\xc3\xa9");
    assert_string_equal(x.nick, "Bob");
    xpresence_free(&x);
    /* cut on a character boundary: "lunch \xc3" would be broken UTF-8 */
    xpresence_parse(p, &x, 7);
    assert_string_equal(x.status, "lunch ");
    xpresence_free(&x);
    xmpp_stanza_release(p);
    /* an unavailable presence carries no show */
    p = xpresence_build(ctx, "a", "b", "unavailable", "away", NULL, NULL);
    xpresence_parse(p, &x, 512);
    assert_string_equal(x.type, "unavailable");
    assert_null(x.show);
    assert_null(x.status);
    assert_null(x.nick);
    xpresence_free(&x);
    xmpp_stanza_release(p);
    xmpp_ctx_free(ctx);
}

static void avatar_hash_in_presence(void **state)
{
    (void)state;
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_stanza_t *p = xpresence_build(ctx, "a", "b", NULL, NULL, NULL, NULL);
    assert_null(avatar_presence_hash(p)); /* says nothing */
    avatar_presence_add_hash(ctx, p, "0123456789ABCDEF0123456789abcdef01234567");
    char *h = avatar_presence_hash(p);
    assert_string_equal(h, "0123456789abcdef0123456789abcdef01234567");
    free(h);
    xmpp_stanza_release(p);
    p = xpresence_build(ctx, "a", "b", NULL, NULL, NULL, NULL);
    avatar_presence_add_hash(ctx, p, "");
    h = avatar_presence_hash(p);
    assert_string_equal(h, ""); /* no photo */
    free(h);
    xmpp_stanza_release(p);
    p = xpresence_build(ctx, "a", "b", NULL, NULL, NULL, NULL);
    avatar_presence_add_hash(ctx, p, "not-a-hash");
    h = avatar_presence_hash(p);
    assert_string_equal(h, ""); /* garbage is no photo */
    free(h);
    xmpp_stanza_release(p);
    xmpp_ctx_free(ctx);
}

static void vcard_photo_round_trip(void **state)
{
    (void)state;
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_stanza_t *iq = xmpp_iq_new(ctx, "get", "v1");
    xmpp_stanza_set_from(iq, "alice@x/r");
    xmpp_stanza_set_to(iq, "bob%hs@gw");
    xmpp_stanza_t *res = vcard_result(ctx, iq, "Bob", NULL);
    unsigned char img[300];
    for (size_t i = 0; i < sizeof img; i++)
        img[i] = (unsigned char)(i * 7);
    avatar_vcard_add_photo(ctx, res, "image/jpeg", img, sizeof img);
    unsigned char *data;
    size_t len;
    char *type;
    const char *why;
    assert_int_equal(avatar_vcard_photo(res, 1024, &data, &len, &type, &why),
                     0);
    assert_int_equal(len, sizeof img);
    assert_memory_equal(data, img, sizeof img);
    assert_string_equal(type, "image/jpeg");
    free(data);
    free(type);
    /* larger than the bound: refused before anything is decoded */
    assert_int_equal(avatar_vcard_photo(res, 100, &data, &len, &type, &why),
                     -1);
    xmpp_stanza_release(res);
    /* no photo at all */
    res = vcard_result(ctx, iq, "Bob", NULL);
    assert_int_equal(avatar_vcard_photo(res, 1024, &data, &len, &type, &why),
                     -1);
    xmpp_stanza_release(res);
    xmpp_stanza_release(iq);
    char hex[41];
    avatar_sha1_hex((const unsigned char *)"abc", 3, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    xmpp_ctx_free(ctx);
}

static void avatar_pubsub_results(void **state)
{
    (void)state;
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_stanza_t *iq = xmpp_iq_new(ctx, "get", "p1");
    xmpp_stanza_set_from(iq, "alice@x/r");
    xmpp_stanza_set_to(iq, "bob%hs@gw");
    assert_null(avatar_pubsub_items_node(iq));
    xmpp_stanza_t *ps = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(ps, "pubsub");
    xmpp_stanza_set_ns(ps, NS_PUBSUB);
    xmpp_stanza_t *items = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(items, "items");
    xmpp_stanza_set_attribute(items, "node", NS_AVATAR_DATA);
    xmpp_stanza_add_child(ps, items);
    xmpp_stanza_release(items);
    xmpp_stanza_add_child(iq, ps);
    xmpp_stanza_release(ps);
    assert_string_equal(avatar_pubsub_items_node(iq), NS_AVATAR_DATA);
    const unsigned char img[] = "\x89PNG";
    xmpp_stanza_t *r = avatar_data_result(ctx, iq, "ab", img, 4);
    assert_string_equal(xmpp_stanza_get_to(r), "alice@x/r");
    char *text;
    size_t len;
    xmpp_stanza_to_text(r, &text, &len);
    assert_non_null(strstr(text, "<data xmlns=\"urn:xmpp:avatar:data\">iVBORw==</data>"));
    xmpp_free(ctx, text);
    xmpp_stanza_release(r);
    r = avatar_metadata_result(ctx, iq, "ab", 4, "image/png");
    xmpp_stanza_to_text(r, &text, &len);
    assert_non_null(strstr(text, "bytes=\"4\""));
    assert_non_null(strstr(text, "node=\"urn:xmpp:avatar:metadata\""));
    xmpp_free(ctx, text);
    xmpp_stanza_release(r);
    xmpp_stanza_release(iq);
    xmpp_ctx_free(ctx);
}

/* ------------------------------------------------------------ store -- */

static int setup(void **state)
{
    struct store_fixture *f = calloc(1, sizeof *f);
    if (store_fixture_open(f, "presence") != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct store_fixture *f = *state;
    int rc = store_fixture_close(f);
    free(f);
    return rc;
}

static void store_keeps_each_source(void **state)
{
    struct store_fixture *f = *state;
    struct store *st = f->st;
    assert_int_equal(store_presence_put(st, "a@x", "phone", PSTATE_ONLINE,
                                        NULL, 10), 0);
    assert_int_equal(store_presence_put(st, "a@x", "laptop",
                                        PSTATE_UNAVAILABLE, "brb", 20), 0);
    assert_int_equal(store_presence_put(st, "a@x", "phone", PSTATE_OFFLINE,
                                        "bye", 30), 0);
    assert_int_equal(store_flush(st), 0);
    store_fixture_reopen(f);
    st = f->st;
    struct store_presence *rows;
    int n = store_presence_get(st, "a@x", &rows);
    assert_int_equal(n, 2);
    struct presence_source src[2];
    for (int i = 0; i < n; i++)
        src[i] = (struct presence_source){ rows[i].source, rows[i].state,
                                           rows[i].status, rows[i].ts };
    struct presence_derived d;
    presence_derive(src, n, &d);
    assert_int_equal(d.state, PSTATE_UNAVAILABLE);
    assert_string_equal(d.status, "brb");
    store_presence_free(rows, n);
    assert_int_equal(store_presence_get(st, "nobody@x", &rows), 0);
}

static void watchers_are_subscribers_and_dms(void **state)
{
    struct store_fixture *f = *state;
    struct store *st = f->st;
    assert_int_equal(store_presence_sub_put(st, "@bob:hs", "a@x"), 0);
    assert_int_equal(store_presence_sub_put(st, "@bob:hs", "a@x"), 0);
    assert_int_equal(store_presence_sub_put(st, "@bob:hs", "c@x"), 0);
    struct store_room dm = { "!dm:hs", ROOM_DM, "a@x", "@bob:hs" };
    assert_int_equal(store_room_put(st, &dm, 1), 0);
    struct store_room dm2 = { "!dm2:hs", ROOM_DM, "d@x", "@bob:hs" };
    assert_int_equal(store_room_put(st, &dm2, 2), 0);
    assert_int_equal(store_presence_sub_delete(st, "@bob:hs", "c@x"), 0);
    char **jids;
    int n = store_presence_watchers(st, "@bob:hs", &jids);
    assert_int_equal(n, 2); /* a@x once, d@x */
    bool a = false, d = false;
    for (int i = 0; i < n; i++) {
        a |= strcmp(jids[i], "a@x") == 0;
        d |= strcmp(jids[i], "d@x") == 0;
    }
    assert_true(a && d);
    store_strings_free(jids, n);
}

static void rooms_of_a_matrix_user(void **state)
{
    struct store_fixture *f = *state;
    struct store *st = f->st;
    struct store_room gwr = { "!g:hs", ROOM_GATEWAY, "#g%hs@gw", NULL };
    assert_int_equal(store_room_put(st, &gwr, 1), 0);
    assert_int_equal(store_member_put(st, "!g:hs", "@bob:hs", "Bob", 0), 0);
    struct store_portal_user u = { "!p:hs", "@bob:hs", "room@muc", "Bobby",
                                   "Bobby", 0, 1 };
    assert_int_equal(store_portal_user_put(st, &u), 0);
    struct store_portal_user waiting = { "!q:hs", "@bob:hs", "other@muc",
                                         "B", "B", 0, 0 };
    assert_int_equal(store_portal_user_put(st, &waiting), 0);
    struct store_presence_room *rooms;
    int n = store_presence_rooms(st, "@bob:hs", &rooms);
    assert_int_equal(n, 2); /* not the MUC that has not confirmed the join */
    for (int i = 0; i < n; i++) {
        if (rooms[i].mode == ROOM_GATEWAY) {
            assert_string_equal(rooms[i].muc_jid, "#g%hs@gw");
            assert_string_equal(rooms[i].nick, "Bob");
        } else {
            assert_int_equal(rooms[i].mode, ROOM_PORTAL);
            assert_string_equal(rooms[i].muc_jid, "room@muc");
            assert_string_equal(rooms[i].nick, "Bobby");
        }
    }
    store_presence_rooms_free(rooms, n);
}

static void avatars_are_cached(void **state)
{
    struct store_fixture *f = *state;
    struct store *st = f->st;
    unsigned char img[] = { 0x89, 'P', 'N', 'G', 0, 1, 2 };
    struct store_avatar a = { "mxc://hs/abc", "aa", "image/png", img,
                              sizeof img };
    assert_int_equal(store_avatar_put(st, &a), 0);
    struct store_avatar b;
    assert_int_equal(store_avatar_get(st, "mxc://hs/abc", &b), 1);
    assert_int_equal(b.len, sizeof img);
    assert_memory_equal(b.data, img, sizeof img);
    assert_string_equal(b.type, "image/png");
    store_avatar_free(&b);
    assert_int_equal(store_avatar_get(st, "mxc://hs/none", &b), 0);
    char *mxc, *sha1;
    assert_int_equal(store_avatar_of_get(st, "@bob:hs", &mxc, &sha1), 0);
    assert_int_equal(store_avatar_of_put(st, "@bob:hs", "mxc://hs/abc",
                                         NULL), 0);
    assert_int_equal(store_avatar_of_get(st, "@bob:hs", &mxc, &sha1), 1);
    assert_string_equal(mxc, "mxc://hs/abc");
    assert_null(sha1);
    free(mxc);
}

static void ghost_rooms_and_member_nicks(void **state)
{
    struct store_fixture *f = *state;
    struct store *st = f->st;
    struct store_room gwr = { "!g:hs", ROOM_GATEWAY, "#g%hs@gw", NULL };
    assert_int_equal(store_room_put(st, &gwr, 1), 0);
    struct store_occupant a = { "a@x/one", "#g%hs@gw", "!g:hs", "ali",
                                "@_xmpp_a:hs" };
    struct store_occupant b = { "a@x/two", "#g%hs@gw", "!g:hs", "ali",
                                "@_xmpp_a:hs" };
    assert_int_equal(store_occupant_put(st, &a), 0);
    assert_int_equal(store_occupant_put(st, &b), 0);
    struct store_presence_room *rooms;
    int n = store_ghost_rooms(st, "@_xmpp_a:hs", &rooms);
    assert_int_equal(n, 1); /* two resources, one room */
    assert_string_equal(rooms[0].nick, "ali");
    assert_int_equal(rooms[0].mode, ROOM_GATEWAY);
    store_presence_rooms_free(rooms, n);
    assert_int_equal(store_member_put(st, "!g:hs", "@bob:hs", "Bob B", 0), 0);
    char *mxid = NULL;
    assert_int_equal(store_member_by_nick(st, "!g:hs", "Bob B", &mxid), 1);
    assert_string_equal(mxid, "@bob:hs");
    free(mxid);
    assert_int_equal(store_member_by_nick(st, "!g:hs", "Nobody", &mxid), 0);
}

/* A run flushes at most max keys; the others stay due for the next. */
static void coalesce_bounded_run(void **state)
{
    (void)state;
    struct coalesce *c = coalesce_new(1000);
    char key[16];
    for (int i = 0; i < 10; i++) {
        snprintf(key, sizeof key, "k%d", i);
        coalesce_mark(c, key, 0);
    }
    assert_int_equal(coalesce_run(c, 0, 4, count_flush, NULL), 4);
    assert_int_equal(coalesce_run(c, 0, 4, count_flush, NULL), 4);
    assert_int_equal(coalesce_run(c, 0, 4, count_flush, NULL), 2);
    assert_int_equal(coalesce_run(c, 0, 4, count_flush, NULL), 0);
    coalesce_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_source_is_offline),
        cmocka_unit_test(any_online_source_wins),
        cmocka_unit_test(one_resource_leaving_keeps_the_other),
        cmocka_unit_test(all_gone_keeps_the_last_goodbye),
        cmocka_unit_test(mappings_both_ways),
        cmocka_unit_test(a_single_change_goes_out_at_once),
        cmocka_unit_test(a_burst_is_bounded_by_the_window),
        cmocka_unit_test(keys_are_independent),
        cmocka_unit_test(coalesce_bounded_run),
        cmocka_unit_test(a_loop_woken_only_when_due_loses_nothing),
        cmocka_unit_test(presence_parse_and_build),
        cmocka_unit_test(avatar_hash_in_presence),
        cmocka_unit_test(vcard_photo_round_trip),
        cmocka_unit_test(avatar_pubsub_results),
        cmocka_unit_test_setup_teardown(store_keeps_each_source, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(watchers_are_subscribers_and_dms,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(rooms_of_a_matrix_user, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(avatars_are_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(ghost_rooms_and_member_nicks, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
