/* The text helpers every message goes through (common/utf8.c,
 * common/strbuf.c, matrix/json_write.c): the fast paths must give exactly what the plain
 * one-code-point-at-a-time versions give, on valid and broken input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/strbuf.h"
#include "common/utf8.h"
#include "matrix/json_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------- reference implementations -- */

/* Unicode's definition, written out the slow and obvious way: the length
 * of the well-formed sequence at s, 0 if there is none. */
static size_t ref_seq_len(const unsigned char *s, size_t n)
{
    unsigned int c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0; /* overlong */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong */
    else if (c == 0xf4)
        hi = 0x8f; /* above U+10FFFF */
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* One code point per append, one U+FFFD per bad byte. Caller frees. */
static char *ref_sanitize(const char *s, size_t n, size_t *out_len)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < n;) {
        size_t l = ref_seq_len((const unsigned char *)s + i, n - i);
        if (l) {
            strbuf_append(&sb, s + i, l);
            i += l;
        } else {
            strbuf_append(&sb, "\xef\xbf\xbd", 3);
            i++;
        }
    }
    *out_len = sb.len;
    return strbuf_detach(&sb);
}

static size_t ref_valid_prefix(const char *s, size_t n)
{
    size_t i = 0, l;
    while (i < n && (l = ref_seq_len((const unsigned char *)s + i, n - i)))
        i += l;
    return i;
}

/* Both ways agree on s[0..n); the sanitised copy is as long as claimed. */
static void check_same(const char *s, size_t n)
{
    size_t ref_len;
    char *want = ref_sanitize(s, n, &ref_len);
    char *got = utf8_sanitize(s, n);
    assert_memory_equal(got, want, ref_len + 1);
    assert_int_equal(utf8_valid_prefix(s, n), ref_valid_prefix(s, n));
    assert_int_equal(utf8_valid(s, n), ref_valid_prefix(s, n) == n);
    free(got);
    /* The owning variant: the same text, and the same buffer back when
     * nothing needed replacing. */
    char *mine = malloc(n + 1);
    memcpy(mine, s, n);
    mine[n] = '\0';
    char *owned = utf8_sanitize_owned(mine, n);
    assert_memory_equal(owned, want, ref_len + 1);
    if (ref_valid_prefix(s, n) == n)
        assert_ptr_equal(owned, mine);
    free(owned);
    free(want);
}

static void check_sanitize(const char *in, size_t n, const char *want)
{
    char *got = utf8_sanitize(in, n);
    assert_string_equal(got, want);
    free(got);
    check_same(in, n);
}

#define SANE(in, want) check_sanitize(in, sizeof in - 1, want)
#define FFFD "\xef\xbf\xbd"

/* ------------------------------------------------------------- tests -- */

static void utf8_valid_input_is_copied(void **state)
{
    (void)state;
    SANE("", "");
    SANE("plain ascii, longer than one word of eight bytes",
         "plain ascii, longer than one word of eight bytes");
    SANE("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
         "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf");
    SANE("\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80",
         "\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xf0\x90\x80\x80");
    /* A NUL inside the given length is a character like any other. */
    char nul[] = "a\0b";
    char *got = utf8_sanitize(nul, 3);
    assert_memory_equal(got, "a\0b", 4);
    free(got);
}

static void utf8_invalid_bytes_are_replaced(void **state)
{
    (void)state;
    SANE("bad \xc3 utf8", "bad " FFFD " utf8");
    SANE("\x80", FFFD);
    SANE("\xbf\x80 stray continuations", FFFD FFFD " stray continuations");
    SANE("\xfe\xff", FFFD FFFD);
    SANE("\xc0\xaf overlong slash", FFFD FFFD " overlong slash");
    SANE("\xe0\x80\xaf", FFFD FFFD FFFD);
    SANE("\xf0\x80\x80\xaf", FFFD FFFD FFFD FFFD);
    SANE("\xed\xa0\x80 surrogate", FFFD FFFD FFFD " surrogate");
    SANE("\xed\xbf\xbf", FFFD FFFD FFFD);
    SANE("\xf4\x90\x80\x80 too high", FFFD FFFD FFFD FFFD " too high");
    SANE("\xf5\x80\x80\x80", FFFD FFFD FFFD FFFD);
    /* Truncated sequences, at the end and before more text. */
    SANE("end \xe2\x82", "end " FFFD FFFD);
    SANE("end \xf0\x9f\x98", "end " FFFD FFFD FFFD);
    SANE("\xe2\x82x \xf0\x9f\x98y", FFFD FFFD "x " FFFD FFFD FFFD "y");
    /* Bad bytes at word boundaries of the ASCII skip. */
    SANE("1234567\x80" "abcdefgh\xc3", "1234567" FFFD "abcdefgh" FFFD);
    SANE("12345678\xe2\x82\xac" "12345678", "12345678\xe2\x82\xac" "12345678");
}

static void utf8_length_bounds_the_scan(void **state)
{
    (void)state;
    /* A valid sequence cut by n is truncated, not read past. */
    char *got = utf8_sanitize("ab\xe2\x82\xac", 4);
    assert_string_equal(got, "ab" FFFD FFFD);
    free(got);
    assert_int_equal(utf8_valid_prefix("ab\xe2\x82\xac", 4), 2);
    assert_int_equal(utf8_valid_prefix("ab\xe2\x82\xac", 5), 5);
}

/* Random strings weighted towards the bytes that make UTF-8 interesting:
 * every answer must match the reference. */
static void utf8_random_input_matches_reference(void **state)
{
    (void)state;
    static const unsigned char bytes[] = {
        'a', ' ', '<', 0x00, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
        0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee, 0xef, 0xf0,
        0xf1, 0xf4, 0xf5, 0xff,
    };
    srand(12345);
    char buf[40];
    for (int round = 0; round < 200000; round++) {
        size_t n = (size_t)(rand() % (int)sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = rand() % 3 ? (char)bytes[rand() % sizeof bytes]
                                : (char)('a' + rand() % 26);
        check_same(buf, n);
    }
}

static void strbuf_appends(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    char *empty = strbuf_detach(&sb);
    assert_string_equal(empty, "");
    free(empty);
    for (int i = 0; i < 1000; i++)
        strbuf_putc(&sb, (char)('a' + i % 26));
    strbuf_append(&sb, "xyz", 2);
    strbuf_puts(&sb, "!");
    assert_int_equal(sb.len, 1003);
    assert_int_equal(strlen(sb.data), 1003);
    assert_memory_equal(sb.data + 998, "klxy!", 6);
    strbuf_reset(&sb);
    strbuf_reserve(&sb, 5000);
    assert_true(sb.cap >= 5001);
    strbuf_printf(&sb, "%d-%s", 42, "x");
    assert_string_equal(sb.data, "42-x");
    strbuf_free(&sb);
}

/* ------------------------------------------------ compact JSON writer -- */

/* json_write_compact gives what json_dumps(JSON_COMPACT) gives, including
 * NULL; takes the reference to v. */
static void check_json(json_t *v)
{
    char *want = json_dumps(v, JSON_COMPACT);
    size_t len = 12345;
    char *got = json_write_compact(v, &len);
    if (!want) {
        assert_null(got);
        assert_int_equal(len, 0);
    } else {
        assert_non_null(got);
        assert_string_equal(got, want);
        assert_int_equal(len, strlen(want));
    }
    free(want);
    free(got);
    json_decref(v);
}

static void json_writer_matches_jansson(void **state)
{
    (void)state;
    check_json(json_pack("{s:s, s:s}", "msgtype", "m.text", "body",
                         "Hello \xf0\x9f\x98\x80"));
    check_json(json_object());
    check_json(json_array());
    check_json(json_pack("{s:{}, s:[], s:[{}, []], s:n, s:b, s:b}", "o", "a",
                         "n", "nul", "t", 1, "f", 0));
    check_json(json_pack("{s:I, s:I, s:I, s:i}", "max",
                         (json_int_t)9223372036854775807LL, "min",
                         (json_int_t)(-9223372036854775807LL - 1), "zero",
                         (json_int_t)0, "neg", -42));
    check_json(json_pack("[s, s, s, s]", "quote \" backslash \\ slash /",
                         "\b\f\n\r\t", "\x01\x1f\x7f", "caf\xc3\xa9"));
    check_json(json_pack("{s:s}", "key \"with\" \\escapes\n", "v"));
    /* Every control character, and a NUL inside a string. */
    char ctl[32];
    for (int i = 0; i < 32; i++)
        ctl[i] = (char)i;
    check_json(json_pack("[s#]", ctl, (int)sizeof ctl));
    /* Ill-formed UTF-8 smuggled in: both refuse. */
    json_t *bad = json_array();
    json_array_append_new(bad, json_stringn_nocheck("a\xc3", 2));
    check_json(bad);
    /* A top-level scalar is refused too, without JSON_ENCODE_ANY. */
    check_json(json_string("alone"));
    check_json(json_integer(1));
    /* Reals are jansson's to write, wherever they are. */
    check_json(json_pack("{s:f, s:[f]}", "r", 0.1, "a", 1e300));
    /* Deep nesting goes past the writer's own depth limit. */
    json_t *deep = json_array();
    for (int i = 0; i < 100; i++)
        deep = json_pack("{s:o, s:i}", "in", deep, "i", i);
    check_json(deep);
    /* Keys keep their insertion order, after updates and deletions. */
    json_t *o = json_pack("{s:i, s:i, s:i, s:i}", "z", 1, "a", 2, "m", 3,
                          "b", 4);
    json_object_set_new(o, "a", json_string("again"));
    json_object_del(o, "m");
    json_object_set_new(o, "m", json_true());
    check_json(o);
}

/* Random nested values: same text as jansson every time. */
static json_t *random_value(int depth)
{
    static const char *const strs[] = {
        "", "x", "\"", "\\", "/", "\n\t", "\x01", "caf\xc3\xa9",
        "\xf0\x9f\x98\x80", "<tag attr='1'>&amp;</tag>",
    };
    int kind = rand() % (depth > 4 ? 5 : 7);
    switch (kind) {
    case 0: return json_string(strs[rand() % 10]);
    case 1: return json_integer((json_int_t)rand() - RAND_MAX / 2);
    case 2: return json_null();
    case 3: return json_boolean(rand() % 2);
    case 4: return json_string(strs[rand() % 10]);
    case 5: {
        json_t *a = json_array();
        for (int i = rand() % 4; i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (int i = rand() % 4; i > 0; i--)
            json_object_set_new(o, strs[rand() % 10], random_value(depth + 1));
        return o;
    }
    }
}

static void json_writer_random_values(void **state)
{
    (void)state;
    srand(777);
    for (int i = 0; i < 20000; i++) {
        json_t *v = json_object();
        json_object_set_new(v, "v", random_value(0));
        check_json(v);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_valid_input_is_copied),
        cmocka_unit_test(utf8_invalid_bytes_are_replaced),
        cmocka_unit_test(utf8_length_bounds_the_scan),
        cmocka_unit_test(utf8_random_input_matches_reference),
        cmocka_unit_test(strbuf_appends),
        cmocka_unit_test(json_writer_matches_jansson),
        cmocka_unit_test(json_writer_random_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
