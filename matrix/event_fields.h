/* Typed reads of one field of a JSON object, shared by the matrix/ event
 * parsers (and only by them: everything else reads Matrix data through the
 * parsers' structs). Each returns NULL / the fallback when obj is not an
 * object, the key is absent, or the value has another type. Strings and
 * values are borrowed from the tree. */
#ifndef ISTHMUS_MATRIX_EVENT_FIELDS_H
#define ISTHMUS_MATRIX_EVENT_FIELDS_H

#include <jansson.h>
#include <stdbool.h>

static inline const char *mx_field_str(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static inline json_t *mx_field_obj(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_object(v) ? v : NULL;
}

static inline json_t *mx_field_arr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_array(v) ? v : NULL;
}

static inline long long mx_field_int(json_t *obj, const char *key,
                                     long long fallback)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : fallback;
}

/* Whether key is present with a value of another type than wanted: what
 * makes an optional field an error rather than merely absent. */
static inline bool mx_field_wrong(json_t *obj, const char *key,
                                  json_type wanted)
{
    json_t *v = json_object_get(obj, key);
    return v && json_typeof(v) != wanted;
}

/* Whether arr is an array of strings only (an empty one too). */
static inline bool mx_strings_only(json_t *arr)
{
    if (!json_is_array(arr))
        return false;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
        if (!json_is_string(v))
            return false;
    return true;
}

#endif
