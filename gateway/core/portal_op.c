/* Portal mode: a queued operation's stored form (see portal_op.h). */
#include "gateway/core/portal_op.h"

#include "common/mem.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *const op_names[PORTAL_OP_COUNT] = {
    [PORTAL_OP_JOIN] = "join",       [PORTAL_OP_LEAVE] = "leave",
    [PORTAL_OP_KICK] = "kick",       [PORTAL_OP_BAN] = "ban",
    [PORTAL_OP_POWER] = "power",     [PORTAL_OP_TOPIC] = "topic",
    [PORTAL_OP_SAY] = "say",         [PORTAL_OP_REACT] = "react",
    [PORTAL_OP_REDACT] = "redact",   [PORTAL_OP_MODERATED] = "moderated",
};

const char *portal_op_name(enum portal_op_kind kind)
{
    return (unsigned)kind < PORTAL_OP_COUNT ? op_names[kind] : NULL;
}

int portal_op_kind_of(const char *name, enum portal_op_kind *out)
{
    for (int k = 0; name && k < PORTAL_OP_COUNT; k++) {
        if (strcmp(name, op_names[k]) == 0) {
            *out = (enum portal_op_kind)k;
            return 0;
        }
    }
    return -1;
}

/* ------------------------------------------------------ the keys -- */

enum field_type { F_STR, F_INT, F_BOOL, F_JSON, F_KEYS };

/* Every stored key but "op". A string is written when set; a number or a
 * flag only for the kind (only) that always carried it, so that a row
 * looks as it did; "keys" likewise only for react. */
#define ANY (-1)
static const struct field {
    const char *key;
    enum field_type type;
    size_t offset;
    int only; /* a kind, or ANY */
} fields[] = {
    { "user_id", F_STR, offsetof(struct portal_op, user_id), ANY },
    { "room_id", F_STR, offsetof(struct portal_op, room_id), ANY },
    { "event_id", F_STR, offsetof(struct portal_op, event_id), ANY },
    { "jid", F_STR, offsetof(struct portal_op, jid), ANY },
    { "nick", F_STR, offsetof(struct portal_op, nick), ANY },
    { "reason", F_STR, offsetof(struct portal_op, reason), ANY },
    { "topic", F_STR, offsetof(struct portal_op, topic), ANY },
    { "ghost", F_STR, offsetof(struct portal_op, ghost), ANY },
    { "muc", F_STR, offsetof(struct portal_op, muc), ANY },
    { "stanza_id", F_STR, offsetof(struct portal_op, stanza_id), ANY },
    { "origin_id", F_STR, offsetof(struct portal_op, origin_id), ANY },
    { "replaces", F_STR, offsetof(struct portal_op, replaces), ANY },
    { "media_url", F_STR, offsetof(struct portal_op, media_url), ANY },
    { "media_desc", F_STR, offsetof(struct portal_op, media_desc), ANY },
    { "content", F_JSON, offsetof(struct portal_op, content), ANY },
    { "stanza", F_STR, offsetof(struct portal_op, stanza), ANY },
    { "ts", F_INT, offsetof(struct portal_op, ts), PORTAL_OP_SAY },
    { "level", F_INT, offsetof(struct portal_op, level), PORTAL_OP_POWER },
    { "real", F_BOOL, offsetof(struct portal_op, real), PORTAL_OP_JOIN },
    { "keys", F_KEYS, offsetof(struct portal_op, keys), PORTAL_OP_REACT },
};
#define NFIELDS (sizeof fields / sizeof fields[0])

#define AT(op, f, type) ((type *)((char *)(op) + (f)->offset))

static json_t *encode_field(const struct portal_op *op, const struct field *f)
{
    if (f->only != ANY && (int)op->kind != f->only)
        return NULL;
    switch (f->type) {
    case F_STR: {
        const char *s = *AT(op, f, const char *const);
        return s ? json_string(s) : NULL;
    }
    case F_INT:
        return json_integer((json_int_t)*AT(op, f, const long long));
    case F_BOOL:
        return json_boolean(*AT(op, f, const bool));
    case F_JSON: {
        json_t *v = *AT(op, f, json_t *const);
        return v ? json_incref(v) : NULL;
    }
    case F_KEYS: {
        json_t *arr = json_array();
        for (size_t i = 0; i < op->nkeys; i++)
            json_array_append_new(arr, json_string(op->keys[i]));
        return arr;
    }
    }
    return NULL;
}

json_t *portal_op_encode(const struct portal_op *op)
{
    json_t *doc = json_object();
    json_object_set_new(doc, "op", json_string(portal_op_name(op->kind)));
    for (size_t k = 0; k < NFIELDS; k++) {
        json_t *v = encode_field(op, &fields[k]);
        if (v)
            json_object_set_new(doc, fields[k].key, v);
    }
    return doc;
}

/* One stored key into out; a value of the wrong type reads as absent. */
static void decode_field(struct portal_op *out, const struct field *f,
                         json_t *v)
{
    switch (f->type) {
    case F_STR:
        *AT(out, f, const char *) = json_string_value(v);
        break;
    case F_INT:
        *AT(out, f, long long) = (long long)json_integer_value(v);
        break;
    case F_BOOL:
        *AT(out, f, bool) = json_is_true(v);
        break;
    case F_JSON:
        *AT(out, f, json_t *) = v;
        break;
    case F_KEYS: {
        size_t n = json_array_size(v);
        free(out->keys);
        out->keys = xcalloc(n + 1, sizeof *out->keys);
        out->nkeys = 0;
        for (size_t i = 0; i < n; i++)
            if (json_string_value(json_array_get(v, i)))
                out->keys[out->nkeys++] = json_string_value(json_array_get(v, i));
        break;
    }
    }
}

int portal_op_decode(json_t *doc, struct portal_op *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(doc)) {
        *why = "not an object";
        return -1;
    }
    out->doc = json_incref(doc);
    const char *name = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v) {
        if (strcmp(key, "op") == 0) {
            name = json_string_value(v);
            continue;
        }
        for (size_t k = 0; k < NFIELDS; k++)
            if (strcmp(key, fields[k].key) == 0)
                decode_field(out, &fields[k], v);
    }
    if (!name || !out->user_id || !out->room_id) {
        *why = "no op, user_id or room_id";
        return -1;
    }
    if (portal_op_kind_of(name, &out->kind) < 0) {
        *why = "unknown operation";
        return -1;
    }
    return 0;
}

void portal_op_clear(struct portal_op *op)
{
    free(op->keys);
    json_decref(op->doc);
    memset(op, 0, sizeof *op);
}
