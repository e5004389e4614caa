/* The event every kind shares, and the message contents the gateway
 * builds. The parsers of each kind live in event_*.c. */
#include "matrix/event.h"

#include "common/mem.h"
#include "matrix/event_fields.h"

#include <stdlib.h>
#include <string.h>


int mx_event_parse(json_t *ev, struct mx_event *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(ev)) {
        *why = "the event is not a JSON object";
        return -1;
    }
    out->raw = ev;
    out->event_id = mx_field_str(ev, "event_id");
    out->room_id = mx_field_str(ev, "room_id");
    out->sender = mx_field_str(ev, "sender");
    out->type = mx_field_str(ev, "type");
    out->state_key = mx_field_str(ev, "state_key");
    out->origin_server_ts = mx_field_int(ev, "origin_server_ts", 0);
    out->content = json_object_get(ev, "content");
    if (!out->event_id || !out->room_id || !out->sender || !out->type) {
        *why = "the event lacks event_id, room_id, sender or type";
        return -1;
    }
    if (!json_is_object(out->content)) {
        *why = "the event's content is not an object";
        return -1;
    }
    return 0;
}

bool mx_event_is_message(const char *type)
{
    return type && (strcmp(type, "m.room.message") == 0 ||
                    strcmp(type, "m.sticker") == 0);
}

bool mx_event_was_encrypted(const struct mx_event *ev)
{
    const char *type = ev->raw ? json_string_value(json_object_get(ev->raw,
                                                                   "type"))
                               : NULL;
    return type && strcmp(type, "m.room.encrypted") == 0;
}

json_t *mx_message_content(const char *msgtype, const char *body)
{
    /* Built directly: json_pack would parse its format string for every
     * message. NULL, as json_pack gives, when a string is missing or not
     * UTF-8. */
    json_t *type = json_string(msgtype);
    json_t *text = json_string(body);
    if (!type || !text) {
        json_decref(type);
        json_decref(text);
        return NULL;
    }
    json_t *c = json_object();
    json_object_set_new_nocheck(c, "msgtype", type);
    json_object_set_new_nocheck(c, "body", text);
    return c;
}

json_t *mx_edit_content(const char *msgtype, const char *body,
                        const char *original)
{
    char *fallback = xasprintf("* %s", body);
    json_t *c = mx_message_content(msgtype, fallback);
    free(fallback);
    json_object_set_new(c, "m.new_content",
                        mx_message_content(msgtype, body));
    json_object_set_new(c, "m.relates_to",
                        json_pack("{s:s, s:s}", "rel_type", "m.replace",
                                  "event_id", original));
    return c;
}

void mx_content_set_html(json_t *content, const char *html)
{
    json_object_set_new(content, "format", json_string(MX_HTML_FORMAT));
    json_object_set_new(content, "formatted_body", json_string(html));
}

void mx_content_set_xmpp_e2ee(json_t *content, const char *scheme)
{
    json_object_set_new(content, MX_XMPP_E2EE_KEY, json_string(scheme));
}

void mx_content_set_reply(json_t *content, const char *event_id)
{
    json_object_set_new(content, "m.relates_to",
                        json_pack("{s:{s:s}}", "m.in_reply_to", "event_id",
                                  event_id));
}
