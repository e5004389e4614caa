/* Room state, one event at a time, and the joined members. */
#include "matrix/api.h"

#include "matrix/path.h"
#include "matrix/typed.h"

#define ROOMS "/_matrix/client/v3/rooms"

/* /rooms/{room}/state/{type}[/{state_key}] */
static void state_path(struct mx_path *p, const char *room_id,
                       const char *type, const char *state_key)
{
    mx_path_init(p, ROOMS);
    mx_path_seg(p, room_id);
    mx_path_lit(p, "/state");
    mx_path_seg(p, type);
    if (state_key)
        mx_path_seg(p, state_key);
}

struct mx_request *mx_req_state_get(const char *room_id, const char *type,
                                    const char *state_key,
                                    const char *as_user, bool format_event)
{
    struct mx_path p;
    state_path(&p, room_id, type, state_key);
    if (format_event)
        mx_path_query(&p, "format", "event");
    mx_path_as_user(&p, as_user);
    return mx_request_new("GET", mx_path_done(&p), NULL);
}

void mx_state_get(struct mx_client *c, const char *room_id, const char *type,
                  const char *state_key, const char *as_user,
                  bool format_event, int max_attempts, mx_state_cb cb,
                  void *ud)
{
    mx_typed_send(c,
                  mx_req_state_get(room_id, type, state_key, as_user,
                                   format_event),
                  max_attempts, MX_ANSWER_STATE, (mx_any_cb)cb, ud);
}

struct mx_request *mx_req_state_put(const char *room_id, const char *type,
                                    const char *state_key,
                                    const char *as_user, json_t *content)
{
    struct mx_path p;
    state_path(&p, room_id, type, state_key);
    mx_path_as_user(&p, as_user);
    return mx_request_new("PUT", mx_path_done(&p), content);
}

void mx_state_put(struct mx_client *c, const char *room_id, const char *type,
                  const char *state_key, const char *as_user,
                  json_t *content, int max_attempts, mx_done_cb cb, void *ud)
{
    mx_request_send(c,
                    mx_req_state_put(room_id, type, state_key, as_user,
                                     content),
                    max_attempts, cb, ud);
}

struct mx_request *mx_req_joined_members(const char *room_id,
                                         const char *as_user)
{
    struct mx_path p;
    mx_path_init(&p, ROOMS);
    mx_path_seg(&p, room_id);
    mx_path_lit(&p, "/joined_members");
    mx_path_as_user(&p, as_user);
    return mx_request_new("GET", mx_path_done(&p), NULL);
}

void mx_joined_members(struct mx_client *c, const char *room_id,
                       const char *as_user, int max_attempts,
                       mx_members_cb cb, void *ud)
{
    mx_typed_send(c, mx_req_joined_members(room_id, as_user), max_attempts,
                  MX_ANSWER_MEMBERS, (mx_any_cb)cb, ud);
}

struct mx_request *mx_req_room_members(const char *room_id,
                                       const char *as_user)
{
    struct mx_path p;
    mx_path_init(&p, ROOMS);
    mx_path_seg(&p, room_id);
    mx_path_lit(&p, "/members");
    mx_path_as_user(&p, as_user);
    mx_path_query(&p, "not_membership", "leave");
    return mx_request_new("GET", mx_path_done(&p), NULL);
}

void mx_room_members(struct mx_client *c, const char *room_id,
                     const char *as_user, int max_attempts, mx_done_cb cb,
                     void *ud)
{
    mx_request_send(c, mx_req_room_members(room_id, as_user), max_attempts,
                    cb, ud);
}
