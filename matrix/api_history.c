/* Reading a room's timeline: pages of messages, the context of an event,
 * the event nearest a time. */
#include "matrix/api.h"

#include "matrix/path.h"
#include "matrix/typed.h"

struct mx_request *mx_req_messages(const char *room_id, const char *as_user,
                                   bool backward, int limit,
                                   const char *filter, const char *from)
{
    struct mx_path p;
    mx_path_init(&p, "/_matrix/client/v3/rooms");
    mx_path_seg(&p, room_id);
    mx_path_lit(&p, "/messages");
    mx_path_query(&p, "dir", backward ? "b" : "f");
    mx_path_query_int(&p, "limit", limit);
    mx_path_query(&p, "filter", filter);
    mx_path_as_user(&p, as_user);
    mx_path_query(&p, "from", from);
    return mx_request_new("GET", mx_path_done(&p), NULL);
}

void mx_messages(struct mx_client *c, const char *room_id,
                 const char *as_user, bool backward, int limit,
                 const char *filter, const char *from, int max_attempts,
                 mx_messages_cb cb, void *ud)
{
    mx_typed_send(c,
                  mx_req_messages(room_id, as_user, backward, limit, filter,
                                  from),
                  max_attempts, MX_ANSWER_MESSAGES, (mx_any_cb)cb, ud);
}

struct mx_request *mx_req_context(const char *room_id, const char *event_id,
                                  int limit, const char *as_user)
{
    struct mx_path p;
    mx_path_init(&p, "/_matrix/client/v3/rooms");
    mx_path_seg(&p, room_id);
    mx_path_lit(&p, "/context");
    mx_path_seg(&p, event_id);
    mx_path_query_int(&p, "limit", limit);
    mx_path_as_user(&p, as_user);
    return mx_request_new("GET", mx_path_done(&p), NULL);
}

void mx_context(struct mx_client *c, const char *room_id,
                const char *event_id, int limit, const char *as_user,
                int max_attempts, mx_context_cb cb, void *ud)
{
    mx_typed_send(c, mx_req_context(room_id, event_id, limit, as_user),
                  max_attempts, MX_ANSWER_CONTEXT, (mx_any_cb)cb, ud);
}

struct mx_request *mx_req_timestamp_to_event(const char *room_id,
                                             long long ts, bool backward,
                                             const char *as_user)
{
    struct mx_path p;
    mx_path_init(&p, "/_matrix/client/v1/rooms");
    mx_path_seg(&p, room_id);
    mx_path_lit(&p, "/timestamp_to_event");
    mx_path_query_int(&p, "ts", ts);
    mx_path_query(&p, "dir", backward ? "b" : "f");
    mx_path_as_user(&p, as_user);
    return mx_request_new("GET", mx_path_done(&p), NULL);
}

void mx_timestamp_to_event(struct mx_client *c, const char *room_id,
                           long long ts, bool backward, const char *as_user,
                           int max_attempts, mx_timestamp_cb cb, void *ud)
{
    mx_typed_send(c,
                  mx_req_timestamp_to_event(room_id, ts, backward, as_user),
                  max_attempts, MX_ANSWER_TIMESTAMP, (mx_any_cb)cb, ud);
}
