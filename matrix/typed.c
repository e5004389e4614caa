#include "matrix/typed.h"

#include "common/mem.h"

#include <stdlib.h>

/* One parsed answer of any kind. */
union answer {
    struct mx_room_id room_id;
    struct mx_event_id event_id;
    struct mx_members members;
    struct mx_messages messages;
    struct mx_context context;
    struct mx_timestamp_event timestamp;
    struct mx_public_rooms public_rooms;
    struct mx_profile profile;
    struct mx_state state;
    struct mx_content_uri content_uri;
    struct mx_media media;
};

typedef int (*parse_fn)(const struct mx_response *r, union answer *a,
                        const char **err);
typedef void (*clear_fn)(union answer *a);
typedef void (*invoke_fn)(mx_any_cb cb, const struct mx_response *r,
                          const union answer *a, void *ud);

struct kind {
    parse_fn parse;
    clear_fn clear; /* NULL: nothing to free */
    invoke_fn invoke;
};

/* The JSON parsers take the body; the media one takes the bytes. */
#define JSON_PARSER(name, fn, field)                                      \
    static int name(const struct mx_response *r, union answer *a,        \
                    const char **err)                                    \
    {                                                                    \
        return fn(r->body, &a->field, err);                              \
    }
JSON_PARSER(p_room_id, mx_parse_room_id, room_id)
JSON_PARSER(p_event_id, mx_parse_event_id, event_id)
JSON_PARSER(p_members, mx_parse_members, members)
JSON_PARSER(p_messages, mx_parse_messages, messages)
JSON_PARSER(p_context, mx_parse_context, context)
JSON_PARSER(p_timestamp, mx_parse_timestamp_event, timestamp)
JSON_PARSER(p_public_rooms, mx_parse_public_rooms, public_rooms)
JSON_PARSER(p_profile, mx_parse_profile, profile)
JSON_PARSER(p_state, mx_parse_state, state)
JSON_PARSER(p_content_uri, mx_parse_content_uri, content_uri)

static int p_media(const struct mx_response *r, union answer *a,
                   const char **err)
{
    (void)err;
    a->media.data = r->raw;
    a->media.len = r->raw_len;
    a->media.content_type = r->content_type;
    return 0;
}

static void c_members(union answer *a)
{
    mx_members_clear(&a->members);
}

static void c_public_rooms(union answer *a)
{
    mx_public_rooms_clear(&a->public_rooms);
}

/* Casts cb back to its own type; a is NULL for a failed call. */
#define INVOKER(name, cbtype, field)                                      \
    static void name(mx_any_cb cb, const struct mx_response *r,          \
                     const union answer *a, void *ud)                    \
    {                                                                    \
        ((cbtype)cb)(r, a ? &a->field : NULL, ud);                       \
    }
INVOKER(i_room_id, mx_room_id_cb, room_id)
INVOKER(i_event_id, mx_event_id_cb, event_id)
INVOKER(i_members, mx_members_cb, members)
INVOKER(i_messages, mx_messages_cb, messages)
INVOKER(i_context, mx_context_cb, context)
INVOKER(i_timestamp, mx_timestamp_cb, timestamp)
INVOKER(i_public_rooms, mx_public_rooms_cb, public_rooms)
INVOKER(i_profile, mx_profile_cb, profile)
INVOKER(i_state, mx_state_cb, state)
INVOKER(i_content_uri, mx_content_uri_cb, content_uri)
INVOKER(i_media, mx_media_cb, media)

static const struct kind kinds[] = {
    [MX_ANSWER_ROOM_ID] = { p_room_id, NULL, i_room_id },
    [MX_ANSWER_EVENT_ID] = { p_event_id, NULL, i_event_id },
    [MX_ANSWER_MEMBERS] = { p_members, c_members, i_members },
    [MX_ANSWER_MESSAGES] = { p_messages, NULL, i_messages },
    [MX_ANSWER_CONTEXT] = { p_context, NULL, i_context },
    [MX_ANSWER_TIMESTAMP] = { p_timestamp, NULL, i_timestamp },
    [MX_ANSWER_PUBLIC_ROOMS] = { p_public_rooms, c_public_rooms,
                                 i_public_rooms },
    [MX_ANSWER_PROFILE] = { p_profile, NULL, i_profile },
    [MX_ANSWER_STATE] = { p_state, NULL, i_state },
    [MX_ANSWER_CONTENT_URI] = { p_content_uri, NULL, i_content_uri },
    [MX_ANSWER_MEDIA] = { p_media, NULL, i_media },
};

struct typed_call {
    const struct kind *kind;
    mx_any_cb cb;
    void *ud;
};

void *mx_typed_ud(enum mx_answer kind, mx_any_cb cb, void *ud)
{
    struct typed_call *t = xcalloc(1, sizeof *t);
    t->kind = &kinds[kind];
    t->cb = cb;
    t->ud = ud;
    return t;
}

void mx_typed_on_answer(const struct mx_response *r, void *ud)
{
    struct typed_call *t = ud;
    const struct kind *k = t->kind;
    mx_any_cb cb = t->cb;
    void *cud = t->ud;
    free(t);
    /* Only a 200 carries an answer; the rest are refusals the caller
     * reads from r. */
    union answer a;
    const char *err = NULL;
    bool ok = r->status == 200 && k->parse(r, &a, &err) == 0;
    struct mx_response shown = *r;
    if (r->status == 200 && !ok)
        shown.error = err;
    k->invoke(cb, &shown, ok ? &a : NULL, cud);
    if (ok && k->clear)
        k->clear(&a);
}

void mx_typed_send(struct mx_client *c, struct mx_request *req,
                   int max_attempts, enum mx_answer kind, mx_any_cb cb,
                   void *ud)
{
    mx_request_send(c, req, max_attempts, mx_typed_on_answer,
                    mx_typed_ud(kind, cb, ud));
}
