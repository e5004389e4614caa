#include "common/utf8.h"
#include "common/mem.h"
#include "common/strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Length of the well-formed sequence starting at s (at most n bytes long),
 * or 0 if it is ill-formed. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned int cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
        return 0; /* overlong */
    if (cp >= 0xd800 && cp <= 0xdfff)
        return 0; /* surrogate */
    if (cp > 0x10ffff)
        return 0;
    return len;
}

/* True if none of the eight bytes at s has its top bit set. Most text
 * crossing the gateway is ASCII, which this skips a word at a time. */
static bool ascii8(const unsigned char *s)
{
    uint64_t w;
    memcpy(&w, s, sizeof w);
    return (w & 0x8080808080808080ull) == 0;
}

size_t utf8_valid_prefix(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (n - i >= 8 && ascii8(p + i)) {
            i += 8;
            continue;
        }
        size_t l = seq_len(p + i, n - i);
        if (!l)
            break;
        i += l;
    }
    return i;
}

bool utf8_valid(const char *s, size_t n)
{
    return utf8_valid_prefix(s, n) == n;
}

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* Appends s[0..n) to sb with each ill-formed sequence replaced, a whole
 * valid run at a time. */
static void append_sanitized(struct strbuf *sb, const char *s, size_t n)
{
    size_t i = 0;
    for (;;) {
        size_t run = utf8_valid_prefix(s + i, n - i);
        strbuf_append(sb, s + i, run);
        i += run;
        if (i >= n)
            return;
        strbuf_append(sb, REPLACEMENT, 3);
        i++; /* one byte at a time, so resynchronisation matches seq_len */
    }
}

/* The sanitised copy of s[0..n), whose first valid bytes are known to be
 * well-formed. Caller frees. */
static char *sanitized_copy(const char *s, size_t n, size_t valid)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_reserve(&sb, n + 3);
    strbuf_append(&sb, s, valid);
    append_sanitized(&sb, s + valid, n - valid);
    return strbuf_detach(&sb);
}

char *utf8_sanitize(const char *s, size_t n)
{
    /* Valid input, nearly always: one copy. */
    size_t valid = utf8_valid_prefix(s, n);
    if (valid == n)
        return xstrndup(s, n);
    return sanitized_copy(s, n, valid);
}

char *utf8_sanitize_owned(char *s, size_t n)
{
    size_t valid = utf8_valid_prefix(s, n);
    if (valid == n)
        return s;
    char *copy = sanitized_copy(s, n, valid);
    free(s);
    return copy;
}

size_t utf8_offset(const char *s, size_t cp)
{
    size_t i = 0;
    for (; s[i] && cp > 0; cp--) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
    }
    return i;
}

size_t utf8_count(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n && s[i]; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            count++;
    return count;
}
