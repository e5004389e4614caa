/* libFuzzer target: an appservice transaction body, parsed the way the
 * gateway parses it, each message translated the way it crosses to XMPP
 * (gateway/core/m2x.c: text, files, edits, replies, mentions). */
#include "common/mem.h"
#include "gateway/core/m2x.h"
#include "matrix/event.h"
#include "matrix/json_read.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every event "crossed", under an id of its own. */
static char *lookup(void *ud, const char *event_id, bool correction)
{
    (void)ud;
    return xasprintf("%s-%d", event_id, correction);
}

static char *proxy(void *ud, const struct mx_message *msg, const char *name,
                   const char **why)
{
    (void)ud;
    (void)why;
    return xasprintf("https://gw/%s/%s", msg->url ? msg->url : "encrypted",
                     name ? name : "");
}

static const struct ids ids = { "_xmpp_", "_xmpp_", "hs", "gw", "_xmpp" };
static const struct m2x_env env = { 262144, 1000000, &ids, lookup, proxy,
                                    NULL };

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
        struct m2x_message out;
        if (mx_message_parse(&ev, &msg, &why) == 0 &&
            m2x_translate(&msg, &env, &out, &why) == 0)
            m2x_message_free(&out);
    }
    json_decref(body);
    return 0;
}
