/* A growable byte buffer, always NUL-terminated. */
#ifndef ISTHMUS_STRBUF_H
#define ISTHMUS_STRBUF_H

#include <stddef.h>
#include <string.h>

struct strbuf {
    char *data;  /* owned; NULL until the first append */
    size_t len;
    size_t cap;
};

#define STRBUF_INIT { NULL, 0, 0 }

/* Makes room for extra more bytes (and the NUL) in one allocation, for
 * writers that know roughly how much they will append. */
void strbuf_reserve(struct strbuf *sb, size_t extra);

/* The appends are inline: serialisers call them once per small piece, and
 * a call plus a memcpy of one byte cost more than the byte itself. */
static inline void strbuf_append(struct strbuf *sb, const char *s, size_t n)
{
    if (sb->len + n + 1 > sb->cap)
        strbuf_reserve(sb, n);
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = '\0';
}

static inline void strbuf_puts(struct strbuf *sb, const char *s)
{
    strbuf_append(sb, s, strlen(s));
}

static inline void strbuf_putc(struct strbuf *sb, char c)
{
    if (sb->len + 2 > sb->cap)
        strbuf_reserve(sb, 1);
    sb->data[sb->len++] = c;
    sb->data[sb->len] = '\0';
}

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands the contents to the caller (free() it) and empties the buffer.
 * Never returns NULL. */
char *strbuf_detach(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);

#endif
