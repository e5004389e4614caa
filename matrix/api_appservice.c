/* Calls only an appservice makes: registering its users, and the ping
 * that checks the homeserver and the appservice reach each other. */
#include "matrix/api.h"

#include "matrix/path.h"

struct mx_request *mx_req_register(const char *localpart)
{
    struct mx_path p;
    mx_path_init(&p, "/_matrix/client/v3/register");
    /* inhibit_login: the appservice acts through its own token, so no
     * device or access token for the user. */
    return mx_request_new("POST", mx_path_done(&p),
                          json_pack("{s:s, s:s, s:b}", "type",
                                    "m.login.application_service",
                                    "username", localpart, "inhibit_login",
                                    1));
}

void mx_register(struct mx_client *c, const char *localpart, int max_attempts,
                 mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_register(localpart), max_attempts, cb, ud);
}

struct mx_request *mx_req_appservice_ping(const char *as_id,
                                          const char *txn_id)
{
    struct mx_path p;
    mx_path_init(&p, "/_matrix/client/v1/appservice");
    mx_path_seg(&p, as_id);
    mx_path_lit(&p, "/ping");
    return mx_request_new("POST", mx_path_done(&p),
                          json_pack("{s:s}", "transaction_id", txn_id));
}

void mx_appservice_ping(struct mx_client *c, const char *as_id,
                        const char *txn_id, int max_attempts, mx_done_cb cb,
                        void *ud)
{
    mx_request_send(c, mx_req_appservice_ping(as_id, txn_id), max_attempts,
                    cb, ud);
}
