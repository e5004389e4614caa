#include "common/urlenc.h"

#include "common/strbuf.h"

#include <string.h>

char *url_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    struct strbuf sb = STRBUF_INIT;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p)) {
            strbuf_putc(&sb, (char)*p);
        } else {
            char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
            strbuf_append(&sb, e, 3);
        }
    }
    return strbuf_detach(&sb);
}
