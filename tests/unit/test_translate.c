/* Translation between parsed stanzas and Matrix messages, both ways, plus
 * parsing and building of the message stanza itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/core/translate.h"
#include "matrix/event.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static xmpp_ctx_t *ctx;

static int setup(void **state)
{
    (void)state;
    xmpp_initialize();
    ctx = xmpp_ctx_new(NULL, NULL);
    return ctx ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
    return 0;
}

static void to_matrix(const char *type, const char *body, const char *msgtype,
                      const char *expect_body)
{
    struct xmsg m = { .type = (char *)type, .body = (char *)body };
    struct translated_text t;
    const char *why = NULL;
    assert_int_equal(translate_to_matrix(&m, 60000, &t, &why), 0);
    assert_string_equal(t.msgtype, msgtype);
    assert_string_equal(t.body, expect_body);
    free(t.body);
}

static void xmpp_to_matrix_kinds(void **state)
{
    (void)state;
    to_matrix("chat", "hello", "m.text", "hello");
    to_matrix("normal", "hello", "m.text", "hello");
    to_matrix("chat", "/me waves", "m.emote", "waves");
    to_matrix("chat", "/me", "m.text", "/me");     /* nothing to emote */
    to_matrix("chat", "/me ", "m.text", "/me ");
    to_matrix("chat", "/meh", "m.text", "/meh");
    to_matrix("headline", "news", "m.notice", "news");
    to_matrix("chat", "Grüße 👋 你好", "m.text", "Grüße 👋 你好");
    to_matrix("chat", "line1\nline2", "m.text", "line1\nline2");
}

static void xmpp_to_matrix_refusals(void **state)
{
    (void)state;
    struct translated_text t;
    const char *why = NULL;
    struct xmsg none = { .type = "chat", .body = NULL };
    assert_int_equal(translate_to_matrix(&none, 100, &t, &why), -1);
    struct xmsg empty = { .type = "chat", .body = "" };
    assert_int_equal(translate_to_matrix(&empty, 100, &t, &why), -1);
    struct xmsg big = { .type = "chat", .body = "0123456789A" };
    assert_int_equal(translate_to_matrix(&big, 10, &t, &why), -1);
    assert_non_null(strstr(why, "larger"));
    struct xmsg fits = { .type = "chat", .body = "0123456789" };
    assert_int_equal(translate_to_matrix(&fits, 10, &t, &why), 0);
    free(t.body);
    /* Invalid UTF-8 is never forwarded raw. */
    struct xmsg bad = { .type = "chat", .body = "a\xff" "b" };
    assert_int_equal(translate_to_matrix(&bad, 100, &t, &why), 0);
    assert_string_equal(t.body, "a\xef\xbf\xbd" "b");
    free(t.body);
}

static void to_xmpp(const char *msgtype, const char *body,
                    const char *expect_body)
{
    struct mx_message m = { .msgtype = msgtype, .body = body, .size = -1 };
    char *out = NULL;
    const char *type = NULL, *why = NULL;
    assert_int_equal(translate_to_xmpp(&m, 1000, &out, &type, &why), 0);
    assert_string_equal(type, "chat");
    assert_string_equal(out, expect_body);
    free(out);
}

static void matrix_to_xmpp_kinds(void **state)
{
    (void)state;
    to_xmpp("m.text", "hello", "hello");
    to_xmpp("m.emote", "dances", "/me dances");
    to_xmpp("m.notice", "bot says", "bot says");
    to_xmpp("m.text", "tab\there\nnew line", "tab\there\nnew line");
    /* XML cannot carry these control characters. */
    to_xmpp("m.text", "bell\x07" "form\x0c" "feed", "bellformfeed");
    to_xmpp("m.text", "bad \xc3 utf8", "bad \xef\xbf\xbd utf8");
}

static void matrix_to_xmpp_refusals(void **state)
{
    (void)state;
    struct mx_message big = { .msgtype = "m.text",
                              .body = "0123456789A", .size = -1 };
    char *out = NULL;
    const char *type, *why = NULL;
    assert_int_equal(translate_to_xmpp(&big, 10, &out, &type, &why), -1);
    assert_null(out);
    struct mx_message emote = { .msgtype = "m.emote",
                                /* "/me " makes 10 */
                                .body = "123456", .size = -1 };
    assert_int_equal(translate_to_xmpp(&emote, 10, &out, &type, &why), 0);
    free(out);
    struct mx_message none = { .msgtype = "m.text", .body = NULL, .size = -1 };
    assert_int_equal(translate_to_xmpp(&none, 10, &out, &type, &why), -1);
}

static void round_trip_both_ways(void **state)
{
    (void)state;
    const char *bodies[] = { "plain", "/me emotes", "ünïcödé 😀", "<&>\"'" };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        struct xmsg x = { .type = "chat", .body = (char *)bodies[i] };
        struct translated_text t;
        const char *why;
        assert_int_equal(translate_to_matrix(&x, 1000, &t, &why), 0);
        struct mx_message m = { .msgtype = t.msgtype, .body = t.body,
                                .size = -1 };
        char *back;
        const char *type;
        assert_int_equal(translate_to_xmpp(&m, 1000, &back, &type, &why), 0);
        assert_string_equal(back, bodies[i]);
        free(back);
        free(t.body);
    }
}

static void stanza_parse_and_build(void **state)
{
    (void)state;
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx,
        "<message from='a@x/r' to='b%hs@gw' id='m1' type='chat'>"
        "<body>hi &amp; bye</body>"
        "<origin-id xmlns='urn:xmpp:sid:0' id='o1'/>"
        "<nick xmlns='http://jabber.org/protocol/nick'>Al</nick>"
        "</message>");
    assert_non_null(st);
    struct xmsg m;
    const char *why;
    assert_int_equal(xmsg_parse(st, &m, &why), 0);
    assert_string_equal(m.from, "a@x/r");
    assert_string_equal(m.body, "hi & bye");
    assert_string_equal(m.origin_id, "o1");
    assert_string_equal(m.nick, "Al");
    xmpp_stanza_release(st);

    xmpp_stanza_t *built = xmsg_build(ctx, &m);
    char *xml = xmsg_stanza_to_xml(built);
    xmpp_stanza_release(built);
    xmpp_stanza_t *again = xmpp_stanza_new_from_string(ctx, xml);
    struct xmsg m2;
    assert_int_equal(xmsg_parse(again, &m2, &why), 0);
    assert_string_equal(m2.body, m.body);
    assert_string_equal(m2.id, "m1");
    assert_string_equal(m2.origin_id, "o1");
    xmpp_stanza_release(again);
    free(xml);
    xmsg_free(&m);
    xmsg_free(&m2);

    st = xmpp_stanza_new_from_string(ctx, "<message to='x'/>");
    assert_int_equal(xmsg_parse(st, &m, &why), -1);
    xmpp_stanza_release(st);
    st = xmpp_stanza_new_from_string(ctx, "<presence from='a' to='b'/>");
    assert_int_equal(xmsg_parse(st, &m, &why), -1);
    xmpp_stanza_release(st);
    st = xmpp_stanza_new_from_string(ctx, "<message from='a' to='b'/>");
    assert_int_equal(xmsg_parse(st, &m, &why), 0);
    assert_string_equal(m.type, "normal"); /* RFC 6121 default */
    assert_null(m.body);
    xmsg_free(&m);
    xmpp_stanza_release(st);
}

static void entity_expansion_bomb_is_refused(void **state)
{
    (void)state;
    /* "Billion laughs": ten levels of ten-fold expansion. expat refuses it
     * (amplification limit, and libstrophe rejects DTDs anyway), so the
     * parser returns nothing instead of gigabytes. */
    char xml[4096] = "<!DOCTYPE m [<!ENTITY e0 \"aaaaaaaaaa\">";
    for (int i = 1; i < 10; i++) {
        char line[200];
        snprintf(line, sizeof line,
                 "<!ENTITY e%d \"&e%d;&e%d;&e%d;&e%d;&e%d;&e%d;&e%d;&e%d;"
                 "&e%d;&e%d;\">", i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                 i - 1, i - 1, i - 1, i - 1);
        strcat(xml, line);
    }
    strcat(xml, "]><message from='a@x' to='b@y'><body>&e9;</body></message>");
    assert_null(xmpp_stanza_new_from_string(ctx, xml));
}

/* The serialiser escapes what XML needs and reads back identical. */
static void serialised_stanzas_read_back(void **state)
{
    (void)state;
    const char *src = "<message to='a&amp;b@x' id='q&quot;&apos;&lt;'>"
                      "<body>1 &lt; 2 &amp;&amp; 3 &gt; 2 \xc3\xa9</body>"
                      "<origin-id xmlns='urn:xmpp:sid:0' id='o'/></message>";
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, src);
    assert_non_null(st);
    char *xml = xml_serialize(st);
    xmpp_stanza_t *again = xmpp_stanza_new_from_string(ctx, xml);
    assert_non_null(again);
    assert_string_equal(xmpp_stanza_get_to(again), "a&b@x");
    assert_string_equal(xmpp_stanza_get_id(again), "q\"'<");
    char *body = xml_child_text(again, "body", NULL);
    assert_string_equal(body, "1 < 2 && 3 > 2 \xc3\xa9");
    free(body);
    xmpp_stanza_t *oid = xmpp_stanza_get_child_by_name_and_ns(
        again, "origin-id", "urn:xmpp:sid:0");
    assert_non_null(oid);
    char *twice = xml_serialize(again);
    assert_string_equal(xml, twice);
    free(twice);
    free(xml);
    xmpp_stanza_release(again);
    xmpp_stanza_release(st);
}

/* What portal mode reads from a MUC: status codes, items, reasons,
 * stanza-ids stamped by the room only, delays and both invite forms. */
static void muc_client_side_parsing(void **state)
{
    (void)state;
    xmpp_stanza_t *p = xmpp_stanza_new_from_string(ctx,
        "<presence from='r@m/Bob' type='unavailable'>"
        "<x xmlns='http://jabber.org/protocol/muc#user'><status code='307'/>"
        "<item affiliation='none' role='none' jid='b@x/r'><reason>spam"
        "</reason></item><status code='110'/></x></presence>");
    struct muc_user_info info;
    assert_true(muc_user_info_parse(p, &info));
    assert_true(muc_has_code(&info, 110));
    assert_true(muc_has_code(&info, 307));
    assert_false(muc_has_code(&info, 301));
    assert_string_equal(info.item.jid, "b@x/r");
    assert_string_equal(info.reason, "spam");
    xmpp_stanza_release(p);
    p = xmpp_stanza_new_from_string(ctx, "<presence from='r@m/Bob'/>");
    assert_false(muc_user_info_parse(p, &info));
    xmpp_stanza_release(p);

    xmpp_stanza_t *m = xmpp_stanza_new_from_string(ctx,
        "<message from='r@m/a' type='groupchat'><body>x</body>"
        "<stanza-id xmlns='urn:xmpp:sid:0' by='a@evil' id='forged'/>"
        "<stanza-id xmlns='urn:xmpp:sid:0' by='r@m' id='real'/>"
        "<delay xmlns='urn:xmpp:delay' stamp='2026-11-22T10:00:00Z'/>"
        "</message>");
    assert_string_equal(xmsg_stanza_id_by(m, "r@m"), "real");
    assert_null(xmsg_stanza_id_by(m, "other@m"));
    assert_int_equal(xmsg_delay_ms(m), 1795341600000LL);
    xmpp_stanza_release(m);

    const char *inviter;
    m = xmpp_stanza_new_from_string(ctx,
        "<message from='a@x/r' to='b%hs@gw'><x xmlns='jabber:x:conference' "
        "jid='r@m'/></message>");
    assert_string_equal(muc_invite_room(m, &inviter), "r@m");
    assert_string_equal(inviter, "a@x/r");
    xmpp_stanza_release(m);
    m = xmpp_stanza_new_from_string(ctx,
        "<message from='r@m' to='b%hs@gw'><x xmlns='http://jabber.org/"
        "protocol/muc#user'><invite from='a@x/r'/></x></message>");
    assert_string_equal(muc_invite_room(m, &inviter), "r@m");
    assert_string_equal(inviter, "a@x/r");
    xmpp_stanza_release(m);
    m = xmpp_stanza_new_from_string(ctx, "<message from='a@x'><body>hi"
                                         "</body></message>");
    assert_null(muc_invite_room(m, &inviter));
    xmpp_stanza_release(m);

    xmpp_stanza_t *join = muc_join(ctx, "b%hs@gw/matrix", "r@m/Bob", -1);
    char *xml = xml_serialize(join);
    assert_non_null(strstr(xml, "maxstanzas=\"0\""));
    free(xml);
    xmpp_stanza_release(join);
    join = muc_join(ctx, "b%hs@gw/matrix", "r@m/Bob", 1795341600000LL);
    xml = xml_serialize(join);
    assert_non_null(strstr(xml, "since=\"2026-11-22T10:00:00Z\""));
    free(xml);
    xmpp_stanza_release(join);
}

/* Reply fallbacks: XMPP's quote is cut by code points, Matrix's "> <@who>"
 * quote becomes XMPP's "> " quote with its length in code points. */
static void reply_fallbacks(void **state)
{
    (void)state;
    char *s = translate_strip_fallback("> caf\xc3\xa9?\nyes", 0, 8);
    assert_string_equal(s, "yes");
    free(s);
    s = translate_strip_fallback("plain", 0, 0);
    assert_string_equal(s, "plain");
    free(s);
    s = translate_strip_fallback("short", 2, 99);
    assert_string_equal(s, "sh");
    free(s);
    int n = -1;
    s = translate_reply_to_xmpp("> <@bob:hs> caf\xc3\xa9 after?\n> more\n\nsure",
                                &n);
    assert_string_equal(s, "> caf\xc3\xa9 after?\n> more\nsure");
    assert_int_equal(n, 21);
    free(s);
    s = translate_reply_to_xmpp("no quote\n\nhere", &n);
    assert_string_equal(s, "no quote\n\nhere");
    assert_int_equal(n, 0);
    free(s);
    s = translate_reply_to_xmpp("> quote\nnot quote\n\nx", &n);
    assert_string_equal(s, "> quote\nnot quote\n\nx");
    assert_int_equal(n, 0);
    free(s);
    s = translate_reply_to_xmpp("> only a quote", &n);
    assert_string_equal(s, "> only a quote");
    free(s);
}

static void event_parsing(void **state)
{
    (void)state;
    json_t *ev = json_loads("{\"event_id\":\"$e\",\"room_id\":\"!r:hs\","
                            "\"sender\":\"@b:hs\",\"type\":\"m.room.member\","
                            "\"state_key\":\"@g:hs\",\"origin_server_ts\":5,"
                            "\"content\":{\"membership\":\"invite\","
                            "\"is_direct\":true}}", 0, NULL);
    struct mx_event e;
    struct mx_member mem;
    const char *why;
    assert_int_equal(mx_event_parse(ev, &e, &why), 0);
    assert_int_equal(e.origin_server_ts, 5);
    assert_int_equal(mx_member_parse(&e, &mem, &why), 0);
    assert_true(mem.is_direct);
    assert_string_equal(mem.membership, "invite");
    struct mx_message msg;
    assert_int_equal(mx_message_parse(&e, &msg, &why), -1);
    json_decref(ev);

    const char *bad[] = {
        "[]", "{}", "{\"event_id\":1,\"room_id\":\"!r\",\"sender\":\"@s\","
                    "\"type\":\"t\",\"content\":{}}",
        "{\"event_id\":\"$e\",\"room_id\":\"!r\",\"sender\":\"@s\","
        "\"type\":\"t\",\"content\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_int_equal(mx_event_parse(j, &e, &why), -1);
        json_decref(j);
    }
}

/* The content object is what json_pack made of it, refusals included. */
static void message_content_like_pack(void **state)
{
    (void)state;
    static const char *const bodies[] = { "hi", "", "a \"q\" \\ \n",
                                          "caf\xc3\xa9 \xf0\x9f\x98\x80" };
    for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
        json_t *want = json_pack("{s:s, s:s}", "msgtype", "m.emote", "body",
                                 bodies[i]);
        json_t *got = mx_message_content("m.emote", bodies[i]);
        assert_true(json_equal(got, want));
        char *a = json_dumps(got, JSON_COMPACT);
        char *b = json_dumps(want, JSON_COMPACT);
        assert_string_equal(a, b); /* the key order too */
        free(a);
        free(b);
        json_decref(got);
        json_decref(want);
    }
    assert_null(mx_message_content("m.text", NULL));
    assert_null(mx_message_content(NULL, "body"));
    assert_null(mx_message_content("m.text", "bad \xc3 utf8"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xmpp_to_matrix_kinds),
        cmocka_unit_test(xmpp_to_matrix_refusals),
        cmocka_unit_test(matrix_to_xmpp_kinds),
        cmocka_unit_test(matrix_to_xmpp_refusals),
        cmocka_unit_test(round_trip_both_ways),
        cmocka_unit_test(stanza_parse_and_build),
        cmocka_unit_test(entity_expansion_bomb_is_refused),
        cmocka_unit_test(event_parsing),
        cmocka_unit_test(message_content_like_pack),
        cmocka_unit_test(serialised_stanzas_read_back),
        cmocka_unit_test(reply_fallbacks),
        cmocka_unit_test(muc_client_side_parsing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
