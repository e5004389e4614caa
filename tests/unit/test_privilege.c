/* XEP-0356: reading the server's permission advertisement (as Prosody's
 * mod_privilege sends it) and wrapping/unwrapping privileged iqs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "xep/privilege.h"
#include "xep/xml.h"

#include <stdlib.h>
#include <string.h>

static xmpp_ctx_t *ctx;

static xmpp_stanza_t *parse(const char *xml)
{
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
    assert_non_null(st);
    return st;
}

/* Captured from Prosody 0.12 with Debian's prosody-modules. */
static const char *PROSODY_AD =
    "<message from='localhost' to='gw.localhost'>"
    "<privilege xmlns='urn:xmpp:privilege:2'><perm access='iq'>"
    "<namespace type='both' ns='urn:xmpp:mam:2'/></perm></privilege>"
    "</message>";

static void advertisement_grants_mam(void **state)
{
    (void)state;
    xmpp_stanza_t *m = parse(PROSODY_AD);
    assert_true(privilege_is_advertisement(m));
    enum priv_iq_type t = privilege_iq_permission(m, "urn:xmpp:mam:2");
    assert_int_equal(t, PRIV_IQ_BOTH);
    assert_true(privilege_allows(t, "set"));
    assert_true(privilege_allows(t, "get"));
    assert_int_equal(privilege_iq_permission(m, "jabber:iq:roster"),
                     PRIV_IQ_NONE);
    xmpp_stanza_release(m);
}

static void only_the_granted_type_is_allowed(void **state)
{
    (void)state;
    xmpp_stanza_t *m = parse(
        "<message from='localhost'><privilege xmlns='urn:xmpp:privilege:2'>"
        "<perm access='roster' type='both'/>"
        "<perm access='iq'><namespace ns='urn:xmpp:mam:2' type='get'/>"
        "<namespace ns='urn:xmpp:mam:2' type='bogus'/></perm>"
        "</privilege></message>");
    enum priv_iq_type t = privilege_iq_permission(m, "urn:xmpp:mam:2");
    assert_int_equal(t, PRIV_IQ_GET);
    /* A MAM query is an iq set: a get permission does not let us ask. */
    assert_false(privilege_allows(t, "set"));
    assert_false(privilege_allows(t, NULL));
    xmpp_stanza_release(m);
}

static void no_iq_permission_and_other_messages(void **state)
{
    (void)state;
    xmpp_stanza_t *roster_only = parse(
        "<message><privilege xmlns='urn:xmpp:privilege:2'>"
        "<perm access='roster' type='both'/></privilege></message>");
    assert_true(privilege_is_advertisement(roster_only));
    assert_int_equal(privilege_iq_permission(roster_only, "urn:xmpp:mam:2"),
                     PRIV_IQ_NONE);
    xmpp_stanza_release(roster_only);

    xmpp_stanza_t *chat = parse("<message><body>hi</body></message>");
    assert_false(privilege_is_advertisement(chat));
    xmpp_stanza_release(chat);

    /* A privileged message forwarded by the server is no advertisement. */
    xmpp_stanza_t *fwd = parse(
        "<message><privilege xmlns='urn:xmpp:privilege:2'>"
        "<forwarded xmlns='urn:xmpp:forward:0'><message/></forwarded>"
        "</privilege></message>");
    assert_false(privilege_is_advertisement(fwd));
    assert_int_equal(privilege_iq_permission(fwd, "urn:xmpp:mam:2"),
                     PRIV_IQ_NONE);
    xmpp_stanza_release(fwd);

    /* An old-namespace (privilege:1) advertisement is not ours to read. */
    xmpp_stanza_t *v1 = parse(
        "<message><privilege xmlns='urn:xmpp:privilege:1'>"
        "<perm access='roster' type='both'/></privilege></message>");
    assert_false(privilege_is_advertisement(v1));
    xmpp_stanza_release(v1);
}

static void wrapping_makes_what_mod_privilege_checks(void **state)
{
    (void)state;
    xmpp_stanza_t *q = parse("<query xmlns='urn:xmpp:mam:2' queryid='q1'/>");
    xmpp_stanza_t *w =
        privilege_wrap_iq(ctx, "alice@localhost", "set", "inner-1", q);
    xmpp_stanza_release(q);   /* the wrapper holds its own copy */
    assert_string_equal(xmpp_stanza_get_name(w), "privileged_iq");
    assert_string_equal(xmpp_stanza_get_ns(w), "urn:xmpp:privilege:2");
    xmpp_stanza_t *iq = xmpp_stanza_get_children(w);
    assert_non_null(iq);
    assert_string_equal(xmpp_stanza_get_name(iq), "iq");
    assert_string_equal(xmpp_stanza_get_ns(iq), "jabber:client");
    assert_string_equal(xmpp_stanza_get_type(iq), "set");
    assert_string_equal(xmpp_stanza_get_id(iq), "inner-1");
    assert_string_equal(xmpp_stanza_get_from(iq), "alice@localhost");
    /* Exactly one payload child, with its namespace. */
    xmpp_stanza_t *p = xmpp_stanza_get_children(iq);
    assert_non_null(p);
    assert_null(xmpp_stanza_get_next(p));
    assert_string_equal(xmpp_stanza_get_ns(p), "urn:xmpp:mam:2");
    assert_string_equal(xmpp_stanza_get_attribute(p, "queryid"), "q1");
    xmpp_stanza_release(w);
}

static void unwrapping_the_answer(void **state)
{
    (void)state;
    const char *why = NULL;
    /* Prosody 0.12's answer to a count-only MAM query. */
    xmpp_stanza_t *ok = parse(
        "<iq id='p1' to='gw.localhost' type='result' from='carol@localhost'>"
        "<privilege xmlns='urn:xmpp:privilege:2'>"
        "<forwarded xmlns='urn:xmpp:forward:0'>"
        "<iq id='w1' to='carol@localhost' xmlns='jabber:client' "
        "type='result'><fin xmlns='urn:xmpp:mam:2' complete='true'>"
        "<set xmlns='http://jabber.org/protocol/rsm'><count>1</count></set>"
        "</fin></iq></forwarded></privilege></iq>");
    xmpp_stanza_t *inner = privilege_unwrap_result(ok, &why);
    assert_non_null(inner);
    assert_string_equal(xmpp_stanza_get_id(inner), "w1");
    assert_non_null(
        xmpp_stanza_get_child_by_name_and_ns(inner, "fin", "urn:xmpp:mam:2"));
    xmpp_stanza_release(ok);

    /* What Prosody answers when mod_mam's results cannot be sent. */
    xmpp_stanza_t *err = parse(
        "<iq type='error' id='p1'><error type='cancel'>"
        "<internal-server-error xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        "</error></iq>");
    assert_null(privilege_unwrap_result(err, &why));
    assert_non_null(why);
    xmpp_stanza_release(err);

    why = NULL;
    assert_null(privilege_unwrap_result(NULL, &why));
    assert_non_null(why);

    xmpp_stanza_t *empty = parse("<iq type='result' id='p1'/>");
    why = NULL;
    assert_null(privilege_unwrap_result(empty, &why));
    assert_non_null(why);
    xmpp_stanza_release(empty);
}

/* A privileged message carrying what the wrapped iq's handler sent (the
 * shape of the patched mod_privilege's archive results). */
static void forwarded_messages(void **state)
{
    (void)state;
    xmpp_stanza_t *m = parse(
        "<message to='gw.localhost' from='alice@localhost'>"
        "<privilege xmlns='urn:xmpp:privilege:2'>"
        "<forwarded xmlns='urn:xmpp:forward:0'>"
        "<message to='alice@localhost' xmlns='jabber:client'><result "
        "xmlns='urn:xmpp:mam:2' queryid='q'/></message></forwarded>"
        "</privilege></message>");
    xmpp_stanza_t *inner = privilege_forwarded_message(m);
    assert_non_null(inner);
    assert_string_equal(xmpp_stanza_get_to(inner), "alice@localhost");
    assert_false(privilege_is_advertisement(m));
    xmpp_stanza_release(m);
    m = parse(PROSODY_AD);
    assert_null(privilege_forwarded_message(m));
    xmpp_stanza_release(m);
}

int main(void)
{
    ctx = xmpp_ctx_new(NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(advertisement_grants_mam),
        cmocka_unit_test(only_the_granted_type_is_allowed),
        cmocka_unit_test(no_iq_permission_and_other_messages),
        cmocka_unit_test(wrapping_makes_what_mod_privilege_checks),
        cmocka_unit_test(unwrapping_the_answer),
        cmocka_unit_test(forwarded_messages),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmpp_ctx_free(ctx);
    return rc;
}
