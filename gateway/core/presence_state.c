#include "gateway/core/presence_state.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

void presence_derive(const struct presence_source *src, int n,
                     struct presence_derived *out)
{
    out->state = PSTATE_OFFLINE;
    out->status = NULL;
    for (int i = 0; i < n; i++)
        if (src[i].state > out->state)
            out->state = src[i].state;
    /* A status set while present says more than the goodbye of a resource
     * that left, unless everyone left. */
    int64_t newest = INT64_MIN;
    for (int i = 0; i < n; i++) {
        bool there = src[i].state != PSTATE_OFFLINE;
        if (out->state != PSTATE_OFFLINE && !there)
            continue;
        if (src[i].ts >= newest) {
            newest = src[i].ts;
            out->status = src[i].status && *src[i].status ? src[i].status
                                                          : NULL;
        }
    }
}

int presence_state_from_xmpp(const char *type, const char *show)
{
    if (type && strcmp(type, "unavailable") == 0)
        return PSTATE_OFFLINE;
    if (show && (strcmp(show, "away") == 0 || strcmp(show, "xa") == 0 ||
                 strcmp(show, "dnd") == 0))
        return PSTATE_UNAVAILABLE;
    return PSTATE_ONLINE; /* none, "chat", or something unknown */
}

int presence_state_from_matrix(const char *presence)
{
    if (!presence)
        return -1;
    if (strcmp(presence, "online") == 0 || strcmp(presence, "busy") == 0)
        return PSTATE_ONLINE;
    if (strcmp(presence, "unavailable") == 0)
        return PSTATE_UNAVAILABLE;
    if (strcmp(presence, "offline") == 0)
        return PSTATE_OFFLINE;
    return -1;
}

const char *presence_state_matrix(int state)
{
    return state == PSTATE_ONLINE        ? "online"
           : state == PSTATE_UNAVAILABLE ? "unavailable"
                                         : "offline";
}

const char *presence_state_show(int state)
{
    return state == PSTATE_ONLINE ? NULL
           : state == PSTATE_UNAVAILABLE ? "away"
                                         : "xa";
}
