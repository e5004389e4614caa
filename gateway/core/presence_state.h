/* Presence reconciled (DESIGN.md §6): one person may be present through
 * several sources (XMPP resources, Matrix devices, MUC occupancies); the
 * gateway keeps each source's latest state and derives one for the person.
 * Pure code: no I/O. */
#ifndef ISTHMUS_GATEWAY_PRESENCE_STATE_H
#define ISTHMUS_GATEWAY_PRESENCE_STATE_H

#include <stdint.h>

/* Ordered: a higher state wins when sources disagree. */
enum pstate {
    PSTATE_OFFLINE = 0,
    PSTATE_UNAVAILABLE = 1, /* there, but away (XMPP away, xa, dnd) */
    PSTATE_ONLINE = 2,
};

struct presence_source {
    const char *source;
    int state;          /* enum pstate */
    const char *status; /* may be NULL */
    int64_t ts;         /* when the source last changed, ms */
};

struct presence_derived {
    int state;
    const char *status; /* points into one of the sources, or NULL */
};

/* Online if any source is online, else unavailable if any is, else
 * offline; the status message is the most recent one among the sources
 * that are there (or among all, when none is). No sources: offline. */
void presence_derive(const struct presence_source *src, int n,
                     struct presence_derived *out);

/* An XMPP presence's type (NULL = available) and <show/> as a state. */
int presence_state_from_xmpp(const char *type, const char *show);
/* Matrix's m.presence "presence" value as a state, or -1 if unknown. */
int presence_state_from_matrix(const char *presence);
/* The m.presence value for a state. */
const char *presence_state_matrix(int state);
/* The <show/> for a state when it is sent as available presence (NULL
 * for plain online). */
const char *presence_state_show(int state);

#endif
