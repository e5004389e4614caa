#ifndef ISTHMUS_UTF8_H
#define ISTHMUS_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..n) is well-formed UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
bool utf8_valid(const char *s, size_t n);
/* How many bytes at the start of s[0..n) are well-formed UTF-8: n when
 * all of it is, else the offset of the first ill-formed sequence. */
size_t utf8_valid_prefix(const char *s, size_t n);

/* Returns a copy of s[0..n) with every ill-formed sequence replaced by
 * U+FFFD, so that nothing invalid is ever forwarded raw. Caller frees. */
char *utf8_sanitize(const char *s, size_t n);
/* The same for a string the caller owns and gives up (s[n] must be its
 * terminating NUL): s itself when it is valid, which saves a copy, else
 * a sanitised copy, s being freed. Caller frees the result. */
char *utf8_sanitize_owned(char *s, size_t n);

/* The byte offset of code point number cp in the valid UTF-8 string s, or
 * strlen(s) if s has fewer code points. */
size_t utf8_offset(const char *s, size_t cp);
/* How many code points the first n bytes of valid UTF-8 hold. */
size_t utf8_count(const char *s, size_t n);

#endif
