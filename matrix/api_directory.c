/* The room directory: aliases and the public room list. */
#include "matrix/api.h"

#include "matrix/path.h"
#include "matrix/typed.h"

#define CLIENT "/_matrix/client/v3"

static char *alias_path(const char *alias)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/directory/room");
    mx_path_seg(&p, alias);
    return mx_path_done(&p);
}

struct mx_request *mx_req_alias_lookup(const char *alias)
{
    return mx_request_new("GET", alias_path(alias), NULL);
}

void mx_alias_lookup(struct mx_client *c, const char *alias, int max_attempts,
                     mx_room_id_cb cb, void *ud)
{
    mx_typed_send(c, mx_req_alias_lookup(alias), max_attempts,
                  MX_ANSWER_ROOM_ID, (mx_any_cb)cb, ud);
}

struct mx_request *mx_req_alias_put(const char *alias, const char *room_id)
{
    return mx_request_new("PUT", alias_path(alias),
                          json_pack("{s:s}", "room_id", room_id));
}

void mx_alias_put(struct mx_client *c, const char *alias, const char *room_id,
                  int max_attempts, mx_done_cb cb, void *ud)
{
    mx_request_send(c, mx_req_alias_put(alias, room_id), max_attempts, cb,
                    ud);
}

struct mx_request *mx_req_public_rooms(int limit, const char *since)
{
    struct mx_path p;
    mx_path_init(&p, CLIENT "/publicRooms");
    mx_path_query_int(&p, "limit", limit);
    mx_path_query(&p, "since", since);
    return mx_request_new("GET", mx_path_done(&p), NULL);
}

void mx_public_rooms(struct mx_client *c, int limit, const char *since,
                     int max_attempts, mx_public_rooms_cb cb, void *ud)
{
    mx_typed_send(c, mx_req_public_rooms(limit, since), max_attempts,
                  MX_ANSWER_PUBLIC_ROOMS, (mx_any_cb)cb, ud);
}
