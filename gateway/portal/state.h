/* Portal mode's in-memory state: after the component reconnects, the MUC
 * re-announces its occupants; the nicks seen until the subject (which ends
 * a join) are the ones still there. */
#ifndef ISTHMUS_GATEWAY_PORTAL_STATE_H
#define ISTHMUS_GATEWAY_PORTAL_STATE_H

#include "gateway/base/context.h"

/* After the component reconnects, the MUC re-announces its occupants; the
 * nicks seen until the subject (which ends a join) are the ones still
 * there, and any other stored occupant left while the gateway was away. */
struct portal_sync {
    char *muc_jid;
    char **seen;
    size_t n;
    struct portal_sync *next;
};
void portal_sync_free(struct portal_sync *s);
struct portal_sync **portal_sync_find(struct portal_state *ps,
                                      const char *muc_jid);
void portal_sync_start(struct portal_state *ps, const char *muc_jid);
void portal_sync_seen(struct portal_state *ps, const char *muc_jid,
                      const char *nick);

/* The portal mode's in-memory state: the MUCs being re-synchronised and
 * the subjects sent for Matrix users that the MUC has not answered yet. */
struct portal_state {
    struct portal_sync *syncs;
    struct portal_pending *subjects; /* sent for Matrix users, unanswered */
};

/* Caller frees with portal_state_free. */
struct portal_state *portal_state_new(void);
void portal_state_free(struct portal_state *ps);

#endif
