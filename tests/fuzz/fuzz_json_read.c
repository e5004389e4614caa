/* libFuzzer target: json_read must accept and refuse exactly what
 * json_loadb(data, size, 0) does, and build the same tree (same values,
 * types and key order) for what it accepts. The tree is then written by
 * json_write_compact, which must give the bytes json_dumps gives. Any
 * difference aborts. */
#include "matrix/json_read.h"
#include "matrix/json_write.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void differ(const char *what)
{
    fprintf(stderr, "fuzz_json_read: %s\n", what);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    char *text = malloc(size ? size : 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    json_t *want = json_loadb(text, size, 0, NULL);
    char err[128];
    json_t *got = json_read(text, size, err, sizeof err);
    if (!want != !got)
        differ(got ? "json_read accepts what json_loadb refuses"
                   : "json_read refuses what json_loadb accepts");
    if (!got && !err[0])
        differ("json_read refused without saying why");
    if (got) {
        if (!json_equal(want, got))
            differ("the trees differ");
        char *a = json_dumps(want, JSON_COMPACT);
        char *b = json_dumps(got, JSON_COMPACT);
        if (!a || !b || strcmp(a, b) != 0)
            differ("the trees dump differently (key order?)");
        size_t len = 0;
        char *c = json_write_compact(got, &len);
        if (!c || strcmp(a, c) != 0)
            differ("json_write_compact and json_dumps write differently");
        if (len != strlen(c))
            differ("json_write_compact gave a wrong length");
        free(a);
        free(b);
        free(c);
    }
    json_decref(want);
    json_decref(got);
    free(text);
    return 0;
}
