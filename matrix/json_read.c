#include "matrix/json_read.h"

#include "common/mem.h"
#include "common/utf8.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ownership: every read_* function here returning a json_t * returns a
 * new reference its caller owns (jansson's shared true/false/null
 * included) or NULL once fail() has said why; the values themselves are
 * jansson's allocations. The reader's own memory (a scratch block, long
 * numbers' copies) is freed before json_read returns. */

/* jansson counts every value, scalars included, toward this limit, the
 * outermost one being at depth 1: so 2048 nested empty arrays load, and
 * 2048 nested arrays around anything do not. */
#define MAX_DEPTH JSON_PARSER_MAX_DEPTH

/* Strings with escapes that decode to this many bytes or fewer need no
 * heap scratch space (unescaped strings need none at all). */
#define INLINE_SCRATCH 256

struct reader {
    const unsigned char *start, *p, *end;
    char *err;
    size_t err_len;
    /* Where strings with escapes are decoded; scratch is either inline
     * or a heap block freed by json_read. */
    char *scratch;
    size_t scratch_cap;
    char inline_scratch[INLINE_SCRATCH];
};

/* Sets the message (once: the innermost failure is the telling one) and
 * returns NULL so callers can `return fail(...)`. */
__attribute__((format(printf, 2, 3)))
static json_t *fail(struct reader *r, const char *fmt, ...)
{
    if (!r->err || !r->err_len || r->err[0])
        return NULL;
    char msg[96];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(r->err, r->err_len, "%s at byte %zu", msg,
             (size_t)(r->p - r->start));
    return NULL;
}

/* JSON's four whitespace characters and nothing else (jansson's set). */
static void skip_ws(struct reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' ||
                             *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

/* jansson quirk, kept so both parsers accept the same inputs: after a
 * number or a literal its lexer pushes the next byte back, and a pushed
 * back NUL byte is lost (its one-byte look-ahead buffer reads NUL as
 * "empty"). So one NUL right after a number or literal is skipped:
 * json_loadb accepts "[1\0]" and "[true\0, 2]". */
static void skip_lost_nul(struct reader *r)
{
    if (r->p < r->end && *r->p == '\0')
        r->p++;
}

/* ---- strings */

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Nonzero if one of the eight bytes in w is '"', '\\' or a control
 * character: each term is the classic exact "has a zero byte" / "has a
 * byte below n" test. */
static uint64_t special8(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"');
    uint64_t b = w ^ (ONES * '\\');
    return (((q - ONES) & ~q) | ((b - ONES) & ~b) |
            ((w - ONES * 0x20) & ~w)) & HIGHS;
}

static bool special1(unsigned char c)
{
    return c == '"' || c == '\\' || c < 0x20;
}

/* Advances r->p over the plain bytes of a string (up to the first '"',
 * '\\', control character or the end), a word at a time, and checks
 * them as UTF-8. A multi-byte sequence cut short by a '"' is ill-formed
 * here just as it is to jansson, which reads the quote as its next
 * byte. Returns false if the run is not well-formed UTF-8. */
static bool scan_plain(struct reader *r)
{
    const unsigned char *s = r->p, *p = r->p, *end = r->end;
    uint64_t high = 0;
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, sizeof w);
        if (special8(w))
            break;
        high |= w;
        p += 8;
    }
    while (p < end && !special1(*p))
        high |= *p++;
    r->p = p;
    if (!(high & HIGHS))
        return true;
    size_t n = (size_t)(p - s);
    return utf8_valid_prefix((const char *)s, n) == n;
}

/* Makes room for `more` bytes after the `used` already in the scratch. */
static void scratch_reserve(struct reader *r, size_t used, size_t more)
{
    if (r->scratch_cap - used >= more)
        return;
    size_t cap = r->scratch_cap * 2;
    if (cap < used + more)
        cap = used + more;
    if (r->scratch == r->inline_scratch) {
        char *heap = xmalloc(cap);
        memcpy(heap, r->scratch, used);
        r->scratch = heap;
    } else {
        r->scratch = xrealloc(r->scratch, cap);
    }
    r->scratch_cap = cap;
}

static int hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* lower case */
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The four hex digits after "\u" at p (at least six bytes there), or -1. */
static long hex4(const unsigned char *p)
{
    long v = 0;
    for (int i = 2; i < 6; i++) {
        int d = hex_digit(p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

static size_t put_utf8(char *out, unsigned long cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Reads a \u escape (one, or a surrogate pair as two) at r->p and writes
 * its UTF-8 to out (room for 4 bytes). jansson refuses lone or
 * mismatched surrogates, and U+0000 (we never pass JSON_ALLOW_NUL).
 * Returns the bytes written, or 0 on error. */
static size_t read_u_escape(struct reader *r, char *out)
{
    if (r->end - r->p < 6)
        return fail(r, "truncated \\u escape"), 0;
    long cp = hex4(r->p);
    if (cp < 0)
        return fail(r, "invalid \\u escape"), 0;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return fail(r, "lone low surrogate"), 0;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        const unsigned char *q = r->p + 6;
        if (r->end - q < 6 || q[0] != '\\' || q[1] != 'u')
            return fail(r, "lone high surrogate"), 0;
        long lo = hex4(q);
        if (lo < 0xdc00 || lo > 0xdfff)
            return fail(r, "invalid surrogate pair"), 0;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        r->p += 6;
    }
    if (cp == 0)
        return fail(r, "\\u0000 is not allowed"), 0;
    r->p += 6;
    return put_utf8(out, (unsigned long)cp);
}

/* Decodes the escape at r->p into the scratch at *used. */
static bool read_escape(struct reader *r, size_t *used)
{
    scratch_reserve(r, *used, 4);
    if (r->end - r->p < 2)
        return fail(r, "truncated escape"), false;
    char c;
    switch (r->p[1]) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': {
        size_t n = read_u_escape(r, r->scratch + *used);
        *used += n;
        return n != 0;
    }
    default:
        return fail(r, "invalid escape"), false;
    }
    r->scratch[(*used)++] = c;
    r->p += 2;
    return true;
}

/* Reads the rest of a string whose opening quote is consumed. On success
 * *s and *n give its decoded bytes, which stay valid until the next
 * string is read: they are either in the input itself (no escapes, the
 * common case, so nothing is copied) or in r's scratch. */
static bool read_string(struct reader *r, const char **s, size_t *n)
{
    const unsigned char *run = r->p;
    if (!scan_plain(r))
        return fail(r, "invalid UTF-8"), false;
    if (r->p < r->end && *r->p == '"') {
        *s = (const char *)run;
        *n = (size_t)(r->p - run);
        r->p++;
        return true;
    }
    /* Escapes: decode into the scratch, run by run. */
    size_t used = 0;
    for (;;) {
        size_t len = (size_t)(r->p - run);
        scratch_reserve(r, used, len);
        memcpy(r->scratch + used, run, len);
        used += len;
        if (r->p == r->end)
            return fail(r, "unterminated string"), false;
        if (*r->p == '"')
            break;
        if (*r->p != '\\')
            return fail(r, "control character 0x%x in string", *r->p),
                   false;
        if (!read_escape(r, &used))
            return false;
        run = r->p;
        if (!scan_plain(r))
            return fail(r, "invalid UTF-8"), false;
    }
    r->p++;
    *s = r->scratch;
    *n = used;
    return true;
}

static json_t *read_string_value(struct reader *r)
{
    const char *s;
    size_t n;
    if (!read_string(r, &s, &n))
        return NULL;
    /* read_string checked the UTF-8 and refused U+0000. */
    json_t *v = json_stringn_nocheck(s, n);
    return v ? v : fail(r, "out of memory");
}

/* ---- numbers */

static bool is_digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* strtod in the C locale whatever the process's locale is, as jansson
 * gets by swapping '.' for the locale's decimal point first. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static double strtod_c(const char *s)
{
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale ? strtod_l(s, NULL, c_locale) : strtod(s, NULL);
}

/* The real r->start[from..r->p), which the grammar has checked. Overflow
 * to infinity is an error (as in jansson); underflow is not. */
static json_t *read_real(struct reader *r, const unsigned char *from)
{
    size_t n = (size_t)(r->p - from);
    char small[64];
    char *text = n < sizeof small ? small : xmalloc(n + 1);
    memcpy(text, from, n);
    text[n] = '\0';
    errno = 0;
    double d = strtod_c(text);
    bool overflow = (d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE;
    if (text != small)
        free(text);
    if (overflow)
        return fail(r, "real number overflow");
    json_t *v = json_real(d);
    return v ? v : fail(r, "out of memory");
}

static void skip_digits(struct reader *r)
{
    while (is_digit(r->p, r->end))
        r->p++;
}

/* An integer must fit json_int_t (long long), as strtoll decides for
 * jansson; anything with a fraction or exponent is a real. */
static json_t *read_number(struct reader *r)
{
    const unsigned char *from = r->p;
    bool neg = *r->p == '-';
    if (neg)
        r->p++;
    if (!is_digit(r->p, r->end))
        return fail(r, "invalid number");
    uint64_t mag = 0;
    bool too_big = false;
    if (*r->p == '0') {
        r->p++;
        if (is_digit(r->p, r->end))
            return fail(r, "leading zero");
    } else {
        for (; is_digit(r->p, r->end); r->p++) {
            unsigned d = *r->p - '0';
            if (mag > (UINT64_MAX - d) / 10)
                too_big = true;
            else
                mag = mag * 10 + d;
        }
    }
    bool real = false;
    if (r->p < r->end && *r->p == '.') {
        r->p++;
        if (!is_digit(r->p, r->end))
            return fail(r, "digit expected after '.'");
        skip_digits(r);
        real = true;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (!is_digit(r->p, r->end))
            return fail(r, "digit expected in exponent");
        skip_digits(r);
        real = true;
    }
    if (real)
        return read_real(r, from);
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (too_big || mag > limit)
        return fail(r, "too big integer");
    json_int_t v = neg ? (json_int_t)(0 - mag) : (json_int_t)mag;
    json_t *j = json_integer(v);
    return j ? j : fail(r, "out of memory");
}

/* ---- values */

static json_t *read_value(struct reader *r, size_t depth);

/* true, false or null, which jansson hands out as shared singletons. */
static json_t *read_literal(struct reader *r)
{
    static const struct {
        const char *word;
        size_t len;
    } words[] = { { "true", 4 }, { "false", 5 }, { "null", 4 } };
    for (size_t i = 0; i < 3; i++) {
        if ((size_t)(r->end - r->p) >= words[i].len &&
            memcmp(r->p, words[i].word, words[i].len) == 0) {
            r->p += words[i].len;
            return i == 0 ? json_true() : i == 1 ? json_false() : json_null();
        }
    }
    return fail(r, "invalid token");
}

/* One element or member value, then the separator or closer after it.
 * Returns the closer seen (or 0 on error, set by the callee). */
static int after_item(struct reader *r, char closer)
{
    skip_ws(r);
    if (r->p == r->end)
        return fail(r, "'%c' expected", closer), 0;
    if (*r->p == ',' || *r->p == closer)
        return *r->p++;
    return fail(r, "',' or '%c' expected", closer), 0;
}

static json_t *read_array(struct reader *r, size_t depth)
{
    json_t *a = json_array();
    if (!a)
        return fail(r, "out of memory");
    skip_ws(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        json_t *v = read_value(r, depth + 1);
        /* append_new takes the reference even when it fails. */
        if (!v || json_array_append_new(a, v) != 0)
            goto error;
        int c = after_item(r, ']');
        if (c == ']')
            return a;
        if (!c)
            goto error;
        skip_ws(r);
    }
error:
    fail(r, "out of memory"); /* a no-op unless this is the first error */
    json_decref(a);
    return NULL;
}

/* Sets key[0..n) in o, the later of duplicate keys winning as in jansson.
 * Returns false if o could not take it (v is dropped either way). */
static bool set_member(struct reader *r, json_t *o, const char *key,
                       size_t n, json_t *v)
{
    if (memchr(key, '\0', n)) {
        json_decref(v);
        return fail(r, "NUL byte in object key"), false;
    }
    return json_object_setn_new_nocheck(o, key, n, v) == 0;
}

/* One "key": value member. The key is read into the input or the
 * scratch, which reading the value may reuse: an escaped key is copied
 * out first (and freed here). */
static bool read_member(struct reader *r, json_t *o, size_t depth)
{
    if (r->p == r->end || *r->p != '"')
        return fail(r, "string or '}' expected"), false;
    r->p++;
    const char *key;
    size_t n;
    if (!read_string(r, &key, &n))
        return false;
    char *owned = NULL;
    if (key == r->scratch) {
        owned = xmalloc(n ? n : 1);
        memcpy(owned, key, n);
        key = owned;
    }
    bool ok = false;
    skip_ws(r);
    if (r->p == r->end || *r->p != ':') {
        fail(r, "':' expected");
    } else {
        r->p++;
        skip_ws(r);
        json_t *v = read_value(r, depth + 1);
        ok = v && set_member(r, o, key, n, v);
    }
    free(owned);
    return ok;
}

static json_t *read_object(struct reader *r, size_t depth)
{
    json_t *o = json_object();
    if (!o)
        return fail(r, "out of memory");
    skip_ws(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        if (!read_member(r, o, depth))
            break;
        int c = after_item(r, '}');
        if (c == '}')
            return o;
        if (!c)
            break;
        skip_ws(r);
    }
    fail(r, "out of memory"); /* a no-op unless this is the first error */
    json_decref(o);
    return NULL;
}

/* The value at r->p (whitespace before it already skipped), `depth`
 * containers deep counting itself. */
static json_t *read_value(struct reader *r, size_t depth)
{
    if (depth > MAX_DEPTH)
        return fail(r, "nesting too deep");
    if (r->p == r->end)
        return fail(r, "value expected");
    json_t *v;
    switch (*r->p) {
    case '{':
        r->p++;
        return read_object(r, depth);
    case '[':
        r->p++;
        return read_array(r, depth);
    case '"':
        r->p++;
        return read_string_value(r);
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        v = read_number(r);
        break;
    default:
        v = read_literal(r);
        break;
    }
    if (v)
        skip_lost_nul(r);
    return v;
}

json_t *json_read(const char *text, size_t len, char *err, size_t err_len)
{
    struct reader r;
    r.start = r.p = (const unsigned char *)text;
    r.end = text ? r.start + len : r.start; /* NULL + 0 is undefined */
    r.err = err;
    r.err_len = err_len;
    r.scratch = r.inline_scratch;
    r.scratch_cap = sizeof r.inline_scratch;
    if (err && err_len)
        err[0] = '\0';
    if (!text)
        return fail(&r, "no input");

    json_t *root = NULL;
    skip_ws(&r);
    /* Like json_loadb without JSON_DECODE_ANY: a document is an object or
     * an array. */
    if (r.p == r.end || (*r.p != '{' && *r.p != '[')) {
        fail(&r, "'[' or '{' expected");
    } else {
        root = read_value(&r, 1);
        skip_ws(&r);
        if (root && r.p != r.end) {
            fail(&r, "end of input expected");
            json_decref(root);
            root = NULL;
        }
    }
    if (r.scratch != r.inline_scratch)
        free(r.scratch);
    return root;
}
