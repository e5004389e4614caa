/* Parsing and building the XEPs that act on an earlier message: reactions
 * (XEP-0444), retractions (XEP-0424, both forms) and moderation (XEP-0425:
 * requests, and a room's announcements in both versions), with the disco
 * and error helpers that picking the version and reading a refusal use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "xep/disco.h"
#include "xep/encrypted.h"
#include "xep/message.h"
#include "xep/reactions.h"
#include "xep/retractions.h"
#include "xep/stanza_error.h"
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
    /* The same removal for clients that know only the form before 2023. */
    xmpp_stanza_t *a = xmpp_stanza_get_child_by_name_and_ns(st, "apply-to",
                                                            NS_FASTEN);
    assert_non_null(a);
    assert_string_equal(xmpp_stanza_get_attribute(a, "id"), "sid");
    xmpp_stanza_t *lm = xmpp_stanza_get_child_by_name_and_ns(
        a, "moderated", NS_MODERATE_LEGACY);
    assert_non_null(lm);
    assert_string_equal(xmpp_stanza_get_attribute(lm, "by"), "room@muc/mod");
    assert_non_null(xmpp_stanza_get_child_by_name_and_ns(lm, "retract",
                                                         NS_RETRACT_LEGACY));
    reason = xml_child_text(lm, "reason", NULL);
    assert_string_equal(reason, "spam");
    free(reason);
    xmpp_stanza_release(st);

    /* A sender's own retraction has no moderation in either form. */
    st = xmpp_message_new(ctx, "chat", "a@b", "id2");
    xretract_add(ctx, st, "sid", NULL, NULL);
    assert_null(xmpp_stanza_get_child_by_name_and_ns(st, "apply-to",
                                                     NS_FASTEN));
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

    /* The form before 2023, as older Conversations and Gajim send it. */
    st = parse("<iq type='set'><apply-to xmlns='urn:xmpp:fasten:0' id='$old'>"
               "<moderate xmlns='urn:xmpp:message-moderate:0'>"
               "<retract xmlns='urn:xmpp:message-retract:0'/>"
               "<reason>spam</reason></moderate></apply-to></iq>");
    assert_int_equal(xmoderate_parse(st, &id, &reason, &why), 1);
    assert_string_equal(id, "$old");
    assert_string_equal(reason, "spam");
    free(id);
    free(reason);
    xmpp_stanza_release(st);
    /* ... which must name its message, and only asks for retraction. */
    st = parse("<iq type='set'><apply-to xmlns='urn:xmpp:fasten:0'>"
               "<moderate xmlns='urn:xmpp:message-moderate:0'>"
               "<retract xmlns='urn:xmpp:message-retract:0'/></moderate>"
               "</apply-to></iq>");
    assert_int_equal(xmoderate_parse(st, &id, &reason, &why), -1);
    xmpp_stanza_release(st);
    st = parse("<iq type='set'><apply-to xmlns='urn:xmpp:fasten:0' id='x'>"
               "<moderate xmlns='urn:xmpp:message-moderate:0'/></apply-to>"
               "</iq>");
    assert_int_equal(xmoderate_parse(st, &id, &reason, &why), -1);
    xmpp_stanza_release(st);
    /* Fastened to something else: not a moderation. */
    st = parse("<iq type='set'><apply-to xmlns='urn:xmpp:fasten:0' id='x'>"
               "<other xmlns='urn:example'/></apply-to></iq>");
    assert_int_equal(xmoderate_parse(st, &id, &reason, &why), 0);
    xmpp_stanza_release(st);
}

/* What Prosody's mod_muc_moderation (prosody-modules 2023-02) announces,
 * byte for byte but for the ids. */
static const char legacy_announcement[] =
    "<message from='room@muc' type='groupchat' id='x1'>"
    "<apply-to xmlns='urn:xmpp:fasten:0' id='sid1'>"
    "<moderated xmlns='urn:xmpp:message-moderate:0' by='room@muc/mod'>"
    "<retract xmlns='urn:xmpp:message-retract:0'/><reason>spam</reason>"
    "</moderated></apply-to></message>";

static void moderation_announcements_in_both_forms(void **state)
{
    (void)state;
    struct xmoderated m;
    xmpp_stanza_t *st = parse(legacy_announcement);
    assert_int_equal(xmoderated_parse(st, &m), 1);
    assert_string_equal(m.id, "sid1");
    assert_string_equal(m.by, "room@muc/mod");
    assert_string_equal(m.reason, "spam");
    /* Not a plain retraction by whoever sent it. */
    assert_false(xretract_present(st));
    xmoderated_free(&m);
    xmpp_stanza_release(st);

    st = parse("<message from='room@muc' type='groupchat'>"
               "<retract xmlns='urn:xmpp:message-retract:1' id='sid2'>"
               "<moderated xmlns='urn:xmpp:message-moderate:1' "
               "by='room@muc/mod'><occupant-id xmlns='urn:xmpp:occupant-id:0'"
               " id='o1'/></moderated><reason>off topic</reason></retract>"
               "</message>");
    assert_int_equal(xmoderated_parse(st, &m), 1);
    assert_string_equal(m.id, "sid2");
    assert_string_equal(m.by, "room@muc/mod");
    assert_string_equal(m.reason, "off topic");
    xmoderated_free(&m);
    xmpp_stanza_release(st);

    /* Without a reason or a moderator's name. */
    st = parse("<message><retract xmlns='urn:xmpp:message-retract:1' "
               "id='sid3'><moderated xmlns='urn:xmpp:message-moderate:1'/>"
               "</retract></message>");
    assert_int_equal(xmoderated_parse(st, &m), 1);
    assert_string_equal(m.id, "sid3");
    assert_null(m.by);
    assert_null(m.reason);
    xmoderated_free(&m);
    xmpp_stanza_release(st);

    /* Both at once (a room speaking both versions): the current one. */
    st = parse("<message><retract xmlns='urn:xmpp:message-retract:1' "
               "id='new'><moderated xmlns='urn:xmpp:message-moderate:1' "
               "by='room@muc/a'/></retract>"
               "<apply-to xmlns='urn:xmpp:fasten:0' id='old'>"
               "<moderated xmlns='urn:xmpp:message-moderate:0' "
               "by='room@muc/b'><retract xmlns='urn:xmpp:message-retract:0'/>"
               "</moderated></apply-to></message>");
    assert_int_equal(xmoderated_parse(st, &m), 1);
    assert_string_equal(m.id, "new");
    assert_string_equal(m.by, "room@muc/a");
    xmoderated_free(&m);
    xmpp_stanza_release(st);
}

static void what_is_not_a_moderation_announcement(void **state)
{
    (void)state;
    struct xmoderated m;
    const char *not_ones[] = {
        /* A plain retraction. */
        "<message><retract xmlns='urn:xmpp:message-retract:1' id='a'/>"
        "</message>",
        /* A legacy plain retraction. */
        "<message><apply-to xmlns='urn:xmpp:fasten:0' id='a'>"
        "<retract xmlns='urn:xmpp:message-retract:0'/></apply-to></message>",
        /* A legacy moderation that keeps the message (no <retract/>). */
        "<message><apply-to xmlns='urn:xmpp:fasten:0' id='a'>"
        "<moderated xmlns='urn:xmpp:message-moderate:0' by='r@m/x'/>"
        "</apply-to></message>",
        /* No id. */
        "<message><apply-to xmlns='urn:xmpp:fasten:0'>"
        "<moderated xmlns='urn:xmpp:message-moderate:0'>"
        "<retract xmlns='urn:xmpp:message-retract:0'/></moderated>"
        "</apply-to></message>",
        "<message><retract xmlns='urn:xmpp:message-retract:1' id=''>"
        "<moderated xmlns='urn:xmpp:message-moderate:1'/></retract>"
        "</message>",
        /* Namespaces crossed. */
        "<message><retract xmlns='urn:xmpp:message-retract:1' id='a'>"
        "<moderated xmlns='urn:xmpp:message-moderate:0'/></retract>"
        "</message>",
        "<message><body>hi</body></message>",
    };
    for (size_t i = 0; i < sizeof not_ones / sizeof *not_ones; i++) {
        xmpp_stanza_t *st = parse(not_ones[i]);
        assert_int_equal(xmoderated_parse(st, &m), 0);
        assert_null(m.id);
        xmpp_stanza_release(st);
    }
}

/* The request's payload, put into iq as the gateway sends it. */
static void xmoderate_request_add(xmpp_ctx_t *c, xmpp_stanza_t *iq,
                                  const char *id, const char *reason,
                                  bool legacy)
{
    xmpp_stanza_t *payload = xmoderate_request(c, id, reason, legacy);
    xmpp_stanza_add_child(iq, payload);
    xmpp_stanza_release(payload);
}

/* The request in each version, read back the way a room reads it. */
static void moderation_requests_are_built(void **state)
{
    (void)state;
    xmpp_stanza_t *iq = xmpp_iq_new(ctx, "set", "q1");
    xmoderate_request_add(ctx, iq, "sid", "spam", false);
    char *id, *reason;
    const char *why;
    assert_int_equal(xmoderate_parse(iq, &id, &reason, &why), 1);
    assert_string_equal(id, "sid");
    assert_string_equal(reason, "spam");
    free(id);
    free(reason);
    assert_null(xmpp_stanza_get_child_by_name(iq, "apply-to"));
    xmpp_stanza_release(iq);

    iq = xmpp_iq_new(ctx, "set", "q2");
    xmoderate_request_add(ctx, iq, "sid", NULL, true);
    xmpp_stanza_t *a = xmpp_stanza_get_child_by_name_and_ns(iq, "apply-to",
                                                            NS_FASTEN);
    assert_non_null(a);
    assert_string_equal(xmpp_stanza_get_attribute(a, "id"), "sid");
    xmpp_stanza_t *m = xmpp_stanza_get_child_by_name_and_ns(
        a, "moderate", NS_MODERATE_LEGACY);
    assert_non_null(m);
    assert_null(xmpp_stanza_get_attribute(m, "id"));
    assert_non_null(xmpp_stanza_get_child_by_name_and_ns(m, "retract",
                                                         NS_RETRACT_LEGACY));
    assert_null(xmpp_stanza_get_child_by_name(m, "reason"));
    /* A gateway room reads this form too. */
    assert_int_equal(xmoderate_parse(iq, &id, &reason, &why), 1);
    assert_string_equal(id, "sid");
    assert_null(reason);
    free(id);
    xmpp_stanza_release(iq);

    /* The reason goes unqualified into <moderate/>: serialized, it is in
     * moderate:0, where Prosody's module reads it. */
    iq = xmpp_iq_new(ctx, "set", "q3");
    xmoderate_request_add(ctx, iq, "sid", "a <b> & c", true);
    char *xml = xml_serialize(iq);
    xmpp_stanza_t *back = parse(xml);
    free(xml);
    a = xmpp_stanza_get_child_by_name_and_ns(back, "apply-to", NS_FASTEN);
    m = xmpp_stanza_get_child_by_name_and_ns(a, "moderate",
                                             NS_MODERATE_LEGACY);
    xmpp_stanza_t *r = xmpp_stanza_get_child_by_name_and_ns(
        m, "reason", NS_MODERATE_LEGACY);
    assert_non_null(r);
    char *text = xmpp_stanza_get_text(r);
    assert_string_equal(text, "a <b> & c");
    xmpp_free(ctx, text);
    xmpp_stanza_release(back);
    xmpp_stanza_release(iq);
}

/* The plain way to write a stanza, one character at a time, that
 * xml_serialize must match byte for byte. */
static void ref_escaped(char **out, const char *s)
{
    for (; *s; s++) {
        const char *rep = *s == '&'    ? "&amp;"
                          : *s == '<'  ? "&lt;"
                          : *s == '>'  ? "&gt;"
                          : *s == '"'  ? "&quot;"
                          : *s == '\'' ? "&apos;"
                                       : NULL;
        size_t n = rep ? strlen(rep) : 1;
        memcpy(*out, rep ? rep : s, n);
        *out += n;
    }
}

static void ref_serialize(char **out, xmpp_stanza_t *st)
{
    if (xmpp_stanza_is_text(st)) {
        ref_escaped(out, xmpp_stanza_get_text_ptr(st));
        return;
    }
    *out += sprintf(*out, "<%s", xmpp_stanza_get_name(st));
    const char *attrs[64];
    int n = xmpp_stanza_get_attributes(st, attrs, 64);
    for (int i = 0; i + 1 < n; i += 2) {
        *out += sprintf(*out, " %s=\"", attrs[i]);
        ref_escaped(out, attrs[i + 1]);
        *(*out)++ = '"';
    }
    xmpp_stanza_t *c = xmpp_stanza_get_children(st);
    if (!c) {
        *out += sprintf(*out, "/>");
        return;
    }
    *(*out)++ = '>';
    for (; c; c = xmpp_stanza_get_next(c))
        ref_serialize(out, c);
    *out += sprintf(*out, "</%s>", xmpp_stanza_get_name(st));
}

static void serialized_like_reference(xmpp_stanza_t *st)
{
    static char want[65536];
    char *end = want;
    ref_serialize(&end, st);
    *end = '\0';
    char *got = xml_serialize(st);
    assert_string_equal(got, want);
    free(got);
}

/* Escaping in runs, and the buffer's growth, give what escaping one
 * character at a time gives. */
static void serialization_escapes_every_special(void **state)
{
    (void)state;
    static const char *const values[] = {
        "", "&", "<>", "\"'", "plain", "a&b<c>d\"e'f", "&&&&&&&&",
        "caf\xc3\xa9 & \xf0\x9f\x98\x80 <3", "trailing &amp;",
        "'leading quote", "long text that runs past one buffer's first "
        "allocation because it repeats: <x> & <y> & <z> 'q' \"r\" ...",
    };
    size_t nv = sizeof values / sizeof *values;
    for (size_t i = 0; i < nv; i++) {
        xmpp_stanza_t *st = xmpp_stanza_new(ctx);
        xmpp_stanza_set_name(st, "message");
        xmpp_stanza_set_attribute(st, "to", values[i]);
        xmpp_stanza_set_attribute(st, "id", values[nv - 1 - i]);
        xml_add_text_child(ctx, st, "body", NULL, values[i]);
        xml_add_child(ctx, st, "empty", "urn:x");
        xmpp_stanza_t *t = xml_add_text_child(ctx, st, "t", values[i],
                                              values[(i + 3) % nv]);
        xmpp_stanza_set_attribute(t, "a", values[(i + 5) % nv]);
        serialized_like_reference(st);
        xmpp_stanza_release(st);
    }
    /* Bigger than the first buffer, with many pieces. */
    xmpp_stanza_t *big = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(big, "iq");
    for (int i = 0; i < 300; i++)
        xml_add_text_child(ctx, big, "item", NULL, values[i % nv]);
    serialized_like_reference(big);
    xmpp_stanza_release(big);
}

static void expect_child_text(xmpp_stanza_t *st, const char *name,
                              const char *want)
{
    char *got = xml_child_text(st, name, NULL);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* A single text child is copied directly; every other shape still gets
 * libstrophe's concatenation of the direct text children. */
static void child_text_shapes(void **state)
{
    (void)state;
    xmpp_stanza_t *st = parse("<message><one>a &amp; b</one><empty/>"
                              "<mixed>x<i>not this</i>y</mixed>"
                              "<elem><i>deeper</i></elem></message>");
    expect_child_text(st, "one", "a & b");
    expect_child_text(st, "empty", "");
    expect_child_text(st, "mixed", "xy");
    expect_child_text(st, "elem", "");
    expect_child_text(st, "absent", NULL);
    xmpp_stanza_release(st);
    /* Built by hand: two text children, and an empty one. */
    st = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(st, "message");
    xmpp_stanza_t *two = xml_add_text_child(ctx, st, "two", NULL, "first ");
    xmpp_stanza_t *t = xmpp_stanza_new(ctx);
    xmpp_stanza_set_text(t, "second");
    xmpp_stanza_add_child(two, t);
    xmpp_stanza_release(t);
    xml_add_text_child(ctx, st, "blank", NULL, "");
    expect_child_text(st, "two", "first second");
    expect_child_text(st, "blank", "");
    xmpp_stanza_release(st);
}

/* How the gateway picks the moderation version: from the room's
 * disco#info (as Prosody's mod_muc_moderation of 2023-02 answers). */
static void disco_features_are_found(void **state)
{
    (void)state;
    xmpp_stanza_t *st = parse(
        "<iq type='result'><query xmlns='http://jabber.org/protocol/disco#info'>"
        "<identity category='conference' type='text'/>"
        "<feature var='http://jabber.org/protocol/muc'/>"
        "<feature var='urn:xmpp:message-moderate:0'/></query></iq>");
    assert_true(disco_has_feature(st, NS_MODERATE_LEGACY));
    assert_false(disco_has_feature(st, NS_MODERATE));
    /* An identity is not a feature, whatever its attributes. */
    assert_false(disco_has_feature(st, "conference"));
    xmpp_stanza_release(st);
    st = parse("<iq type='result'><query xmlns='other'>"
               "<feature var='urn:xmpp:message-moderate:1'/></query></iq>");
    assert_false(disco_has_feature(st, NS_MODERATE));
    xmpp_stanza_release(st);
}

static void error_conditions_are_read(void **state)
{
    (void)state;
    char *text;
    /* What Prosody answers a moderation by a mere participant. */
    xmpp_stanza_t *st = parse(
        "<iq type='error'><error type='auth'>"
        "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>You need a role"
        "</text><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
        "</error></iq>");
    assert_string_equal(stanza_error_condition(st, &text), "forbidden");
    assert_string_equal(text, "You need a role");
    free(text);
    xmpp_stanza_release(st);
    st = parse("<iq type='error'><error type='cancel'>"
               "<mine xmlns='app'/></error></iq>");
    assert_string_equal(stanza_error_condition(st, &text),
                        "undefined-condition");
    assert_null(text);
    xmpp_stanza_release(st);
    st = parse("<iq type='error'/>");
    assert_string_equal(stanza_error_condition(st, &text),
                        "undefined-condition");
    assert_null(text);
    xmpp_stanza_release(st);
}

/* Which encryption a message carries, so that the sender can be told it
 * did not cross. */
static void encrypted_messages_are_recognised(void **state)
{
    (void)state;
    static const struct {
        const char *xml;
        const char *scheme; /* NULL: not an encrypted message */
    } cases[] = {
        { "<message><body>hi</body></message>", NULL },
        { "<message><body>I sent you an OMEMO encrypted message</body>"
          "<encrypted xmlns='eu.siacs.conversations.axolotl'><header sid='1'>"
          "<key rid='2'>AAAA</key><iv>AAAA</iv></header><payload>AAAA"
          "</payload></encrypted></message>", "OMEMO" },
        /* Key transport: a session set up, nothing written. */
        { "<message><encrypted xmlns='eu.siacs.conversations.axolotl'>"
          "<header sid='1'><key rid='2'>AAAA</key><iv>AAAA</iv></header>"
          "</encrypted></message>", NULL },
        { "<message><encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'>"
          "<keys jid='a@b'><key rid='2'>AAAA</key></keys></header>"
          "<payload>AAAA</payload></encrypted></message>", "OMEMO 2" },
        { "<message><openpgp xmlns='urn:xmpp:openpgp:0'>AAAA</openpgp>"
          "</message>", "OpenPGP" },
        { "<message><body>This message is encrypted.</body>"
          "<x xmlns='jabber:x:encrypted'>AAAA</x></message>",
          "legacy OpenPGP" },
        { "<message><body>?OTRv23?</body></message>", "OTR" },
        { "<message><body>[encrypted]</body><encryption xmlns='urn:xmpp:eme:0'"
          " namespace='urn:xmpp:otr:0'/></message>", "OTR" },
        { "<message><body>x</body><encryption xmlns='urn:xmpp:eme:0'"
          " namespace='urn:example:unknown'/></message>", NULL },
        { "<message><body>what does ?OTR mean</body></message>", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        xmpp_stanza_t *st = parse(cases[i].xml);
        const char *got = xencrypted_scheme(st);
        if (cases[i].scheme)
            assert_string_equal(got, cases[i].scheme);
        else
            assert_null(got);
        xmpp_stanza_release(st);
    }
}

/* One parse reads every part a message can carry, so that the gateway's
 * features never read the stanza again. */
static void one_parse_reads_every_part(void **state)
{
    (void)state;
    struct xmsg m;
    const char *why;
    xmpp_stanza_t *st = parse(
        "<message from='room@muc/nick' to='x@gw' type='groupchat' id='i1'>"
        "<body>hi</body><subject>s</subject>"
        "<composing xmlns='http://jabber.org/protocol/chatstates'/>"
        "<displayed xmlns='urn:xmpp:chat-markers:0' id='seen'/>"
        "<reactions xmlns='urn:xmpp:reactions:0' id='r1'>"
        "<reaction>ok</reaction></reactions>"
        "<delay xmlns='urn:xmpp:delay' stamp='2026-11-22T10:00:00Z'/>"
        "<stanza-id xmlns='urn:xmpp:sid:0' by='x@gw' id='forged'/>"
        "<stanza-id xmlns='urn:xmpp:sid:0' by='room@muc' id='real'/>"
        "</message>");
    assert_int_equal(xmsg_parse(st, &m, &why), 0);
    assert_int_equal(m.chatstate, CHATSTATE_COMPOSING);
    assert_int_equal(m.marker, MARKER_DISPLAYED);
    assert_string_equal(m.marker_id, "seen");
    assert_string_equal(m.reactions.id, "r1");
    assert_int_equal(m.reactions.n, 1);
    assert_null(m.reactions_error);
    assert_null(m.retract_id);
    assert_null(m.moderated.id);
    assert_int_equal(m.delay_ms, 1795341600000LL);
    assert_string_equal(m.subject, "s");
    assert_string_equal(m.stanza_id, "real"); /* only the room's stamp */
    assert_null(m.encryption);
    xmsg_free(&m);
    xmpp_stanza_release(st);

    /* A retraction wins over reactions; bad reactions are reported. */
    st = parse("<message from='a@b/r' to='x@gw'>"
               "<retract xmlns='urn:xmpp:message-retract:1' id='gone'/>"
               "<reactions xmlns='urn:xmpp:reactions:0'/></message>");
    assert_int_equal(xmsg_parse(st, &m, &why), 0);
    assert_string_equal(m.retract_id, "gone");
    assert_null(m.reactions.id);
    assert_null(m.reactions_error);
    assert_int_equal(m.delay_ms, -1);
    assert_null(m.stanza_id);
    xmsg_free(&m);
    xmpp_stanza_release(st);
    st = parse("<message from='a@b/r' to='x@gw'>"
               "<reactions xmlns='urn:xmpp:reactions:0'/></message>");
    assert_int_equal(xmsg_parse(st, &m, &why), 0);
    assert_non_null(m.reactions_error);
    xmsg_free(&m);
    xmpp_stanza_release(st);

    /* A room's moderation announcement and an encrypted message. */
    st = parse("<message from='room@muc' to='x@gw' type='groupchat'>"
               "<retract xmlns='urn:xmpp:message-retract:1' id='sid1'>"
               "<moderated xmlns='urn:xmpp:message-moderate:1' "
               "by='room@muc/mod'/><reason>spam</reason></retract>"
               "</message>");
    assert_int_equal(xmsg_parse(st, &m, &why), 0);
    assert_string_equal(m.moderated.id, "sid1");
    assert_string_equal(m.moderated.by, "room@muc/mod");
    xmsg_free(&m);
    xmpp_stanza_release(st);
    st = parse("<message from='a@b/r' to='x@gw'><body>fallback</body>"
               "<encrypted xmlns='urn:xmpp:omemo:2'><header sid='1'/>"
               "<payload>AAAA</payload></encrypted></message>");
    assert_int_equal(xmsg_parse(st, &m, &why), 0);
    assert_string_equal(m.encryption, "OMEMO 2");
    xmsg_free(&m);
    xmpp_stanza_release(st);
}

int main(void)
{
    xmpp_initialize();
    ctx = xmpp_ctx_new(NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(encrypted_messages_are_recognised),
        cmocka_unit_test(one_parse_reads_every_part),
        cmocka_unit_test(reactions_are_a_set),
        cmocka_unit_test(bad_reactions_are_refused),
        cmocka_unit_test(reactions_round_trip),
        cmocka_unit_test(retractions_in_both_forms),
        cmocka_unit_test(moderated_retraction_is_built),
        cmocka_unit_test(moderation_requests),
        cmocka_unit_test(moderation_announcements_in_both_forms),
        cmocka_unit_test(what_is_not_a_moderation_announcement),
        cmocka_unit_test(moderation_requests_are_built),
        cmocka_unit_test(serialization_escapes_every_special),
        cmocka_unit_test(child_text_shapes),
        cmocka_unit_test(disco_features_are_found),
        cmocka_unit_test(error_conditions_are_read),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
    return failed;
}
