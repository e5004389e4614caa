/* libFuzzer target: the address mapping. Any input either is refused with a
 * reason or round-trips exactly; nothing crashes. */
#include "gateway/core/ids.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct ids IDS = { "_xmpp_", "_xmpp_", "hs.example",
                                "gw.example", "_xmpp" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    char *out = NULL, *back = NULL;
    const char *why = NULL;

    if (ids_jid_to_ghost(&IDS, s, &out, &why) == 0) {
        if (ids_ghost_to_jid(&IDS, out, &back, &why) != 0)
            abort(); /* a ghost we made must map back */
        free(back);
        free(out);
    }
    if (ids_ghost_to_jid(&IDS, s, &out, &why) == 0) {
        if (ids_jid_to_ghost(&IDS, out, &back, &why) != 0 || strcmp(back, s))
            abort(); /* decoding accepts canonical input only */
        free(back);
        free(out);
    }
    if (ids_matrix_to_jid(&IDS, s, &out, &why) == 0) {
        if (ids_jid_to_matrix(&IDS, out, &back, NULL, &why) != 0 ||
            strcmp(back, s))
            abort();
        free(back);
        free(out);
    }
    if (ids_jid_to_matrix(&IDS, s, &out, NULL, &why) == 0) {
        if (ids_matrix_to_jid(&IDS, out, &back, &why) != 0)
            abort();
        free(back);
        free(out);
    }
    if (ids_alias_to_muc(&IDS, s, &out, &why) == 0) {
        if (ids_muc_to_alias(&IDS, out, &back, &why) != 0 || strcmp(back, s))
            abort();
        free(back);
        free(out);
    }
    free(s);
    return 0;
}
