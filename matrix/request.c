#include "matrix/request.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

struct mx_request *mx_request_new(const char *method, char *path,
                                  json_t *body)
{
    struct mx_request *req = xcalloc(1, sizeof *req);
    req->method = xstrdup(method);
    req->path = path;
    req->body = body;
    return req;
}

void mx_request_free(struct mx_request *req)
{
    if (!req)
        return;
    free(req->method);
    free(req->path);
    json_decref(req->body);
    free(req);
}

json_t *mx_request_to_json(const struct mx_request *req)
{
    json_t *j = json_pack("{s:s, s:s}", "method", req->method, "path",
                          req->path);
    if (req->body)
        json_object_set(j, "body", req->body);
    return j;
}

struct mx_request *mx_request_from_json(const json_t *j, const char **err)
{
    const char *method = json_string_value(json_object_get(j, "method"));
    const char *path = json_string_value(json_object_get(j, "path"));
    if (!method || !path) {
        *err = "not a request: method or path missing";
        return NULL;
    }
    /* Only client-server API paths: a damaged row must not make the
     * gateway call anything else with its token. */
    if (strncmp(path, "/_matrix/", 9) != 0) {
        *err = "not a request: the path is not a Matrix API path";
        return NULL;
    }
    json_t *body = json_object_get(j, "body");
    return mx_request_new(method, xstrdup(path),
                          body ? json_incref(body) : NULL);
}

void mx_request_send(struct mx_client *c, struct mx_request *req,
                     int max_attempts, mx_done_cb cb, void *ud)
{
    json_t *body = req->body;
    req->body = NULL;
    mx_client_call(c, req->method, req->path, body, max_attempts, cb, ud);
    mx_request_free(req);
}
