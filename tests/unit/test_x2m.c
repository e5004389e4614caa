/* The one translation of an XMPP message towards Matrix
 * (gateway/core/x2m.c): text, corrections, replies, formatting and
 * mentions, with the gateway's lookups played by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/mem.h"
#include "gateway/core/x2m.h"

#include <stdlib.h>
#include <string.h>

/* Crossed: "s1" became $e1; "s2" an edit of $e1 (so corrections of it
 * edit $e1). Mentions: xmpp:bob%hs@gw is @bob:hs. */
static char *event_for(void *ud, const char *xmpp_id)
{
    (void)ud;
    return strcmp(xmpp_id, "s1") == 0 ? xstrdup("$e1") : NULL;
}

static char *edit_target(void *ud, const char *xmpp_id)
{
    (void)ud;
    return strcmp(xmpp_id, "s1") == 0 || strcmp(xmpp_id, "s2") == 0
               ? xstrdup("$e1")
               : NULL;
}

static char *mxid_of_uri(void *ud, const char *uri)
{
    (void)ud;
    return strcmp(uri, "xmpp:bob%25hs@gw") == 0 ? xstrdup("@bob:hs") : NULL;
}

static const struct x2m_env env = { 1000, event_for, edit_target,
                                    mxid_of_uri, NULL };

/* obj[k1][k2]... as a string; Matrix keys hold dots, so they are given
 * one by one, NULL-terminated. */
static const char *str(json_t *obj, ...)
{
    va_list ap;
    va_start(ap, obj);
    const char *k;
    while ((k = va_arg(ap, const char *)))
        obj = json_object_get(obj, k);
    va_end(ap);
    return json_string_value(obj);
}

static void text_and_emotes(void **state)
{
    (void)state;
    char *replaces;
    const char *why;
    struct xmsg m = { .type = "chat", .body = "hello", .unstyled = true };
    json_t *c = x2m_translate(&m, &env, &replaces, &why);
    assert_non_null(c);
    assert_string_equal(str(c, "msgtype", NULL), "m.text");
    assert_string_equal(str(c, "body", NULL), "hello");
    assert_null(json_object_get(c, "formatted_body"));
    assert_null(replaces);
    json_decref(c);

    m.body = "/me waves";
    c = x2m_translate(&m, &env, &replaces, &why);
    assert_string_equal(str(c, "msgtype", NULL), "m.emote");
    assert_string_equal(str(c, "body", NULL), "waves");
    json_decref(c);

    m.body = NULL;
    assert_null(x2m_translate(&m, &env, &replaces, &why));
    assert_non_null(why);
}

static void corrections_edit_the_original(void **state)
{
    (void)state;
    char *replaces;
    const char *why;
    /* A correction of a correction still edits the original. */
    struct xmsg m = { .type = "chat", .body = "fixed", .replace_id = "s2",
                      .unstyled = true };
    json_t *c = x2m_translate(&m, &env, &replaces, &why);
    assert_string_equal(replaces, "$e1");
    assert_string_equal(str(c, "m.new_content", "body", NULL), "fixed");
    assert_string_equal(str(c, "m.relates_to", "event_id", NULL), "$e1");
    assert_string_equal(str(c, "m.relates_to", "rel_type", NULL), "m.replace");
    free(replaces);
    json_decref(c);

    /* Of something that never crossed: a plain message. */
    m.replace_id = "unknown";
    c = x2m_translate(&m, &env, &replaces, &why);
    assert_null(replaces);
    assert_null(json_object_get(c, "m.relates_to"));
    assert_string_equal(str(c, "body", NULL), "fixed");
    json_decref(c);
}

static void replies_lose_the_xmpp_quote(void **state)
{
    (void)state;
    char *replaces;
    const char *why;
    /* "> question\n" is the fallback quote: code points [0, 11). */
    struct xmsg m = { .type = "chat", .body = "> question\nanswer",
                      .reply_id = "s1", .fallback_start = 0,
                      .fallback_end = 11, .unstyled = true };
    json_t *c = x2m_translate(&m, &env, &replaces, &why);
    assert_string_equal(str(c, "body", NULL), "answer");
    json_t *rel = json_object_get(json_object_get(c, "m.relates_to"),
                                  "m.in_reply_to");
    assert_string_equal(json_string_value(json_object_get(rel, "event_id")),
                        "$e1");
    json_decref(c);

    /* A reply to something that never crossed keeps its quote. */
    m.reply_id = "unknown";
    c = x2m_translate(&m, &env, &replaces, &why);
    assert_string_equal(str(c, "body", NULL), "> question\nanswer");
    assert_null(json_object_get(c, "m.relates_to"));
    json_decref(c);
}

static void styling_and_mentions_become_html(void **state)
{
    (void)state;
    char *replaces;
    const char *why;
    struct xmsg_ref ref = { (char *)"xmpp:bob%25hs@gw", 0, 3 };
    struct xmsg m = { .type = "chat", .body = "bob: *really*", .refs = &ref,
                      .n_refs = 1 };
    json_t *c = x2m_translate(&m, &env, &replaces, &why);
    const char *html = str(c, "formatted_body", NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "https://matrix.to/#/@bob:hs"));
    assert_non_null(strstr(html, "<strong>really</strong>"));
    json_t *ids = json_object_get(json_object_get(c, "m.mentions"),
                                  "user_ids");
    assert_int_equal(json_array_size(ids), 1);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), "@bob:hs");
    json_decref(c);

    /* XHTML-IM is what the sender meant: it wins over styling, sanitised. */
    struct xmsg x = { .type = "chat", .body = "hi",
                      .xhtml = "<p>hi <script>x</script><em>you</em></p>" };
    c = x2m_translate(&x, &env, &replaces, &why);
    html = str(c, "formatted_body", NULL);
    assert_non_null(strstr(html, "<em>you</em>"));
    assert_null(strstr(html, "script"));
    json_decref(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_and_emotes),
        cmocka_unit_test(corrections_edit_the_original),
        cmocka_unit_test(replies_lose_the_xmpp_quote),
        cmocka_unit_test(styling_and_mentions_become_html),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
