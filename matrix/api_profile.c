/* Users' profiles: reading one, and setting a ghost's name and avatar. */
#include "matrix/api.h"

#include "matrix/path.h"
#include "matrix/typed.h"

#define PROFILE "/_matrix/client/v3/profile"

struct mx_request *mx_req_profile_get(const char *user_id)
{
    struct mx_path p;
    mx_path_init(&p, PROFILE);
    mx_path_seg(&p, user_id);
    return mx_request_new("GET", mx_path_done(&p), NULL);
}

void mx_profile_get(struct mx_client *c, const char *user_id,
                    int max_attempts, mx_profile_cb cb, void *ud)
{
    mx_typed_send(c, mx_req_profile_get(user_id), max_attempts,
                  MX_ANSWER_PROFILE, (mx_any_cb)cb, ud);
}

/* PUT /profile/{user}/{field}?user_id={user} {field: value} */
static struct mx_request *profile_put(const char *user, const char *field,
                                      const char *value)
{
    struct mx_path p;
    mx_path_init(&p, PROFILE);
    mx_path_seg(&p, user);
    mx_path_seg(&p, field);
    mx_path_as_user(&p, user);
    return mx_request_new("PUT", mx_path_done(&p),
                          json_pack("{s:s}", field, value));
}

struct mx_request *mx_req_set_displayname(const char *user,
                                          const char *displayname)
{
    return profile_put(user, "displayname", displayname);
}

void mx_set_displayname(struct mx_client *c, const char *user,
                        const char *displayname, int max_attempts,
                        mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_set_displayname(user, displayname),
                    max_attempts, cb, ud);
}

struct mx_request *mx_req_set_avatar_url(const char *user,
                                         const char *avatar_url)
{
    /* An empty URL is how a profile's avatar is removed. */
    return profile_put(user, "avatar_url", avatar_url ? avatar_url : "");
}

void mx_set_avatar_url(struct mx_client *c, const char *user,
                       const char *avatar_url, int max_attempts,
                       mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_set_avatar_url(user, avatar_url), max_attempts,
                    cb, ud);
}
