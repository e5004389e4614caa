/* Reactions and redactions. */
#include "matrix/event_relation.h"

#include "matrix/event_fields.h"

#include <string.h>

int mx_reaction_parse(const struct mx_event *ev, struct mx_reaction *out,
                      const char **why)
{
    json_t *rel = mx_field_obj(ev->content, "m.relates_to");
    const char *rel_type = mx_field_str(rel, "rel_type");
    out->target = mx_field_str(rel, "event_id");
    out->key = mx_field_str(rel, "key");
    if (!rel_type || strcmp(rel_type, "m.annotation") != 0) {
        *why = "the reaction is not an m.annotation relation";
        return -1;
    }
    if (!out->target || !out->key) {
        *why = "the reaction has no event_id or key string";
        return -1;
    }
    return 0;
}

int mx_redaction_parse(const struct mx_event *ev, struct mx_redaction *out,
                       const char **why)
{
    out->redacts = mx_field_str(ev->content, "redacts");
    if (!out->redacts)
        out->redacts = mx_field_str(ev->raw, "redacts");
    out->reason = mx_field_str(ev->content, "reason");
    if (!out->redacts) {
        *why = "the redaction names no event in redacts";
        return -1;
    }
    return 0;
}
