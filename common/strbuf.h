/* A growable byte buffer, always NUL-terminated. */
#ifndef ISTHMUS_STRBUF_H
#define ISTHMUS_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *data;  /* owned; NULL until the first append */
    size_t len;
    size_t cap;
};

#define STRBUF_INIT { NULL, 0, 0 }

void strbuf_append(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_putc(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Hands the contents to the caller (free() it) and empties the buffer.
 * Never returns NULL. */
char *strbuf_detach(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);

#endif
