#include "matrix/json_write.h"

#include "common/mem.h"
#include "common/strbuf.h"
#include "common/utf8.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deeper values (or a value that contains itself) are left to jansson,
 * which detects loops; message content is three levels deep at most. */
#define MAX_DEPTH 32

/* A request body of a message fits in this. */
#define FIRST_CAPACITY 256

static const char hex_upper[] = "0123456789ABCDEF";

/* The short escapes JSON has; other control characters become \u00XX
 * (upper-case hex, as jansson writes them). */
static const char short_escape[256] = {
    ['"'] = '"', ['\\'] = '\\', ['\b'] = 'b', ['\f'] = 'f',
    ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
};

static bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

static void put_escape(struct strbuf *sb, unsigned char c)
{
    if (short_escape[c]) {
        char e[2] = { '\\', short_escape[c] };
        strbuf_append(sb, e, 2);
        return;
    }
    char u[6] = { '\\', 'u', '0', '0', hex_upper[c >> 4], hex_upper[c & 15] };
    strbuf_append(sb, u, 6);
}

/* False for ill-formed UTF-8, which jansson refuses to write. */
static bool put_string(struct strbuf *sb, const char *s, size_t n)
{
    if (utf8_valid_prefix(s, n) != n)
        return false;
    strbuf_putc(sb, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (!needs_escape((unsigned char)s[i]))
            continue;
        strbuf_append(sb, s + run, i - run);
        put_escape(sb, (unsigned char)s[i]);
        run = i + 1;
    }
    strbuf_append(sb, s + run, n - run);
    strbuf_putc(sb, '"');
    return true;
}

static bool put_value(struct strbuf *sb, const json_t *v, int depth);

static const char *iter_key(void *it, size_t *len)
{
    const char *key = json_object_iter_key(it);
#if JANSSON_VERSION_HEX >= 0x020e00
    *len = json_object_iter_key_len(it); /* keys may hold NUL since 2.14 */
#else
    *len = strlen(key);
#endif
    return key;
}

static bool put_object(struct strbuf *sb, const json_t *obj, int depth)
{
    strbuf_putc(sb, '{');
    /* Insertion order, which is what json_dumps follows without
     * JSON_SORT_KEYS. */
    bool first = true;
    for (void *it = json_object_iter((json_t *)obj); it;
         it = json_object_iter_next((json_t *)obj, it), first = false) {
        if (!first)
            strbuf_putc(sb, ',');
        size_t klen;
        const char *key = iter_key(it, &klen);
        if (!put_string(sb, key, klen))
            return false;
        strbuf_putc(sb, ':');
        if (!put_value(sb, json_object_iter_value(it), depth + 1))
            return false;
    }
    strbuf_putc(sb, '}');
    return true;
}

static bool put_array(struct strbuf *sb, const json_t *arr, int depth)
{
    strbuf_putc(sb, '[');
    size_t n = json_array_size(arr);
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_putc(sb, ',');
        if (!put_value(sb, json_array_get(arr, i), depth + 1))
            return false;
    }
    strbuf_putc(sb, ']');
    return true;
}

static bool put_integer(struct strbuf *sb, json_int_t i)
{
    char num[32];
    int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, i);
    strbuf_append(sb, num, (size_t)n);
    return true;
}

/* False for what this writer leaves to jansson: reals (their shortest
 * round-trip form is jansson's own algorithm), bad strings, deep or
 * looping values. */
static bool put_value(struct strbuf *sb, const json_t *v, int depth)
{
    if (!v || depth > MAX_DEPTH)
        return false;
    switch (json_typeof(v)) {
    case JSON_OBJECT: return put_object(sb, v, depth);
    case JSON_ARRAY: return put_array(sb, v, depth);
    case JSON_STRING:
        return put_string(sb, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: return put_integer(sb, json_integer_value(v));
    case JSON_TRUE: strbuf_append(sb, "true", 4); return true;
    case JSON_FALSE: strbuf_append(sb, "false", 5); return true;
    case JSON_NULL: strbuf_append(sb, "null", 4); return true;
    default: return false;
    }
}

/* jansson's answer, for everything put_value declines. */
static char *fallback(const json_t *json, size_t *len)
{
    char *text = json_dumps(json, JSON_COMPACT);
    if (len)
        *len = text ? strlen(text) : 0;
    return text;
}

char *json_write_compact(const json_t *json, size_t *len)
{
    /* Like json_dumps without JSON_ENCODE_ANY: only objects and arrays. */
    if (!json_is_object(json) && !json_is_array(json))
        return fallback(json, len);
    struct strbuf sb = STRBUF_INIT;
    strbuf_reserve(&sb, FIRST_CAPACITY - 1);
    if (!put_value(&sb, json, 0)) {
        strbuf_free(&sb);
        return fallback(json, len);
    }
    if (len)
        *len = sb.len;
    return strbuf_detach(&sb);
}
