/* libFuzzer target: what a downloaded file is (gateway/media_sniff.c).
 * Any bytes get a type or none, and a size only within the buffer's
 * bounds; any URL gets a clean file name. Nothing crashes or reads past the
 * end (ASan watches the exact-size copy). */
#include "common/utf8.h"
#include "gateway/core/media_sniff.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size heap copy, so that any over-read is caught. */
    unsigned char *bytes = malloc(size ? size : 1);
    memcpy(bytes, data, size);
    int w = -1, h = -1;
    if (media_image_size(bytes, size, &w, &h) == 0 && (w <= 0 || h <= 0))
        abort(); /* a size is only ever reported when it is one */
    const char *mime = media_sniff_mime(bytes, size);
    (void)media_msgtype(mime);
    free(media_pick_mime(mime, bytes, size));

    char *url = malloc(size + 1);
    memcpy(url, data, size);
    url[size] = '\0';
    char *name = media_filename_from_url(url);
    size_t n = strlen(name);
    if (n == 0 || n > 200 || !utf8_valid(name, n) ||
        strpbrk(name, "/\\\"';") || strcmp(name, "..") == 0)
        abort(); /* names must be safe in a path and in a header */
    free(name);
    char *pick = media_pick_mime(url, bytes, size);
    if (!*pick || strchr(pick, ';') || strchr(pick, '\n'))
        abort();
    free(pick);
    free(url);
    free(bytes);
    return 0;
}
