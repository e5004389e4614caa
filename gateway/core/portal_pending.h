/* Changes a portal sent to its MUC for a Matrix user (a new subject) and
 * that the MUC has neither taken nor refused yet. A MUC's refusal is an
 * error that names only the stanza id, and undoing the change on Matrix
 * needs what was there before; this remembers both, in memory, for a
 * while (a refusal comes within seconds; after a restart it is lost and
 * the change simply stands on Matrix only, as before this existed). */
#ifndef ISTHMUS_GATEWAY_PORTAL_PENDING_H
#define ISTHMUS_GATEWAY_PORTAL_PENDING_H

#include <stdint.h>

struct portal_pending;

struct portal_change {
    char *stanza_id; /* what the change was sent with */
    char *room_id;   /* the Matrix room */
    char *previous;  /* the value before the change */
    char *who;       /* the Matrix user who made it */
    int64_t sent_ms;
};

struct portal_pending *portal_pending_new(void);
void portal_pending_free(struct portal_pending *p);
/* Remembers a change (strings copied). Changes older than
 * PORTAL_PENDING_MAX_AGE_MS are forgotten, and the oldest beyond
 * PORTAL_PENDING_MAX. */
#define PORTAL_PENDING_MAX_AGE_MS (10 * 60 * 1000)
#define PORTAL_PENDING_MAX 256
void portal_pending_add(struct portal_pending *p, const char *stanza_id,
                        const char *room_id, const char *previous,
                        const char *who, int64_t now_ms);
/* Takes the change sent as stanza_id out: 1 with *out filled (release with
 * portal_change_free), or 0 if there is none. */
int portal_pending_take(struct portal_pending *p, const char *stanza_id,
                        struct portal_change *out);
void portal_change_free(struct portal_change *c);

#endif
