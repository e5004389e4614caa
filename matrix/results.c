/* The typed answers of matrix/api.h, read from the homeserver's JSON.
 * Required fields missing or of the wrong type make the answer malformed
 * (-1 with a reason); optional ones are NULL. */
#include "matrix/api.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

static const char *opt_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int mx_parse_room_id(const json_t *body, struct mx_room_id *out,
                     const char **err)
{
    out->room_id = opt_str(body, "room_id");
    if (!out->room_id) {
        *err = "the homeserver's answer has no room_id";
        return -1;
    }
    return 0;
}

int mx_parse_event_id(const json_t *body, struct mx_event_id *out,
                      const char **err)
{
    out->event_id = opt_str(body, "event_id");
    if (!out->event_id) {
        *err = "the homeserver's answer has no event_id";
        return -1;
    }
    return 0;
}

int mx_parse_members(const json_t *body, struct mx_members *out,
                     const char **err)
{
    out->n = 0;
    out->members = NULL;
    json_t *joined = json_object_get(body, "joined");
    if (!json_is_object(joined)) {
        *err = "the homeserver's answer has no joined members";
        return -1;
    }
    out->members = xcalloc(json_object_size(joined) + 1,
                           sizeof *out->members);
    const char *mxid;
    json_t *info;
    json_object_foreach(joined, mxid, info) {
        struct mx_joined_member *m = &out->members[out->n++];
        m->user_id = mxid;
        m->display_name = opt_str(info, "display_name");
        m->avatar_url = opt_str(info, "avatar_url");
    }
    return 0;
}

void mx_members_clear(struct mx_members *m)
{
    free(m->members);
    m->members = NULL;
    m->n = 0;
}

struct mx_members *mx_members_dup(const struct mx_members *m)
{
    struct mx_members *d = xcalloc(1, sizeof *d);
    d->n = m->n;
    d->members = xcalloc(m->n + 1, sizeof *d->members);
    for (size_t i = 0; i < m->n; i++) {
        d->members[i].user_id = xstrdup(m->members[i].user_id);
        d->members[i].display_name = xstrdup(m->members[i].display_name);
        d->members[i].avatar_url = xstrdup(m->members[i].avatar_url);
    }
    return d;
}

void mx_members_free(struct mx_members *m)
{
    if (!m)
        return;
    /* The strings of a copy are its own (mx_members_dup). */
    for (size_t i = 0; i < m->n; i++) {
        free((char *)m->members[i].user_id);
        free((char *)m->members[i].display_name);
        free((char *)m->members[i].avatar_url);
    }
    free(m->members);
    free(m);
}

int mx_parse_messages(const json_t *body, struct mx_messages *out,
                      const char **err)
{
    out->chunk = json_object_get(body, "chunk");
    if (!json_is_array(out->chunk)) {
        *err = "the homeserver's answer has no chunk of events";
        return -1;
    }
    out->state = json_object_get(body, "state");
    if (!json_is_array(out->state))
        out->state = NULL;
    out->start = opt_str(body, "start");
    out->end = opt_str(body, "end");
    return 0;
}

int mx_parse_context(const json_t *body, struct mx_context *out,
                     const char **err)
{
    if (!json_is_object(body)) {
        *err = "the homeserver's answer is not a JSON object";
        return -1;
    }
    out->event_room_id = opt_str(json_object_get(body, "event"), "room_id");
    out->start = opt_str(body, "start");
    out->end = opt_str(body, "end");
    return 0;
}

int mx_parse_timestamp_event(const json_t *body,
                             struct mx_timestamp_event *out, const char **err)
{
    out->event_id = opt_str(body, "event_id");
    if (!out->event_id) {
        *err = "the homeserver's answer has no event_id";
        return -1;
    }
    json_t *ts = json_object_get(body, "origin_server_ts");
    out->origin_server_ts = json_is_integer(ts) ? json_integer_value(ts) : -1;
    return 0;
}

int mx_parse_public_rooms(const json_t *body, struct mx_public_rooms *out,
                          const char **err)
{
    memset(out, 0, sizeof *out);
    json_t *chunk = json_object_get(body, "chunk");
    if (!json_is_array(chunk)) {
        *err = "the homeserver's answer has no chunk of rooms";
        return -1;
    }
    out->rooms = xcalloc(json_array_size(chunk) + 1, sizeof *out->rooms);
    size_t i;
    json_t *room;
    json_array_foreach(chunk, i, room) {
        /* A room without an id is no room to list; the others still are. */
        const char *id = opt_str(room, "room_id");
        const char *alias = opt_str(room, "canonical_alias");
        if (!id && !alias)
            continue;
        struct mx_public_room *r = &out->rooms[out->n++];
        r->room_id = id;
        r->canonical_alias = alias;
        r->name = opt_str(room, "name");
    }
    out->next_batch = opt_str(body, "next_batch");
    json_t *total = json_object_get(body, "total_room_count_estimate");
    out->has_total = json_is_integer(total);
    out->total_room_count_estimate = out->has_total
                                         ? json_integer_value(total)
                                         : 0;
    return 0;
}

void mx_public_rooms_clear(struct mx_public_rooms *p)
{
    free(p->rooms);
    p->rooms = NULL;
    p->n = 0;
}

int mx_parse_profile(const json_t *body, struct mx_profile *out,
                     const char **err)
{
    if (!json_is_object(body)) {
        *err = "the homeserver's answer is not a JSON object";
        return -1;
    }
    out->displayname = opt_str(body, "displayname");
    out->avatar_url = opt_str(body, "avatar_url");
    return 0;
}

int mx_parse_state(const json_t *body, struct mx_state *out, const char **err)
{
    if (!json_is_object(body)) {
        *err = "the homeserver's answer is not a JSON object";
        return -1;
    }
    out->content = (json_t *)body;
    return 0;
}

int mx_parse_content_uri(const json_t *body, struct mx_content_uri *out,
                         const char **err)
{
    out->content_uri = opt_str(body, "content_uri");
    if (!out->content_uri) {
        *err = "the homeserver's answer has no content_uri";
        return -1;
    }
    return 0;
}
