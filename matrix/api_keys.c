/* Devices and their keys, for end-to-bridge encryption: the appservice
 * creates its ghosts' devices (MSC4190), uploads their keys acting as
 * each device (MSC4326: ?user_id=&device_id=), and sends to-device
 * messages from them. */
#include "matrix/api.h"

#include "matrix/path.h"

#define CLIENT "/_matrix/client/v3"

/* ?user_id=[&device_id=] */
static void as_device(struct mx_path *p, const char *user, const char *device)
{
    mx_path_as_user(p, user);
    mx_path_query(p, "device_id", device);
}

struct mx_request *mx_req_device_create(const char *user,
                                        const char *device_id,
                                        const char *display_name)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/devices");
    mx_path_seg(&p, device_id);
    mx_path_as_user(&p, user);
    return mx_request_new("PUT", mx_path_done(&p),
                          json_pack("{s:s}", "display_name", display_name));
}

void mx_device_create(struct mx_client *c, const char *user,
                      const char *device_id, const char *display_name,
                      int max_attempts, mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_device_create(user, device_id, display_name),
                    max_attempts, cb, ud);
}

struct mx_request *mx_req_keys_upload(const char *user, const char *device_id,
                                      json_t *body)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/keys/upload");
    as_device(&p, user, device_id);
    return mx_request_new("POST", mx_path_done(&p), body);
}

void mx_keys_upload(struct mx_client *c, const char *user,
                    const char *device_id, json_t *body, int max_attempts,
                    mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_keys_upload(user, device_id, body),
                    max_attempts, cb, ud);
}

struct mx_request *mx_req_cross_signing_upload(const char *user,
                                               json_t *body)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/keys/device_signing/upload");
    mx_path_as_user(&p, user);
    return mx_request_new("POST", mx_path_done(&p), body);
}

void mx_cross_signing_upload_keys(struct mx_client *c, const char *user,
                                  json_t *body, int max_attempts,
                                  mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_cross_signing_upload(user, body), max_attempts,
                    cb, ud);
}

struct mx_request *mx_req_signatures_upload(const char *user, json_t *body)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/keys/signatures/upload");
    mx_path_as_user(&p, user);
    return mx_request_new("POST", mx_path_done(&p), body);
}

void mx_signatures_upload(struct mx_client *c, const char *user, json_t *body,
                          int max_attempts, mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_signatures_upload(user, body), max_attempts,
                    cb, ud);
}

struct mx_request *mx_req_send_to_device(const char *user,
                                         const char *device_id,
                                         const char *type, const char *txn_id,
                                         json_t *messages)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/sendToDevice");
    mx_path_seg(&p, type);
    mx_path_seg(&p, txn_id);
    as_device(&p, user, device_id);
    return mx_request_new("PUT", mx_path_done(&p),
                          json_pack("{s:o}", "messages", messages));
}

void mx_send_to_device(struct mx_client *c, const char *user,
                       const char *device_id, const char *type,
                       const char *txn_id, json_t *messages, int max_attempts,
                       mx_done_cb cb, void *ud)
{
    mx_request_send(c,
                    mx_req_send_to_device(user, device_id, type, txn_id,
                                          messages),
                    max_attempts, cb, ud);
}

struct mx_request *mx_req_keys_query(const char *as_user, json_t *users)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/keys/query");
    mx_path_as_user(&p, as_user);
    json_t *device_keys = json_object();
    size_t i;
    json_t *u;
    json_array_foreach(users, i, u) {
        if (json_is_string(u))
            json_object_set_new(device_keys, json_string_value(u),
                                json_array());
    }
    json_decref(users);
    return mx_request_new("POST", mx_path_done(&p),
                          json_pack("{s:o}", "device_keys", device_keys));
}

void mx_keys_query(struct mx_client *c, const char *as_user, json_t *users,
                   int max_attempts, mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_keys_query(as_user, users), max_attempts, cb,
                    ud);
}

struct mx_request *mx_req_keys_claim(const char *as_user, json_t *wanted)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/keys/claim");
    mx_path_as_user(&p, as_user);
    return mx_request_new("POST", mx_path_done(&p),
                          json_pack("{s:o}", "one_time_keys", wanted));
}

void mx_keys_claim(struct mx_client *c, const char *as_user, json_t *wanted,
                   int max_attempts, mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_keys_claim(as_user, wanted), max_attempts, cb,
                    ud);
}
