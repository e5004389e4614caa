/* What an appservice learns about devices, for end-to-bridge encryption:
 * to-device events (MSC2409), device list changes and one-time and
 * fallback key state (MSC3202). Plain C views; strings borrowed from the
 * transaction's tree. */
#ifndef ISTHMUS_MATRIX_EVENT_DEVICE_H
#define ISTHMUS_MATRIX_EVENT_DEVICE_H

#include "matrix/event_ephemeral.h"

#include <jansson.h>
#include <stdbool.h>

/* A to-device event, addressed to one device of one of our users. */
struct mx_to_device {
    const char *sender;
    const char *type;
    json_t *content; /* borrowed; always an object */
    const char *to_user_id;
    const char *to_device_id;
};
/* -1 when any field is missing or of another type. */
int mx_to_device_parse(json_t *ev, struct mx_to_device *out,
                       const char **why);

/* Users whose device lists changed, or who share no room with us any
 * more. */
struct mx_device_lists {
    struct mx_str_list changed;
    struct mx_str_list left;
};
/* obj may be NULL (no changes). -1 when it is not an object, or changed /
 * left are not arrays of strings. */
int mx_device_lists_parse(json_t *obj, struct mx_device_lists *out,
                          const char **why);

/* One device's count of unclaimed one-time keys of one algorithm. */
struct mx_otk_count {
    const char *user_id;
    const char *device_id;
    const char *algorithm; /* signed_curve25519 */
    long long count;
};
/* obj is {user_id: {device_id: {algorithm: count}}}, or NULL. Checks the
 * whole shape first: -1 (and no calls) when any level has the wrong type
 * or a count is not a non-negative integer; else calls cb for each. */
int mx_otk_counts_foreach(json_t *obj,
                          void (*cb)(const struct mx_otk_count *c, void *ud),
                          void *ud, const char **why);
/* The count for one device and algorithm, or -1 when obj does not say. */
long long mx_otk_count_of(json_t *obj, const char *user_id,
                          const char *device_id, const char *algorithm);

/* One device's fallback key algorithms that are still unused. */
struct mx_fallback_keys {
    const char *user_id;
    const char *device_id;
    struct mx_str_list algorithms;
};
/* obj is {user_id: {device_id: [algorithm, ...]}}, or NULL; checked whole
 * as mx_otk_counts_foreach does. */
int mx_fallback_keys_foreach(json_t *obj,
                             void (*cb)(const struct mx_fallback_keys *f,
                                        void *ud),
                             void *ud, const char **why);

#endif
