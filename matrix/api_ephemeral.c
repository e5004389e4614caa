/* What a user shows while there: presence, typing, read receipts. */
#include "matrix/api.h"

#include "matrix/path.h"

#define CLIENT "/_matrix/client/v3"

struct mx_request *mx_req_presence(const char *user, const char *presence,
                                   const char *status_msg)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/presence");
    mx_path_seg(&p, user);
    mx_path_lit(&p, "/status");
    mx_path_as_user(&p, user);
    json_t *body = json_pack("{s:s}", "presence", presence);
    if (status_msg)
        json_object_set_new(body, "status_msg", json_string(status_msg));
    return mx_request_new("PUT", mx_path_done(&p), body);
}

void mx_presence(struct mx_client *c, const char *user, const char *presence,
                 const char *status_msg, int max_attempts, mx_done_cb cb,
                 void *ud)
{
    mx_request_send(c, mx_req_presence(user, presence, status_msg),
                    max_attempts, cb, ud);
}

struct mx_request *mx_req_typing(const char *room_id, const char *user,
                                 bool typing, int timeout_ms)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/rooms");
    mx_path_seg(&p, room_id);
    mx_path_lit(&p, "/typing");
    mx_path_seg(&p, user);
    mx_path_as_user(&p, user);
    json_t *body = typing ? json_pack("{s:b, s:i}", "typing", 1, "timeout",
                                      timeout_ms)
                          : json_pack("{s:b}", "typing", 0);
    return mx_request_new("PUT", mx_path_done(&p), body);
}

void mx_typing(struct mx_client *c, const char *room_id, const char *user,
               bool typing, int timeout_ms, int max_attempts, mx_done_cb cb,
               void *ud)
{
    mx_request_send(c, mx_req_typing(room_id, user, typing, timeout_ms),
                    max_attempts, cb, ud);
}

struct mx_request *mx_req_read_receipt(const char *room_id,
                                       const char *event_id,
                                       const char *as_user)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/rooms");
    mx_path_seg(&p, room_id);
    mx_path_lit(&p, "/receipt/m.read");
    mx_path_seg(&p, event_id);
    mx_path_as_user(&p, as_user);
    return mx_request_new("POST", mx_path_done(&p), json_object());
}
