/* The parts of an appservice transaction, by name. */
#include "matrix/transaction.h"

#include <stddef.h>
#include <string.h>

/* Where each part lives: its stable name first, then the unstable names
 * homeservers used or use while the MSC is open. NULL-terminated. */
struct part {
    size_t offset; /* of the json_t * in struct mx_transaction */
    json_type type;
    const char *names[4];
};

static const struct part parts[] = {
    { offsetof(struct mx_transaction, events), JSON_ARRAY,
      { "events", NULL } },
    { offsetof(struct mx_transaction, ephemeral), JSON_ARRAY,
      { "ephemeral", "de.sorunome.msc2409.ephemeral", NULL } },
    { offsetof(struct mx_transaction, to_device), JSON_ARRAY,
      { "to_device", "de.sorunome.msc2409.to_device", NULL } },
    { offsetof(struct mx_transaction, device_lists), JSON_OBJECT,
      { "device_lists", "org.matrix.msc3202.device_lists", NULL } },
    /* Synapse has used both spellings of the unstable counts. */
    { offsetof(struct mx_transaction, otk_counts), JSON_OBJECT,
      { "device_one_time_keys_count",
        "org.matrix.msc3202.device_one_time_keys_count",
        "org.matrix.msc3202.device_one_time_key_counts", NULL } },
    { offsetof(struct mx_transaction, fallback_key_types), JSON_OBJECT,
      { "device_unused_fallback_key_types",
        "org.matrix.msc3202.device_unused_fallback_key_types", NULL } },
};

int mx_transaction_parse(json_t *body, struct mx_transaction *out,
                         const char **why)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(body)) {
        *why = "the transaction is not a JSON object";
        return -1;
    }
    for (size_t p = 0; p < sizeof parts / sizeof parts[0]; p++) {
        json_t **slot = (json_t **)((char *)out + parts[p].offset);
        for (const char *const *name = parts[p].names; *name && !*slot;
             name++) {
            json_t *v = json_object_get(body, *name);
            if (v && json_typeof(v) == parts[p].type)
                *slot = v;
        }
    }
    return 0;
}
