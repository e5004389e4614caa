/* Events about other events: reactions (m.reaction, an m.annotation
 * relation) and redactions. Plain C views; strings borrowed from the
 * event's tree. */
#ifndef ISTHMUS_MATRIX_EVENT_RELATION_H
#define ISTHMUS_MATRIX_EVENT_RELATION_H

#include "matrix/event.h"

struct mx_reaction {
    const char *target; /* the event reacted to */
    const char *key;    /* the reaction, usually an emoji; may be "" */
};
/* -1 unless content.m.relates_to is an m.annotation with a string
 * event_id and key. How long or well-formed a key may be is the caller's
 * policy. */
int mx_reaction_parse(const struct mx_event *ev, struct mx_reaction *out,
                      const char **why);

struct mx_redaction {
    const char *redacts; /* the event removed */
    const char *reason;  /* or NULL */
};
/* m.room.redaction: redacts is in the content from room version 11 on and
 * at the top level before; the content's wins when both are there. -1
 * when neither is a string. */
int mx_redaction_parse(const struct mx_event *ev, struct mx_redaction *out,
                       const char **why);

#endif
