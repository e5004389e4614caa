/* Room state events other than members, as plain C views into the jansson
 * tree (strings and values borrowed; they live as long as the tree does).
 *
 * Most take the bare content object, since GET /rooms/{id}/state/{type}
 * answers with the content alone; the create event takes the whole event
 * because its sender counts (room versions 12+). */
#ifndef ISTHMUS_MATRIX_EVENT_STATE_H
#define ISTHMUS_MATRIX_EVENT_STATE_H

#include "matrix/event.h"

#include <jansson.h>
#include <stdbool.h>

/* Whether ev is the room's one state event of this type (empty state
 * key), the only kind of topic, name, power levels... that counts. */
bool mx_event_is_room_state(const struct mx_event *ev, const char *type);

/* m.room.power_levels. Every field has a default in the spec, and a level
 * that is not an integer reads as absent, as the gateway always read it
 * (rooms before v10 allowed strings; the gateway never honoured them). */
struct mx_power_levels {
    json_t *users;  /* borrowed object user id → level, or NULL */
    json_t *events; /* borrowed object event type → level, or NULL */
    long long users_default;  /* 0 when absent */
    long long events_default; /* 0 */
    long long state_default;  /* 50 */
    long long ban, kick, redact; /* 50 each */
    long long invite;         /* 0 */
};
/* -1 only when content is not an object. */
int mx_power_levels_parse(json_t *content, struct mx_power_levels *out,
                          const char **why);
/* The levels of a room without the event: every default. */
void mx_power_levels_default(struct mx_power_levels *out);
/* A user's level: theirs in users, else users_default. */
long long mx_power_levels_user(const struct mx_power_levels *pl,
                               const char *user_id);
/* The level needed to send an event of this type: its own in events, else
 * state_default or events_default. */
long long mx_power_levels_event(const struct mx_power_levels *pl,
                                const char *type, bool is_state);

/* m.room.topic, m.room.name: -1 when the string is absent or not a
 * string (a room whose topic or name was removed). */
struct mx_topic {
    const char *topic;
};
int mx_topic_parse(json_t *content, struct mx_topic *out, const char **why);
struct mx_name {
    const char *name;
};
int mx_name_parse(json_t *content, struct mx_name *out, const char **why);

/* m.room.avatar: url is NULL when the avatar was removed ({}). */
struct mx_room_avatar {
    const char *url;
    const char *mimetype; /* info.mimetype, or NULL */
};
int mx_room_avatar_parse(json_t *content, struct mx_room_avatar *out,
                         const char **why);

/* m.room.canonical_alias: both fields optional. */
struct mx_canonical_alias {
    const char *alias;    /* or NULL */
    json_t *alt_aliases;  /* borrowed array of strings, or NULL */
};
int mx_canonical_alias_parse(json_t *content, struct mx_canonical_alias *out,
                             const char **why);

/* m.room.create, from the whole event. */
struct mx_create {
    const char *creator;      /* the event's sender */
    const char *room_version; /* "1" when absent, as the spec says */
    const char *room_type;    /* "type" (m.space...), or NULL */
    bool federate;            /* m.federate, true when absent */
    json_t *additional_creators; /* borrowed array of strings, or NULL */
};
int mx_create_parse(const struct mx_event *ev, struct mx_create *out,
                    const char **why);
/* Whether user_id created the room in a way that outranks every power
 * level: from room version 12 on, the sender of the create event and its
 * additional_creators (MSC4289). */
bool mx_create_is_creator(const struct mx_create *c, const char *user_id);

/* m.room.join_rules. */
struct mx_join_rules {
    const char *join_rule; /* public, invite, knock, restricted... */
    json_t *allow;         /* borrowed array (restricted rooms), or NULL */
};
int mx_join_rules_parse(json_t *content, struct mx_join_rules *out,
                        const char **why);

/* m.room.encryption. */
struct mx_encryption {
    const char *algorithm;         /* m.megolm.v1.aes-sha2 */
    long long rotation_period_ms;  /* 604800000 (a week) when absent */
    long long rotation_period_msgs; /* 100 when absent */
};
int mx_encryption_parse(json_t *content, struct mx_encryption *out,
                        const char **why);

#endif
