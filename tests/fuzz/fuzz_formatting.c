/* libFuzzer target: the formatting converters (gateway/formatting.c) on
 * untrusted text: a Matrix formatted_body to XEP-0393, XHTML-IM through
 * the sanitiser, and an XMPP body (with mentions at offsets taken from
 * the input) to HTML. The first byte picks the mention offsets. */
#include "gateway/core/formatting.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int seed = data[0];
    char *s = malloc(size);
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    struct fmt_mention *m;
    size_t n;
    free(fmt_html_to_styled(s, &m, &n));
    fmt_mentions_free(m, n);
    free(fmt_sanitize_html(s));
    struct fmt_mention given[2] = {
        { "@a:hs", seed % 7, seed % 7 + seed % 5 },
        { "@b:hs", seed % 3, seed },
    };
    free(fmt_styled_to_html(s, given, 2));
    free(fmt_pill_mxid(s));
    free(s);
    return 0;
}
