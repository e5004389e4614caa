/* matrix/api.h without a homeserver: the requests each call builds (path,
 * escaping, query parameters, body), their stored form, and the typed
 * answers' parsers, malformed answers included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "matrix/api.h"
#include "matrix/mxc.h"

#include <stdlib.h>
#include <string.h>

/* Checks req against method, path and body (JSON text, NULL for none),
 * then frees it. */
static void expect_req(struct mx_request *req, const char *method,
                       const char *path, const char *body)
{
    assert_non_null(req);
    assert_string_equal(req->method, method);
    assert_string_equal(req->path, path);
    if (!body) {
        assert_null(req->body);
    } else {
        json_t *want = json_loads(body, 0, NULL);
        assert_non_null(want);
        assert_true(json_equal(want, req->body));
        json_decref(want);
    }
    mx_request_free(req);
}

static void test_send_event(void **state)
{
    (void)state;
    expect_req(mx_req_send_event("!r:x.org", "m.room.message", "isthmus.1",
                                 "@_x_a:x.org", 1700, json_pack("{s:s}",
                                                                "body", "hi")),
               "PUT",
               "/_matrix/client/v3/rooms/%21r%3Ax.org/send/m.room.message/"
               "isthmus.1?user_id=%40_x_a%3Ax.org&ts=1700",
               "{\"body\":\"hi\"}");
    /* The bot itself, no timestamp; the txn id is escaped too. */
    expect_req(mx_req_send_event("!r:x", "m.reaction", "a/b", NULL, -1,
                                 json_object()),
               "PUT", "/_matrix/client/v3/rooms/%21r%3Ax/send/m.reaction/a%2Fb",
               "{}");
}

static void test_redact(void **state)
{
    (void)state;
    expect_req(mx_req_redact("!r:x", "$e/1", "t1", "@u:x", NULL), "PUT",
               "/_matrix/client/v3/rooms/%21r%3Ax/redact/%24e%2F1/t1"
               "?user_id=%40u%3Ax",
               "{}");
    expect_req(mx_req_redact("!r:x", "$e", "t1", "@u:x", ""), "PUT",
               "/_matrix/client/v3/rooms/%21r%3Ax/redact/%24e/t1"
               "?user_id=%40u%3Ax",
               "{}");
    expect_req(mx_req_redact("!r:x", "$e", "t1", NULL, "spam"), "PUT",
               "/_matrix/client/v3/rooms/%21r%3Ax/redact/%24e/t1",
               "{\"reason\":\"spam\"}");
}

static void test_rooms(void **state)
{
    (void)state;
    struct mx_create_room dm = { .preset = "trusted_private_chat",
                                 .is_direct = true, .invite = "@b:x" };
    struct mx_request *req = mx_req_create_room("@a:x", &dm);
    /* The body's keys in the order the gateway always sent them. */
    char *text = json_dumps(req->body, JSON_COMPACT);
    assert_string_equal(text, "{\"preset\":\"trusted_private_chat\","
                              "\"is_direct\":true,\"invite\":[\"@b:x\"]}");
    free(text);
    expect_req(req, "POST", "/_matrix/client/v3/createRoom?user_id=%40a%3Ax",
               "{\"preset\":\"trusted_private_chat\",\"is_direct\":true,"
               "\"invite\":[\"@b:x\"]}");
    struct mx_create_room portal = {
        .room_alias_name = "_x_room", .name = "Room",
        .preset = "public_chat", .visibility = "private",
        .power_level_content_override =
            json_pack("{s:{s:i}}", "events", "m.room.topic", 0),
    };
    expect_req(mx_req_create_room(NULL, &portal), "POST",
               "/_matrix/client/v3/createRoom",
               "{\"room_alias_name\":\"_x_room\",\"name\":\"Room\","
               "\"preset\":\"public_chat\",\"visibility\":\"private\","
               "\"power_level_content_override\":"
               "{\"events\":{\"m.room.topic\":0}}}");
    expect_req(mx_req_join("#a:x", "@u:x"), "POST",
               "/_matrix/client/v3/join/%23a%3Ax?user_id=%40u%3Ax", "{}");
    expect_req(mx_req_leave("!r:x", "@u:x"), "POST",
               "/_matrix/client/v3/rooms/%21r%3Ax/leave?user_id=%40u%3Ax",
               "{}");
    expect_req(mx_req_invite("!r:x", "@v:x", "come", NULL), "POST",
               "/_matrix/client/v3/rooms/%21r%3Ax/invite",
               "{\"user_id\":\"@v:x\",\"reason\":\"come\"}");
    expect_req(mx_req_kick("!r:x", "@v:x", "", NULL), "POST",
               "/_matrix/client/v3/rooms/%21r%3Ax/kick",
               "{\"user_id\":\"@v:x\",\"reason\":\"\"}");
    expect_req(mx_req_ban("!r:x", "@v:x", NULL, NULL), "POST",
               "/_matrix/client/v3/rooms/%21r%3Ax/ban",
               "{\"user_id\":\"@v:x\"}");
    expect_req(mx_req_member_join("!r:x", "@u:x", "Nick", "mxc://x/a"), "PUT",
               "/_matrix/client/v3/rooms/%21r%3Ax/state/m.room.member/"
               "%40u%3Ax?user_id=%40u%3Ax",
               "{\"membership\":\"join\",\"displayname\":\"Nick\","
               "\"avatar_url\":\"mxc://x/a\"}");
    expect_req(mx_req_member_join("!r:x", "@u:x", "Nick", ""), "PUT",
               "/_matrix/client/v3/rooms/%21r%3Ax/state/m.room.member/"
               "%40u%3Ax?user_id=%40u%3Ax",
               "{\"membership\":\"join\",\"displayname\":\"Nick\"}");
}

static void test_state(void **state)
{
    (void)state;
    /* "" keeps the trailing slash of the empty state key; NULL drops it. */
    expect_req(mx_req_state_get("!r:x", "m.room.power_levels", "", "@u:x",
                                false),
               "GET",
               "/_matrix/client/v3/rooms/%21r%3Ax/state/m.room.power_levels/"
               "?user_id=%40u%3Ax",
               NULL);
    expect_req(mx_req_state_get("!r:x", "m.room.create", "", "@u:x", true),
               "GET",
               "/_matrix/client/v3/rooms/%21r%3Ax/state/m.room.create/"
               "?format=event&user_id=%40u%3Ax",
               NULL);
    expect_req(mx_req_state_get("!r:x", "m.room.power_levels", NULL, NULL,
                                false),
               "GET",
               "/_matrix/client/v3/rooms/%21r%3Ax/state/m.room.power_levels",
               NULL);
    expect_req(mx_req_state_put("!r:x", "m.room.topic", NULL, NULL,
                                json_pack("{s:s}", "topic", "t")),
               "PUT", "/_matrix/client/v3/rooms/%21r%3Ax/state/m.room.topic",
               "{\"topic\":\"t\"}");
    expect_req(mx_req_joined_members("!r:x", "@u:x"), "GET",
               "/_matrix/client/v3/rooms/%21r%3Ax/joined_members"
               "?user_id=%40u%3Ax",
               NULL);
}

static void test_history(void **state)
{
    (void)state;
    expect_req(mx_req_messages("!r:x", "@u:x", true, 21, "{\"a\":1}", NULL),
               "GET",
               "/_matrix/client/v3/rooms/%21r%3Ax/messages?dir=b&limit=21&"
               "filter=%7B%22a%22%3A1%7D&user_id=%40u%3Ax",
               NULL);
    expect_req(mx_req_messages("!r:x", "@u:x", false, 5, NULL, "t_1/2"),
               "GET",
               "/_matrix/client/v3/rooms/%21r%3Ax/messages?dir=f&limit=5&"
               "user_id=%40u%3Ax&from=t_1%2F2",
               NULL);
    expect_req(mx_req_context("!r:x", "$e", 0, "@u:x"), "GET",
               "/_matrix/client/v3/rooms/%21r%3Ax/context/%24e?limit=0&"
               "user_id=%40u%3Ax",
               NULL);
    expect_req(mx_req_timestamp_to_event("!r:x", 1234, true, "@u:x"), "GET",
               "/_matrix/client/v1/rooms/%21r%3Ax/timestamp_to_event?"
               "ts=1234&dir=b&user_id=%40u%3Ax",
               NULL);
}

static void test_directory_profile_ephemeral(void **state)
{
    (void)state;
    expect_req(mx_req_alias_lookup("#a:x"), "GET",
               "/_matrix/client/v3/directory/room/%23a%3Ax", NULL);
    expect_req(mx_req_alias_put("#a:x", "!r:x"), "PUT",
               "/_matrix/client/v3/directory/room/%23a%3Ax",
               "{\"room_id\":\"!r:x\"}");
    expect_req(mx_req_public_rooms(50, NULL), "GET",
               "/_matrix/client/v3/publicRooms?limit=50", NULL);
    expect_req(mx_req_public_rooms(10, "n&x"), "GET",
               "/_matrix/client/v3/publicRooms?limit=10&since=n%26x", NULL);
    expect_req(mx_req_profile_get("@u:x"), "GET",
               "/_matrix/client/v3/profile/%40u%3Ax", NULL);
    expect_req(mx_req_set_displayname("@u:x", "U"), "PUT",
               "/_matrix/client/v3/profile/%40u%3Ax/displayname"
               "?user_id=%40u%3Ax",
               "{\"displayname\":\"U\"}");
    expect_req(mx_req_set_avatar_url("@u:x", NULL), "PUT",
               "/_matrix/client/v3/profile/%40u%3Ax/avatar_url"
               "?user_id=%40u%3Ax",
               "{\"avatar_url\":\"\"}");
    expect_req(mx_req_presence("@u:x", "online", "here"), "PUT",
               "/_matrix/client/v3/presence/%40u%3Ax/status?user_id=%40u%3Ax",
               "{\"presence\":\"online\",\"status_msg\":\"here\"}");
    expect_req(mx_req_presence("@u:x", "offline", NULL), "PUT",
               "/_matrix/client/v3/presence/%40u%3Ax/status?user_id=%40u%3Ax",
               "{\"presence\":\"offline\"}");
    expect_req(mx_req_typing("!r:x", "@u:x", true, 30000), "PUT",
               "/_matrix/client/v3/rooms/%21r%3Ax/typing/%40u%3Ax"
               "?user_id=%40u%3Ax",
               "{\"typing\":true,\"timeout\":30000}");
    expect_req(mx_req_typing("!r:x", "@u:x", false, 30000), "PUT",
               "/_matrix/client/v3/rooms/%21r%3Ax/typing/%40u%3Ax"
               "?user_id=%40u%3Ax",
               "{\"typing\":false}");
    expect_req(mx_req_read_receipt("!r:x", "$e", "@u:x"), "POST",
               "/_matrix/client/v3/rooms/%21r%3Ax/receipt/m.read/%24e"
               "?user_id=%40u%3Ax",
               "{}");
    expect_req(mx_req_register("_x_a"), "POST", "/_matrix/client/v3/register",
               "{\"type\":\"m.login.application_service\","
               "\"username\":\"_x_a\",\"inhibit_login\":true}");
    expect_req(mx_req_appservice_ping("isthmus bridge", "t"), "POST",
               "/_matrix/client/v1/appservice/isthmus%20bridge/ping",
               "{\"transaction_id\":\"t\"}");
}

static void test_media_paths(void **state)
{
    (void)state;
    char *p = mx_upload_path("@u:x", NULL);
    assert_string_equal(p, "/_matrix/media/v3/upload?user_id=%40u%3Ax");
    free(p);
    p = mx_upload_path("@u:x", "a b.png");
    assert_string_equal(p, "/_matrix/media/v3/upload?user_id=%40u%3Ax&"
                           "filename=a%20b.png");
    free(p);
    const char *err = NULL;
    p = mx_media_download_path("mxc://x.org:8448/abc", &err);
    assert_string_equal(p, "/_matrix/client/v1/media/download/"
                           "x.org%3A8448/abc");
    free(p);
    static const char *const bad[] = { "http://x/a", "mxc://x", "mxc:///a",
                                       "mxc://x/", "mxc://x/a/b" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = NULL;
        assert_null(mx_media_download_path(bad[i], &err));
        assert_non_null(err);
    }
    char *server, *id;
    assert_int_equal(mx_mxc_split("mxc://[::1]:8448/a_b-C", &server, &id), 0);
    assert_string_equal(server, "[::1]:8448");
    assert_string_equal(id, "a_b-C");
    free(server);
    free(id);
    assert_int_equal(mx_mxc_split("mxc://x/a.b", &server, &id), -1);
    assert_int_equal(mx_mxc_split("mxc://x y/a", &server, &id), -1);
}

static void test_stored_form(void **state)
{
    (void)state;
    /* A row as the older gateway wrote it replays as the same request. */
    json_t *old = json_loads("{\"method\":\"POST\",\"path\":\"/_matrix/client"
                             "/v3/rooms/%21r%3Ax/receipt/m.read/%24e?user_id="
                             "%40u%3Ax\",\"body\":{}}", 0, NULL);
    const char *err = NULL;
    struct mx_request *req = mx_request_from_json(old, &err);
    assert_non_null(req);
    struct mx_request *now = mx_req_read_receipt("!r:x", "$e", "@u:x");
    json_t *j = mx_request_to_json(now);
    assert_true(json_equal(j, old));
    json_decref(j);
    mx_request_free(now);
    expect_req(req, "POST", "/_matrix/client/v3/rooms/%21r%3Ax/receipt/"
                            "m.read/%24e?user_id=%40u%3Ax", "{}");
    json_decref(old);
    /* Without a body. */
    j = json_loads("{\"method\":\"GET\",\"path\":\"/_matrix/a\"}", 0, NULL);
    req = mx_request_from_json(j, &err);
    assert_non_null(req);
    assert_null(req->body);
    mx_request_free(req);
    json_decref(j);
    static const char *const bad[] = {
        "{}", "{\"method\":\"GET\"}", "{\"path\":\"/_matrix/a\"}",
        "{\"method\":1,\"path\":\"/_matrix/a\"}",
        "{\"method\":\"GET\",\"path\":\"http://evil/\"}", "[]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_loads(bad[i], 0, NULL);
        err = NULL;
        assert_null(mx_request_from_json(j, &err));
        assert_non_null(err);
        json_decref(j);
    }
}

/* ------------------------------------------------------------ parsers -- */

static json_t *J(const char *text)
{
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(j);
    return j;
}

static void test_parse_ids(void **state)
{
    (void)state;
    const char *err;
    json_t *b = J("{\"room_id\":\"!r:x\",\"event_id\":\"$e\","
                  "\"content_uri\":\"mxc://x/a\"}");
    struct mx_room_id r;
    struct mx_event_id e;
    struct mx_content_uri u;
    assert_int_equal(mx_parse_room_id(b, &r, &err), 0);
    assert_string_equal(r.room_id, "!r:x");
    assert_int_equal(mx_parse_event_id(b, &e, &err), 0);
    assert_string_equal(e.event_id, "$e");
    assert_int_equal(mx_parse_content_uri(b, &u, &err), 0);
    assert_string_equal(u.content_uri, "mxc://x/a");
    json_decref(b);
    static const char *const bad[] = { "{}", "[]", "1", "{\"room_id\":1,"
                                       "\"event_id\":null,\"content_uri\":[]}" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b = J(bad[i]);
        err = NULL;
        assert_int_equal(mx_parse_room_id(b, &r, &err), -1);
        assert_non_null(err);
        err = NULL;
        assert_int_equal(mx_parse_event_id(b, &e, &err), -1);
        assert_non_null(err);
        err = NULL;
        assert_int_equal(mx_parse_content_uri(b, &u, &err), -1);
        assert_non_null(err);
        json_decref(b);
    }
    /* NULL bodies (no JSON came) are malformed too, not a crash. */
    assert_int_equal(mx_parse_room_id(NULL, &r, &err), -1);
}

static void test_parse_members(void **state)
{
    (void)state;
    const char *err;
    json_t *b = J("{\"joined\":{\"@a:x\":{\"display_name\":\"A\"},"
                  "\"@b:x\":{\"avatar_url\":\"mxc://x/b\"},\"@c:x\":5}}");
    struct mx_members m;
    assert_int_equal(mx_parse_members(b, &m, &err), 0);
    assert_int_equal(m.n, 3);
    assert_string_equal(m.members[0].user_id, "@a:x");
    assert_string_equal(m.members[0].display_name, "A");
    assert_null(m.members[0].avatar_url);
    assert_null(m.members[1].display_name);
    assert_string_equal(m.members[1].avatar_url, "mxc://x/b");
    assert_null(m.members[2].display_name); /* not an object: no name */
    struct mx_members *copy = mx_members_dup(&m);
    mx_members_clear(&m);
    json_decref(b);
    assert_int_equal(copy->n, 3);
    assert_string_equal(copy->members[0].display_name, "A");
    mx_members_free(copy);
    b = J("{\"joined\":[]}");
    assert_int_equal(mx_parse_members(b, &m, &err), -1);
    mx_members_clear(&m);
    json_decref(b);
    assert_int_equal(mx_parse_members(NULL, &m, &err), -1);
}

static void test_parse_messages_context_timestamp(void **state)
{
    (void)state;
    const char *err;
    json_t *b = J("{\"chunk\":[{\"event_id\":\"$1\"}],\"state\":[],"
                  "\"start\":\"s\",\"end\":\"e\"}");
    struct mx_messages m;
    assert_int_equal(mx_parse_messages(b, &m, &err), 0);
    assert_int_equal(json_array_size(m.chunk), 1);
    assert_non_null(m.state);
    assert_string_equal(m.start, "s");
    assert_string_equal(m.end, "e");
    json_decref(b);
    b = J("{\"chunk\":[],\"state\":{}}");
    assert_int_equal(mx_parse_messages(b, &m, &err), 0);
    assert_null(m.state);
    assert_null(m.end);
    json_decref(b);
    b = J("{\"chunk\":{}}");
    assert_int_equal(mx_parse_messages(b, &m, &err), -1);
    json_decref(b);

    struct mx_context c;
    b = J("{\"event\":{\"room_id\":\"!r:x\"},\"start\":\"s\",\"end\":\"e\"}");
    assert_int_equal(mx_parse_context(b, &c, &err), 0);
    assert_string_equal(c.event_room_id, "!r:x");
    assert_string_equal(c.start, "s");
    json_decref(b);
    b = J("{\"event\":\"x\"}");
    assert_int_equal(mx_parse_context(b, &c, &err), 0);
    assert_null(c.event_room_id);
    assert_null(c.end);
    json_decref(b);
    b = J("[]");
    assert_int_equal(mx_parse_context(b, &c, &err), -1);
    json_decref(b);

    struct mx_timestamp_event t;
    b = J("{\"event_id\":\"$e\",\"origin_server_ts\":5}");
    assert_int_equal(mx_parse_timestamp_event(b, &t, &err), 0);
    assert_string_equal(t.event_id, "$e");
    assert_int_equal(t.origin_server_ts, 5);
    json_decref(b);
    b = J("{\"origin_server_ts\":5}");
    assert_int_equal(mx_parse_timestamp_event(b, &t, &err), -1);
    json_decref(b);
}

static void test_parse_public_rooms_profile_state(void **state)
{
    (void)state;
    const char *err;
    json_t *b = J("{\"chunk\":[{\"room_id\":\"!a:x\",\"name\":\"A\"},"
                  "{\"name\":\"nothing to join\"},"
                  "{\"canonical_alias\":\"#b:x\"}, 7],"
                  "\"next_batch\":\"n\",\"total_room_count_estimate\":9}");
    struct mx_public_rooms p;
    assert_int_equal(mx_parse_public_rooms(b, &p, &err), 0);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.rooms[0].room_id, "!a:x");
    assert_string_equal(p.rooms[0].name, "A");
    assert_null(p.rooms[1].room_id);
    assert_string_equal(p.rooms[1].canonical_alias, "#b:x");
    assert_string_equal(p.next_batch, "n");
    assert_true(p.has_total);
    assert_int_equal(p.total_room_count_estimate, 9);
    mx_public_rooms_clear(&p);
    json_decref(b);
    b = J("{\"chunk\":[],\"total_room_count_estimate\":\"9\"}");
    assert_int_equal(mx_parse_public_rooms(b, &p, &err), 0);
    assert_false(p.has_total);
    assert_null(p.next_batch);
    mx_public_rooms_clear(&p);
    json_decref(b);
    b = J("{}");
    assert_int_equal(mx_parse_public_rooms(b, &p, &err), -1);
    mx_public_rooms_clear(&p);
    json_decref(b);

    struct mx_profile pr;
    b = J("{\"displayname\":\"D\",\"avatar_url\":7}");
    assert_int_equal(mx_parse_profile(b, &pr, &err), 0);
    assert_string_equal(pr.displayname, "D");
    assert_null(pr.avatar_url);
    json_decref(b);
    b = J("\"x\"");
    assert_int_equal(mx_parse_profile(b, &pr, &err), -1);
    json_decref(b);

    struct mx_state s;
    b = J("{\"users\":{}}");
    assert_int_equal(mx_parse_state(b, &s, &err), 0);
    assert_ptr_equal(s.content, b);
    json_decref(b);
    b = J("[1]");
    assert_int_equal(mx_parse_state(b, &s, &err), -1);
    json_decref(b);
}

/* A failed call is told in words in the log, never as a bare status. */
static void test_response_reason(void **state)
{
    (void)state;
    char buf[MX_REASON_MAX];
    struct mx_response r = { .status = 0, .error = "Couldn't connect to "
                                                   "server" };
    assert_string_equal(mx_response_reason(&r, buf, sizeof buf),
                        "no answer from the homeserver: Couldn't connect "
                        "to server");
    r = (struct mx_response){ .status = 403, .errcode = "M_FORBIDDEN",
                              .error = "Not allowed" };
    assert_string_equal(mx_response_reason(&r, buf, sizeof buf),
                        "HTTP 403 M_FORBIDDEN: Not allowed");
    r = (struct mx_response){ .status = 502, .error = "no error message" };
    assert_string_equal(mx_response_reason(&r, buf, sizeof buf),
                        "HTTP 502: no error message");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_response_reason),
        cmocka_unit_test(test_send_event),
        cmocka_unit_test(test_redact),
        cmocka_unit_test(test_rooms),
        cmocka_unit_test(test_state),
        cmocka_unit_test(test_history),
        cmocka_unit_test(test_directory_profile_ephemeral),
        cmocka_unit_test(test_media_paths),
        cmocka_unit_test(test_stored_form),
        cmocka_unit_test(test_parse_ids),
        cmocka_unit_test(test_parse_members),
        cmocka_unit_test(test_parse_messages_context_timestamp),
        cmocka_unit_test(test_parse_public_rooms_profile_state),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
