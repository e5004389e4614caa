/* Presence: Matrix m.presence <-> XMPP presence (see presence.h). */
#include "gateway/features/presence.h"

#include "gateway/features/presence_pending.h"

#include "common/clock.h"
#include "common/log.h"
#include "matrix/event_ephemeral.h"
#include "common/mem.h"
#include "gateway/features/avatars.h"
#include "gateway/core/coalesce.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "gateway/features/ghosts.h"
#include "gateway/base/metrics.h"
#include "gateway/features/members.h"
#include "gateway/core/presence_state.h"
#include "xep/avatars.h"
#include "xep/disco.h"
#include "xep/mam.h"
#include "xep/markers.h"
#include "xep/reactions.h"
#include "xep/retractions.h"
#include "xep/chatstates.h"
#include "xep/presence_stanza.h"

#include <stdlib.h>
#include <string.h>

/* Status messages and nicks are short texts; nobody needs more. */
#define MAX_TEXT 512
/* The source that stands for a Matrix user (Synapse already merges their
 * devices into one presence). */
#define MATRIX_SOURCE "matrix"
/* A Matrix user's occupant in portal MUCs (as portal.c names it). */
#define OCCUPANT_RESOURCE "matrix"

/* Synapse turns a user that has not synced for 30 s offline (its
 * SYNC_ONLINE_TIMEOUT), and ghosts never sync: their presence is set again
 * before that. */
#define REFRESH_MS 20000

/* However many Matrix users change at once (a large room waking up), at
 * most this many people's presence goes out to XMPP per second, after a
 * burst of as many again; the rest wait, still coalesced, so the latest
 * state of each is what finally goes out. */
#define TO_XMPP_PER_SECOND 100
#define TO_XMPP_BURST 100

/* A copy of s cut to at most max bytes on a UTF-8 boundary; caller
 * frees. */
static char *clip_copy(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return xstrndup(s, n);
}

/* Derives a person's state from the store. *status: caller frees (may be
 * NULL). Returns false if nothing is stored for them. */
static bool derive(struct gateway *gw, const char *person, int *state,
                   char **status)
{
    struct store_presence *rows;
    int n = store_presence_get(gw->store, person, &rows);
    *state = PSTATE_OFFLINE;
    *status = NULL;
    if (n <= 0)
        return false;
    struct presence_source src[n];
    for (int i = 0; i < n; i++)
        src[i] = (struct presence_source){ rows[i].source, rows[i].state,
                                           rows[i].status, rows[i].ts };
    struct presence_derived d;
    presence_derive(src, n, &d);
    *state = d.state;
    *status = d.status ? xstrdup(d.status) : NULL;
    store_presence_free(rows, n);
    return true;
}

/* Stores one source's state if it changed. Returns true if it did. */
static bool store_source(struct gateway *gw, const char *person,
                         const char *source, int state, const char *status)
{
    struct store_presence *rows;
    int n = store_presence_get(gw->store, person, &rows);
    if (n < 0)
        return false;
    bool same = false;
    for (int i = 0; i < n; i++) {
        if (strcmp(rows[i].source, source) != 0)
            continue;
        const char *old = rows[i].status ? rows[i].status : "";
        same = rows[i].state == state &&
               strcmp(old, status ? status : "") == 0;
    }
    store_presence_free(rows, n);
    if (same)
        return false;
    return store_presence_put(gw->store, person, source, state,
                              status && *status ? status : NULL,
                              gateway_now_ms()) == 0;
}

/* ---------------------------------------------------- XMPP -> Matrix -- */

struct put_job {
    struct gateway *gw;
    char *ghost;
    char *person;
    bool refresh; /* a keep-alive, not a change */
};

static void on_presence_put(const struct mx_response *r, void *ud)
{
    struct put_job *j = ud;
    char why[MX_REASON_MAX];
    if (r->status != 200)
        log_info("presence: the homeserver refused presence for %s: %s",
                 j->ghost, mx_response_reason(r, why, sizeof why));
    free(j->ghost);
    free(j->person);
    free(j);
}

static void put_presence(struct gateway *gw, bool ok, const char *error,
                         void *ud)
{
    struct put_job *j = ud;
    int state;
    char *status;
    if (!ok || !derive(gw, j->person, &state, &status)) {
        if (!ok)
            log_info("presence: no ghost for %s: %s", j->person, error);
        free(j->ghost);
        free(j->person);
        free(j);
        return;
    }
    if (!j->refresh)
        metrics_inc(CNT_PRESENCE_TO_MATRIX);
    mx_presence(gw->mx, j->ghost, presence_state_matrix(state), status, 2,
                on_presence_put, j);
    free(status);
}

static void start_put(struct gateway *gw, const char *ghost,
                      const char *person, bool refresh)
{
    struct put_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->ghost = xstrdup(ghost);
    j->person = xstrdup(person);
    j->refresh = refresh;
    /* A presence PUT for a user the homeserver does not know fails; the
     * ghost of a real JID can be made on the spot, an occupant's ghost is
     * the portal's to make. */
    if (strchr(j->person, '/')) {
        struct store_ghost g;
        bool registered = false;
        if (store_ghost_get(gw->store, j->ghost, &g) == 1) {
            registered = g.registered;
            store_ghost_free(&g);
        }
        put_presence(gw, registered, "not registered yet", j);
    } else {
        ghosts_ensure(gw, j->ghost, j->person, NULL, put_presence, j);
    }
}

static void flush_to_matrix(const char *key, void *ud)
{
    const char *space = strchr(key, ' ');
    if (!space)
        return;
    char *ghost = xstrndup(key, (size_t)(space - key));
    start_put(ud, ghost, space + 1, false);
    free(ghost);
}

static void changed_xmpp(struct gateway *gw, const char *ghost,
                         const char *person)
{
    char *key = xasprintf("%s %s", ghost, person);
    coalesce_mark(gw->presence->to_matrix, key, gateway_now_ms());
    free(key);
}

struct rename_job {
    struct gateway *gw;
    char *ghost;
};

static void on_displayname_put(const struct mx_response *r, void *ud)
{
    struct rename_job *j = ud;
    if (r->status != 200) {
        char why[MX_REASON_MAX];
        log_info("presence: could not rename %s: %s", j->ghost,
                 mx_response_reason(r, why, sizeof why));
    } else {
        char *mxc = NULL, *sha1 = NULL;
        store_avatar_of_get(j->gw->store, j->ghost, &mxc, &sha1);
        ghosts_keep_room_nicks(j->gw, j->ghost, mxc);
        free(mxc);
        free(sha1);
    }
    free(j->ghost);
    free(j);
}

/* A XEP-0172 nick the XMPP user announced becomes their ghost's display
 * name, when it is new. Only for ghosts already registered: a new ghost
 * takes its name from the vCard when it is made. */
static void apply_nick(struct gateway *gw, const char *ghost, const char *nick)
{
    struct store_ghost g;
    if (store_ghost_get(gw->store, ghost, &g) != 1)
        return;
    if (g.registered && (!g.displayname || strcmp(g.displayname, nick) != 0)) {
        free(g.displayname);
        g.displayname = xstrdup(nick);
        store_ghost_put(gw->store, &g);
        struct rename_job *j = xcalloc(1, sizeof *j);
        j->gw = gw;
        j->ghost = xstrdup(ghost);
        mx_set_displayname(gw->mx, ghost, nick, 3, on_displayname_put, j);
    }
    store_ghost_free(&g);
}

void presence_xmpp_presence(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *from = xmpp_stanza_get_from(st);
    const char *to = xmpp_stanza_get_to(st);
    if (!from || !to)
        return;
    struct xpresence p;
    xpresence_parse(st, &p, MAX_TEXT);
    char *bare = ids_jid_bare(from);
    const char *res = ids_jid_resource(from);
    char *ghost = NULL;
    const char *why;
    if (ids_jid_to_ghost(&gw->ids, bare, &ghost, &why) < 0) {
        log_debug("presence: %s has no ghost: %s", bare, why);
        goto out;
    }
    int state = presence_state_from_xmpp(p.type, p.show);
    bool to_muc = to[0] == '#' || to[0] == '!';
    char *muc = to_muc ? ids_jid_bare(to) : NULL;
    char *source = muc ? xasprintf("%s %s", res ? res : "", muc)
                       : xstrdup(res ? res : "");
    if (store_source(gw, bare, source, state, p.status))
        changed_xmpp(gw, ghost, bare);
    /* In a room the ghost goes by its MUC nick already. */
    if (p.nick && !to_muc)
        apply_nick(gw, ghost, p.nick);
    if (state != PSTATE_OFFLINE) {
        char *hash = avatar_presence_hash(st);
        if (hash)
            avatars_xmpp_hash(gw, ghost, bare, hash);
        free(hash);
    }
    free(source);
    free(muc);
out:
    free(ghost);
    free(bare);
    xpresence_free(&p);
}

void presence_portal_occupant(struct gateway *gw, const char *person,
                              const char *muc_jid, const char *ghost,
                              xmpp_stanza_t *st)
{
    struct xpresence p;
    xpresence_parse(st, &p, MAX_TEXT);
    int state = presence_state_from_xmpp(p.type, p.show);
    /* One source per MUC: a real JID seen in two rooms is one person. */
    char *source = xasprintf("muc %s", muc_jid);
    if (store_source(gw, person, source, state, p.status))
        changed_xmpp(gw, ghost, person);
    free(source);
    /* Only a real JID has a vCard of its own to fetch the photo from. */
    char *hash = state != PSTATE_OFFLINE && !strchr(person, '/')
                     ? avatar_presence_hash(st)
                     : NULL;
    if (hash)
        avatars_xmpp_hash(gw, ghost, person, hash);
    free(hash);
    xpresence_free(&p);
}

/* ---------------------------------------------------- Matrix -> XMPP -- */

void presence_matrix_ephemeral(struct gateway *gw,
                               const struct mx_ephemeral *ev)
{
    struct mx_presence p;
    const char *why;
    if (mx_presence_parse(ev, &p, &why) < 0) {
        log_debug("presence: skipping an m.presence event: %s", why);
        return;
    }
    const char *sender = p.user_id;
    if (gateway_is_ours(gw, sender))
        return; /* our own ghosts' presence coming back */
    int state = presence_state_from_matrix(p.presence);
    if (state < 0)
        return;
    const char *msg = p.status_msg;
    char *status = msg ? clip_copy(msg, MAX_TEXT) : NULL;
    /* Synapse repeats a user's presence (last_active_ago moves on); only a
     * change of state or status is news, and only news is written. */
    if (store_source(gw, sender, MATRIX_SOURCE, state, status))
        coalesce_mark(gw->presence->to_xmpp, sender, gateway_now_ms());
    free(status);
}

static void send_counted(struct gateway *gw, xmpp_stanza_t *st)
{
    metrics_inc(CNT_PRESENCE_TO_XMPP);
    gateway_send_now(gw, st);
    xmpp_stanza_release(st);
}

const char *const presence_puppet_features[] = {
    NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PING, NS_VCARD, NS_RECEIPTS,
    NS_REACTIONS, NS_RETRACT, NS_CHATSTATES, NS_CHAT_MARKERS, NS_MAM,
    "eu.siacs.conversations.axolotl.devicelist+notify",
    "urn:xmpp:omemo:2:devices+notify", NULL
};
#define CAPS_NODE "https://github.com/isthmus-gateway/isthmus"

/* The caps' ver of a puppet: the same for all, made once. */
static const char *puppet_caps_ver(void)
{
    static char *ver;
    if (!ver) {
        struct disco_identity id = { "account", "registered", NULL };
        ver = caps_ver(&id, presence_puppet_features);
    }
    return ver;
}

/* A presence from a Matrix user's JID in a given state, with their avatar's
 * XEP-0153 hash when it is known (hash may be NULL). Caller releases. */
static xmpp_stanza_t *user_presence(struct gateway *gw, const char *from,
                                    const char *to, int state,
                                    const char *status, const char *nick,
                                    const char *hash)
{
    bool off = state == PSTATE_OFFLINE;
    xmpp_stanza_t *p = xpresence_build(gw->xmpp, from, to,
                                       off ? "unavailable" : NULL,
                                       presence_state_show(state), status,
                                       nick);
    if (hash && !off)
        avatar_presence_add_hash(gw->xmpp, p, hash);
    if (!off)
        caps_add(gw->xmpp, p, CAPS_NODE, puppet_caps_ver());
    return p;
}

/* Sends mxid's presence as it stands now (show, status, avatar hash and
 * nick, which may be NULL) to `to`. */
static void send_current(struct gateway *gw, const char *mxid,
                         const char *to, const char *nick)
{
    char *from = NULL;
    const char *why;
    if (ids_matrix_to_jid(&gw->ids, mxid, &from, &why) < 0)
        return;
    int state;
    char *status;
    if (!derive(gw, mxid, &state, &status))
        state = PSTATE_ONLINE; /* nothing heard yet: reachable */
    char *hash = avatars_matrix_hash(gw, mxid);
    send_counted(gw, user_presence(gw, from, to, state, status, nick, hash));
    free(hash);
    free(status);
    free(from);
}

void presence_send_current(struct gateway *gw, const char *mxid,
                           const char *to)
{
    send_current(gw, mxid, to, NULL);
}

/* A Matrix member's presence changed: every XMPP occupant of the
 * gateway-mode room sees the member's occupant presence with show, status
 * and the XEP-0153 hash of their avatar (each may be NULL). Returns how
 * many stanzas were sent. */
static int member_show(struct gateway *gw, const char *room_id,
                       const char *muc_jid, const char *mxid,
                       const char *show, const char *status,
                       const char *photo_hash)
{
    struct store_member me;
    if (store_member_get(gw->store, room_id, mxid, &me) != 1)
        return 0;
    char *jid = members_real_jid(gw, mxid);
    char *from = xasprintf("%s/%s", muc_jid, me.nick);
    struct muc_item item = members_muc_item(me.level, jid);
    struct store_occupant *all;
    int n = store_occupants_in_room(gw->store, room_id, &all), sent = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(all[i].ghost, mxid) == 0)
            continue;
        xmpp_stanza_t *p = muc_presence(gw->xmpp, from, all[i].occupant_jid,
                                        NULL, &item, NULL);
        xpresence_add_show(gw->xmpp, p, show, status);
        if (photo_hash)
            avatar_presence_add_hash(gw->xmpp, p, photo_hash);
        gateway_send_now(gw, p);
        xmpp_stanza_release(p);
        sent++;
    }
    if (n > 0)
        store_occupants_free(all, n);
    free(from);
    free(jid);
    free(me.mxid);
    free(me.nick);
    return sent;
}

static void flush_to_xmpp(const char *mxid, void *ud)
{
    struct gateway *gw = ud;
    char *from = NULL;
    const char *why;
    int state;
    char *status;
    if (ids_matrix_to_jid(&gw->ids, mxid, &from, &why) < 0)
        return;
    if (!derive(gw, mxid, &state, &status))
        state = PSTATE_ONLINE; /* an avatar changed; presence unknown */
    const char *show = presence_state_show(state);
    char *hash = avatars_matrix_hash(gw, mxid);
    char **watchers;
    int n = store_presence_watchers(gw->store, mxid, &watchers);
    for (int i = 0; i < n; i++)
        send_counted(gw, user_presence(gw, from, watchers[i], state, status,
                                       NULL, hash));
    if (n > 0)
        store_strings_free(watchers, n);
    /* In rooms an offline member stays an occupant: a Matrix user is in
     * the room whether a client is open or not. Shown as xa. */
    struct store_presence_room *rooms;
    int nr = store_presence_rooms(gw->store, mxid, &rooms);
    char *occupant = xasprintf("%s/%s", from, OCCUPANT_RESOURCE);
    for (int i = 0; i < nr; i++) {
        if (rooms[i].mode == ROOM_GATEWAY) {
            int sent = member_show(gw, rooms[i].room_id,
                                               rooms[i].muc_jid, mxid, show,
                                               status, hash);
            for (int k = 0; k < sent; k++)
                metrics_inc(CNT_PRESENCE_TO_XMPP);
        } else {
            char *to = xasprintf("%s/%s", rooms[i].muc_jid, rooms[i].nick);
            xmpp_stanza_t *p = xpresence_build(gw->xmpp, occupant, to, NULL,
                                               show, status, NULL);
            if (hash)
                avatar_presence_add_hash(gw->xmpp, p, hash);
            send_counted(gw, p);
            free(to);
        }
    }
    if (nr > 0)
        store_presence_rooms_free(rooms, nr);
    free(hash);
    free(occupant);
    free(status);
    free(from);
}

void presence_subscribed(struct gateway *gw, const char *mxid,
                         const char *bare_jid, bool subscribed)
{
    if (subscribed)
        store_presence_sub_put(gw->store, mxid, bare_jid);
    else
        store_presence_sub_delete(gw->store, mxid, bare_jid);
}

void presence_matrix_name(struct gateway *gw, const char *mxid,
                          const char *xmpp_jid, const char *displayname)
{
    if (!displayname || !*displayname)
        return;
    send_current(gw, mxid, xmpp_jid, displayname);
}

/* Every ghost of someone present has its presence set again. */
static void refresh_ghosts(struct gateway *gw)
{
    char **people;
    int n = store_presence_xmpp_present(gw->store, &people);
    for (int i = 0; i < n; i++) {
        char *ghost = NULL;
        const char *why;
        const char *slash = strchr(people[i], '/');
        int rc;
        if (slash) {
            char *muc = xstrndup(people[i], (size_t)(slash - people[i]));
            rc = ids_occupant_to_ghost(&gw->ids, muc, slash + 1, &ghost, &why);
            free(muc);
        } else {
            rc = ids_jid_to_ghost(&gw->ids, people[i], &ghost, &why);
        }
        if (rc == 0)
            start_put(gw, ghost, people[i], true);
        free(ghost);
    }
    if (n > 0)
        store_strings_free(people, n);
}

void presence_decorate(struct gateway *gw, xmpp_stanza_t *p, const char *mxid)
{
    if (ids_is_ghost(&gw->ids, mxid))
        return;
    int state;
    char *status;
    if (derive(gw, mxid, &state, &status))
        xpresence_add_show(gw->xmpp, p, presence_state_show(state), status);
    free(status);
    char *hash = avatars_matrix_hash(gw, mxid);
    if (hash)
        avatar_presence_add_hash(gw->xmpp, p, hash);
    free(hash);
}

void presence_tick(struct gateway *gw)
{
    int64_t now = gateway_now_ms();
    if (now >= gw->presence->next_refresh) {
        if (gw->presence->next_refresh)
            refresh_ghosts(gw);
        gw->presence->next_refresh = now + REFRESH_MS;
    }
    coalesce_run(gw->presence->to_matrix, now, 0, flush_to_matrix, gw);
    struct presence *p = gw->presence;
    if (p->to_xmpp_filled_ms == 0)
        p->to_xmpp_tokens = TO_XMPP_BURST;
    else
        p->to_xmpp_tokens += (double)(now - p->to_xmpp_filled_ms) *
                             TO_XMPP_PER_SECOND / 1000.0;
    if (p->to_xmpp_tokens > TO_XMPP_BURST)
        p->to_xmpp_tokens = TO_XMPP_BURST;
    p->to_xmpp_filled_ms = now;
    if (p->to_xmpp_tokens >= 1)
        p->to_xmpp_tokens -= coalesce_run(p->to_xmpp, now,
                                          (int)p->to_xmpp_tokens,
                                          flush_to_xmpp, gw);
}

static int64_t earliest(int64_t a, int64_t b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

long presence_next_due_ms(struct gateway *gw)
{
    struct presence *p = gw->presence;
    int64_t now = gateway_now_ms();
    int64_t due = p->next_refresh;
    due = earliest(due, coalesce_next_due(p->to_matrix));
    int64_t to_xmpp = coalesce_next_due(p->to_xmpp);
    if (to_xmpp >= 0 && p->to_xmpp_tokens < 1) {
        /* Out of tokens: nothing goes before the next one is earned. */
        int64_t earned = now + (int64_t)((1 - p->to_xmpp_tokens) * 1000 /
                                         TO_XMPP_PER_SECOND) + 1;
        if (earned > to_xmpp)
            to_xmpp = earned;
    }
    return clock_ms_until(earliest(due, to_xmpp), now);
}
