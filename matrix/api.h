/* The client-server API calls the gateway makes, one function per call,
 * with typed arguments: the mirror of xep/ for the Matrix side.
 *
 * Each call comes in two forms:
 *  - mx_req_<call>(...) builds the request (path escaped here, query
 *    parameters, body) as a struct mx_request, for the unit tests and for
 *    requests the gateway keeps durably before sending;
 *  - mx_<call>(client, ..., max_attempts, cb, ud) builds and sends it.
 *
 * as_user: the appservice acts as this user (?user_id=); NULL for the
 * appservice's own user. max_attempts is as for mx_client_call (0: retry
 * transient failures without end).
 *
 * Where the gateway reads the answer, the callback gets it typed: res is
 * NULL unless the homeserver answered 200 with a well-formed body; for a
 * malformed one r->error says what was wrong. res and everything in it
 * are valid during the callback only. Event contents stay JSON: reading
 * them is matrix/event.h's business. */
#ifndef ISTHMUS_MATRIX_API_H
#define ISTHMUS_MATRIX_API_H

#include "matrix/client.h"
#include "matrix/request.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* ------------------------------------------------------ typed answers -- */

struct mx_room_id {
    const char *room_id;
};
struct mx_event_id {
    const char *event_id;
};
struct mx_joined_member {
    const char *user_id;
    const char *display_name; /* NULL when none */
    const char *avatar_url;   /* NULL when none */
};
/* GET joined_members, in the homeserver's order. */
struct mx_members {
    size_t n;
    struct mx_joined_member *members;
};
/* GET /messages. chunk: the raw events (a JSON array, borrowed); state:
 * the state events sent along (array or NULL). */
struct mx_messages {
    json_t *chunk;
    json_t *state;
    const char *start; /* NULL when absent */
    const char *end;   /* NULL at the end of the timeline */
};
/* GET /context/{event}: the tokens, and the room the event is in (Synapse
 * answers for an event of another room too). */
struct mx_context {
    const char *event_room_id; /* NULL when absent */
    const char *start;
    const char *end;
};
struct mx_timestamp_event {
    const char *event_id;
    long long origin_server_ts; /* -1 when absent */
};
struct mx_public_room {
    const char *room_id;
    const char *canonical_alias; /* NULL when none */
    const char *name;            /* NULL when none */
};
struct mx_public_rooms {
    size_t n;
    struct mx_public_room *rooms;
    const char *next_batch; /* NULL on the last page */
    bool has_total;
    long long total_room_count_estimate;
};
struct mx_profile {
    const char *displayname; /* NULL when unset */
    const char *avatar_url;  /* NULL when unset */
};
/* GET state: the content (or, asked with format=event, the event). */
struct mx_state {
    json_t *content; /* an object, borrowed */
};
struct mx_content_uri {
    const char *content_uri;
};
/* An authenticated media download. */
struct mx_media {
    const unsigned char *data;
    size_t len;
    const char *content_type; /* NULL when the homeserver sent none */
};

typedef void (*mx_room_id_cb)(const struct mx_response *r,
                              const struct mx_room_id *res, void *ud);
typedef void (*mx_event_id_cb)(const struct mx_response *r,
                               const struct mx_event_id *res, void *ud);
typedef void (*mx_members_cb)(const struct mx_response *r,
                              const struct mx_members *res, void *ud);
typedef void (*mx_messages_cb)(const struct mx_response *r,
                               const struct mx_messages *res, void *ud);
typedef void (*mx_context_cb)(const struct mx_response *r,
                              const struct mx_context *res, void *ud);
typedef void (*mx_timestamp_cb)(const struct mx_response *r,
                                const struct mx_timestamp_event *res,
                                void *ud);
typedef void (*mx_public_rooms_cb)(const struct mx_response *r,
                                   const struct mx_public_rooms *res,
                                   void *ud);
typedef void (*mx_profile_cb)(const struct mx_response *r,
                              const struct mx_profile *res, void *ud);
typedef void (*mx_state_cb)(const struct mx_response *r,
                            const struct mx_state *res, void *ud);
typedef void (*mx_content_uri_cb)(const struct mx_response *r,
                                  const struct mx_content_uri *res, void *ud);
typedef void (*mx_media_cb)(const struct mx_response *r,
                            const struct mx_media *res, void *ud);

/* The parsers behind the typed answers: 0, or -1 with *err (a static
 * string) for a body that is not the answer expected. What they fill in
 * points into body. For mx_parse_members and mx_parse_public_rooms the
 * caller frees the array with mx_members_clear / mx_public_rooms_clear
 * (also after a failure: then there is nothing to free, and it is safe). */
int mx_parse_room_id(const json_t *body, struct mx_room_id *out,
                     const char **err);
int mx_parse_event_id(const json_t *body, struct mx_event_id *out,
                      const char **err);
int mx_parse_members(const json_t *body, struct mx_members *out,
                     const char **err);
void mx_members_clear(struct mx_members *m);
int mx_parse_messages(const json_t *body, struct mx_messages *out,
                      const char **err);
int mx_parse_context(const json_t *body, struct mx_context *out,
                     const char **err);
int mx_parse_timestamp_event(const json_t *body,
                             struct mx_timestamp_event *out,
                             const char **err);
int mx_parse_public_rooms(const json_t *body, struct mx_public_rooms *out,
                          const char **err);
void mx_public_rooms_clear(struct mx_public_rooms *p);
int mx_parse_profile(const json_t *body, struct mx_profile *out,
                     const char **err);
int mx_parse_state(const json_t *body, struct mx_state *out,
                   const char **err);
int mx_parse_content_uri(const json_t *body, struct mx_content_uri *out,
                         const char **err);

/* A copy of m that outlives the callback; caller frees with
 * mx_members_free. */
struct mx_members *mx_members_dup(const struct mx_members *m);
void mx_members_free(struct mx_members *m);

/* ------------------------------------------------------- room events -- */

/* PUT /rooms/{room}/send/{type}/{txn}[?user_id=][&ts=]. Every room event
 * the gateway sends (messages, reactions, notices) leaves through
 * mx_send_event, reached through gateway_send_event, which encrypts for
 * encrypted rooms first. ts < 0: no timestamp massaging. content is
 * consumed. */
struct mx_request *mx_req_send_event(const char *room_id, const char *type,
                                     const char *txn_id, const char *as_user,
                                     long long ts, json_t *content);
void mx_send_event(struct mx_client *c, const char *room_id, const char *type,
                   const char *txn_id, const char *as_user, long long ts,
                   json_t *content, int max_attempts, mx_event_id_cb cb,
                   void *ud);

/* PUT /rooms/{room}/redact/{event}/{txn}; reason NULL or "" for none. */
struct mx_request *mx_req_redact(const char *room_id, const char *event_id,
                                 const char *txn_id, const char *as_user,
                                 const char *reason);
void mx_redact(struct mx_client *c, const char *room_id, const char *event_id,
               const char *txn_id, const char *as_user, const char *reason,
               int max_attempts, mx_done_cb cb, void *ud);

/* ------------------------------------------------------------- rooms -- */

/* POST /createRoom. Fields NULL/false are left out of the body. */
struct mx_create_room {
    const char *room_alias_name;
    const char *name;
    const char *preset;
    bool is_direct;
    const char *invite; /* one user to invite, or NULL */
    const char *visibility;
    json_t *power_level_content_override; /* consumed; may be NULL */
    bool encrypted; /* m.room.encryption (Megolm) in the initial state */
};
struct mx_request *mx_req_create_room(const char *as_user,
                                      const struct mx_create_room *opts);
void mx_create_room(struct mx_client *c, const char *as_user,
                    const struct mx_create_room *opts, int max_attempts,
                    mx_room_id_cb cb, void *ud);

/* POST /join/{room id or alias}. */
struct mx_request *mx_req_join(const char *room, const char *as_user);
void mx_join(struct mx_client *c, const char *room, const char *as_user,
             int max_attempts, mx_room_id_cb cb, void *ud);

/* POST /rooms/{room}/leave. */
struct mx_request *mx_req_leave(const char *room_id, const char *as_user);
void mx_leave(struct mx_client *c, const char *room_id, const char *as_user,
              int max_attempts, mx_done_cb cb, void *ud);

/* POST /rooms/{room}/invite, /kick, /ban: {user_id, reason}. reason NULL
 * leaves it out. */
struct mx_request *mx_req_invite(const char *room_id, const char *user_id,
                                 const char *reason, const char *as_user);
void mx_invite(struct mx_client *c, const char *room_id, const char *user_id,
               const char *reason, const char *as_user, int max_attempts,
               mx_done_cb cb, void *ud);
struct mx_request *mx_req_kick(const char *room_id, const char *user_id,
                               const char *reason, const char *as_user);
void mx_kick(struct mx_client *c, const char *room_id, const char *user_id,
             const char *reason, const char *as_user, int max_attempts,
             mx_done_cb cb, void *ud);
struct mx_request *mx_req_ban(const char *room_id, const char *user_id,
                              const char *reason, const char *as_user);
void mx_ban(struct mx_client *c, const char *room_id, const char *user_id,
            const char *reason, const char *as_user, int max_attempts,
            mx_done_cb cb, void *ud);

/* PUT /rooms/{room}/state/m.room.member/{user}?user_id={user}: user joins
 * (or stays joined) with a display name (and avatar_url, NULL or "" for
 * none) of its own in this room. */
struct mx_request *mx_req_member_join(const char *room_id, const char *user,
                                      const char *displayname,
                                      const char *avatar_url);
void mx_member_join(struct mx_client *c, const char *room_id,
                    const char *user, const char *displayname,
                    const char *avatar_url, int max_attempts, mx_done_cb cb,
                    void *ud);

/* ------------------------------------------------------------- state -- */

/* /rooms/{room}/state/{type}[/{state_key}]: state_key NULL leaves the
 * segment out, "" gives the trailing slash. format_event asks for the
 * whole event (?format=event) instead of its content. */
struct mx_request *mx_req_state_get(const char *room_id, const char *type,
                                    const char *state_key,
                                    const char *as_user, bool format_event);
void mx_state_get(struct mx_client *c, const char *room_id, const char *type,
                  const char *state_key, const char *as_user,
                  bool format_event, int max_attempts, mx_state_cb cb,
                  void *ud);
/* content is consumed. */
struct mx_request *mx_req_state_put(const char *room_id, const char *type,
                                    const char *state_key,
                                    const char *as_user, json_t *content);
void mx_state_put(struct mx_client *c, const char *room_id, const char *type,
                  const char *state_key, const char *as_user,
                  json_t *content, int max_attempts, mx_done_cb cb, void *ud);

/* GET /rooms/{room}/joined_members. */
struct mx_request *mx_req_joined_members(const char *room_id,
                                         const char *as_user);
void mx_joined_members(struct mx_client *c, const char *room_id,
                       const char *as_user, int max_attempts,
                       mx_members_cb cb, void *ud);

/* GET /rooms/{room}/members?not_membership=leave: the member events of
 * those joined, invited (and banned or knocking); the answer's chunk is
 * read with mx_member_parse. */
struct mx_request *mx_req_room_members(const char *room_id,
                                       const char *as_user);
void mx_room_members(struct mx_client *c, const char *room_id,
                     const char *as_user, int max_attempts, mx_done_cb cb,
                     void *ud);

/* ----------------------------------------------------------- history -- */

/* GET /rooms/{room}/messages?dir=&limit=&filter=&user_id=[&from=].
 * backward picks dir=b; filter (JSON text) and from may be NULL. */
struct mx_request *mx_req_messages(const char *room_id, const char *as_user,
                                   bool backward, int limit,
                                   const char *filter, const char *from);
void mx_messages(struct mx_client *c, const char *room_id,
                 const char *as_user, bool backward, int limit,
                 const char *filter, const char *from, int max_attempts,
                 mx_messages_cb cb, void *ud);

/* GET /rooms/{room}/context/{event}?limit=. */
struct mx_request *mx_req_context(const char *room_id, const char *event_id,
                                  int limit, const char *as_user);
void mx_context(struct mx_client *c, const char *room_id,
                const char *event_id, int limit, const char *as_user,
                int max_attempts, mx_context_cb cb, void *ud);

/* GET /v1/rooms/{room}/timestamp_to_event?ts=&dir=. */
struct mx_request *mx_req_timestamp_to_event(const char *room_id,
                                             long long ts, bool backward,
                                             const char *as_user);
void mx_timestamp_to_event(struct mx_client *c, const char *room_id,
                           long long ts, bool backward, const char *as_user,
                           int max_attempts, mx_timestamp_cb cb, void *ud);

/* --------------------------------------------------------- directory -- */

/* GET /directory/room/{alias}. */
struct mx_request *mx_req_alias_lookup(const char *alias);
void mx_alias_lookup(struct mx_client *c, const char *alias, int max_attempts,
                     mx_room_id_cb cb, void *ud);
/* PUT /directory/room/{alias} {room_id}. */
struct mx_request *mx_req_alias_put(const char *alias, const char *room_id);
void mx_alias_put(struct mx_client *c, const char *alias, const char *room_id,
                  int max_attempts, mx_done_cb cb, void *ud);
/* GET /publicRooms?limit=[&since=]. */
struct mx_request *mx_req_public_rooms(int limit, const char *since);
void mx_public_rooms(struct mx_client *c, int limit, const char *since,
                     int max_attempts, mx_public_rooms_cb cb, void *ud);

/* ----------------------------------------------------------- profile -- */

/* GET /profile/{user}. */
struct mx_request *mx_req_profile_get(const char *user_id);
void mx_profile_get(struct mx_client *c, const char *user_id,
                    int max_attempts, mx_profile_cb cb, void *ud);
/* PUT /profile/{user}/displayname?user_id={user}. */
struct mx_request *mx_req_set_displayname(const char *user,
                                          const char *displayname);
void mx_set_displayname(struct mx_client *c, const char *user,
                        const char *displayname, int max_attempts,
                        mx_done_cb cb, void *ud);
/* PUT /profile/{user}/avatar_url?user_id={user}; NULL clears it. */
struct mx_request *mx_req_set_avatar_url(const char *user,
                                         const char *avatar_url);
void mx_set_avatar_url(struct mx_client *c, const char *user,
                       const char *avatar_url, int max_attempts,
                       mx_done_cb cb, void *ud);

/* --------------------------------------------------------- ephemeral -- */

/* PUT /presence/{user}/status?user_id={user}; status_msg NULL for none. */
struct mx_request *mx_req_presence(const char *user, const char *presence,
                                   const char *status_msg);
void mx_presence(struct mx_client *c, const char *user, const char *presence,
                 const char *status_msg, int max_attempts, mx_done_cb cb,
                 void *ud);
/* PUT /rooms/{room}/typing/{user}?user_id={user}; timeout_ms counts only
 * while typing. */
struct mx_request *mx_req_typing(const char *room_id, const char *user,
                                 bool typing, int timeout_ms);
void mx_typing(struct mx_client *c, const char *room_id, const char *user,
               bool typing, int timeout_ms, int max_attempts, mx_done_cb cb,
               void *ud);
/* POST /rooms/{room}/receipt/m.read/{event}. */
struct mx_request *mx_req_read_receipt(const char *room_id,
                                       const char *event_id,
                                       const char *as_user);

/* --------------------------------------------------------- appservice -- */

/* POST /register as the appservice (m.login.application_service). */
struct mx_request *mx_req_register(const char *localpart);
void mx_register(struct mx_client *c, const char *localpart, int max_attempts,
                 mx_done_cb cb, void *ud);
/* POST /v1/appservice/{id}/ping {transaction_id}. */
struct mx_request *mx_req_appservice_ping(const char *as_id,
                                          const char *txn_id);
void mx_appservice_ping(struct mx_client *c, const char *as_id,
                        const char *txn_id, int max_attempts, mx_done_cb cb,
                        void *ud);

/* ----------------------------------------------------- devices, keys -- */

/* PUT /devices/{id}?user_id=: the appservice creates one of its users'
 * devices (MSC4190); 200 or 201. */
struct mx_request *mx_req_device_create(const char *user,
                                        const char *device_id,
                                        const char *display_name);
void mx_device_create(struct mx_client *c, const char *user,
                      const char *device_id, const char *display_name,
                      int max_attempts, mx_done_cb cb, void *ud);
/* POST /keys/upload?user_id=&device_id= with body ({device_keys,
 * one_time_keys, fallback_keys}), consumed. */
struct mx_request *mx_req_keys_upload(const char *user, const char *device_id,
                                      json_t *body);
void mx_keys_upload(struct mx_client *c, const char *user,
                    const char *device_id, json_t *body, int max_attempts,
                    mx_done_cb cb, void *ud);
/* POST /keys/device_signing/upload?user_id=: the user's cross-signing
 * keys (body consumed). */
struct mx_request *mx_req_cross_signing_upload(const char *user,
                                               json_t *body);
void mx_cross_signing_upload_keys(struct mx_client *c, const char *user,
                                  json_t *body, int max_attempts,
                                  mx_done_cb cb, void *ud);
/* POST /keys/signatures/upload?user_id=: {user: {key id: signed object}}
 * (body consumed). */
struct mx_request *mx_req_signatures_upload(const char *user, json_t *body);
void mx_signatures_upload(struct mx_client *c, const char *user, json_t *body,
                          int max_attempts, mx_done_cb cb, void *ud);
/* PUT /sendToDevice/{type}/{txn}?user_id=&device_id=: messages is
 * {user: {device: content}}, consumed. */
struct mx_request *mx_req_send_to_device(const char *user,
                                         const char *device_id,
                                         const char *type, const char *txn_id,
                                         json_t *messages);
void mx_send_to_device(struct mx_client *c, const char *user,
                       const char *device_id, const char *type,
                       const char *txn_id, json_t *messages, int max_attempts,
                       mx_done_cb cb, void *ud);

/* POST /keys/query?user_id=: the devices of users (a JSON array of user
 * ids, consumed). The answer (device_keys.{user}.{device}) is read with
 * matrix/crypto/device_keys.h, which checks each device's signature. */
struct mx_request *mx_req_keys_query(const char *as_user, json_t *users);
void mx_keys_query(struct mx_client *c, const char *as_user, json_t *users,
                   int max_attempts, mx_done_cb cb, void *ud);
/* POST /keys/claim?user_id=: wanted is {user: {device: algorithm}},
 * consumed; the answer's one_time_keys.{user}.{device} is read with
 * mx_claimed_key_check. */
struct mx_request *mx_req_keys_claim(const char *as_user, json_t *wanted);
void mx_keys_claim(struct mx_client *c, const char *as_user, json_t *wanted,
                   int max_attempts, mx_done_cb cb, void *ud);

/* ------------------------------------------------------------- media -- */

/* POST /media/v3/upload?user_id=[&filename=]: data (len bytes of
 * content_type) is taken over and freed with free(). */
char *mx_upload_path(const char *as_user, const char *filename);
void mx_upload(struct mx_client *c, const char *as_user, const char *filename,
               const char *content_type, char *data, size_t len,
               int max_attempts, mx_content_uri_cb cb, void *ud);

/* GET /v1/media/download/{server}/{id} for mxc://server/id: the path
 * (caller frees), or NULL with *err for a malformed URI. */
char *mx_media_download_path(const char *mxc, const char **err);
/* Downloads at most max_bytes of mxc: 0, or -1 with *err (cb then never
 * runs) for a malformed URI. */
int mx_media_download(struct mx_client *c, const char *mxc, size_t max_bytes,
                      int max_attempts, mx_media_cb cb, void *ud,
                      const char **err);

#endif
