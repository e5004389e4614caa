/* Rooms: creating, joining, leaving, inviting, kicking, banning, and a
 * user's own member event. */
#include "matrix/api.h"

#include "matrix/path.h"
#include "matrix/typed.h"

#define CLIENT "/_matrix/client/v3"

struct mx_request *mx_req_create_room(const char *as_user,
                                      const struct mx_create_room *o)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/createRoom");
    mx_path_as_user(&p, as_user);
    /* The keys in this order: the bodies the gateway always sent. */
    json_t *body = json_object();
    if (o->room_alias_name)
        json_object_set_new(body, "room_alias_name",
                            json_string(o->room_alias_name));
    if (o->name)
        json_object_set_new(body, "name", json_string(o->name));
    if (o->preset)
        json_object_set_new(body, "preset", json_string(o->preset));
    if (o->is_direct)
        json_object_set_new(body, "is_direct", json_true());
    if (o->invite)
        json_object_set_new(body, "invite", json_pack("[s]", o->invite));
    if (o->visibility)
        json_object_set_new(body, "visibility", json_string(o->visibility));
    if (o->power_level_content_override)
        json_object_set_new(body, "power_level_content_override",
                            o->power_level_content_override);
    if (o->encrypted)
        json_object_set_new(
            body, "initial_state",
            json_pack("[{s:s, s:s, s:{s:s}}]", "type", "m.room.encryption",
                      "state_key", "", "content", "algorithm",
                      "m.megolm.v1.aes-sha2"));
    return mx_request_new("POST", mx_path_done(&p), body);
}

void mx_create_room(struct mx_client *c, const char *as_user,
                    const struct mx_create_room *opts, int max_attempts,
                    mx_room_id_cb cb, void *ud)
{
    mx_typed_send(c, mx_req_create_room(as_user, opts), max_attempts,
                  MX_ANSWER_ROOM_ID, (mx_any_cb)cb, ud);
}

struct mx_request *mx_req_join(const char *room, const char *as_user)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/join");
    mx_path_seg(&p, room);
    mx_path_as_user(&p, as_user);
    return mx_request_new("POST", mx_path_done(&p), json_object());
}

void mx_join(struct mx_client *c, const char *room, const char *as_user,
             int max_attempts, mx_room_id_cb cb, void *ud)
{
    mx_typed_send(c, mx_req_join(room, as_user), max_attempts,
                  MX_ANSWER_ROOM_ID, (mx_any_cb)cb, ud);
}

/* POST /rooms/{room}{action}, the membership calls' shape. */
static struct mx_request *room_post(const char *room_id, const char *action,
                                    const char *as_user, json_t *body)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/rooms");
    mx_path_seg(&p, room_id);
    mx_path_lit(&p, action);
    mx_path_as_user(&p, as_user);
    return mx_request_new("POST", mx_path_done(&p), body);
}

struct mx_request *mx_req_leave(const char *room_id, const char *as_user)
{
    return room_post(room_id, "/leave", as_user, json_object());
}

void mx_leave(struct mx_client *c, const char *room_id, const char *as_user,
              int max_attempts, mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_leave(room_id, as_user), max_attempts, cb, ud);
}

static json_t *target_body(const char *user_id, const char *reason)
{
    json_t *body = json_pack("{s:s}", "user_id", user_id);
    if (reason)
        json_object_set_new(body, "reason", json_string(reason));
    return body;
}

struct mx_request *mx_req_invite(const char *room_id, const char *user_id,
                                 const char *reason, const char *as_user)
{
    return room_post(room_id, "/invite", as_user,
                     target_body(user_id, reason));
}

void mx_invite(struct mx_client *c, const char *room_id, const char *user_id,
               const char *reason, const char *as_user, int max_attempts,
               mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_invite(room_id, user_id, reason, as_user),
                    max_attempts, cb, ud);
}

struct mx_request *mx_req_kick(const char *room_id, const char *user_id,
                               const char *reason, const char *as_user)
{
    return room_post(room_id, "/kick", as_user, target_body(user_id, reason));
}

void mx_kick(struct mx_client *c, const char *room_id, const char *user_id,
             const char *reason, const char *as_user, int max_attempts,
             mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_kick(room_id, user_id, reason, as_user),
                    max_attempts, cb, ud);
}

struct mx_request *mx_req_ban(const char *room_id, const char *user_id,
                              const char *reason, const char *as_user)
{
    return room_post(room_id, "/ban", as_user, target_body(user_id, reason));
}

void mx_ban(struct mx_client *c, const char *room_id, const char *user_id,
            const char *reason, const char *as_user, int max_attempts,
            mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_ban(room_id, user_id, reason, as_user),
                    max_attempts, cb, ud);
}

struct mx_request *mx_req_member_join(const char *room_id, const char *user,
                                      const char *displayname,
                                      const char *avatar_url)
{
    json_t *content = json_pack("{s:s, s:s}", "membership", "join",
                                "displayname", displayname);
    if (avatar_url && *avatar_url)
        json_object_set_new(content, "avatar_url", json_string(avatar_url));
    return mx_req_state_put(room_id, "m.room.member", user, user, content);
}

void mx_member_join(struct mx_client *c, const char *room_id,
                    const char *user, const char *displayname,
                    const char *avatar_url, int max_attempts, mx_done_cb cb,
                    void *ud)
{
    mx_request_send(c,
                    mx_req_member_join(room_id, user, displayname,
                                       avatar_url),
                    max_attempts, cb, ud);
}
