/* The one translation of a Matrix message towards XMPP (gateway/m2x.c):
 * text, files, edits, replies and mentions, with the gateway's lookups
 * played by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/mem.h"
#include "gateway/core/m2x.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ids ids = { "_xmpp_", "_xmpp_", "hs.example",
                                "gw.example", "_xmpp" };

/* Events that crossed: $orig as stanza "s-orig" sent with origin-id
 * "o-orig". */
static char *lookup(void *ud, const char *event_id, bool correction)
{
    int *calls = ud;
    (*calls)++;
    if (strcmp(event_id, "$orig") != 0)
        return NULL;
    return xstrdup(correction ? "o-orig" : "s-orig");
}

static char *proxy(void *ud, const struct mx_message *msg, const char *name,
                   const char **why)
{
    (void)ud;
    if (msg->file)
        return xasprintf("https://gw.example/media/e/sealed/%s", name);
    if (strncmp(msg->url, "mxc://", 6) != 0) {
        *why = "not an mxc URI";
        return NULL;
    }
    return xasprintf("https://gw.example/media/%s/%s", msg->url + 6, name);
}

static int calls;
static const struct m2x_env env = { 1000, 5000, &ids, lookup, proxy, &calls };

static void plain_text_and_emotes(void **state)
{
    (void)state;
    struct m2x_message out;
    const char *why;
    struct mx_message msg = { .msgtype = "m.text", .body = "hello" };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), 0);
    assert_string_equal(out.body, "hello");
    assert_string_equal(out.type, "chat");
    assert_null(out.oob_url);
    assert_null(out.replace_id);
    assert_null(out.reply_id);
    assert_int_equal(out.n_refs, 0);
    m2x_message_free(&out);

    msg = (struct mx_message){ .msgtype = "m.emote", .body = "waves" };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), 0);
    assert_string_equal(out.body, "/me waves");
    m2x_message_free(&out);

    msg = (struct mx_message){ .msgtype = "m.text" };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), -1);
    assert_non_null(why);

    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    msg = (struct mx_message){ .msgtype = "m.text", .body = big };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), -1);
    assert_non_null(strstr(why, "larger"));
}

static void files_become_their_url(void **state)
{
    (void)state;
    struct m2x_message out;
    const char *why;
    /* A caption: the filename differs from the body. */
    struct mx_message msg = { .msgtype = "m.image", .body = "our cat",
                              .url = "mxc://hs.example/abc",
                              .filename = "cat.png", .size = 100 };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), 0);
    assert_string_equal(out.oob_url,
                        "https://gw.example/media/hs.example/abc/cat.png");
    assert_string_equal(out.body,
                        "our cat\nhttps://gw.example/media/hs.example/abc/"
                        "cat.png");
    m2x_message_free(&out);

    /* No caption: the body is the file's name, and only the URL shows. */
    msg = (struct mx_message){ .msgtype = "m.file", .body = "notes.pdf",
                               .url = "mxc://hs.example/def", .size = -1 };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), 0);
    assert_string_equal(out.body,
                        "https://gw.example/media/hs.example/def/notes.pdf");
    m2x_message_free(&out);

    /* A sticker is named by its type. */
    msg = (struct mx_message){ .msgtype = "m.sticker", .body = "a cat",
                               .url = "mxc://hs.example/st",
                               .mimetype = "image/webp", .size = 10 };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), 0);
    assert_non_null(strstr(out.oob_url, "/sticker.webp"));
    m2x_message_free(&out);

    /* Too large, or a URI the proxy cannot serve: refused, with why. */
    msg = (struct mx_message){ .msgtype = "m.video", .body = "v.mp4",
                               .url = "mxc://hs.example/v", .size = 6000 };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), -1);
    assert_non_null(strstr(why, "larger"));
    msg = (struct mx_message){ .msgtype = "m.image", .body = "x.png",
                               .url = "http://elsewhere/x", .size = 1 };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), -1);
    assert_string_equal(why, "not an mxc URI");
}

static void edits_and_replies_name_what_crossed(void **state)
{
    (void)state;
    struct m2x_message out;
    const char *why;
    struct mx_message msg = { .msgtype = "m.text", .body = "fixed",
                              .replaces = "$orig" };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), 0);
    assert_string_equal(out.replace_id, "o-orig"); /* the sender's own id */
    assert_null(out.reply_id);
    m2x_message_free(&out);

    msg = (struct mx_message){ .msgtype = "m.text",
                               .body = "> <@bob:hs.example> question\n\n"
                                       "answer",
                               .reply_to = "$orig" };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), 0);
    assert_string_equal(out.reply_id, "s-orig"); /* the stanza id */
    assert_true(out.fallback_len > 0);
    assert_int_equal(strncmp(out.body, "> question\n", 11), 0);
    m2x_message_free(&out);

    /* A reply to something that never crossed is a plain message. */
    msg.reply_to = "$unknown";
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), 0);
    assert_null(out.reply_id);
    assert_int_equal(out.fallback_len, 0);
    m2x_message_free(&out);

    /* Without a lookup (gateway-mode rooms), the event id is the id. */
    struct m2x_env same = env;
    same.xmpp_id = NULL;
    msg = (struct mx_message){ .msgtype = "m.text", .body = "fixed",
                               .replaces = "$anything" };
    assert_int_equal(m2x_translate(&msg, &same, &out, &why), 0);
    assert_string_equal(out.replace_id, "$anything");
    m2x_message_free(&out);
}

static void mentions_become_references(void **state)
{
    (void)state;
    struct m2x_message out;
    const char *why;
    struct mx_message msg = {
        .msgtype = "m.text", .body = "Bob: hi",
        .html = "<a href=\"https://matrix.to/#/@bob:hs.example\">Bob</a>: hi",
    };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), 0);
    assert_string_equal(out.body, "Bob: hi");
    assert_int_equal(out.n_refs, 1);
    assert_string_equal(out.refs[0].uri, "xmpp:bob%25hs.example@gw.example");
    assert_int_equal(out.refs[0].begin, 0);
    assert_int_equal(out.refs[0].end, 3);

    struct xmsg x = { 0 };
    m2x_fill_xmsg(&out, &x);
    assert_ptr_equal(x.body, out.body);
    assert_int_equal(x.n_refs, 1);
    m2x_message_free(&out);

    /* After a reply's quote, the mention moves with the text. */
    msg.body = "> <@carol:hs.example> q\n\nBob: hi";
    msg.html = "<mx-reply>q</mx-reply>"
               "<a href=\"https://matrix.to/#/@bob:hs.example\">Bob</a>: hi";
    msg.reply_to = "$orig";
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), 0);
    assert_int_equal(out.n_refs, 1);
    int quote = out.fallback_len;
    assert_true(quote > 0);
    assert_int_equal(out.refs[0].begin, quote);
    assert_int_equal(strncmp(out.body + strlen("> q\n"), "Bob", 3), 0);
    m2x_message_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_text_and_emotes),
        cmocka_unit_test(files_become_their_url),
        cmocka_unit_test(edits_and_replies_name_what_crossed),
        cmocka_unit_test(mentions_become_references),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
