/* To-device events, device lists, one-time and fallback key state. Not
 * used by the gateway yet: end-to-bridge encryption will read them. */
#include "matrix/event_device.h"

#include "matrix/event_fields.h"

#include <string.h>

int mx_to_device_parse(json_t *ev, struct mx_to_device *out,
                       const char **why)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(ev)) {
        *why = "the to-device event is not a JSON object";
        return -1;
    }
    out->sender = mx_field_str(ev, "sender");
    out->type = mx_field_str(ev, "type");
    out->content = mx_field_obj(ev, "content");
    out->to_user_id = mx_field_str(ev, "to_user_id");
    out->to_device_id = mx_field_str(ev, "to_device_id");
    if (!out->sender || !out->type || !out->content) {
        *why = "the to-device event has no sender, type or content";
        return -1;
    }
    if (!out->to_user_id || !out->to_device_id) {
        *why = "the to-device event has no to_user_id or to_device_id";
        return -1;
    }
    return 0;
}

static int str_list(json_t *obj, const char *key, struct mx_str_list *out)
{
    json_t *arr = json_object_get(obj, key);
    out->arr = arr;
    out->n = json_array_size(arr);
    return !arr || mx_strings_only(arr) ? 0 : -1;
}

int mx_device_lists_parse(json_t *obj, struct mx_device_lists *out,
                          const char **why)
{
    memset(out, 0, sizeof *out);
    if (obj && !json_is_object(obj)) {
        *why = "the device lists are not an object";
        return -1;
    }
    if (str_list(obj, "changed", &out->changed) < 0 ||
        str_list(obj, "left", &out->left) < 0) {
        memset(out, 0, sizeof *out);
        *why = "the device lists' changed or left is not an array of "
               "user ids";
        return -1;
    }
    return 0;
}

/* {user_id: {device_id: X}}: checks that both levels are objects and each
 * X passes leaf_ok; NULL is an empty map. */
static int check_user_device_map(json_t *obj, bool (*leaf_ok)(json_t *),
                                 const char **why)
{
    if (!obj)
        return 0;
    if (!json_is_object(obj)) {
        *why = "the per-user map is not an object";
        return -1;
    }
    const char *user_id, *device_id;
    json_t *devices, *leaf;
    json_object_foreach(obj, user_id, devices) {
        if (!json_is_object(devices)) {
            *why = "a user's per-device map is not an object";
            return -1;
        }
        json_object_foreach(devices, device_id, leaf)
            if (!leaf_ok(leaf)) {
                *why = "a device's entry has the wrong type";
                return -1;
            }
    }
    return 0;
}

static bool counts_ok(json_t *counts)
{
    if (!json_is_object(counts))
        return false;
    const char *alg;
    json_t *n;
    json_object_foreach(counts, alg, n)
        if (!json_is_integer(n) || json_integer_value(n) < 0)
            return false;
    return true;
}

int mx_otk_counts_foreach(json_t *obj,
                          void (*cb)(const struct mx_otk_count *c, void *ud),
                          void *ud, const char **why)
{
    if (check_user_device_map(obj, counts_ok, why) < 0)
        return -1;
    const char *user_id, *device_id, *alg;
    json_t *devices, *counts, *n;
    json_object_foreach(obj, user_id, devices)
        json_object_foreach(devices, device_id, counts)
            json_object_foreach(counts, alg, n) {
                struct mx_otk_count c = {
                    user_id, device_id, alg,
                    (long long)json_integer_value(n) };
                cb(&c, ud);
            }
    return 0;
}

long long mx_otk_count_of(json_t *obj, const char *user_id,
                          const char *device_id, const char *algorithm)
{
    json_t *counts = mx_field_obj(mx_field_obj(obj, user_id), device_id);
    long long n = mx_field_int(counts, algorithm, -1);
    return n >= 0 ? n : -1;
}

int mx_fallback_keys_foreach(json_t *obj,
                             void (*cb)(const struct mx_fallback_keys *f,
                                        void *ud),
                             void *ud, const char **why)
{
    if (check_user_device_map(obj, mx_strings_only, why) < 0)
        return -1;
    const char *user_id, *device_id;
    json_t *devices, *algs;
    json_object_foreach(obj, user_id, devices)
        json_object_foreach(devices, device_id, algs) {
            struct mx_fallback_keys f = {
                user_id, device_id, { algs, json_array_size(algs) } };
            cb(&f, ud);
        }
    return 0;
}
