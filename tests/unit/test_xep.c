/* Parsing and building the XEPs that act on an earlier message: reactions
 * (XEP-0444), retractions (XEP-0424, both forms) and moderation requests
 * (XEP-0425). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "xep/reactions.h"
#include "xep/retract.h"
#include "xep/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static xmpp_ctx_t *ctx;

static xmpp_stanza_t *parse(const char *xml)
{
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
    assert_non_null(st);
    return st;
}

static void reactions_are_a_set(void **state)
{
    (void)state;
    xmpp_stanza_t *st = parse(
        "<message><reactions xmlns='urn:xmpp:reactions:0' id='m1'>"
        "<reaction>\xf0\x9f\x91\x8d</reaction><reaction/>"
        "<reaction>\xf0\x9f\x91\x8d</reaction><reaction>ok</reaction>"
        "</reactions></message>");
    struct xreactions r;
    const char *why;
    assert_int_equal(xreactions_parse(st, &r, &why), 1);
    assert_string_equal(r.id, "m1");
    assert_int_equal(r.n, 2); /* the duplicate and the empty one dropped */
    assert_string_equal(r.keys[0], "\xf0\x9f\x91\x8d");
    assert_string_equal(r.keys[1], "ok");
    xreactions_free(&r);
    xmpp_stanza_release(st);

    st = parse("<message><reactions xmlns='urn:xmpp:reactions:0' id='m1'/>"
               "</message>");
    assert_int_equal(xreactions_parse(st, &r, &why), 1);
    assert_int_equal(r.n, 0); /* withdraws everything */
    xreactions_free(&r);
    xmpp_stanza_release(st);

    st = parse("<message><body>hi</body></message>");
    assert_int_equal(xreactions_parse(st, &r, &why), 0);
    xmpp_stanza_release(st);
}

static void bad_reactions_are_refused(void **state)
{
    (void)state;
    struct xreactions r;
    const char *why = NULL;
    xmpp_stanza_t *st = parse("<message><reactions xmlns='urn:xmpp:reactions:0'>"
                              "<reaction>x</reaction></reactions></message>");
    assert_int_equal(xreactions_parse(st, &r, &why), -1);
    assert_non_null(strstr(why, "id"));
    xmpp_stanza_release(st);

    char xml[4096] = "<message><reactions xmlns='urn:xmpp:reactions:0' "
                     "id='m'>";
    for (int i = 0; i <= REACTIONS_MAX; i++) {
        char one[64];
        snprintf(one, sizeof one, "<reaction>k%d</reaction>", i);
        strcat(xml, one);
    }
    strcat(xml, "</reactions></message>");
    st = parse(xml);
    assert_int_equal(xreactions_parse(st, &r, &why), -1);
    assert_non_null(strstr(why, "too many"));
    xmpp_stanza_release(st);

    st = parse("<message><reactions xmlns='urn:xmpp:reactions:0' id='m'>"
               "<reaction>aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
               "aaaaaaaaaaaaaaaaaaa</reaction></reactions></message>");
    assert_int_equal(xreactions_parse(st, &r, &why), -1);
    assert_non_null(strstr(why, "too long"));
    xmpp_stanza_release(st);
}

static void reactions_round_trip(void **state)
{
    (void)state;
    xmpp_stanza_t *st = xmpp_message_new(ctx, "chat", "a@b", "id1");
    const char *keys[] = { "x", "y" };
    xreactions_add(ctx, st, "target", keys, 2);
    struct xreactions r;
    const char *why;
    assert_int_equal(xreactions_parse(st, &r, &why), 1);
    assert_string_equal(r.id, "target");
    assert_int_equal(r.n, 2);
    xreactions_free(&r);
    /* A bodiless message is archived only when asked to be. */
    assert_non_null(xmpp_stanza_get_child_by_name_and_ns(st, "store",
                                                         NS_HINTS));
    xmpp_stanza_release(st);
}

static void retractions_in_both_forms(void **state)
{
    (void)state;
    xmpp_stanza_t *st = parse(
        "<message><retract xmlns='urn:xmpp:message-retract:1' id='m1'/>"
        "<body>fallback</body></message>");
    char *id = xretract_target(st);
    assert_string_equal(id, "m1");
    free(id);
    xmpp_stanza_release(st);

    st = parse("<message><apply-to xmlns='urn:xmpp:fasten:0' id='m2'>"
               "<retract xmlns='urn:xmpp:message-retract:0'/></apply-to>"
               "</message>");
    id = xretract_target(st);
    assert_string_equal(id, "m2");
    free(id);
    xmpp_stanza_release(st);

    /* Fastened to something else: not a retraction. */
    st = parse("<message><apply-to xmlns='urn:xmpp:fasten:0' id='m3'>"
               "<other xmlns='x'/></apply-to></message>");
    assert_null(xretract_target(st));
    assert_false(xretract_present(st));
    xmpp_stanza_release(st);
}

static void moderated_retraction_is_built(void **state)
{
    (void)state;
    xmpp_stanza_t *st = xmpp_message_new(ctx, "groupchat", "a@b", "id1");
    xretract_add(ctx, st, "sid", "room@muc/mod", "spam");
    xmpp_stanza_t *r = xmpp_stanza_get_child_by_name_and_ns(st, "retract",
                                                            NS_RETRACT);
    assert_non_null(r);
    assert_string_equal(xmpp_stanza_get_attribute(r, "id"), "sid");
    xmpp_stanza_t *m = xmpp_stanza_get_child_by_name_and_ns(r, "moderated",
                                                            NS_MODERATE);
    assert_non_null(m);
    assert_string_equal(xmpp_stanza_get_attribute(m, "by"), "room@muc/mod");
    char *reason = xml_child_text(r, "reason", NULL);
    assert_string_equal(reason, "spam");
    free(reason);
    /* Clients without XEP-0424 show a body, marked as a fallback. */
    xmpp_stanza_t *f = xmpp_stanza_get_child_by_name_and_ns(
        st, "fallback", "urn:xmpp:fallback:0");
    assert_non_null(f);
    assert_string_equal(xmpp_stanza_get_attribute(f, "for"), NS_RETRACT);
    assert_non_null(xmpp_stanza_get_child_by_name(st, "body"));
    xmpp_stanza_release(st);
}

static void moderation_requests(void **state)
{
    (void)state;
    char *id, *reason;
    const char *why;
    xmpp_stanza_t *st = parse(
        "<iq type='set'><moderate xmlns='urn:xmpp:message-moderate:1' "
        "id='$ev'><retract xmlns='urn:xmpp:message-retract:1'/><reason>no"
        "</reason></moderate></iq>");
    assert_int_equal(xmoderate_parse(st, &id, &reason, &why), 1);
    assert_string_equal(id, "$ev");
    assert_string_equal(reason, "no");
    free(id);
    free(reason);
    xmpp_stanza_release(st);

    st = parse("<iq type='set'><moderate xmlns='urn:xmpp:message-moderate:1' "
               "id='$ev'/></iq>");
    assert_int_equal(xmoderate_parse(st, &id, &reason, &why), -1);
    xmpp_stanza_release(st);
    st = parse("<iq type='set'><moderate xmlns='urn:xmpp:message-moderate:1'>"
               "<retract xmlns='urn:xmpp:message-retract:1'/></moderate></iq>");
    assert_int_equal(xmoderate_parse(st, &id, &reason, &why), -1);
    xmpp_stanza_release(st);
    st = parse("<iq type='set'><ping xmlns='urn:xmpp:ping'/></iq>");
    assert_int_equal(xmoderate_parse(st, &id, &reason, &why), 0);
    xmpp_stanza_release(st);
}

int main(void)
{
    xmpp_initialize();
    ctx = xmpp_ctx_new(NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reactions_are_a_set),
        cmocka_unit_test(bad_reactions_are_refused),
        cmocka_unit_test(reactions_round_trip),
        cmocka_unit_test(retractions_in_both_forms),
        cmocka_unit_test(moderated_retraction_is_built),
        cmocka_unit_test(moderation_requests),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
    return failed;
}
