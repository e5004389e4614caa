/* OMEMO in gateway-mode rooms (XEP-0384's group chats): which puppet
 * reads what an XMPP occupant sends, which puppet speaks what a Matrix
 * member says, and meeting a room's members when an occupant arrives.
 * An OMEMO client encrypts a group message to every member's real JID
 * (its muc#admin lists and the occupants' presences give them): the
 * Matrix members' puppets among them, each with one device. */
#include "gateway/features/omemo_state.h"

#include "gateway/base/context.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/core/ids.h"
#include "gateway/features/members.h"
#include "xep/omemo.h"

#include <stdlib.h>
#include <string.h>

/* An occupant arriving meets at most this many members' puppets: beyond
 * it, a member meets them when they first speak. */
#define ROOM_MEET_MAX 64

/* The Matrix members of a room, as puppet JIDs (malloc'd, each too):
 * how many. */
static int room_puppets(struct gateway *gw, const char *room_id,
                        char ***out)
{
    struct store_member *members;
    int n = store_members_in_room(gw->store, room_id, &members);
    *out = xcalloc((size_t)(n > 0 ? n : 1), sizeof **out);
    int got = 0;
    for (int i = 0; i < n; i++) {
        char *jid = NULL;
        const char *why;
        if (ids_is_ghost(&gw->ids, members[i].mxid) ||
            ids_matrix_to_jid(&gw->ids, members[i].mxid, &jid, &why) < 0)
            continue;
        (*out)[got++] = jid;
    }
    store_members_free(members, n > 0 ? n : 0);
    return got;
}

static void puppets_free(char **jids, int n)
{
    for (int i = 0; i < n; i++)
        free(jids[i]);
    free(jids);
}

static bool has_key_for(const struct omemo_message *m, uint32_t device)
{
    for (int i = 0; i < m->n_keys; i++)
        if (m->keys[i].rid == device)
            return true;
    return false;
}

char *omemo_room_reader(struct gateway *gw, xmpp_stanza_t *st,
                        xmpp_stanza_t *enc, int version, char **room_jid,
                        const char **why)
{
    *room_jid = NULL;
    const char *to = xmpp_stanza_get_to(st);
    const char *from = xmpp_stanza_get_from(st);
    if (!to || !from) {
        *why = "the message has no from or to";
        return NULL;
    }
    char *muc_jid = ids_jid_bare(to);
    struct store_occupant o;
    if (members_occupant(gw, from, muc_jid, &o) != 1) {
        free(muc_jid);
        *why = "the sender is not in the room";
        return NULL;
    }
    *room_jid = muc_jid;
    char **puppets;
    int n = room_puppets(gw, o.room_id, &puppets);
    char *reader = NULL;
    struct omemo_message legacy = { 0 };
    bool legacy_read = version != OMEMO_2 &&
                       omemo_message_parse(enc, &legacy, why) == 0;
    for (int i = 0; i < n && !reader; i++) {
        uint32_t device;
        if (!omemo_puppet_device_id(gw, puppets[i], &device))
            continue;
        if (version == OMEMO_2) {
            /* OMEMO 2 groups the keys by the reader's JID. */
            struct omemo_message m;
            const char *ignored;
            if (omemo2_message_parse(enc, puppets[i], &m, &ignored) == 0) {
                if (has_key_for(&m, device))
                    reader = xstrdup(puppets[i]);
                omemo_message_free(&m);
            }
        } else if (legacy_read && has_key_for(&legacy, device)) {
            reader = xstrdup(puppets[i]);
        }
    }
    if (!reader && (version == OMEMO_2 || legacy_read))
        *why = "it was not encrypted for any Matrix member of the room "
               "(your client may hold old device lists: fetch the "
               "members' devices again)";
    omemo_message_free(&legacy);
    puppets_free(puppets, n);
    store_occupant_free(&o);
    return reader;
}

char *omemo_room_speaker(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *from = xmpp_stanza_get_from(st);
    const char *to = xmpp_stanza_get_to(st);
    const char *nick = from ? ids_jid_resource(from) : NULL;
    if (!nick || !*nick || !to)
        return NULL;
    char *muc_jid = ids_jid_bare(from);
    struct store_occupant o;
    char *puppet = NULL, *mxid = NULL;
    if (members_occupant(gw, to, muc_jid, &o) == 1) {
        const char *why;
        if (members_only(gw, o.room_id) &&
            store_member_by_nick(gw->store, o.room_id, nick, &mxid) == 1 &&
            !ids_is_ghost(&gw->ids, mxid) &&
            ids_matrix_to_jid(&gw->ids, mxid, &puppet, &why) < 0)
            puppet = NULL;
        store_occupant_free(&o);
    }
    free(mxid);
    free(muc_jid);
    return puppet;
}

void omemo_room_meet(struct gateway *gw, const char *room_id,
                     const char *user_bare)
{
    if (!omemo_active(gw) || !members_only(gw, room_id))
        return;
    char **puppets;
    int n = room_puppets(gw, room_id, &puppets);
    if (n > ROOM_MEET_MAX)
        log_info("omemo: %s meets the first %d of the %d members of %s; "
                 "the others when they speak", user_bare, ROOM_MEET_MAX, n,
                 room_id);
    /* Refreshed even if they met minutes ago: a resource joining may be
     * a device the puppets have not seen (its list reaches them by no
     * push: they are not the user's contacts). */
    for (int i = 0; i < n && i < ROOM_MEET_MAX; i++)
        omemo_peer_refresh(gw, puppets[i], user_bare, NULL, NULL);
    puppets_free(puppets, n);
}
