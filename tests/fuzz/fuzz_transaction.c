/* libFuzzer target: an appservice transaction body, parsed the way the
 * gateway parses it, each event translated to an XMPP body. */
#include "gateway/core/formatting.h"
#include "gateway/core/translate.h"
#include "matrix/event.h"
#include "matrix/json_read.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_read((const char *)data, size, NULL, 0);
    if (!body)
        return 0;
    json_t *events = json_object_get(body, "events");
    size_t i;
    json_t *raw;
    json_array_foreach(events, i, raw) {
        struct mx_event ev;
        const char *why;
        if (mx_event_parse(raw, &ev, &why) < 0)
            continue;
        struct mx_member mem;
        mx_member_parse(&ev, &mem, &why);
        struct mx_message msg;
        if (mx_message_parse(&ev, &msg, &why) == 0) {
            char *out = NULL;
            const char *type;
            struct fmt_mention *m;
            size_t n;
            if (translate_to_xmpp_rich(&msg, 262144, &out, &type, &m, &n,
                                       &why) == 0) {
                free(out);
                fmt_mentions_free(m, n);
            }
        }
    }
    json_decref(body);
    return 0;
}
