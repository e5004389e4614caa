/* libFuzzer target: the config parser. Either a config or a
 * "name:line: message" error; never a crash or a leak. */
#include "gateway/core/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    struct config cfg;
    char *err = NULL;
    if (config_parse("fuzz.conf", s, &cfg, &err) == 0) {
        config_free(&cfg);
    } else {
        if (!err || strncmp(err, "fuzz.conf:", 10) != 0)
            abort();
        free(err);
    }
    free(s);
    return 0;
}
