/* Portal mode, in memory: the MUCs being re-synchronised after a
 * reconnection (see state.h). */
#include "gateway/portal/state.h"

#include "gateway/features/relations.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/base/effects.h"
#include "gateway/core/portal_pending.h"
#include "gateway/features/members.h"
#include "common/log.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "gateway/features/ghosts.h"
#include "gateway/features/media.h"
#include "gateway/features/presence.h"
#include "gateway/base/queues.h"
#include "gateway/features/reactions.h"
#include "gateway/features/markers.h"
#include "gateway/features/retractions.h"
#include "gateway/features/markers.h"
#include "gateway/features/chatstates.h"
#include "gateway/core/translate.h"
#include "matrix/event_state.h"
#include "xep/disco.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/reactions.h"
#include "xep/retractions.h"
#include "xep/xml.h"
#include <stdlib.h>
#include <string.h>

struct portal_state *portal_state_new(void)
{
    struct portal_state *ps = xcalloc(1, sizeof *ps);
    ps->subjects = portal_pending_new();
    return ps;
}

void portal_sync_free(struct portal_sync *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->seen[i]);
    free(s->seen);
    free(s->muc_jid);
    free(s);
}

void portal_state_free(struct portal_state *ps)
{
    if (!ps)
        return;
    while (ps->syncs) {
        struct portal_sync *next = ps->syncs->next;
        portal_sync_free(ps->syncs);
        ps->syncs = next;
    }
    portal_pending_free(ps->subjects);
    free(ps);
}

struct portal_sync **portal_sync_find(struct portal_state *ps,
                                      const char *muc_jid)
{
    struct portal_sync **p = &ps->syncs;
    while (*p && strcmp((*p)->muc_jid, muc_jid) != 0)
        p = &(*p)->next;
    return p;
}

void portal_sync_start(struct portal_state *ps, const char *muc_jid)
{
    struct portal_sync **p = portal_sync_find(ps, muc_jid);
    if (*p)
        return;
    *p = xcalloc(1, sizeof **p);
    (*p)->muc_jid = xstrdup(muc_jid);
}

void portal_sync_seen(struct portal_state *ps, const char *muc_jid,
                      const char *nick)
{
    struct portal_sync *s = *portal_sync_find(ps, muc_jid);
    if (!s)
        return;
    s->seen = xrealloc(s->seen, (s->n + 1) * sizeof *s->seen);
    s->seen[s->n++] = xstrdup(nick);
}
