/* Presence updates waiting to be coalesced (see presence_pending.h). */
#include "gateway/features/presence_pending.h"

#include "common/mem.h"
#include "gateway/base/effects.h"
#include "gateway/core/coalesce.h"

#include <stdlib.h>

struct presence *presence_pending_new(void)
{
    struct presence *p = xcalloc(1, sizeof *p);
    p->to_matrix = coalesce_new(PRESENCE_WINDOW_MS);
    p->to_xmpp = coalesce_new(PRESENCE_WINDOW_MS);
    return p;
}

void presence_pending_free(struct presence *p)
{
    if (!p)
        return;
    coalesce_free(p->to_matrix);
    coalesce_free(p->to_xmpp);
    free(p);
}

void presence_matrix_touch(struct gateway *gw, const char *mxid)
{
    coalesce_mark(gw->presence->to_xmpp, mxid, gateway_now_ms());
}
