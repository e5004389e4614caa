/* Typing, receipts and presence. */
#include "matrix/event_ephemeral.h"

#include "matrix/event_fields.h"

#include <string.h>

int mx_ephemeral_parse(json_t *ev, struct mx_ephemeral *out,
                       const char **why)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(ev)) {
        *why = "the ephemeral event is not a JSON object";
        return -1;
    }
    out->type = mx_field_str(ev, "type");
    out->room_id = mx_field_str(ev, "room_id");
    out->sender = mx_field_str(ev, "sender");
    out->content = mx_field_obj(ev, "content");
    if (!out->type || !out->content) {
        *why = "the ephemeral event has no type string or content object";
        return -1;
    }
    return 0;
}

const char *mx_str_list_at(const struct mx_str_list *l, size_t i)
{
    json_t *v = json_array_get(l->arr, i);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int mx_typing_parse(const struct mx_ephemeral *ev, struct mx_typing *out,
                    const char **why)
{
    out->room_id = ev->room_id;
    out->user_ids.arr = mx_field_arr(ev->content, "user_ids");
    out->user_ids.n = json_array_size(out->user_ids.arr);
    if (!out->room_id || !out->user_ids.arr) {
        *why = "the typing event has no room_id or user_ids array";
        return -1;
    }
    return 0;
}

int mx_receipt_parse(const struct mx_ephemeral *ev, struct mx_receipt *out,
                     const char **why)
{
    out->room_id = ev->room_id;
    out->content = ev->content;
    if (!out->room_id) {
        *why = "the receipt event has no room_id";
        return -1;
    }
    return 0;
}

/* The receipts of one type on one event. A user's entry that is not an
 * object still counts, without ts or thread, as the gateway always read
 * it. */
static void each_user(const char *event_id, const char *type, json_t *users,
                      void (*cb)(const struct mx_read_receipt *, void *),
                      void *ud)
{
    const char *user_id;
    json_t *info;
    json_object_foreach(users, user_id, info) {
        struct mx_read_receipt rr = {
            .event_id = event_id, .receipt_type = type, .user_id = user_id,
            .thread_id = mx_field_str(info, "thread_id"),
            .ts = mx_field_int(info, "ts", 0),
        };
        cb(&rr, ud);
    }
}

void mx_receipt_foreach(const struct mx_receipt *r, const char *receipt_type,
                        void (*cb)(const struct mx_read_receipt *rr,
                                   void *ud),
                        void *ud)
{
    const char *event_id;
    json_t *by_type;
    json_object_foreach(r->content, event_id, by_type) {
        if (receipt_type) {
            each_user(event_id, receipt_type,
                      mx_field_obj(by_type, receipt_type), cb, ud);
            continue;
        }
        const char *type;
        json_t *users;
        json_object_foreach(by_type, type, users)
            each_user(event_id, type, json_is_object(users) ? users : NULL,
                      cb, ud);
    }
}

int mx_presence_parse(const struct mx_ephemeral *ev, struct mx_presence *out,
                      const char **why)
{
    json_t *c = ev->content;
    out->user_id = ev->sender;
    out->presence = mx_field_str(c, "presence");
    out->status_msg = mx_field_str(c, "status_msg");
    out->avatar_url = mx_field_str(c, "avatar_url");
    out->displayname = mx_field_str(c, "displayname");
    out->last_active_ago = mx_field_int(c, "last_active_ago", -1);
    json_t *active = json_object_get(c, "currently_active");
    out->currently_active = json_is_boolean(active) ? json_is_true(active)
                                                    : -1;
    if (!out->user_id || !out->presence) {
        *why = "the presence event has no sender or presence string";
        return -1;
    }
    return 0;
}
