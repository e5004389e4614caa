#include "matrix/event.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

#define HTML_FORMAT "org.matrix.custom.html"

static const char *str_field(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int mx_event_parse(json_t *ev, struct mx_event *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(ev)) {
        *why = "the event is not a JSON object";
        return -1;
    }
    out->event_id = str_field(ev, "event_id");
    out->room_id = str_field(ev, "room_id");
    out->sender = str_field(ev, "sender");
    out->type = str_field(ev, "type");
    out->state_key = str_field(ev, "state_key");
    json_t *ts = json_object_get(ev, "origin_server_ts");
    out->origin_server_ts = json_is_integer(ts) ? json_integer_value(ts) : 0;
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

int mx_message_parse(const struct mx_event *ev, struct mx_message *out,
                     const char **why)
{
    /* A sticker event has no msgtype; giving it one lets it take the
     * image's way through the gateway. */
    out->msgtype = strcmp(ev->type, "m.sticker") == 0
                       ? "m.sticker"
                       : str_field(ev->content, "msgtype");
    out->body = str_field(ev->content, "body");
    out->replaces = NULL;
    out->html = NULL;
    out->url = str_field(ev->content, "url");
    out->filename = str_field(ev->content, "filename");
    json_t *info = json_object_get(ev->content, "info");
    out->mimetype = str_field(info, "mimetype");
    json_t *size = json_object_get(info, "size");
    out->size = json_is_integer(size) && json_integer_value(size) >= 0
                    ? (long long)json_integer_value(size)
                    : -1;
    json_t *rel = json_object_get(ev->content, "m.relates_to");
    out->reply_to = str_field(json_object_get(rel, "m.in_reply_to"),
                              "event_id");
    const char *rel_type = str_field(rel, "rel_type");
    json_t *new_content = json_object_get(ev->content, "m.new_content");
    if (rel_type && strcmp(rel_type, "m.replace") == 0 &&
        str_field(rel, "event_id") && str_field(new_content, "body") &&
        str_field(new_content, "msgtype")) {
        out->replaces = str_field(rel, "event_id");
        out->msgtype = str_field(new_content, "msgtype");
        out->body = str_field(new_content, "body");
    }
    json_t *shown = out->replaces ? new_content : ev->content;
    const char *format = str_field(shown, "format");
    out->html = format && strcmp(format, HTML_FORMAT) == 0
                    ? str_field(shown, "formatted_body")
                    : NULL;
    if (!out->msgtype || !out->body) {
        *why = "the message has no msgtype or body";
        return -1;
    }
    return 0;
}

int mx_member_parse(const struct mx_event *ev, struct mx_member *out,
                    const char **why)
{
    out->membership = str_field(ev->content, "membership");
    out->displayname = str_field(ev->content, "displayname");
    out->is_direct = json_is_true(json_object_get(ev->content, "is_direct"));
    if (!out->membership || !ev->state_key) {
        *why = "the member event has no membership or state_key";
        return -1;
    }
    return 0;
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
    json_object_set_new(content, "format", json_string(HTML_FORMAT));
    json_object_set_new(content, "formatted_body", json_string(html));
}

void mx_content_set_reply(json_t *content, const char *event_id)
{
    json_object_set_new(content, "m.relates_to",
                        json_pack("{s:{s:s}}", "m.in_reply_to", "event_id",
                                  event_id));
}
