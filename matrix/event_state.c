/* Room state events: members, power levels, topic, name, avatar,
 * canonical alias, create, join rules, encryption. */
#include "matrix/event_state.h"

#include "matrix/event_fields.h"

#include <stdlib.h>
#include <string.h>

bool mx_event_is_room_state(const struct mx_event *ev, const char *type)
{
    return ev->state_key && !*ev->state_key && strcmp(ev->type, type) == 0;
}

int mx_member_parse(const struct mx_event *ev, struct mx_member *out,
                    const char **why)
{
    out->membership = mx_field_str(ev->content, "membership");
    out->displayname = mx_field_str(ev->content, "displayname");
    out->avatar_url = mx_field_str(ev->content, "avatar_url");
    out->is_direct = json_is_true(json_object_get(ev->content, "is_direct"));
    if (!out->membership || !ev->state_key) {
        *why = "the member event has no membership or state_key";
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------ power levels -- */

void mx_power_levels_default(struct mx_power_levels *out)
{
    *out = (struct mx_power_levels){
        .users = NULL, .events = NULL, .users_default = 0,
        .events_default = 0, .state_default = 50, .ban = 50, .kick = 50,
        .redact = 50, .invite = 0,
    };
}

int mx_power_levels_parse(json_t *content, struct mx_power_levels *out,
                          const char **why)
{
    mx_power_levels_default(out);
    if (!json_is_object(content)) {
        *why = "the power levels are not an object";
        return -1;
    }
    out->users = mx_field_obj(content, "users");
    out->events = mx_field_obj(content, "events");
    out->users_default = mx_field_int(content, "users_default", 0);
    out->events_default = mx_field_int(content, "events_default", 0);
    out->state_default = mx_field_int(content, "state_default", 50);
    out->ban = mx_field_int(content, "ban", 50);
    out->kick = mx_field_int(content, "kick", 50);
    out->redact = mx_field_int(content, "redact", 50);
    out->invite = mx_field_int(content, "invite", 0);
    return 0;
}

long long mx_power_levels_user(const struct mx_power_levels *pl,
                               const char *user_id)
{
    return mx_field_int(pl->users, user_id, pl->users_default);
}

long long mx_power_levels_event(const struct mx_power_levels *pl,
                                const char *type, bool is_state)
{
    return mx_field_int(pl->events, type,
                        is_state ? pl->state_default : pl->events_default);
}

/* ------------------------------------------------ one-string contents -- */

int mx_topic_parse(json_t *content, struct mx_topic *out, const char **why)
{
    out->topic = mx_field_str(content, "topic");
    if (!out->topic) {
        *why = "the topic event has no topic string";
        return -1;
    }
    return 0;
}

int mx_name_parse(json_t *content, struct mx_name *out, const char **why)
{
    out->name = mx_field_str(content, "name");
    if (!out->name) {
        *why = "the name event has no name string";
        return -1;
    }
    return 0;
}

int mx_room_avatar_parse(json_t *content, struct mx_room_avatar *out,
                         const char **why)
{
    out->url = mx_field_str(content, "url");
    out->mimetype = mx_field_str(mx_field_obj(content, "info"), "mimetype");
    if (!json_is_object(content)) {
        *why = "the avatar event's content is not an object";
        return -1;
    }
    if (mx_field_wrong(content, "url", JSON_STRING)) {
        *why = "the avatar event's url is not a string";
        return -1;
    }
    return 0;
}

int mx_canonical_alias_parse(json_t *content, struct mx_canonical_alias *out,
                             const char **why)
{
    out->alias = mx_field_str(content, "alias");
    out->alt_aliases = mx_field_arr(content, "alt_aliases");
    if (!json_is_object(content)) {
        *why = "the canonical alias event's content is not an object";
        return -1;
    }
    if (mx_field_wrong(content, "alias", JSON_STRING) ||
        mx_field_wrong(content, "alt_aliases", JSON_ARRAY) ||
        (out->alt_aliases && !mx_strings_only(out->alt_aliases))) {
        *why = "the canonical alias is not a string, or alt_aliases not an "
               "array of strings";
        return -1;
    }
    return 0;
}

/* ----------------------------------------------------------- create -- */

int mx_create_parse(const struct mx_event *ev, struct mx_create *out,
                    const char **why)
{
    json_t *c = ev->content;
    out->creator = ev->sender;
    out->room_version = mx_field_str(c, "room_version");
    if (!out->room_version)
        out->room_version = "1";
    out->room_type = mx_field_str(c, "type");
    out->federate = !json_is_false(json_object_get(c, "m.federate"));
    out->additional_creators = mx_field_arr(c, "additional_creators");
    if (strcmp(ev->type, "m.room.create") != 0) {
        *why = "the event is not m.room.create";
        return -1;
    }
    if (mx_field_wrong(c, "room_version", JSON_STRING) ||
        mx_field_wrong(c, "additional_creators", JSON_ARRAY)) {
        *why = "the create event's room_version is not a string, or its "
               "additional_creators not an array";
        return -1;
    }
    return 0;
}

bool mx_create_is_creator(const struct mx_create *c, const char *user_id)
{
    const char *v = c->room_version;
    /* Only the plain numbered versions from 12 on; unstable ones
     * (org.matrix.…) are not known to follow the rule. */
    if (!*v || strspn(v, "0123456789") != strlen(v) || atoi(v) < 12)
        return false;
    if (c->creator && strcmp(c->creator, user_id) == 0)
        return true;
    size_t i;
    json_t *x;
    json_array_foreach(c->additional_creators, i, x)
        if (json_is_string(x) && strcmp(json_string_value(x), user_id) == 0)
            return true;
    return false;
}

/* ------------------------------------------- join rules, encryption -- */

int mx_join_rules_parse(json_t *content, struct mx_join_rules *out,
                        const char **why)
{
    out->join_rule = mx_field_str(content, "join_rule");
    out->allow = mx_field_arr(content, "allow");
    if (!out->join_rule) {
        *why = "the join rules have no join_rule string";
        return -1;
    }
    if (mx_field_wrong(content, "allow", JSON_ARRAY)) {
        *why = "the join rules' allow is not an array";
        return -1;
    }
    return 0;
}

int mx_encryption_parse(json_t *content, struct mx_encryption *out,
                        const char **why)
{
    out->algorithm = mx_field_str(content, "algorithm");
    out->rotation_period_ms = mx_field_int(content, "rotation_period_ms",
                                           604800000LL);
    out->rotation_period_msgs = mx_field_int(content, "rotation_period_msgs",
                                             100);
    if (!out->algorithm) {
        *why = "the encryption event has no algorithm string";
        return -1;
    }
    if (mx_field_wrong(content, "rotation_period_ms", JSON_INTEGER) ||
        mx_field_wrong(content, "rotation_period_msgs", JSON_INTEGER)) {
        *why = "the encryption event's rotation periods are not integers";
        return -1;
    }
    return 0;
}
