/* One client-server request as a value: method, path (query string
 * included) and JSON body, built by the typed calls of matrix/api.h.
 *
 * A request is either sent at once (mx_request_send) or kept durably by
 * the gateway and sent later (mx_request_to_json / mx_request_from_json):
 * that is why it is a value and not just a function call. The stored form
 * is {"method": ..., "path": ..., "body": ...}, the one the gateway's
 * outbox has always held, so rows written by older versions replay. */
#ifndef ISTHMUS_MATRIX_REQUEST_H
#define ISTHMUS_MATRIX_REQUEST_H

#include "matrix/client.h"

#include <jansson.h>

struct mx_request {
    char *method;
    char *path;   /* from /_matrix on, query string included */
    json_t *body; /* NULL for none */
};

/* A new request; body (may be NULL) is consumed. Caller frees with
 * mx_request_free (or hands it to mx_request_send, which frees it). */
struct mx_request *mx_request_new(const char *method, char *path,
                                  json_t *body);
void mx_request_free(struct mx_request *req);

/* The stored form (a new reference the caller drops), and back: NULL with
 * *err when the JSON is not a request (caller frees the result). */
json_t *mx_request_to_json(const struct mx_request *req);
struct mx_request *mx_request_from_json(const json_t *j, const char **err);

/* Sends req (consumed) on c; max_attempts as for mx_client_call. */
void mx_request_send(struct mx_client *c, struct mx_request *req,
                     int max_attempts, mx_done_cb cb, void *ud);

#endif
