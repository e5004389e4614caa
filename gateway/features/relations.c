/* Edits and replies crossing over: which message on the other side an
 * edit (m.replace / XEP-0308) or a reply (m.in_reply_to / XEP-0461)
 * points at, looked up in the message store, and the reply fallback quotes
 * each side expects. Shared by direct chats and both kinds of rooms. */
#include "gateway/features/relations.h"

#include "gateway/base/context.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------- Matrix -> XMPP -- */

char *relations_crossed_as(struct gateway *gw, const char *event_id,
                           bool correction)
{
    struct store_message m;
    if (!event_id || store_message_by_event(gw->store, event_id, &m) != 1)
        return NULL;
    const char *first = correction ? m.origin_id : m.stanza_id;
    const char *second = correction ? m.stanza_id : m.origin_id;
    char *id = xstrdup(first ? first : second ? second : m.event_id);
    store_message_free(&m);
    return id;
}

/* ---------------------------------------------------- XMPP -> Matrix -- */

char *relations_event_for(struct gateway *gw, const char *jid,
                          const char *room_id, const char *xmpp_id)
{
    /* A bridged message, or, in gateway-mode rooms, a stanza-id, which
     * there is the event id itself. */
    struct store_message orig;
    if (store_message_by_stanza_in(gw->store, room_id, jid, xmpp_id, &orig) ==
        1) {
        char *event_id = xstrdup(orig.event_id);
        store_message_free(&orig);
        return event_id;
    }
    return xmpp_id[0] == '$' ? xstrdup(xmpp_id) : NULL;
}

char *relations_xmpp_id(struct gateway *gw, const struct store_room *room,
                        const char *event_id)
{
    if (room->mode == ROOM_GATEWAY)
        return xstrdup(event_id); /* the room's stanza-id */
    return relations_crossed_as(gw, event_id, false);
}

char *relations_edit_target(struct gateway *gw, const char *jid,
                            const char *room_id, const char *xmpp_id)
{
    /* A correction edits the original event: the first one, even when a
     * client corrects its correction. */
    struct store_message orig;
    if (store_message_by_stanza_in(gw->store, room_id, jid, xmpp_id, &orig) !=
        1)
        return NULL;
    char *target = xstrdup(orig.replaces ? orig.replaces : orig.event_id);
    store_message_free(&orig);
    return target;
}
