/* What a downloaded file is: its media type from the bytes themselves
 * (when the server's Content-Type says nothing useful) and, for images,
 * width and height read from the PNG, JPEG, GIF or WebP header. Pure code:
 * no I/O, unit-tested and fuzzed (tests/fuzz/fuzz_media.c). */
#ifndef ISTHMUS_MEDIA_SNIFF_H
#define ISTHMUS_MEDIA_SNIFF_H

#include <stddef.h>

/* The media type the magic bytes announce, or NULL when unknown. Static
 * string. */
const char *media_sniff_mime(const unsigned char *data, size_t len);

/* The media type to announce: the server's Content-Type (parameters
 * dropped) unless it is missing, malformed or generic
 * (application/octet-stream), then the sniffed one, else
 * application/octet-stream. Caller frees. */
char *media_pick_mime(const char *content_type, const unsigned char *data,
                      size_t len);

/* Width and height of a PNG, JPEG, GIF or WebP image. Returns 0, or -1 when
 * data is not one of those or its header is truncated or malformed. */
int media_image_size(const unsigned char *data, size_t len, int *width,
                     int *height);

/* The Matrix msgtype for a media type: m.image, m.video, m.audio or m.file.
 * Static string. */
const char *media_msgtype(const char *mime);

/* The file name a URL ends with (last path segment, percent-decoded,
 * query and fragment dropped), made safe to show and to put in a header:
 * no '/', '\\', quotes or control characters, at most 200 bytes, valid
 * UTF-8. "file" when the URL names none. Caller frees. */
char *media_filename_from_url(const char *url);

/* Makes a file name safe in place (same rules as above); returns name, or
 * a new "file" (the old one freed) when nothing usable is left. */
char *media_clean_filename(char *name);

#endif
