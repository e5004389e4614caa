/* MAM (XEP-0313) queries parsed, and results, <fin/> and the field form
 * built: the pure half of history through MAM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "xep/mam.h"
#include "xep/mam_client.h"
#include "xep/xml.h"

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

/* 2026-11-22T10:00:00Z */
#define T0 1795341600000LL

static void test_datetime_parse(void **state)
{
    (void)state;
    assert_int_equal(mam_parse_datetime("2026-11-22T10:00:00Z"), T0);
    assert_int_equal(mam_parse_datetime("2026-11-22T10:00:00.5Z"), T0 + 500);
    assert_int_equal(mam_parse_datetime("2026-11-22T10:00:00.123456Z"),
                     T0 + 123);
    assert_int_equal(mam_parse_datetime("2026-11-22T12:00:00+02:00"), T0);
    assert_int_equal(mam_parse_datetime("2026-11-22T09:30:00-00:30"), T0);
    assert_int_equal(mam_parse_datetime("1970-01-01T00:00:00Z"), 0);
    const char *bad[] = {
        NULL, "", "yesterday", "2026-11-22T10:00:00", "2026-11-22 10:00:00Z",
        "2026-13-22T10:00:00Z", "2026-11-22T24:00:00Z", "2026-11-22T10:00Z",
        "2026-11-22T10:00:00.Z", "2026-11-22T10:00:00+2:00",
        "2026-11-22T10:00:00Zjunk", "1969-12-31T23:59:59Z",
        "２026-11-22T10:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(mam_parse_datetime(bad[i]), -1);
}

static void test_datetime_format_round_trips(void **state)
{
    (void)state;
    char s[40];
    mam_format_datetime(T0 + 7, s, sizeof s);
    assert_string_equal(s, "2026-11-22T10:00:00.007Z");
    assert_int_equal(mam_parse_datetime(s), T0 + 7);
}

static xmpp_stanza_t *parse_xml(const char *xml)
{
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
    assert_non_null(st);
    return st;
}

#define FORM(fields)                                                        \
    "<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE' "        \
    "type='hidden'><value>urn:xmpp:mam:2</value></field>" fields "</x>"
#define RSM(inner) "<set xmlns='http://jabber.org/protocol/rsm'>" inner "</set>"

static void test_query_parse_full(void **state)
{
    (void)state;
    xmpp_stanza_t *q = parse_xml(
        "<query xmlns='urn:xmpp:mam:2' queryid='f27'>"
        FORM("<field var='with'><value>juliet@capulet.lit</value></field>"
             "<field var='start'><value>2026-11-22T10:00:00Z</value></field>"
             "<field var='end'><value>2026-11-22T10:00:01Z</value></field>"
             "<field var='unknown'><value>x</value></field>")
        RSM("<max>10</max><before>$abc</before>") "<flip-page/></query>");
    struct mam_query m;
    const char *why = NULL;
    assert_int_equal(mam_query_parse(q, &m, &why), 0);
    assert_string_equal(m.queryid, "f27");
    assert_string_equal(m.with, "juliet@capulet.lit");
    assert_int_equal(m.start_ms, T0);
    assert_int_equal(m.end_ms, T0 + 1000);
    assert_int_equal(m.max, 10);
    assert_string_equal(m.before, "$abc");
    assert_null(m.after);
    assert_true(m.flip_page);
    mam_query_free(&m);
    xmpp_stanza_release(q);
}

static void test_query_parse_defaults_and_empty_before(void **state)
{
    (void)state;
    xmpp_stanza_t *q = parse_xml("<query xmlns='urn:xmpp:mam:2'/>");
    struct mam_query m;
    const char *why = NULL;
    assert_int_equal(mam_query_parse(q, &m, &why), 0);
    assert_null(m.queryid);
    assert_null(m.with);
    assert_int_equal(m.start_ms, -1);
    assert_int_equal(m.end_ms, -1);
    assert_int_equal(m.max, -1);
    assert_null(m.before);
    assert_null(m.after);
    assert_false(m.flip_page);
    mam_query_free(&m);
    xmpp_stanza_release(q);

    /* <before/> empty asks for the last page; <after/> pages forwards. */
    q = parse_xml("<query xmlns='urn:xmpp:mam:2'>" RSM("<before/>")
                  "</query>");
    assert_int_equal(mam_query_parse(q, &m, &why), 0);
    assert_non_null(m.before);
    assert_string_equal(m.before, "");
    mam_query_free(&m);
    xmpp_stanza_release(q);
    q = parse_xml("<query xmlns='urn:xmpp:mam:2'>"
                  RSM("<max>0</max><after>$x</after>") "</query>");
    assert_int_equal(mam_query_parse(q, &m, &why), 0);
    assert_string_equal(m.after, "$x");
    assert_int_equal(m.max, 0);
    mam_query_free(&m);
    xmpp_stanza_release(q);
}

static void test_query_parse_errors(void **state)
{
    (void)state;
    const char *bad[] = {
        "<query xmlns='urn:xmpp:mam:2'>" RSM("<before>a</before><after>b"
                                             "</after>") "</query>",
        "<query xmlns='urn:xmpp:mam:2'>" RSM("<index>3</index>") "</query>",
        "<query xmlns='urn:xmpp:mam:2'>" RSM("<max>ten</max>") "</query>",
        "<query xmlns='urn:xmpp:mam:2'>" RSM("<max>-1</max>") "</query>",
        "<query xmlns='urn:xmpp:mam:2'>" RSM("<max></max>") "</query>",
        "<query xmlns='urn:xmpp:mam:2'>" RSM("<after/>") "</query>",
        "<query xmlns='urn:xmpp:mam:2'><x xmlns='jabber:x:data'><field "
        "var='FORM_TYPE'><value>urn:xmpp:mam:1</value></field></x></query>",
        "<query xmlns='urn:xmpp:mam:2'>"
        FORM("<field var='start'><value>noon</value></field>") "</query>",
        "<query xmlns='urn:xmpp:mam:2'>"
        FORM("<field var='end'/>") "</query>",
        "<query xmlns='urn:xmpp:mam:2'>"
        FORM("<field var='start'><value>2026-11-22T10:00:01Z</value></field>"
             "<field var='end'><value>2026-11-22T10:00:00Z</value></field>")
        "</query>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        xmpp_stanza_t *q = parse_xml(bad[i]);
        struct mam_query m;
        const char *why = NULL;
        assert_int_equal(mam_query_parse(q, &m, &why), -1);
        assert_non_null(why);
        assert_null(m.before); /* left empty */
        assert_null(m.queryid);
        xmpp_stanza_release(q);
    }
}

static void test_result_message(void **state)
{
    (void)state;
    xmpp_stanza_t *inner = xmpp_message_new(ctx, "groupchat", NULL, "$ev");
    xmpp_stanza_set_from(inner, "#r%hs@gw/Bob");
    xml_add_text_child(ctx, inner, "body", NULL, "hi & bye");
    xmpp_stanza_t *m = mam_result_message(ctx, "#r%hs@gw", "a@b/c", "q1",
                                          "$ev", T0 + 5, inner);
    xmpp_stanza_release(inner);
    /* Read back what goes on the wire (attribute order is libstrophe's). */
    char *xml = xml_serialize(m);
    xmpp_stanza_t *back = parse_xml(xml);
    free(xml);
    assert_string_equal(xmpp_stanza_get_from(back), "#r%hs@gw");
    assert_string_equal(xmpp_stanza_get_to(back), "a@b/c");
    xmpp_stanza_t *r = xmpp_stanza_get_child_by_name_and_ns(back, "result",
                                                            NS_MAM);
    assert_non_null(r);
    assert_string_equal(xmpp_stanza_get_attribute(r, "queryid"), "q1");
    assert_string_equal(xmpp_stanza_get_attribute(r, "id"), "$ev");
    xmpp_stanza_t *fwd = xmpp_stanza_get_child_by_name_and_ns(r, "forwarded",
                                                              NS_FORWARD);
    assert_non_null(fwd);
    xmpp_stanza_t *delay = xmpp_stanza_get_child_by_name_and_ns(fwd, "delay",
                                                                NS_DELAY);
    assert_non_null(delay);
    assert_string_equal(xmpp_stanza_get_attribute(delay, "stamp"),
                        "2026-11-22T10:00:00.005Z");
    /* The forwarded stanza is a client message, whatever the stream is. */
    xmpp_stanza_t *msg = xmpp_stanza_get_child_by_name_and_ns(fwd, "message",
                                                              "jabber:client");
    assert_non_null(msg);
    assert_string_equal(xmpp_stanza_get_from(msg), "#r%hs@gw/Bob");
    assert_string_equal(xmpp_stanza_get_type(msg), "groupchat");
    char *body = xml_child_text(msg, "body", NULL);
    assert_string_equal(body, "hi & bye");
    free(body);
    xmpp_stanza_release(back);
    xmpp_stanza_release(m);
}

static void test_fin_and_fields(void **state)
{
    (void)state;
    xmpp_stanza_t *iq = parse_xml("<iq type='set' id='i1' from='a@b/c' "
                                  "to='bob%hs@gw'><query xmlns='urn:xmpp:"
                                  "mam:2'/></iq>");
    xmpp_stanza_t *fin = mam_fin(ctx, iq, true, "$1", "$9");
    char *xml = xml_serialize(fin);
    assert_non_null(strstr(xml, "type=\"result\""));
    assert_non_null(strstr(xml, "to=\"a@b/c\""));
    assert_non_null(strstr(xml, "from=\"bob%hs@gw\""));
    assert_non_null(strstr(xml, "<fin xmlns=\"urn:xmpp:mam:2\" complete="
                                "\"true\"><set xmlns=\"http://jabber.org/"
                                "protocol/rsm\"><first>$1</first><last>$9"
                                "</last></set></fin>"));
    free(xml);
    xmpp_stanza_release(fin);

    /* An empty, incomplete page: no ids, no complete. */
    fin = mam_fin(ctx, iq, false, NULL, NULL);
    xml = xml_serialize(fin);
    assert_non_null(strstr(xml, "<fin xmlns=\"urn:xmpp:mam:2\"><set xmlns="
                                "\"http://jabber.org/protocol/rsm\"/></fin>"));
    free(xml);
    xmpp_stanza_release(fin);

    xmpp_stanza_t *form = mam_fields_result(ctx, iq);
    xml = xml_serialize(form);
    assert_non_null(strstr(xml, "<value>urn:xmpp:mam:2</value>"));
    assert_non_null(strstr(xml, "var=\"start\""));
    assert_non_null(strstr(xml, "var=\"end\""));
    assert_non_null(strstr(xml, "var=\"with\""));
    free(xml);
    xmpp_stanza_release(form);
    xmpp_stanza_release(iq);
}

/* The asking side (the catch-up): a window query, then the result and
 * the <fin/> as Prosody 0.12 sent them through the patched mod_privilege
 * (captured). */
static void test_client_query_and_answers(void **state)
{
    (void)state;
    xmpp_stanza_t *q = mam_query_build(ctx, "q1", T0, T0 + 65000, 100,
                                       "A1");
    struct mam_query back;
    const char *why;
    assert_int_equal(mam_query_parse(q, &back, &why), 0);
    assert_string_equal(back.queryid, "q1");
    assert_int_equal(back.start_ms, T0);
    assert_int_equal(back.end_ms, T0 + 65000);
    assert_int_equal(back.max, 100);
    assert_string_equal(back.after, "A1");
    mam_query_free(&back);
    xmpp_stanza_release(q);

    xmpp_stanza_t *m = parse_xml(
        "<message to='alice@localhost' xmlns='jabber:client'>"
        "<result queryid='q-p-with' xmlns='urn:xmpp:mam:2' id='1ABs'>"
        "<forwarded xmlns='urn:xmpp:forward:0'>"
        "<delay xmlns='urn:xmpp:delay' stamp='2026-11-22T10:00:00Z'/>"
        "<message id='g1' type='chat' to='alice@localhost' "
        "from='ghost@gw.localhost' xmlns='jabber:client'>"
        "<body>ghost to alice</body></message></forwarded></result>"
        "</message>");
    struct mam_result r;
    assert_int_equal(mam_result_read(m, &r), 0);
    assert_string_equal(r.queryid, "q-p-with");
    assert_string_equal(r.archive_id, "1ABs");
    assert_int_equal(r.ts_ms, T0);
    assert_string_equal(xmpp_stanza_get_id(r.message), "g1");
    xmpp_stanza_release(m);
    m = parse_xml("<message><body>no result</body></message>");
    assert_int_equal(mam_result_read(m, &r), -1);
    xmpp_stanza_release(m);

    xmpp_stanza_t *iq = parse_xml(
        "<iq to='alice@localhost' type='result' id='in-p'>"
        "<fin xmlns='urn:xmpp:mam:2' complete='true'>"
        "<set xmlns='http://jabber.org/protocol/rsm'><last>COSt</last>"
        "<count>2</count><first>1ABs</first></set></fin></iq>");
    bool complete = false;
    char *last = NULL;
    assert_int_equal(mam_fin_read(iq, &complete, &last), 0);
    assert_true(complete);
    assert_string_equal(last, "COSt");
    free(last);
    xmpp_stanza_release(iq);
    iq = parse_xml("<iq type='result'><fin xmlns='urn:xmpp:mam:2'/></iq>");
    assert_int_equal(mam_fin_read(iq, &complete, &last), 0);
    assert_false(complete);
    assert_null(last);
    xmpp_stanza_release(iq);
    iq = parse_xml("<iq type='result'/>");
    assert_int_equal(mam_fin_read(iq, &complete, &last), -1);
    xmpp_stanza_release(iq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_datetime_parse),
        cmocka_unit_test(test_datetime_format_round_trips),
        cmocka_unit_test(test_query_parse_full),
        cmocka_unit_test(test_query_parse_defaults_and_empty_before),
        cmocka_unit_test(test_query_parse_errors),
        cmocka_unit_test(test_result_message),
        cmocka_unit_test(test_fin_and_fields),
        cmocka_unit_test(test_client_query_and_answers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
