/* Room messages: m.room.message and m.sticker, with their edits, replies,
 * HTML and media. */
#include "matrix/event.h"

#include "matrix/event_fields.h"

#include <string.h>

int mx_message_content_parse(const char *type, json_t *content,
                             struct mx_message *out, const char **why)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(content)) {
        *why = "the message's content is not an object";
        return -1;
    }
    /* A sticker event has no msgtype; giving it one lets it take the
     * image's way through the gateway. */
    out->msgtype = type && strcmp(type, "m.sticker") == 0
                       ? "m.sticker"
                       : mx_field_str(content, "msgtype");
    out->body = mx_field_str(content, "body");
    out->xmpp_e2ee = mx_field_str(content, MX_XMPP_E2EE_KEY);
    out->url = mx_field_str(content, "url");
    out->file = mx_field_obj(content, "file");
    out->filename = mx_field_str(content, "filename");
    json_t *info = mx_field_obj(content, "info");
    out->mimetype = mx_field_str(info, "mimetype");
    long long size = mx_field_int(info, "size", -1);
    out->size = size >= 0 ? size : -1;
    json_t *rel = mx_field_obj(content, "m.relates_to");
    out->reply_to = mx_field_str(mx_field_obj(rel, "m.in_reply_to"),
                                 "event_id");
    const char *rel_type = mx_field_str(rel, "rel_type");
    json_t *new_content = mx_field_obj(content, "m.new_content");
    /* An edit counts only when its new content is complete; otherwise the
     * fallback text at the top level is all there is to show. */
    if (rel_type && strcmp(rel_type, "m.replace") == 0 &&
        mx_field_str(rel, "event_id") && mx_field_str(new_content, "body") &&
        mx_field_str(new_content, "msgtype")) {
        out->replaces = mx_field_str(rel, "event_id");
        out->msgtype = mx_field_str(new_content, "msgtype");
        out->body = mx_field_str(new_content, "body");
    }
    json_t *shown = out->replaces ? new_content : content;
    out->shown = shown;
    const char *format = mx_field_str(shown, "format");
    out->html = format && strcmp(format, MX_HTML_FORMAT) == 0
                    ? mx_field_str(shown, "formatted_body")
                    : NULL;
    if (!out->msgtype || !out->body) {
        *why = "the message has no msgtype or body";
        return -1;
    }
    return 0;
}

int mx_message_parse(const struct mx_event *ev, struct mx_message *out,
                     const char **why)
{
    return mx_message_content_parse(ev->type, ev->content, out, why);
}

int mx_bundled_edit_parse(const struct mx_event *ev,
                          struct mx_bundled_edit *out, const char **why)
{
    json_t *relations = mx_field_obj(mx_field_obj(ev->raw, "unsigned"),
                                     "m.relations");
    json_t *edit = mx_field_obj(relations, "m.replace");
    json_t *fresh = mx_field_obj(mx_field_obj(edit, "content"),
                                 "m.new_content");
    out->body = mx_field_str(fresh, "body");
    out->msgtype = mx_field_str(fresh, "msgtype");
    if (!edit) {
        *why = "no edit is bundled with the event";
        return -1;
    }
    if (!out->body || !out->msgtype) {
        *why = "the bundled edit has no m.new_content with body and msgtype";
        return -1;
    }
    return 0;
}
