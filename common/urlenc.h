/* Percent-encoding (RFC 3986): everything but the unreserved characters,
 * so the result is safe as one path segment, a query value, or an
 * RFC 5987 header value. */
#ifndef ISTHMUS_URLENC_H
#define ISTHMUS_URLENC_H

/* Caller frees. */
char *url_escape(const char *s);

#endif
