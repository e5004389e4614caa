/* The body of an appservice transaction (PUT /_matrix/app/v1/transactions):
 * which part is where, under the stable name or the unstable one of the
 * MSC that added it. Each part is a borrowed view into the body; read its
 * entries with the parser of their kind (mx_event_parse,
 * mx_ephemeral_parse, mx_to_device_parse, mx_device_lists_parse,
 * mx_otk_counts_foreach, mx_fallback_keys_foreach). */
#ifndef ISTHMUS_MATRIX_TRANSACTION_H
#define ISTHMUS_MATRIX_TRANSACTION_H

#include <jansson.h>

struct mx_transaction {
    json_t *events;    /* array, or NULL */
    json_t *ephemeral; /* array, or NULL (MSC2409) */
    json_t *to_device; /* array, or NULL (MSC2409 / MSC4203) */
    json_t *device_lists;       /* object, or NULL (MSC3202) */
    json_t *otk_counts;         /* object, or NULL (MSC3202) */
    json_t *fallback_key_types; /* object, or NULL (MSC3202) */
};

/* -1 only when body is not an object. A part of the wrong type reads as
 * absent: one malformed part must not make the homeserver retry the whole
 * transaction forever. Each part is taken under its stable name, else
 * under the first unstable one present, never merged (Synapse sends the
 * same events under each name). */
int mx_transaction_parse(json_t *body, struct mx_transaction *out,
                         const char **why);

#endif
