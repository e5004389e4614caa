/* Allocation wrappers that abort on out-of-memory.
 *
 * A gateway that cannot allocate cannot keep its delivery promises either;
 * dying loudly lets the supervisor restart it and the outbox replay, which is
 * safer than limping on with half-built state. Every caller may therefore
 * treat these as infallible. */
#ifndef ISTHMUS_MEM_H
#define ISTHMUS_MEM_H

#include <stddef.h>
#include <stdarg.h>

/* All of these return memory the caller frees with free(). */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);             /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);  /* a copy of n bytes (n may be 0) */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap);
/* For other allocators (libsodium's guarded memory...): says how much was
 * wanted and aborts, as the wrappers above do. */
_Noreturn void out_of_memory(size_t n);

#endif
