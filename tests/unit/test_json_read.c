/* matrix/json_read.c against jansson's own json_loadb: for every input
 * both must accept or both refuse, and what they accept must be the same
 * tree (same values, same key order, same types). Fixed cases pin down
 * each rule; the random ones dump generated trees with jansson and then
 * break the text in small ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "matrix/json_read.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------- harness -- */

/* The verdict of both parsers on text[0..len), checked to agree; true if
 * they accepted it. On a disagreement the input is printed, escaped. */
static bool agree(const char *text, size_t len)
{
    json_t *want = json_loadb(text, len, 0, NULL);
    char err[128];
    json_t *got = json_read(text, len, err, sizeof err);
    bool same = !want == !got;
    if (same && want) {
        char *a = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        /* json_equal ignores key order; the dumps do not. */
        same = json_equal(want, got) && a && b && strcmp(a, b) == 0;
        free(a);
        free(b);
    }
    if (same && !got)
        same = err[0] != '\0'; /* a refusal always says why */
    if (!same) {
        fprintf(stderr, "json_read %s, json_loadb %s, on %zu bytes: ",
                got ? "accepts" : "refuses", want ? "accepts" : "refuses",
                len);
        for (size_t i = 0; i < len && i < 300; i++) {
            unsigned char c = (unsigned char)text[i];
            fprintf(stderr, c >= 0x20 && c < 0x7f ? "%c" : "\\x%02x", c);
        }
        fprintf(stderr, "\n  json_read said: %s\n", got ? "-" : err);
    }
    json_decref(want);
    json_decref(got);
    assert_true(same);
    return got != NULL;
}

#define ACCEPTED(lit) assert_true(agree(lit, sizeof(lit) - 1))
#define REFUSED(lit) assert_false(agree(lit, sizeof(lit) - 1))

static json_t *read_lit(const char *text, size_t len)
{
    json_t *v = json_read(text, len, NULL, 0);
    assert_non_null(v);
    return v;
}
#define READ(lit) read_lit(lit, sizeof(lit) - 1)

/* -------------------------------------------------------- fixed cases -- */

static void top_level(void **state)
{
    (void)state;
    ACCEPTED("{}");
    ACCEPTED("[]");
    ACCEPTED(" \t\r\n{ \t\r\n} \t\r\n");
    /* Without JSON_DECODE_ANY a document is an object or an array. */
    REFUSED("");
    REFUSED("   ");
    REFUSED("1");
    REFUSED("\"a\"");
    REFUSED("true");
    REFUSED("null");
    /* Nothing but whitespace after the value. */
    REFUSED("[] x");
    REFUSED("[][]");
    REFUSED("{}}");
    REFUSED("[]\f");
    REFUSED("\xef\xbb\xbf[]"); /* not even a byte order mark */
    REFUSED("[");
    REFUSED("{");
    REFUSED("[1,");
    REFUSED("{\"a\"");
    REFUSED("{\"a\":");
}

static void structure(void **state)
{
    (void)state;
    ACCEPTED("[1,[2,{\"a\":[]}],{}]");
    ACCEPTED("{\"a\" : 1 , \"b\" :[ true ,false, null ] }");
    REFUSED("[1,]");
    REFUSED("[,1]");
    REFUSED("[1 2]");
    REFUSED("{\"a\":1,}");
    REFUSED("{,}");
    REFUSED("{\"a\" 1}");
    REFUSED("{\"a\":}");
    REFUSED("{1:2}");
    REFUSED("{a:1}");
    REFUSED("[1:2]");
    REFUSED("{\"a\":1 \"b\":2}");
    REFUSED("[truex]");
    REFUSED("[True]");
    REFUSED("[nul]");
    REFUSED("[true1]");
    REFUSED("['a']");
    REFUSED("[NaN]");
    REFUSED("[Infinity]");
}

static void duplicate_keys(void **state)
{
    (void)state;
    /* The later value wins and the key keeps its first place. */
    ACCEPTED("{\"a\":1,\"b\":2,\"a\":3}");
    json_t *o = READ("{\"a\":1,\"b\":2,\"a\":{\"x\":[]}}");
    assert_int_equal(json_object_size(o), 2);
    assert_true(json_is_object(json_object_get(o, "a")));
    assert_string_equal(json_object_iter_key(json_object_iter(o)), "a");
    json_decref(o);
    /* Keys are equal after unescaping. */
    ACCEPTED("{\"a\":1,\"\\u0061\":2}");
}

static void numbers(void **state)
{
    (void)state;
    json_t *v = READ("[-0, 1e5, 1.0, 0, 42, -7, 1E+2, 2.5e-3]");
    assert_true(json_is_integer(json_array_get(v, 0)));
    assert_int_equal(json_integer_value(json_array_get(v, 0)), 0);
    assert_true(json_is_real(json_array_get(v, 1)));
    assert_true(json_real_value(json_array_get(v, 1)) == 1e5);
    assert_true(json_is_real(json_array_get(v, 2)));
    assert_true(json_is_integer(json_array_get(v, 4)));
    assert_int_equal(json_integer_value(json_array_get(v, 5)), -7);
    assert_true(json_is_real(json_array_get(v, 6)));
    json_decref(v);
    ACCEPTED("[-0, 1e5, 1.0, 0, 42, -7, 1E+2, 2.5e-3, -0.0, 0e0, 0E-0]");
    /* json_int_t is long long; one past either end is an error. */
    ACCEPTED("[9223372036854775807]");
    ACCEPTED("[-9223372036854775808]");
    REFUSED("[9223372036854775808]");
    REFUSED("[-9223372036854775809]");
    REFUSED("[18446744073709551616]");
    REFUSED("[123456789012345678901234567890]");
    /* Reals: overflow is an error, underflow is not. */
    ACCEPTED("[1.7976931348623157e308]");
    REFUSED("[1e309]");
    REFUSED("[-1e400]");
    ACCEPTED("[1e-400]");
    ACCEPTED("[4.9e-324]");
    ACCEPTED("[123456789012345678901234567890.0]");
    ACCEPTED("[0.1, 0.2, 0.30000000000000004, 3.141592653589793238462643]");
    ACCEPTED("[1e00000000000000000000000000000000001]");
    ACCEPTED("[0.0000000000000000000000000000000000000000000000000000000000000"
             "000000000000000000000000000000000000000000000000000000000001]");
    /* The grammar. */
    REFUSED("[01]");
    REFUSED("[-01]");
    REFUSED("[00]");
    REFUSED("[+1]");
    REFUSED("[.5]");
    REFUSED("[1.]");
    REFUSED("[1.e5]");
    REFUSED("[1e]");
    REFUSED("[1e+]");
    REFUSED("[-]");
    REFUSED("[- 1]");
    REFUSED("[1.5.3]");
    REFUSED("[0x10]");
    REFUSED("[1e5e5]");
    REFUSED("[1");
    REFUSED("[1.5");
    REFUSED("[-");
}

static void strings(void **state)
{
    (void)state;
    ACCEPTED("[\"\", \"plain\", \"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]");
    ACCEPTED("[\"\\u0041\\u00e9\\u20AC\\uFFFF\\uffFe\"]");
    json_t *v = READ("{\"k\\n\":\"a\\u00e9\\ud83d\\ude00\\/\"}");
    assert_string_equal(json_string_value(json_object_get(v, "k\n")),
                        "a\xc3\xa9\xf0\x9f\x98\x80/");
    json_decref(v);
    /* Surrogates: only a high one followed by a low one. */
    ACCEPTED("[\"\\ud800\\udc00\\udbff\\udfff\"]");
    REFUSED("[\"\\ud83d\"]");
    REFUSED("[\"\\ud83dx\"]");
    REFUSED("[\"\\ud83d\\n\"]");
    REFUSED("[\"\\ude00\"]");
    REFUSED("[\"\\ude00\\ud83d\"]");
    REFUSED("[\"\\ud83d\\u0041\"]");
    REFUSED("[\"\\ud83d\\ud83d\"]");
    REFUSED("[\"\\ud83d\\uZZZZ\"]");
    /* U+0000 is refused in values and keys alike. */
    REFUSED("[\"\\u0000\"]");
    REFUSED("[\"a\\u0000b\"]");
    REFUSED("{\"\\u0000\":1}");
    REFUSED("{\"a\\u0000\":1}");
    /* Bad escapes. */
    REFUSED("[\"\\x\"]");
    REFUSED("[\"\\U0041\"]");
    REFUSED("[\"\\u004\"]");
    REFUSED("[\"\\u00G1\"]");
    REFUSED("[\"\\'\"]");
    REFUSED("[\"\\");
    REFUSED("[\"\\u12");
    REFUSED("[\"abc");
    /* Raw control characters are refused, DEL is not. */
    REFUSED("[\"\t\"]");
    REFUSED("[\"\n\"]");
    REFUSED("[\"\x01\"]");
    REFUSED("[\"\x1f\"]");
    ACCEPTED("[\"\x7f\"]");
    REFUSED("{\"a\tb\":1}");
}

static void utf8(void **state)
{
    (void)state;
    ACCEPTED("[\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf\xf4\x8f\xbf\xbf\"]");
    ACCEPTED("{\"\xc3\xa9\":\"\xc3\xa9\"}");
    REFUSED("[\"\xc3\"]");          /* cut short by the quote */
    REFUSED("[\"\xc3\x28\"]");      /* not a continuation byte */
    REFUSED("[\"\x80\"]");          /* lone continuation byte */
    REFUSED("[\"\xc0\x80\"]");      /* overlong NUL */
    REFUSED("[\"\xc1\xbf\"]");      /* overlong */
    REFUSED("[\"\xe0\x80\x80\"]");  /* overlong */
    REFUSED("[\"\xf0\x80\x80\x80\"]");
    REFUSED("[\"\xed\xa0\x80\"]");  /* a surrogate */
    REFUSED("[\"\xf4\x90\x80\x80\"]"); /* above U+10FFFF */
    REFUSED("[\"\xf5\x80\x80\x80\"]");
    REFUSED("[\"\xff\"]");
    REFUSED("{\"\xff\":1}");
    REFUSED("[\"\xe2\x82\"]");
    REFUSED("[\"\xe2\x82");
    REFUSED("[\xc3\xa9]");          /* outside a string */
    REFUSED("[]\xc3\xa9");
    /* Long runs take the word-at-a-time path; the bad byte is anywhere. */
    ACCEPTED("[\"0123456789abcdef0123456789abcdef\xc3\xa9 0123456789abcdef\"]");
    REFUSED("[\"0123456789abcdef0123456789abcdef\xc3 0123456789abcdef\"]");
    REFUSED("[\"0123456789abcdef0123456789\x01\x62\x63\x64\x65\x66\"]");
}

/* NUL bytes are data in a length-delimited buffer. jansson's lexer loses
 * one NUL right after a number or literal (see skip_lost_nul); anywhere
 * else a NUL is an error. */
static void nul_bytes(void **state)
{
    (void)state;
    ACCEPTED("[1\0]");
    ACCEPTED("[0\0]");
    ACCEPTED("[1.5\0]");
    ACCEPTED("[1e5\0,2]");
    ACCEPTED("[true\0]");
    ACCEPTED("[false\0]");
    ACCEPTED("{\"a\":null\0}");
    ACCEPTED("[1\0 ]");
    REFUSED("[1\0\0]");
    REFUSED("[1 \0]");
    REFUSED("[\"a\"\0]");
    REFUSED("[\"a\0\"]");
    REFUSED("{\"a\0\":1}");
    REFUSED("[]\0");
    REFUSED("{}\0");
    REFUSED("\0[]");
    REFUSED("[\0]");
    REFUSED("[1,\0 2]");
    REFUSED("[-\0 1]");
    REFUSED("[1.\0]");
    REFUSED("[tr\0ue]");
    REFUSED("[\0");
    REFUSED("\0");
}

/* Whether n arrays around `inner` (which may be empty) load. */
static bool nest(size_t n, const char *inner)
{
    size_t m = strlen(inner);
    char *b = malloc(2 * n + m);
    assert_non_null(b);
    memset(b, '[', n);
    memcpy(b + n, inner, m);
    memset(b + n + m, ']', n);
    bool ok = agree(b, 2 * n + m);
    free(b);
    return ok;
}

static void depth(void **state)
{
    (void)state;
    /* jansson counts every value, scalars too, to 2048. */
    for (size_t n = 2040; n <= 2052; n++) {
        nest(n, "");
        nest(n, "1");
        nest(n, "{}");
        nest(n, "{\"a\":[]}");
        nest(n, "{\"a\":1}");
        nest(n, "\"s\"");
        nest(n, "x");
    }
    assert_true(nest(2048, ""));
    assert_false(nest(2049, ""));
    assert_true(nest(2047, "1"));
    assert_false(nest(2048, "1"));
    assert_true(nest(2047, "{}"));
    assert_false(nest(2048, "{}"));
    assert_true(nest(2046, "{\"a\":[]}"));
    assert_false(nest(2047, "{\"a\":1}"));
    nest(100000, "");
}

static size_t put(char *b, size_t at, const char *s)
{
    memcpy(b + at, s, strlen(s));
    return at + strlen(s);
}

static void long_inputs(void **state)
{
    (void)state;
    /* Escaped strings longer than the inline scratch, escaped keys whose
     * value has escapes too, and long reals. */
    size_t n = 5000;
    char *b = malloc(n * 4 + 64);
    assert_non_null(b);
    size_t len = put(b, 0, "{\"k\\t");
    for (size_t i = 0; i < n; i++)
        len = put(b, len, i % 7 ? "ab" : "\\n");
    len = put(b, len, "\":\"\\\"v\\u00e9");
    for (size_t i = 0; i < n / 2; i++)
        len = put(b, len, i % 3 ? "xy" : "\\/");
    len = put(b, len, "\"}");
    assert_true(agree(b, len));

    len = put(b, 0, "[0.");
    for (size_t i = 0; i < n; i++)
        b[len++] = (char)('0' + i % 10);
    len = put(b, len, "e-5]");
    assert_true(agree(b, len));
    free(b);
}

static void errors(void **state)
{
    (void)state;
    char err[64];
    assert_null(json_read("[1,]", 4, err, sizeof err));
    assert_true(strstr(err, "at byte 3") != NULL);
    json_t *v = json_read("[1]", 3, err, sizeof err);
    assert_non_null(v);
    assert_string_equal(err, "");
    json_decref(v);
    /* Cut to fit, and optional. */
    char tiny[4] = "xyz";
    assert_null(json_read("[", 1, tiny, 0));
    assert_string_equal(tiny, "xyz"); /* no room given, none used */
    assert_null(json_read("[", 1, tiny, sizeof tiny));
    assert_int_equal(strlen(tiny), 3);
    assert_null(json_read("[", 1, NULL, 0));
    assert_null(json_read(NULL, 0, err, sizeof err));
}

/* ------------------------------------------------------------ random -- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16) % n;
}

/* String pieces: plain text, what must be escaped, and every UTF-8
 * length, so ensure_ascii output gets surrogate pairs. */
static const char *const pieces[] = {
    "a", "key", "hello world", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f",
    "\x7f", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xbf\xbf",
    "\xf4\x8f\xbf\xbf", "0123456789abcdef", " ", "</script>",
};

static json_t *random_string(void)
{
    char buf[256];
    size_t len = 0, k = rnd(6);
    for (size_t i = 0; i < k; i++) {
        const char *p = pieces[rnd(sizeof pieces / sizeof *pieces)];
        size_t n = strlen(p);
        memcpy(buf + len, p, n);
        len += n;
    }
    return json_stringn(buf, len);
}

static json_t *random_number(void)
{
    static const json_int_t ints[] = {
        0, 1, -1, 9, 10, 1790000000000, INT64_MAX, INT64_MIN,
        INT64_MAX - 1, INT64_MIN + 1, 1000000000000000000,
    };
    switch (rnd(4)) {
    case 0:
        return json_integer(ints[rnd(sizeof ints / sizeof *ints)]);
    case 1:
        return json_integer((json_int_t)rnd(100000) - 50000);
    case 2: {
        /* Any finite double, from its bits. */
        uint64_t bits = (uint64_t)rnd(1u << 31) << 33 ^ (uint64_t)rnd(1u << 31);
        double d;
        memcpy(&d, &bits, sizeof d);
        return json_real(d); /* NULL for inf and NaN */
    }
    default:
        return json_real((double)rnd(2000) / 8 - 100);
    }
}

static json_t *random_value(int depth)
{
    switch (depth > 4 ? rnd(4) : rnd(7)) {
    case 0:
        return random_string();
    case 1: {
        json_t *n = random_number();
        return n ? n : json_null();
    }
    case 2:
        return rnd(2) ? json_true() : json_false();
    case 3:
        return json_null();
    case 4: {
        json_t *a = json_array();
        for (uint32_t i = rnd(5); i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint32_t i = rnd(5); i > 0; i--) {
            json_t *k = random_string();
            const char *ks = json_string_value(k);
            json_object_setn_new(o, ks, json_string_length(k),
                                 random_value(depth + 1));
            json_decref(k);
        }
        return o;
    }
    }
}

/* Bytes worth putting anywhere: structure, number parts, escapes, NUL,
 * broken UTF-8. */
static const unsigned char spice[] = {
    '\0', '"', '\\', ',', ':', '[', ']', '{', '}', ' ', '\n', '0', '1', '9',
    '-', '+', '.', 'e', 'E', 'u', 'd', 'n', 't', 'f', 'a', '/', 0x7f, 0x80,
    0xbf, 0xc3, 0xed, 0xf0, 0xf4, 0xff, 0x01, 0x1f,
};

/* One small random change to text[0..*len), done in place (the buffer has
 * room for 16 more bytes). */
static void mutate(char *text, size_t *len)
{
    size_t n = *len, at = n ? rnd((uint32_t)n) : 0;
    switch (rnd(5)) {
    case 0: /* truncate */
        *len = at;
        break;
    case 1: /* replace a byte */
        if (n)
            text[at] = (char)(rnd(3) ? spice[rnd(sizeof spice)] : rnd(256));
        break;
    case 2: /* insert a byte */
        memmove(text + at + 1, text + at, n - at);
        text[at] = (char)spice[rnd(sizeof spice)];
        (*len)++;
        break;
    case 3: /* delete a byte */
        if (n) {
            memmove(text + at, text + at + 1, n - at - 1);
            (*len)--;
        }
        break;
    default: /* flip one bit */
        if (n)
            text[at] ^= (char)(1 << rnd(8));
        break;
    }
}

static const size_t dump_flags[] = {
    JSON_COMPACT, 0, JSON_INDENT(2), JSON_ENSURE_ASCII | JSON_COMPACT,
    JSON_ESCAPE_SLASH | JSON_INDENT(1), JSON_ENSURE_ASCII | JSON_INDENT(3),
};

static void random_trees_and_mutants(void **state)
{
    (void)state;
    rng_state = 0x9e3779b97f4a7c15ull;
    const char *env = getenv("JSON_READ_ROUNDS");
    long rounds = env ? atol(env) : 4000;
    long accepted = 0, refused = 0;
    for (long i = 0; i < rounds; i++) {
        json_t *root = rnd(2) ? json_object() : json_array();
        for (uint32_t k = rnd(6); k > 0; k--) {
            if (json_is_array(root))
                json_array_append_new(root, random_value(1));
            else
                json_object_set_new(root, rnd(2) ? "events" : "content",
                                    random_value(1));
        }
        char *text = json_dumps(root, dump_flags[rnd(6)]);
        json_decref(root);
        assert_non_null(text);
        size_t len = strlen(text);
        assert_true(agree(text, len)); /* jansson's output reads back */
        char *buf = malloc(len + 16 * 8);
        assert_non_null(buf);
        for (int m = 0; m < 8; m++) {
            size_t blen = len;
            memcpy(buf, text, len);
            for (uint32_t k = 1 + rnd(m < 4 ? 1 : 8); k > 0; k--)
                mutate(buf, &blen);
            if (agree(buf, blen))
                accepted++;
            else
                refused++;
        }
        free(buf);
        free(text);
    }
    /* The mutants must land on both sides to mean anything. */
    assert_true(accepted > rounds / 10);
    assert_true(refused > rounds);
}

/* Short strings over the bytes that matter, with no tree behind them:
 * reaches number and escape corners mutants of dumps seldom do. */
static void random_short_texts(void **state)
{
    (void)state;
    rng_state = 0x2545f4914f6cdd1dull;
    static const char *const frags[] = {
        "[", "]", "{", "}", ",", ":", "\"", "\\", "\\u", "d83d", "de00",
        "0000", "00e9", "-", "0", "1", "9", ".", "e", "E", "+", " ",
        "true", "false", "null", "\"a\"", "\0", "\xc3", "\xa9", "\xff",
        "9223372036854775807", "9223372036854775808", "1e308", "1e309",
    };
    for (int i = 0; i < 200000; i++) {
        char buf[256];
        size_t len = 0;
        buf[len++] = rnd(2) ? '[' : '{';
        for (uint32_t k = rnd(10); k > 0; k--) {
            const char *f = frags[rnd(sizeof frags / sizeof *frags)];
            size_t n = f[0] ? strlen(f) : 1;
            memcpy(buf + len, f, n);
            len += n;
        }
        agree(buf, len);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(top_level),
        cmocka_unit_test(structure),
        cmocka_unit_test(duplicate_keys),
        cmocka_unit_test(numbers),
        cmocka_unit_test(strings),
        cmocka_unit_test(utf8),
        cmocka_unit_test(nul_bytes),
        cmocka_unit_test(depth),
        cmocka_unit_test(long_inputs),
        cmocka_unit_test(errors),
        cmocka_unit_test(random_trees_and_mutants),
        cmocka_unit_test(random_short_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
