#include "gateway/core/media_sniff.h"

#include "common/mem.h"
#include "common/utf8.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FILENAME_MAX_BYTES 200

static bool starts(const unsigned char *d, size_t n, size_t at,
                   const char *magic, size_t mlen)
{
    return n >= at + mlen && memcmp(d + at, magic, mlen) == 0;
}

const char *media_sniff_mime(const unsigned char *d, size_t n)
{
    if (starts(d, n, 0, "\x89PNG\r\n\x1a\n", 8))
        return "image/png";
    if (starts(d, n, 0, "\xff\xd8\xff", 3))
        return "image/jpeg";
    if (starts(d, n, 0, "GIF87a", 6) || starts(d, n, 0, "GIF89a", 6))
        return "image/gif";
    if (starts(d, n, 0, "RIFF", 4) && starts(d, n, 8, "WEBP", 4))
        return "image/webp";
    if (starts(d, n, 0, "RIFF", 4) && starts(d, n, 8, "WAVE", 4))
        return "audio/wav";
    if (starts(d, n, 4, "ftyp", 4)) {
        /* ISO media: M4A is audio, the other brands are video. */
        if (starts(d, n, 8, "M4A ", 4))
            return "audio/mp4";
        return "video/mp4";
    }
    if (starts(d, n, 0, "\x1a\x45\xdf\xa3", 4))
        return "video/webm";
    if (starts(d, n, 0, "OggS", 4))
        return "audio/ogg";
    if (starts(d, n, 0, "ID3", 3) ||
        (n >= 2 && d[0] == 0xff && (d[1] & 0xe0) == 0xe0 && d[1] != 0xff))
        return "audio/mpeg";
    if (starts(d, n, 0, "fLaC", 4))
        return "audio/flac";
    if (starts(d, n, 0, "%PDF-", 5))
        return "application/pdf";
    if (starts(d, n, 0, "PK\x03\x04", 4))
        return "application/zip";
    return NULL;
}

/* type "/" subtype, both RFC 6838 restricted names. */
static bool mime_well_formed(const char *s, size_t n)
{
    size_t slash = 0, i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '/') {
            if (slash || i == 0)
                return false;
            slash = i;
        } else if (!isalnum(c) && !strchr("!#$&-^_.+", c)) {
            return false;
        }
    }
    return slash && slash + 1 < n && n <= 127;
}

char *media_pick_mime(const char *content_type, const unsigned char *data,
                      size_t len)
{
    if (content_type) {
        const char *p = content_type;
        while (*p == ' ' || *p == '\t')
            p++;
        size_t n = strcspn(p, "; \t\r\n");
        if (mime_well_formed(p, n) &&
            !(n == 24 && strncasecmp(p, "application/octet-stream", n) == 0)) {
            char *m = xstrndup(p, n);
            for (char *c = m; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            return m;
        }
    }
    const char *sniffed = media_sniff_mime(data, len);
    return xstrdup(sniffed ? sniffed : "application/octet-stream");
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static unsigned be16(const unsigned char *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static unsigned le16(const unsigned char *p)
{
    return (unsigned)p[1] << 8 | p[0];
}

static uint32_t le24(const unsigned char *p)
{
    return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int png_size(const unsigned char *d, size_t n, int *w, int *h)
{
    /* The first chunk must be IHDR: width and height, big-endian, each at
     * most 2^31 - 1. */
    if (n < 24 || !starts(d, n, 12, "IHDR", 4))
        return -1;
    uint32_t pw = be32(d + 16), ph = be32(d + 20);
    if (pw == 0 || ph == 0 || pw > INT32_MAX || ph > INT32_MAX)
        return -1;
    *w = (int)pw;
    *h = (int)ph;
    return 0;
}

static int gif_size(const unsigned char *d, size_t n, int *w, int *h)
{
    if (n < 10)
        return -1;
    *w = (int)le16(d + 6);
    *h = (int)le16(d + 8);
    return *w && *h ? 0 : -1;
}

/* Walks the JPEG markers up to the first start-of-frame, which holds the
 * dimensions. */
static int jpeg_size(const unsigned char *d, size_t n, int *w, int *h)
{
    size_t i = 2;
    while (i + 4 <= n) {
        if (d[i] != 0xff)
            return -1;
        unsigned char marker = d[i + 1];
        if (marker == 0xff) { /* fill byte */
            i++;
            continue;
        }
        i += 2;
        /* Standalone markers carry no length. */
        if ((marker >= 0xd0 && marker <= 0xd7) || marker == 0x01)
            continue;
        if (marker == 0xd9 || marker == 0xda)
            return -1; /* end of image or scan before any frame header */
        unsigned seglen = be16(d + i);
        if (seglen < 2)
            return -1;
        bool sof = marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 &&
                   marker != 0xc8 && marker != 0xcc;
        if (sof) {
            if (seglen < 7 || i + 7 > n)
                return -1;
            *h = (int)be16(d + i + 3);
            *w = (int)be16(d + i + 5);
            return *w && *h ? 0 : -1;
        }
        i += seglen;
    }
    return -1;
}

static int webp_size(const unsigned char *d, size_t n, int *w, int *h)
{
    if (starts(d, n, 12, "VP8X", 4) && n >= 30) {
        *w = (int)le24(d + 24) + 1;
        *h = (int)le24(d + 27) + 1;
        return 0;
    }
    if (starts(d, n, 12, "VP8 ", 4) && n >= 30) {
        /* A key frame: 3-byte frame tag, start code 9d 01 2a, then 14-bit
         * width and height. */
        if (!starts(d, n, 23, "\x9d\x01\x2a", 3))
            return -1;
        *w = (int)(le16(d + 26) & 0x3fff);
        *h = (int)(le16(d + 28) & 0x3fff);
        return *w && *h ? 0 : -1;
    }
    if (starts(d, n, 12, "VP8L", 4) && n >= 25) {
        if (d[20] != 0x2f)
            return -1;
        uint32_t bits = (uint32_t)d[21] | (uint32_t)d[22] << 8 |
                        (uint32_t)d[23] << 16 | (uint32_t)d[24] << 24;
        *w = (int)(bits & 0x3fff) + 1;
        *h = (int)((bits >> 14) & 0x3fff) + 1;
        return 0;
    }
    return -1;
}

int media_image_size(const unsigned char *d, size_t n, int *width,
                     int *height)
{
    int w = 0, h = 0, rc = -1;
    const char *mime = media_sniff_mime(d, n);
    if (!mime)
        return -1;
    if (strcmp(mime, "image/png") == 0)
        rc = png_size(d, n, &w, &h);
    else if (strcmp(mime, "image/jpeg") == 0)
        rc = jpeg_size(d, n, &w, &h);
    else if (strcmp(mime, "image/gif") == 0)
        rc = gif_size(d, n, &w, &h);
    else if (strcmp(mime, "image/webp") == 0)
        rc = webp_size(d, n, &w, &h);
    if (rc == 0) {
        *width = w;
        *height = h;
    }
    return rc;
}

const char *media_msgtype(const char *mime)
{
    if (!mime)
        return "m.file";
    if (strncmp(mime, "image/", 6) == 0)
        return "m.image";
    if (strncmp(mime, "video/", 6) == 0)
        return "m.video";
    if (strncmp(mime, "audio/", 6) == 0)
        return "m.audio";
    return "m.file";
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *media_clean_filename(char *name)
{
    for (char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c == 0x7f || strchr("/\\\"';", c))
            *p = '_';
    }
    /* Sanitising may grow the name (U+FFFD is 3 bytes): cut afterwards, on
     * a character boundary. */
    char *clean = utf8_sanitize(name, strlen(name));
    free(name);
    size_t n = strlen(clean);
    if (n > FILENAME_MAX_BYTES) {
        n = FILENAME_MAX_BYTES;
        while (n > 0 && ((unsigned char)clean[n] & 0xc0) == 0x80)
            n--;
        clean[n] = '\0';
    }
    if (!*clean || strcmp(clean, ".") == 0 || strcmp(clean, "..") == 0) {
        free(clean);
        return xstrdup("file");
    }
    return clean;
}

char *media_filename_from_url(const char *url)
{
    const char *start = strstr(url, "://");
    start = start ? start + 3 : url;
    size_t pathlen = strcspn(start, "?#");
    const char *end = start + pathlen;
    const char *seg = end;
    while (seg > start && seg[-1] != '/')
        seg--;
    if (seg == start) /* only a host: no name */
        return xstrdup("file");
    char *name = xmalloc((size_t)(end - seg) + 1);
    size_t w = 0;
    for (const char *p = seg; p < end; p++) {
        int hi, lo;
        if (*p == '%' && end - p >= 3 && (hi = hexval(p[1])) >= 0 &&
            (lo = hexval(p[2])) >= 0) {
            /* A decoded NUL would cut the name short. */
            name[w++] = hi || lo ? (char)(hi << 4 | lo) : '_';
            p += 2;
        } else {
            name[w++] = *p;
        }
    }
    name[w] = '\0';
    return media_clean_filename(name);
}
