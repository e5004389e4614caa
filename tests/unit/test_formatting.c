/* The formatting converters (gateway/formatting.c): Matrix HTML ->
 * XEP-0393, XEP-0393 -> HTML, the XHTML-IM sanitiser, pills and mentions,
 * and hostile input (script, javascript: links, event handlers, broken
 * and absurdly deep nesting). Also the XHTML-IM and reference parts of
 * xep/message.c and the formatted_body of matrix/event.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/mem.h"
#include "common/strbuf.h"
#include "gateway/core/formatting.h"
#include "gateway/core/translate.h"
#include "matrix/event.h"
#include "xep/message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void styled(const char *html, const char *expect)
{
    char *out = fmt_html_to_styled(html, NULL, NULL);
    if (strcmp(out, expect) != 0)
        fail_msg("html %s\n  gave [%s]\n  want [%s]", html, out, expect);
    free(out);
}

static void test_html_to_styled_spans(void **state)
{
    (void)state;
    styled("<strong>bold</strong> and <em>it</em>", "*bold* and _it_");
    styled("<b>b</b> <i>i</i> <del>d</del> <s>s</s> <strike>k</strike>",
           "*b* _i_ ~d~ ~s~ ~k~");
    styled("run <code>make -j2</code> now", "run `make -j2` now");
    styled("<b><b>twice</b></b>", "*twice*");
    styled("<b></b>empty", "empty");
    styled("<code>a <b>not bold</b></code>", "`a not bold`");
    styled("a &amp; b &lt;c&gt; &quot;d&quot; &#x263A;", "a & b <c> \"d\" \xe2\x98\xba");
    styled("plain text", "plain text");
    styled("", "");
}

static void test_html_to_styled_blocks(void **state)
{
    (void)state;
    styled("<p>one</p><p>two</p>", "one\n\ntwo");
    styled("a<br>b<br/>c", "a\nb\nc");
    styled("<pre><code>x = 1;\ny = 2;\n</code></pre>after",
           "```\nx = 1;\ny = 2;\n```\nafter");
    styled("<blockquote>quoted<br>twice</blockquote>reply",
           "> quoted\n> twice\nreply");
    styled("<blockquote><blockquote>deep</blockquote>in</blockquote>",
           "> > deep\n> in");
    styled("<ul><li>one</li><li>two</li></ul>", "- one\n- two");
    styled("<ol start=\"3\"><li>c</li><li>d</li></ol>", "3. c\n4. d");
    styled("<ul><li>a<ul><li>b</li></ul></li></ul>", "- a\n  - b");
    styled("<h1>Title</h1>text", "*Title*\ntext");
    styled("a<hr>b", "a\n---\nb");
    styled("  lots   of\n\n  space  ", "lots of space");
}

static void test_html_to_styled_links(void **state)
{
    (void)state;
    styled("see <a href=\"https://example.org/x\">the docs</a>",
           "see the docs <https://example.org/x>");
    styled("<a href=\"https://example.org\">https://example.org</a>",
           "https://example.org");
    styled("<a href=\"mailto:a@b.c\">a@b.c</a>", "a@b.c");
    styled("<a href=\"https://example.org\"></a>", "https://example.org");
    styled("<a href=\"javascript:alert(1)\">click</a>", "click");
    styled("<a href=\"JaVaScRiPt:alert(1)\">click</a>", "click");
    styled("<a href=\"/relative\">rel</a>", "rel");
}

static void test_html_to_styled_drops(void **state)
{
    (void)state;
    styled("hi<script>alert(1)</script> there", "hi there");
    styled("<style>p{}</style>text", "text");
    styled("<mx-reply><blockquote><a href=\"https://matrix.to/#/!r:hs/$e\">"
           "In reply to</a> <a href=\"https://matrix.to/#/@a:hs\">@a:hs"
           "</a><br>earlier</blockquote></mx-reply>my answer",
           "my answer");
    styled("<unknown>kept <blink>text</blink></unknown>", "kept text");
    styled("<img src=\"mxc://hs/x\" alt=\"cat\" onerror=\"alert(1)\">",
           "cat");
    /* Broken markup still yields its text. */
    styled("<b>unclosed <i>tags", "*unclosed _tags_*");
    styled("</b>stray</i> closers", "stray closers");
    styled("<<<>>>&&&;", "<<<>>>&&&;");
}

static void test_pills(void **state)
{
    (void)state;
    struct fmt_mention *m;
    size_t n;
    char *out = fmt_html_to_styled(
        "hi <a href=\"https://matrix.to/#/@bob:localhost\">Bob</a> and "
        "<a href=\"https://matrix.to/#/%40al%C3%A9:hs?via=hs\">Alé</a>!",
        &m, &n);
    assert_string_equal(out, "hi Bob and Alé!");
    assert_int_equal(n, 2);
    assert_string_equal(m[0].mxid, "@bob:localhost");
    assert_int_equal(m[0].begin, 3);
    assert_int_equal(m[0].end, 6);
    assert_string_equal(m[1].mxid, "@alé:hs");
    assert_int_equal(m[1].begin, 11);
    assert_int_equal(m[1].end, 14);
    fmt_mentions_free(m, n);
    free(out);

    /* A room permalink is a link, not a pill. */
    out = fmt_html_to_styled(
        "<a href=\"https://matrix.to/#/#room:hs\">the room</a>", &m, &n);
    assert_string_equal(out, "the room <https://matrix.to/#/#room:hs>");
    assert_int_equal(n, 0);
    free(out);
    fmt_mentions_free(m, n);

    char *id = fmt_pill_mxid("https://matrix.to/#/@x:y");
    assert_string_equal(id, "@x:y");
    free(id);
    assert_null(fmt_pill_mxid("https://matrix.to/#/@x:y/$event"));
    assert_null(fmt_pill_mxid("https://evil.example/#/@x:y"));
    assert_null(fmt_pill_mxid("https://matrix.to/#/@nocolon"));
}

static void test_xmpp_uris(void **state)
{
    (void)state;
    char *uri = fmt_xmpp_uri("#room%hs@gw.example/Bob B\xc3\xa9");
    assert_string_equal(uri, "xmpp:%23room%25hs@gw.example/Bob%20B%C3%A9");
    char *jid = fmt_xmpp_uri_jid(uri);
    assert_string_equal(jid, "#room%hs@gw.example/Bob B\xc3\xa9");
    free(jid);
    free(uri);
    jid = fmt_xmpp_uri_jid("xmpp:alice@example.org?message");
    assert_string_equal(jid, "alice@example.org");
    free(jid);
    /* Unencoded as some clients send it. */
    jid = fmt_xmpp_uri_jid("xmpp:bob%hs@gw");
    assert_string_equal(jid, "bob%hs@gw");
    free(jid);
    assert_null(fmt_xmpp_uri_jid("https://example.org"));
    assert_null(fmt_xmpp_uri_jid("xmpp:a%00b@c"));
    assert_null(fmt_xmpp_uri_jid("xmpp:"));
}

static void html(const char *text, const char *expect)
{
    char *out = fmt_styled_to_html(text, NULL, 0);
    if (!expect) {
        if (out)
            fail_msg("text [%s] gave html [%s], want none", text, out);
        return;
    }
    if (!out || strcmp(out, expect) != 0)
        fail_msg("text [%s]\n  gave [%s]\n  want [%s]", text,
                 out ? out : "(none)", expect);
    free(out);
}

static void test_styled_to_html(void **state)
{
    (void)state;
    html("*bold* and _it_", "<strong>bold</strong> and <em>it</em>");
    html("~gone~ `co*de*`", "<del>gone</del> <code>co*de*</code>");
    html("*_both_*", "<strong><em>both</em></strong>");
    html("plain <text> & \"quotes\"", NULL);
    html("2*3*4 and snake_case_name", NULL);
    html("a * b * c", NULL);
    html("* not a list item", NULL);
    html("*not closed", NULL);
    html("*across\nlines*", NULL);
    html("**", NULL);
    html("*a* <b>", "<strong>a</strong> &lt;b&gt;");
    html("it's *great* \"ok\"", "it's <strong>great</strong> \"ok\"");
    html("```\nint x = <1>;\n```\nafter *b*",
         "<pre><code>int x = &lt;1&gt;;\n</code></pre>after <strong>b"
         "</strong>");
    html("```\nunclosed", "<pre><code>unclosed\n</code></pre>");
    html("> quoted *b*\n> more\nreply",
         "<blockquote>quoted <strong>b</strong><br>more</blockquote>reply");
    html("> > nested\n> outer",
         "<blockquote><blockquote>nested</blockquote>outer</blockquote>");
    html("line one\n*line two*", "line one<br><strong>line two</strong>");
    html("", NULL);
}

static void test_styled_mentions(void **state)
{
    (void)state;
    struct fmt_mention m[] = {
        { "@bob:localhost", 3, 6 },
        { "@x:hs", 100, 120 },      /* past the end: ignored */
        { "@y:hs", 4, 5 },          /* overlaps the first: ignored */
    };
    char *out = fmt_styled_to_html("hi Bob, *look*", m, 3);
    assert_string_equal(out, "hi <a href=\"https://matrix.to/#/@bob:localhost"
                             "\">Bob</a>, <strong>look</strong>");
    free(out);
    /* A mention alone makes a formatted body. */
    struct fmt_mention a = { "@a\"<b>:hs", 0, 3 };
    out = fmt_styled_to_html("Zoé hello", &a, 1);
    assert_string_equal(out, "<a href=\"https://matrix.to/#/@a&quot;&lt;b"
                             "&gt;:hs\">Zoé</a> hello");
    free(out);
    /* <unstyled/>: the mention, and nothing else, is markup. */
    struct fmt_mention b = { "@b:hs", 0, 3 };
    out = fmt_mentions_to_html("Bob *not bold*\n> no quote", &b, 1);
    assert_string_equal(out, "<a href=\"https://matrix.to/#/@b:hs\">Bob</a>"
                             " *not bold*<br>&gt; no quote");
    free(out);
    assert_null(fmt_mentions_to_html("*x*", NULL, 0));
}

static void sanitized(const char *in, const char *expect)
{
    char *out = fmt_sanitize_html(in);
    if (!expect) {
        if (out)
            fail_msg("html %s gave [%s], want none", in, out);
        return;
    }
    if (!out || strcmp(out, expect) != 0)
        fail_msg("html %s\n  gave [%s]\n  want [%s]", in,
                 out ? out : "(none)", expect);
    free(out);
}

static void test_sanitize(void **state)
{
    (void)state;
    sanitized("<strong>bold</strong> <em style=\"color:red\">it</em>",
              "<strong>bold</strong> <em>it</em>");
    sanitized("hi<script>alert(1)</script>!", "hi!");
    sanitized("<a href=\"javascript:alert(1)\">x</a>", "<a>x</a>");
    sanitized("<a href=\" javascript:alert(1)\">x</a>", "<a>x</a>");
    sanitized("<a href=\"java&#x09;script:alert(1)\">x</a>", "<a>x</a>");
    sanitized("<a href=\"https://example.org/?a=1&amp;b=2\" onclick=\"x()\">"
              "ok</a>",
              "<a href=\"https://example.org/?a=1&amp;b=2\">ok</a>");
    sanitized("<img src=\"https://tracker.example/x.png\" onerror=\"x()\">"
              "text", "text");
    sanitized("<img src=\"mxc://hs/abc\" alt=\"a\" onerror=\"x()\">",
              "<img src=\"mxc://hs/abc\" alt=\"a\">");
    sanitized("<font color=\"#ff0000\" face=\"x\">red</font>",
              "<font color=\"#ff0000\">red</font>");
    sanitized("<font color=\"red;background:url(x)\">red</font>",
              "<font>red</font>");
    sanitized("<code class=\"language-c\">x</code><code class=\"evil x\">y"
              "</code>", "<code class=\"language-c\">x</code><code>y</code>");
    sanitized("<iframe src=\"https://x\">inner</iframe>after", "after");
    sanitized("<marquee>moving</marquee>", "moving");
    sanitized("<p>unclosed <b>tags", "<p>unclosed <b>tags</b></p>");
    sanitized("a<br/>b", "a<br>b");
    sanitized("&lt;script&gt;", "&lt;script&gt;");
    sanitized("<script>only</script>", NULL);
    sanitized("  ", NULL);
    sanitized("", NULL);
}

/* Nesting beyond the frame limit keeps its text; nesting far beyond
 * libxml2's own limit (256) stops the parse, and must neither exhaust the
 * stack nor produce output growing faster than the input. */
static void test_deep_nesting(void **state)
{
    (void)state;
    const char *tags[] = { "b", "blockquote", "ul", "div", "li", "a" };
    const int depths[] = { 200, 100000 };
    for (size_t t = 0; t < sizeof tags / sizeof *tags; t++) {
        for (int d = 0; d < 2; d++) {
            struct strbuf sb = STRBUF_INIT;
            for (int i = 0; i < depths[d]; i++)
                strbuf_printf(&sb, "<%s>", tags[t]);
            strbuf_puts(&sb, "deep");
            char *out = fmt_html_to_styled(sb.data, NULL, NULL);
            if (d == 0)
                assert_non_null(strstr(out, "deep"));
            assert_true(strlen(out) < sb.len);
            free(out);
            out = fmt_sanitize_html(sb.data);
            if (d == 0) {
                assert_non_null(out);
                assert_non_null(strstr(out, "deep"));
            }
            assert_true(!out || strlen(out) < 3 * sb.len); /* <li> closes <li> */
            free(out);
            strbuf_free(&sb);
        }
    }
    struct strbuf q = STRBUF_INIT;
    for (int i = 0; i < 100000; i++)
        strbuf_putc(&q, '>');
    strbuf_puts(&q, " *x*");
    char *out = fmt_styled_to_html(q.data, NULL, 0);
    assert_non_null(out);
    free(out);
    strbuf_free(&q);
}

/* ----------------------------------------------- the message stanza -- */

static void test_xmsg_xhtml_and_refs(void **state)
{
    (void)state;
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx,
        "<message from='a@x/r' to='b@y' type='chat'><body>hi Bob</body>"
        "<html xmlns='http://jabber.org/protocol/xhtml-im'>"
        "<body xmlns='http://www.w3.org/1999/xhtml'>hi <strong>Bob</strong>"
        "<script>x</script></body></html>"
        "<reference xmlns='urn:xmpp:reference:0' type='mention' begin='3' "
        "end='6' uri='xmpp:bob@y'/>"
        "<reference xmlns='urn:xmpp:reference:0' type='data' begin='0' "
        "end='1' uri='https://x'/>"
        "<reference xmlns='urn:xmpp:reference:0' type='mention' begin='-1' "
        "end='2' uri='xmpp:c@y'/>"
        "<unstyled xmlns='urn:xmpp:styling:0'/></message>");
    struct xmsg m;
    const char *why;
    assert_int_equal(xmsg_parse(st, &m, &why), 0);
    assert_non_null(m.xhtml);
    char *clean = fmt_sanitize_html(m.xhtml);
    assert_string_equal(clean, "hi <strong>Bob</strong>");
    free(clean);
    assert_int_equal(m.n_refs, 1);
    assert_string_equal(m.refs[0].uri, "xmpp:bob@y");
    assert_int_equal(m.refs[0].begin, 3);
    assert_int_equal(m.refs[0].end, 6);
    assert_true(m.unstyled);
    xmpp_stanza_t *again = xmsg_build(ctx, &m);
    char *xml = xmsg_stanza_to_xml(again);
    assert_non_null(strstr(xml, "<reference xmlns=\"urn:xmpp:reference:0\" "));
    assert_non_null(strstr(xml, "uri=\"xmpp:bob@y\""));
    free(xml);
    xmpp_stanza_release(again);
    xmsg_free(&m);
    xmpp_stanza_release(st);
    xmpp_ctx_free(ctx);
}

static void test_formatted_event_to_xmpp(void **state)
{
    (void)state;
    json_t *ev = json_loads(
        "{\"event_id\":\"$e\",\"room_id\":\"!r:hs\",\"sender\":\"@b:hs\","
        "\"type\":\"m.room.message\",\"content\":{\"msgtype\":\"m.text\","
        "\"body\":\"> <@a:hs> q\\n\\nhi Al\",\"format\":"
        "\"org.matrix.custom.html\",\"formatted_body\":\"<mx-reply>"
        "<blockquote>q</blockquote></mx-reply><b>hi</b> <a href=\\\""
        "https://matrix.to/#/@al:hs\\\">Al</a>\",\"m.relates_to\":"
        "{\"m.in_reply_to\":{\"event_id\":\"$q\"}}}}", 0, NULL);
    struct mx_event e;
    struct mx_message msg;
    const char *why, *type;
    assert_int_equal(mx_event_parse(ev, &e, &why), 0);
    assert_int_equal(mx_message_parse(&e, &msg, &why), 0);
    char *body;
    struct fmt_mention *m;
    size_t n;
    assert_int_equal(translate_to_xmpp_rich(&msg, 1000, &body, &type, &m, &n,
                                            &why), 0);
    /* The plain fallback stays for relations_to_xmpp to rewrite. */
    assert_string_equal(body, "> <@a:hs> q\n\n*hi* Al");
    assert_int_equal(n, 1);
    assert_int_equal(m[0].begin, 18);
    assert_int_equal(m[0].end, 20);
    fmt_mentions_free(m, n);
    free(body);
    json_decref(ev);

    /* An edit's formatted text is the new one. */
    ev = json_loads(
        "{\"event_id\":\"$e\",\"room_id\":\"!r:hs\",\"sender\":\"@b:hs\","
        "\"type\":\"m.room.message\",\"content\":{\"msgtype\":\"m.text\","
        "\"body\":\"* x\",\"format\":\"org.matrix.custom.html\","
        "\"formatted_body\":\"* <i>x</i>\",\"m.new_content\":{\"msgtype\":"
        "\"m.text\",\"body\":\"x\",\"format\":\"org.matrix.custom.html\","
        "\"formatted_body\":\"<i>x</i>\"},\"m.relates_to\":{\"rel_type\":"
        "\"m.replace\",\"event_id\":\"$o\"}}}", 0, NULL);
    assert_int_equal(mx_event_parse(ev, &e, &why), 0);
    assert_int_equal(mx_message_parse(&e, &msg, &why), 0);
    assert_int_equal(translate_to_xmpp(&msg, 1000, &body, &type, &why), 0);
    assert_string_equal(body, "_x_");
    free(body);
    json_decref(ev);
}

int main(void)
{
    xmpp_initialize();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_to_styled_spans),
        cmocka_unit_test(test_html_to_styled_blocks),
        cmocka_unit_test(test_html_to_styled_links),
        cmocka_unit_test(test_html_to_styled_drops),
        cmocka_unit_test(test_pills),
        cmocka_unit_test(test_xmpp_uris),
        cmocka_unit_test(test_styled_to_html),
        cmocka_unit_test(test_styled_mentions),
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_xmsg_xhtml_and_refs),
        cmocka_unit_test(test_formatted_event_to_xmpp),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    xmpp_shutdown();
    return r;
}
