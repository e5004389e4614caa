/* Ad-hoc commands (XEP-0050) with their data forms (XEP-0004), and
 * jabber:iq:gateway (XEP-0100): reading requests and building answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "xep/adhoc.h"
#include "xep/iq_gateway.h"
#include "xep/xml.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static xmpp_ctx_t *ctx;

static xmpp_stanza_t *parse(const char *xml)
{
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
    assert_non_null(st);
    return st;
}

/* Whether two trees are the same XML: names, attributes (in any order:
 * libstrophe keeps them in a hash table), text and children in order. */
static bool same_tree(xmpp_stanza_t *a, xmpp_stanza_t *b)
{
    if (xmpp_stanza_is_text(a) || xmpp_stanza_is_text(b)) {
        if (!xmpp_stanza_is_text(a) || !xmpp_stanza_is_text(b))
            return false;
        return strcmp(xmpp_stanza_get_text_ptr(a),
                      xmpp_stanza_get_text_ptr(b)) == 0;
    }
    if (strcmp(xmpp_stanza_get_name(a), xmpp_stanza_get_name(b)) != 0)
        return false;
    const char *na = xmpp_stanza_get_ns(a), *nb = xmpp_stanza_get_ns(b);
    if ((na || nb) && (!na || !nb || strcmp(na, nb) != 0))
        return false;
    /* Both ways, xmlns aside (a parsed tree and a built one keep it
     * differently). */
    xmpp_stanza_t *pair[2][2] = { { a, b }, { b, a } };
    for (int k = 0; k < 2; k++) {
        const char *attrs[64];
        int n = xmpp_stanza_get_attributes(pair[k][0], attrs, 64);
        for (int i = 0; i + 1 < n; i += 2) {
            if (strcmp(attrs[i], "xmlns") == 0)
                continue;
            const char *other =
                xmpp_stanza_get_attribute(pair[k][1], attrs[i]);
            if (!other || strcmp(other, attrs[i + 1]) != 0)
                return false;
        }
    }
    xmpp_stanza_t *ca = xmpp_stanza_get_children(a);
    xmpp_stanza_t *cb = xmpp_stanza_get_children(b);
    for (; ca && cb; ca = xmpp_stanza_get_next(ca), cb = xmpp_stanza_get_next(cb))
        if (!same_tree(ca, cb))
            return false;
    return !ca && !cb;
}

static void assert_xml(xmpp_stanza_t *st, const char *want)
{
    /* Both read back by the parser, so both are kept alike. */
    char *got = xml_serialize(st);
    xmpp_stanza_t *g = parse(got), *w = parse(want);
    if (!same_tree(g, w))
        fail_msg("got %s\nwant %s", got, want);
    free(got);
    xmpp_stanza_release(g);
    xmpp_stanza_release(w);
}

static void requests_are_read(void **state)
{
    (void)state;
    struct adhoc_request r;
    const char *why;
    xmpp_stanza_t *st = parse(
        "<iq type='set' id='1'><command xmlns='" NS_COMMANDS "' "
        "node='whois'/></iq>");
    assert_int_equal(adhoc_parse(st, &r, &why), 0);
    assert_string_equal(r.node, "whois");
    assert_string_equal(r.action, "execute"); /* none given */
    assert_null(r.sessionid);
    assert_null(r.form);
    xmpp_stanza_release(st);

    st = parse("<iq type='set' id='2'><command xmlns='" NS_COMMANDS "' "
               "node='whois' sessionid='s1' action='complete'>"
               "<x xmlns='jabber:x:data' type='submit'>"
               "<field var='address'><value>@bob:hs</value></field>"
               "<field var='empty'/></x></command></iq>");
    assert_int_equal(adhoc_parse(st, &r, &why), 0);
    assert_string_equal(r.action, "complete");
    assert_string_equal(r.sessionid, "s1");
    assert_non_null(r.form);
    char *v = xform_value(r.form, "address");
    assert_string_equal(v, "@bob:hs");
    free(v);
    v = xform_value(r.form, "empty");
    assert_string_equal(v, ""); /* there, without a value */
    free(v);
    assert_null(xform_value(r.form, "missing"));
    xmpp_stanza_release(st);

    /* A form that is not a submission is not taken for one. */
    st = parse("<iq type='set' id='3'><command xmlns='" NS_COMMANDS "' "
               "node='n'><x xmlns='jabber:x:data' type='form'/></command>"
               "</iq>");
    assert_int_equal(adhoc_parse(st, &r, &why), 0);
    assert_null(r.form);
    xmpp_stanza_release(st);
}

static void bad_requests_are_refused(void **state)
{
    (void)state;
    struct adhoc_request r;
    const char *why = NULL;
    const char *bad[] = {
        "<iq type='set' id='1'><query xmlns='jabber:iq:version'/></iq>",
        "<iq type='set' id='1'><command xmlns='" NS_COMMANDS "'/></iq>",
        "<iq type='set' id='1'><command xmlns='" NS_COMMANDS "' node=''/>"
        "</iq>",
        "<iq type='set' id='1'><command xmlns='" NS_COMMANDS "' node='n' "
        "action='explode'/></iq>",
        "<iq type='set' id='1'><command xmlns='urn:other' node='n'/></iq>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        xmpp_stanza_t *st = parse(bad[i]);
        why = NULL;
        assert_int_equal(adhoc_parse(st, &r, &why), -1);
        assert_non_null(why);
        xmpp_stanza_release(st);
    }
}

static void command_list_is_built(void **state)
{
    (void)state;
    /* The comparison itself tells differences apart. */
    const char *pairs[][2] = {
        { "<a x='1'/>", "<a x='2'/>" }, { "<a x='1'/>", "<a/>" },
        { "<a>t</a>", "<a>u</a>" }, { "<a><b/></a>", "<a><b/><b/></a>" },
        { "<a xmlns='p'/>", "<a xmlns='q'/>" },
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        xmpp_stanza_t *a = parse(pairs[i][0]), *b = parse(pairs[i][1]);
        assert_false(same_tree(a, b));
        assert_true(same_tree(a, a));
        xmpp_stanza_release(a);
        xmpp_stanza_release(b);
    }
    xmpp_stanza_t *iq = parse("<iq type='get' id='7' from='a@x/r' "
                              "to='gw.x'><query xmlns='"
                              "http://jabber.org/protocol/disco#items' "
                              "node='" NS_COMMANDS "'/></iq>");
    struct adhoc_item items[] = { { "help", "lists" }, { "a&b", "<x>" } };
    xmpp_stanza_t *r = adhoc_items_result(ctx, iq, "gw.x", items, 2);
    assert_xml(r, "<iq type=\"result\" id=\"7\" to=\"a@x/r\" from=\"gw.x\">"
               "<query xmlns=\"http://jabber.org/protocol/disco#items\" "
               "node=\"" NS_COMMANDS "\"><item jid=\"gw.x\" node=\"help\" "
               "name=\"lists\"/><item jid=\"gw.x\" node=\"a&amp;b\" "
               "name=\"&lt;x&gt;\"/></query></iq>");
    xmpp_stanza_release(r);
    xmpp_stanza_release(iq);
}

static void forms_and_results_are_built(void **state)
{
    (void)state;
    xmpp_stanza_t *iq = parse("<iq type='set' id='9' from='a@x/r' "
                              "to='gw.x'/>");
    struct xform_field ask = { "address", NULL, "a JID", NULL, true };
    struct adhoc_reply form = {
        .node = "whois", .sessionid = "s1", .status = "executing",
        .form_type = "form", .title = "Whois", .instructions = "Type",
        .fields = &ask, .nfields = 1,
    };
    xmpp_stanza_t *r = adhoc_reply_build(ctx, iq, &form);
    assert_xml(r, "<iq type=\"result\" id=\"9\" to=\"a@x/r\" from=\"gw.x\">"
               "<command xmlns=\"" NS_COMMANDS "\" node=\"whois\" "
               "sessionid=\"s1\" status=\"executing\"><actions "
               "execute=\"complete\"><complete/></actions><x xmlns=\""
               "jabber:x:data\" type=\"form\"><title>Whois</title>"
               "<instructions>Type</instructions><field var=\"address\" "
               "type=\"text-single\" label=\"a JID\"><required/></field>"
               "</x></command></iq>");
    xmpp_stanza_release(r);

    /* A completed command: an error note, and no form without fields. */
    struct adhoc_reply done = {
        .node = "whois", .sessionid = "s1", .status = "completed",
        .note = "no such thing", .note_type = "error",
    };
    r = adhoc_reply_build(ctx, iq, &done);
    assert_xml(r, "<iq type=\"result\" id=\"9\" to=\"a@x/r\" from=\"gw.x\">"
               "<command xmlns=\"" NS_COMMANDS "\" node=\"whois\" "
               "sessionid=\"s1\" status=\"completed\"><note type=\"error\">"
               "no such thing</note></command></iq>");
    xmpp_stanza_release(r);

    /* A result form is read back as a submitted one would be. */
    struct xform_field shown = { "Matrix id", "text-single", "Matrix id",
                                 "@b:hs", false };
    struct adhoc_reply result = {
        .node = "whois", .status = "completed", .note = "found",
        .form_type = "result", .fields = &shown, .nfields = 1,
    };
    r = adhoc_reply_build(ctx, iq, &result);
    xmpp_stanza_t *cmd = xmpp_stanza_get_child_by_name(r, "command");
    xmpp_stanza_t *x = xmpp_stanza_get_child_by_name(cmd, "x");
    assert_string_equal(xmpp_stanza_get_type(x), "result");
    char *v = xform_value(x, "Matrix id");
    assert_string_equal(v, "@b:hs");
    free(v);
    xmpp_stanza_t *note = xmpp_stanza_get_child_by_name(cmd, "note");
    assert_string_equal(xmpp_stanza_get_attribute(note, "type"), "info");
    xmpp_stanza_release(r);
    xmpp_stanza_release(iq);
}

static void gateway_prompts(void **state)
{
    (void)state;
    xmpp_stanza_t *iq = parse("<iq type='get' id='g' from='a@x/r' "
                              "to='gw.x'><query xmlns='jabber:iq:gateway'/>"
                              "</iq>");
    xmpp_stanza_t *r = iq_gateway_prompt_result(ctx, iq, "Say who",
                                                "Matrix user ID");
    assert_xml(r, "<iq type=\"result\" id=\"g\" to=\"a@x/r\" from=\"gw.x\">"
               "<query xmlns=\"jabber:iq:gateway\"><desc>Say who</desc>"
               "<prompt>Matrix user ID</prompt></query></iq>");
    xmpp_stanza_release(r);
    r = iq_gateway_jid_result(ctx, iq, "\\42ob%hs@gw.x");
    assert_xml(r, "<iq type=\"result\" id=\"g\" to=\"a@x/r\" from=\"gw.x\">"
               "<query xmlns=\"jabber:iq:gateway\"><jid>\\42ob%hs@gw.x</jid>"
               "</query></iq>");
    xmpp_stanza_release(r);
    assert_null(iq_gateway_prompt_of(iq)); /* a get has no prompt */
    xmpp_stanza_release(iq);

    iq = parse("<iq type='set' id='s'><query xmlns='jabber:iq:gateway'>"
               "<prompt>\n  @Bob/x=1:hs \t</prompt></query></iq>");
    char *p = iq_gateway_prompt_of(iq);
    assert_string_equal(p, "@Bob/x=1:hs"); /* trimmed, case kept */
    free(p);
    xmpp_stanza_release(iq);
    iq = parse("<iq type='set' id='s'><query xmlns='jabber:iq:gateway'>"
               "<prompt>   </prompt></query></iq>");
    assert_null(iq_gateway_prompt_of(iq));
    xmpp_stanza_release(iq);
}

int main(void)
{
    xmpp_initialize();
    ctx = xmpp_ctx_new(NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requests_are_read),
        cmocka_unit_test(bad_requests_are_refused),
        cmocka_unit_test(command_list_is_built),
        cmocka_unit_test(forms_and_results_are_built),
        cmocka_unit_test(gateway_prompts),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
    return failed;
}
