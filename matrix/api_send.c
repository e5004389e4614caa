/* Room events and their redaction. */
#include "matrix/api.h"

#include "matrix/path.h"
#include "matrix/typed.h"

#define ROOMS "/_matrix/client/v3/rooms"

struct mx_request *mx_req_send_event(const char *room_id, const char *type,
                                     const char *txn_id, const char *as_user,
                                     long long ts, json_t *content)
{
    struct mx_path p;
    mx_path_init(&p, ROOMS);
    mx_path_seg(&p, room_id);
    mx_path_lit(&p, "/send");
    mx_path_seg(&p, type);
    mx_path_seg(&p, txn_id);
    mx_path_as_user(&p, as_user);
    /* Appservices may set the event's time: the time the message reached
     * the gateway, even when it is sent after an outage. */
    if (ts >= 0)
        mx_path_query_int(&p, "ts", ts);
    return mx_request_new("PUT", mx_path_done(&p), content);
}

void mx_send_event(struct mx_client *c, const char *room_id, const char *type,
                   const char *txn_id, const char *as_user, long long ts,
                   json_t *content, int max_attempts, mx_event_id_cb cb,
                   void *ud)
{
    mx_typed_send(c,
                  mx_req_send_event(room_id, type, txn_id, as_user, ts,
                                    content),
                  max_attempts, MX_ANSWER_EVENT_ID, (mx_any_cb)cb, ud);
}

struct mx_request *mx_req_redact(const char *room_id, const char *event_id,
                                 const char *txn_id, const char *as_user,
                                 const char *reason)
{
    struct mx_path p;
    mx_path_init(&p, ROOMS);
    mx_path_seg(&p, room_id);
    mx_path_lit(&p, "/redact");
    mx_path_seg(&p, event_id);
    mx_path_seg(&p, txn_id);
    mx_path_as_user(&p, as_user);
    json_t *body = json_object();
    if (reason && *reason)
        json_object_set_new(body, "reason", json_string(reason));
    return mx_request_new("PUT", mx_path_done(&p), body);
}

void mx_redact(struct mx_client *c, const char *room_id, const char *event_id,
               const char *txn_id, const char *as_user, const char *reason,
               int max_attempts, mx_done_cb cb, void *ud)
{
    mx_request_send(c,
                    mx_req_redact(room_id, event_id, txn_id, as_user, reason),
                    max_attempts, cb, ud);
}
