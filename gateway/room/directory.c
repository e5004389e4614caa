/* Gateway mode: the homeserver's public room directory as MUC JIDs (see
 * directory.h). */
#include "gateway/room/directory.h"

#include "gateway/room/common.h"

#include "common/log.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "gateway/base/effects.h"
#include "gateway/base/to_xmpp.h"
#include "gateway/core/translate.h"
#include "gateway/features/ghosts.h"
#include "gateway/features/media.h"
#include "gateway/features/members.h"
#include "gateway/features/presence.h"
#include "matrix/event_state.h"
#include "xep/avatars.h"
#include "xep/disco.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/presence_stanza.h"
#include "xep/stanza_error.h"
#include "xep/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_RSM "http://jabber.org/protocol/rsm"

struct directory {
    struct gateway *gw;
    xmpp_stanza_t *iq;
};

static void on_public_rooms(const struct mx_response *r,
                            const struct mx_public_rooms *pr, void *ud)
{
    struct directory *d = ud;
    struct gateway *gw = d->gw;
    if (!pr) {
        room_send_now(gw, stanza_error_reply(gw->xmpp, d->iq, "wait",
                                        "remote-server-timeout", r->error));
        goto out;
    }
    xmpp_stanza_t *res = xmpp_iq_new(gw->xmpp, "result",
                                     xmpp_stanza_get_id(d->iq));
    xmpp_stanza_set_to(res, xmpp_stanza_get_from(d->iq));
    xmpp_stanza_set_from(res, xmpp_stanza_get_to(d->iq));
    xmpp_stanza_t *q = xml_add_child(gw->xmpp, res, "query",
                                     "http://jabber.org/protocol/disco#items");
    char *first = NULL;
    for (size_t i = 0; i < pr->n; i++) {
        const char *alias = pr->rooms[i].canonical_alias;
        const char *room_id = pr->rooms[i].room_id;
        const char *name = pr->rooms[i].name;
        char *jid = NULL;
        const char *why;
        if ((!alias || ids_matrix_to_jid(&gw->ids, alias, &jid, &why) < 0) &&
            (!room_id || ids_matrix_to_jid(&gw->ids, room_id, &jid, &why) < 0))
            continue;
        xmpp_stanza_t *item = xml_add_child(gw->xmpp, q, "item", NULL);
        xmpp_stanza_set_attribute(item, "jid", jid);
        xmpp_stanza_set_attribute(item, "name",
                                  name ? name : alias ? alias : room_id);
        if (!first)
            first = xstrdup(jid);
        free(jid);
    }
    /* RSM: <last/> carries the directory's next_batch token, which a
     * client sends back as <after/> for the next page. */
    xmpp_stanza_t *set = xml_add_child(gw->xmpp, q, "set", NS_RSM);
    const char *next = pr->next_batch;
    if (first)
        xml_add_text_child(gw->xmpp, set, "first", NULL, first);
    if (next)
        xml_add_text_child(gw->xmpp, set, "last", NULL, next);
    if (pr->has_total) {
        char count[32];
        snprintf(count, sizeof count, "%lld", pr->total_room_count_estimate);
        xml_add_text_child(gw->xmpp, set, "count", NULL, count);
    }
    free(first);
    room_send_now(gw, res);
out:
    xmpp_stanza_release(d->iq);
    free(d);
}

void room_directory(struct gateway *gw, xmpp_stanza_t *iq)
{
    xmpp_stanza_t *query = xmpp_stanza_get_child_by_name(iq, "query");
    xmpp_stanza_t *set = query ? xmpp_stanza_get_child_by_name_and_ns(
                                     query, "set", NS_RSM)
                               : NULL;
    char *max = xml_child_text(set, "max", NULL);
    char *after = xml_child_text(set, "after", NULL);
    int limit = max ? atoi(max) : 50;
    if (limit <= 0 || limit > 200)
        limit = 50;
    struct directory *d = xcalloc(1, sizeof *d);
    d->gw = gw;
    d->iq = xmpp_stanza_copy(iq);
    mx_public_rooms(gw->mx, limit, after, 3, on_public_rooms, d);
    free(max);
    free(after);
}
