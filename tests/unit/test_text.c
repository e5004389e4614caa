/* The text helpers every message goes through (common/utf8.c,
 * common/strbuf.c): the fast paths must give exactly what the plain
 * one-code-point-at-a-time versions give, on valid and broken input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/strbuf.h"
#include "common/utf8.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_valid_input_is_copied),
        cmocka_unit_test(utf8_invalid_bytes_are_replaced),
        cmocka_unit_test(utf8_length_bounds_the_scan),
        cmocka_unit_test(utf8_random_input_matches_reference),
        cmocka_unit_test(strbuf_appends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
