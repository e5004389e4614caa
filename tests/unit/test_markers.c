/* XEP-0085 chat states and XEP-0333 / XEP-0184 markers: parsed from
 * stanzas and built into them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "xep/chatstates.h"
#include "xep/markers.h"
#include "xep/message.h"
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

static xmpp_stanza_t *parse(const char *xml)
{
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, xml);
    assert_non_null(st);
    return st;
}

static void chat_states_are_recognised(void **state)
{
    (void)state;
    static const struct {
        const char *xml;
        enum chatstate want;
    } cases[] = {
        { "<message><composing xmlns='http://jabber.org/protocol/chatstates'"
          "/></message>", CHATSTATE_COMPOSING },
        { "<message><body>hi</body><active xmlns='http://jabber.org/"
          "protocol/chatstates'/></message>", CHATSTATE_ACTIVE },
        { "<message><paused xmlns='http://jabber.org/protocol/chatstates'/>"
          "</message>", CHATSTATE_PAUSED },
        { "<message><gone xmlns='http://jabber.org/protocol/chatstates'/>"
          "</message>", CHATSTATE_GONE },
        { "<message><inactive xmlns='http://jabber.org/protocol/chatstates'"
          "/></message>", CHATSTATE_INACTIVE },
        /* Another namespace, or an unknown state, is none. */
        { "<message><composing xmlns='urn:other'/></message>",
          CHATSTATE_NONE },
        { "<message><typing xmlns='http://jabber.org/protocol/chatstates'/>"
          "</message>", CHATSTATE_NONE },
        { "<message><body>plain</body></message>", CHATSTATE_NONE },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        xmpp_stanza_t *st = parse(cases[i].xml);
        assert_int_equal(chatstate_of(st), cases[i].want);
        xmpp_stanza_release(st);
    }
    assert_null(chatstate_name(CHATSTATE_NONE));
    assert_string_equal(chatstate_name(CHATSTATE_PAUSED), "paused");
}

static void chat_state_message_round_trips(void **state)
{
    (void)state;
    xmpp_stanza_t *st = chatstate_message(ctx, "b%hs@gw/x", "a@x",
                                          "groupchat", CHATSTATE_COMPOSING);
    assert_string_equal(xmpp_stanza_get_type(st), "groupchat");
    assert_string_equal(xmpp_stanza_get_from(st), "b%hs@gw/x");
    assert_int_equal(chatstate_of(st), CHATSTATE_COMPOSING);
    assert_non_null(xmpp_stanza_get_child_by_name_and_ns(st, "no-store",
                                                         NS_HINTS));
    assert_null(xmpp_stanza_get_child_by_name(st, "body"));
    xmpp_stanza_release(st);
}

static void markers_are_recognised(void **state)
{
    (void)state;
    const char *id;
    xmpp_stanza_t *st = parse("<message><displayed xmlns='urn:xmpp:chat-"
                              "markers:0' id='m1'/></message>");
    assert_int_equal(marker_of(st, &id), MARKER_DISPLAYED);
    assert_string_equal(id, "m1");
    xmpp_stanza_release(st);
    /* A XEP-0184 receipt is a delivery, not a read. */
    st = parse("<message><received xmlns='urn:xmpp:receipts' id='r1'/>"
               "</message>");
    assert_int_equal(marker_of(st, &id), MARKER_RECEIVED);
    assert_string_equal(id, "r1");
    xmpp_stanza_release(st);
    /* Both in one message: the read wins. */
    st = parse("<message><received xmlns='urn:xmpp:receipts' id='r1'/>"
               "<acknowledged xmlns='urn:xmpp:chat-markers:0' id='a1'/>"
               "<displayed xmlns='urn:xmpp:chat-markers:0' id='d1'/>"
               "</message>");
    assert_int_equal(marker_of(st, &id), MARKER_ACKNOWLEDGED);
    assert_string_equal(id, "a1");
    xmpp_stanza_release(st);
    /* No id, an empty id, a mere <markable/>: nothing to bridge. */
    st = parse("<message><displayed xmlns='urn:xmpp:chat-markers:0'/>"
               "<displayed xmlns='urn:xmpp:chat-markers:0' id=''/>"
               "<markable xmlns='urn:xmpp:chat-markers:0'/></message>");
    assert_int_equal(marker_of(st, &id), MARKER_NONE);
    assert_null(id);
    xmpp_stanza_release(st);
}

static void displayed_marker_is_built(void **state)
{
    (void)state;
    xmpp_stanza_t *st = marker_displayed(ctx, "b%hs@gw", "a@x", "chat",
                                         "$ev:hs");
    const char *id;
    assert_int_equal(marker_of(st, &id), MARKER_DISPLAYED);
    assert_string_equal(id, "$ev:hs");
    assert_string_equal(xmpp_stanza_get_to(st), "a@x");
    assert_string_equal(xmpp_stanza_get_type(st), "chat");
    char *xml = xmsg_stanza_to_xml(st);
    assert_non_null(strstr(xml, "urn:xmpp:chat-markers:0"));
    free(xml);
    xmpp_stanza_release(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chat_states_are_recognised),
        cmocka_unit_test(chat_state_message_round_trips),
        cmocka_unit_test(markers_are_recognised),
        cmocka_unit_test(displayed_marker_is_built),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
