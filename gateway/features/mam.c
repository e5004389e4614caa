/* MAM queries answered from Matrix history.
 *
 * A query becomes at most a few client-server calls, all asynchronous:
 *   1. for an alias, GET /directory/room/{alias} (the room id);
 *   2. where the page starts: an RSM id (an event id) is looked up with
 *      GET /rooms/{room}/context/{id}?limit=0, whose `start` token pages
 *      backwards from just before it and whose `end` token forwards from
 *      just after; a start/end filter first finds the nearest event with
 *      GET /rooms/{room}/timestamp_to_event and uses it the same way;
 *   3. GET /rooms/{room}/messages, filtered to messages and stickers,
 *      repeated (a few times at most) while events the archive does not show (edits,
 *      redactions, other msgtypes without a body) leave the page short.
 * Every call is made as the requester's ghost, so Matrix's membership and
 * history visibility rules decide what is visible: a room the ghost never
 * joined answers 403, which becomes <forbidden/>, while a world_readable
 * room may be read without joining it, as on Matrix.
 *
 * Each call asks for one event more than the page still needs: getting
 * fewer means the history ends there (<fin complete='true'/>).
 *
 * XEP-0059 paging: <before/> (empty or with an id) pages backwards from the
 * newest message; anything else pages forwards from the oldest, as the XEP
 * says. Results are sent oldest first within a page (newest first with
 * <flip-page/>), then the iq result. Archive ids are event ids. */
#include "gateway/features/m2x_env.h"
#include "gateway/features/mam.h"

#include "gateway/features/e2ee.h"
#include "gateway/features/relations.h"
#include "gateway/base/effects.h"

#include "gateway/features/members.h"
#include "gateway/features/omemo.h"
#include "common/log.h"
#include "common/mem.h"
#include "xep/mam.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/stanza_error.h"
#include "xep/xml.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX 50  /* a page when the client names no <max/> */
#define MAX_MAX 100     /* the largest page served */
#define MAX_TRIPS 5     /* /messages calls for one page */
/* ... or more while the page is still empty: a page without results has
 * no RSM id a client could continue from. */
#define MAX_EMPTY_TRIPS 20
#define MESSAGES_FILTER \
    "{\"types\":" MX_HISTORY_TYPES_JSON ",\"lazy_load_members\":true}"

struct hit {
    xmpp_stanza_t *msg; /* the archived message, to be forwarded */
    char *id;           /* its event id, the archive id */
    long long ts;
};

struct mam_job {
    struct gateway *gw;
    xmpp_stanza_t *iq;   /* a copy of the query, for the answer */
    struct mam_query q;
    char *archive;       /* the bare JID queried */
    char *requester;     /* the asker's full JID */
    char *requester_bare;
    char *ghost;         /* the asker's ghost, who reads */
    char *room_id;
    char *peer;          /* DMs: the Matrix user; NULL for rooms */
    bool backward;
    int want;            /* results this page may still take */
    int limit;           /* the limit of the /messages call in flight */
    char *token;         /* where /messages starts; NULL: at the edge */
    char *anchor;        /* the event the page starts next to */
    bool anchor_named;   /* by the client: unknown means item-not-found */
    int trips;
    struct hit hits[MAX_MAX];
    int nhits;
};

static void job_free(struct mam_job *j)
{
    xmpp_stanza_release(j->iq);
    mam_query_free(&j->q);
    free(j->archive);
    free(j->requester);
    free(j->requester_bare);
    free(j->ghost);
    free(j->room_id);
    free(j->peer);
    free(j->token);
    free(j->anchor);
    for (int i = 0; i < j->nhits; i++) {
        xmpp_stanza_release(j->hits[i].msg);
        free(j->hits[i].id);
    }
    free(j);
}

static void send_now(struct gateway *gw, xmpp_stanza_t *st)
{
    gateway_send_now(gw, st);
    xmpp_stanza_release(st);
}

static void fail(struct mam_job *j, const char *type, const char *condition,
                 const char *text)
{
    log_info("mam: %s's query to %s refused: %s", j->requester, j->archive,
             text);
    send_now(j->gw, stanza_error_reply(j->gw->xmpp, j->iq, type, condition,
                                       text));
    job_free(j);
}

/* A Matrix error as the XMPP error that says the same. */
static void fail_matrix(struct mam_job *j, const struct mx_response *r)
{
    if (r->status == 403)
        fail(j, "auth", "forbidden", r->error);
    else if (r->status == 404 || r->status == 400)
        fail(j, "cancel", "item-not-found", r->error);
    else if (r->status == 0 || r->status >= 500)
        fail(j, "wait", "remote-server-timeout", r->error);
    else
        fail(j, "cancel", "internal-server-error", r->error);
}

/* ------------------------------------------------------------ the end -- */

static void finish(struct mam_job *j, bool complete)
{
    struct gateway *gw = j->gw;
    /* Hits arrived in paging order (newest first when paging backwards);
     * a page goes out oldest first, or newest first with <flip-page/>. */
    bool reverse = j->backward != j->q.flip_page;
    for (int k = 0; k < j->nhits; k++) {
        int i = reverse ? j->nhits - 1 - k : k;
        struct hit *h = &j->hits[i];
        send_now(gw, mam_result_message(gw->xmpp, j->archive, j->requester,
                                        j->q.queryid, h->id, h->ts, h->msg));
    }
    const char *oldest = NULL, *newest = NULL;
    if (j->nhits) {
        oldest = j->hits[j->backward ? j->nhits - 1 : 0].id;
        newest = j->hits[j->backward ? 0 : j->nhits - 1].id;
    }
    log_debug("mam: %d results for %s from %s%s", j->nhits, j->requester,
              j->archive, complete ? " (complete)" : "");
    send_now(gw, mam_fin(gw->xmpp, j->iq, complete, oldest, newest));
    job_free(j);
}

/* ----------------------------------------------------- one event each -- */

/* The latest edit's text (Synapse bundles the newest m.replace under
 * unsigned.m.relations), so the archive shows what the room shows. */
static void apply_latest_edit(const struct mx_event *ev,
                              struct mx_message *msg)
{
    struct mx_bundled_edit edit;
    const char *why;
    if (mx_bundled_edit_parse(ev, &edit, &why) == 0) {
        msg->body = edit.body;
        msg->msgtype = edit.msgtype;
    }
}

/* The display name a lazy-loaded member event in `state` gives mxid. */
static const char *state_displayname(json_t *state, const char *mxid)
{
    size_t i;
    json_t *ev;
    json_array_foreach(state, i, ev) {
        struct mx_event parsed;
        struct mx_member m;
        const char *why;
        if (mx_event_parse(ev, &parsed, &why) == 0 &&
            strcmp(parsed.type, "m.room.member") == 0 &&
            mx_member_parse(&parsed, &m, &why) == 0 &&
            strcmp(parsed.state_key, mxid) == 0)
            return m.displayname;
    }
    return NULL;
}

/* A group message from room/nick, as the MUC relays it live. */
static xmpp_stanza_t *room_message(struct mam_job *j, const struct mx_event *ev,
                                   const struct m2x_message *out,
                                   json_t *state)
{
    struct gateway *gw = j->gw;
    char *nick = members_nick(gw, j->room_id, ev->sender,
                                  state_displayname(state, ev->sender));
    char *from = xasprintf("%s/%s", j->archive, nick);
    struct xmsg x = { .from = from, .id = (char *)ev->event_id,
                      .type = "groupchat" };
    m2x_fill_xmsg(out, &x);
    xmpp_stanza_t *st = xmsg_build(gw->xmpp, &x);
    /* In these rooms a stanza-id is the event id, which replies name. */
    muc_add_stanza_id(gw->xmpp, st, ev->event_id, j->archive);
    free(from);
    free(nick);
    return st;
}

/* A chat message of the DM, from the Matrix side or from the requester
 * (what their ghost said, under the ids their client sent it with). */
static xmpp_stanza_t *dm_message(struct mam_job *j, const struct mx_event *ev,
                                 const struct m2x_message *out)
{
    struct gateway *gw = j->gw;
    const char *why;
    char *sender = NULL;
    bool mine = strcmp(ev->sender, j->ghost) == 0;
    if (!mine && ids_ghost_to_jid(&gw->ids, ev->sender, &sender, &why) < 0 &&
        ids_matrix_to_jid(&gw->ids, ev->sender, &sender, &why) < 0)
        return NULL;
    struct store_message sent = { 0 };
    bool known = mine && store_message_by_event(gw->store, ev->event_id,
                                                &sent) == 1;
    struct xmsg x = {
        .from = mine ? j->requester_bare : sender,
        .to = mine ? j->archive : j->requester_bare,
        .id = known && sent.stanza_id ? sent.stanza_id : (char *)ev->event_id,
        .type = (char *)out->type,
        .origin_id = known ? sent.origin_id : (char *)ev->event_id,
    };
    m2x_fill_xmsg(out, &x);
    xmpp_stanza_t *st = xmsg_build(gw->xmpp, &x);
    if (known)
        store_message_free(&sent);
    free(sender);
    return st;
}

static bool jid_matches(const char *with, const char *jid)
{
    if (!jid)
        return false;
    if (ids_jid_resource(with))
        return strcmp(with, jid) == 0;
    char *bare = ids_jid_bare(jid);
    bool same = strcmp(bare, with) == 0;
    free(bare);
    return same;
}

/* The archived message as a stanza, or NULL when it has no place in the
 * archive. */
static xmpp_stanza_t *build(struct mam_job *j, const struct mx_event *ev,
                            struct mx_message *msg, json_t *state)
{
    struct m2x_message out;
    struct m2x_env env;
    const char *why;
    m2x_env_for(j->gw, j->peer ? ROOM_DM : ROOM_GATEWAY, &env);
    if (m2x_translate(msg, &env, &out, &why) < 0) {
        /* A file that cannot cross now still has its place in the
         * archive, by its name or caption. */
        if (!m2x_is_file(msg))
            return NULL;
        msg->url = NULL;
        msg->file = NULL;
        if (m2x_translate(msg, &env, &out, &why) < 0)
            return NULL;
    }
    xmpp_stanza_t *st = j->peer ? dm_message(j, ev, &out)
                                : room_message(j, ev, &out, state);
    m2x_message_free(&out);
    return st;
}

/* What the archive shows instead of a text it may not give in clear. */
static void withhold(struct mx_message *msg, const char *text)
{
    msg->msgtype = "m.notice";
    msg->body = text;
    msg->html = NULL;
    msg->url = NULL;
    msg->file = NULL;
}

/* An end-to-end encrypted message never leaves the archive in clear to
 * someone who uses OMEMO: a Matrix member's goes as their puppet's OMEMO
 * (the seal hook, as live), or is withheld when it cannot; one that came
 * OMEMO-encrypted from XMPP is withheld from everyone, since the gateway
 * keeps no ciphertext of it to give back. Someone without OMEMO gets a
 * Megolm room's history in clear, as its messages live. */
static xmpp_stanza_t *archived(struct mam_job *j, const struct mx_event *ev,
                               struct mx_message *msg, json_t *state)
{
    struct gateway *gw = j->gw;
    if (msg->xmpp_e2ee)
        withhold(msg, "[This message was end-to-end encrypted on XMPP; "
                      "the gateway keeps no copy it could give back.]");
    xmpp_stanza_t *st = build(j, ev, msg, state);
    if (st && j->q.with &&
        !jid_matches(j->q.with, xmpp_stanza_get_from(st)) &&
        !jid_matches(j->q.with, xmpp_stanza_get_to(st))) {
        xmpp_stanza_release(st);
        return NULL;
    }
    if (!st || msg->xmpp_e2ee || !mx_event_was_encrypted(ev))
        return st;
    uint32_t *ids = NULL;
    int n = omemo_user_known_devices(gw, j->requester_bare, &ids);
    free(ids);
    if (n <= 0 || !gw->seal_stanza)
        return st;
    if (!j->peer)
        xmpp_stanza_set_to(st, j->requester); /* whom the room seals for */
    xmpp_stanza_t *sealed = gw->seal_stanza(gw, st);
    xmpp_stanza_release(st);
    if (sealed != st)
        return sealed;
    withhold(msg, "[This message is end-to-end encrypted, and the gateway "
                  "could not encrypt it for your devices.]");
    return build(j, ev, msg, state);
}

/* Adds the event to the page if the archive shows it: messages with a
 * body, not edits (the original shows the latest text instead). */
static void take(struct mam_job *j, const struct mx_event *parsed,
                 json_t *state)
{
    struct mx_event ev = *parsed;
    struct mx_message msg;
    const char *why;
    if (!mx_event_is_message(ev.type) ||
        mx_message_parse(&ev, &msg, &why) < 0 || msg.replaces)
        return;
    apply_latest_edit(&ev, &msg);
    xmpp_stanza_t *st = archived(j, &ev, &msg, state);
    if (!st)
        return;
    struct hit *h = &j->hits[j->nhits++];
    h->msg = st;
    h->id = xstrdup(ev.event_id);
    h->ts = (long long)ev.origin_server_ts;
}

/* ---------------------------------------------------------- the pages -- */

static void fetch(struct mam_job *j);

static void on_messages(const struct mx_response *r,
                        const struct mx_messages *res, void *ud)
{
    struct mam_job *j = ud;
    if (!res) {
        fail_matrix(j, r);
        return;
    }
    json_t *chunk = res->chunk;
    json_t *state = res->state;
    size_t n = json_array_size(chunk);
    bool stopped = false, complete = false;
    for (size_t k = 0; k < n && !stopped; k++) {
        if (j->nhits == j->want) {
            stopped = true; /* more remain: not complete */
            break;
        }
        /* Parsed once; one that does not parse still counts for the
         * anchor and the period by what it has (its id, its time). */
        struct mx_event ev;
        const char *why;
        bool usable = mx_event_parse(json_array_get(chunk, k), &ev,
                                     &why) == 0;
        const char *id = ev.event_id;
        long long ts = (long long)ev.origin_server_ts;
        if (id && j->anchor && strcmp(id, j->anchor) == 0)
            continue;
        long long start = j->q.start_ms, end = j->q.end_ms;
        if (j->backward ? end >= 0 && ts > end : start >= 0 && ts < start)
            continue; /* not in the period yet */
        if (j->backward ? start >= 0 && ts < start : end >= 0 && ts > end) {
            stopped = complete = true; /* past the period */
            break;
        }
        /* An encrypted message shows as what it says, when the gateway
         * holds its key (it was in the room then). */
        json_t *plain = NULL;
        if (usable && strcmp(ev.type, "m.room.encrypted") == 0)
            usable = e2ee_decrypt_archived(j->gw, &ev, &plain);
        if (usable)
            take(j, &ev, state);
        json_decref(plain);
    }
    const char *next = res->end;
    if (!stopped) {
        if ((int)n < j->limit || !next) {
            complete = true;
        } else if (j->nhits < j->want &&
                   (++j->trips < MAX_TRIPS ||
                    (j->nhits == 0 && j->trips < MAX_EMPTY_TRIPS))) {
            free(j->token);
            j->token = xstrdup(next);
            fetch(j);
            return;
        }
    }
    finish(j, complete);
}

static void fetch(struct mam_job *j)
{
    j->limit = j->want - j->nhits + 1;
    mx_messages(j->gw->mx, j->room_id, j->ghost, j->backward, j->limit,
                MESSAGES_FILTER, j->token, 2, on_messages, j);
}

static void on_context(const struct mx_response *r,
                       const struct mx_context *res, void *ud)
{
    struct mam_job *j = ud;
    /* Synapse answers for an event of another room too, with tokens that
     * mean nothing in this one. */
    const char *room = res ? res->event_room_id : NULL;
    const char *token = room && strcmp(room, j->room_id) == 0
                            ? j->backward ? res->start : res->end
                            : NULL;
    if (!token && j->anchor_named) {
        if (r->status == 200 || r->status == 404 || r->status == 400)
            fail(j, "cancel", "item-not-found",
                 "no message with that id in this archive");
        else
            fail_matrix(j, r);
        return;
    }
    /* An anchor found by time that cannot be read from: page from the
     * edge, the period filter still applies. */
    if (token)
        j->token = xstrdup(token);
    else
        log_debug("mam: no context for %s: %s", j->anchor, r->error);
    fetch(j);
}

static void context(struct mam_job *j, const char *event_id, bool named)
{
    j->anchor = xstrdup(event_id);
    j->anchor_named = named;
    mx_context(j->gw->mx, j->room_id, event_id, 0, j->ghost, 2, on_context,
               j);
}

static void on_timestamp(const struct mx_response *r,
                         const struct mx_timestamp_event *res, void *ud)
{
    (void)r;
    struct mam_job *j = ud;
    const char *event_id = res ? res->event_id : NULL;
    if (event_id)
        context(j, event_id, false);
    else
        fetch(j); /* nothing on the far side of the bound */
}

/* The event nearest ts, looking backward or forward from it. */
static void timestamp(struct mam_job *j, long long ts, bool backward)
{
    mx_timestamp_to_event(j->gw->mx, j->room_id, ts, backward, j->ghost, 2,
                          on_timestamp, j);
}

/* Once the room is known: where does the page start? */
static void begin(struct mam_job *j)
{
    if (j->want == 0) {
        finish(j, false); /* <max>0</max>: nothing asked for */
    } else if (j->q.before && *j->q.before) {
        context(j, j->q.before, true);
    } else if (j->q.after) {
        context(j, j->q.after, true);
    } else if (j->backward && j->q.end_ms >= 0) {
        /* Backwards from the first event after the period. */
        timestamp(j, j->q.end_ms + 1, false);
    } else if (!j->backward && j->q.start_ms > 0) {
        /* Forwards from the last event before the period. */
        timestamp(j, j->q.start_ms - 1, true);
    } else {
        fetch(j);
    }
}

static void on_alias(const struct mx_response *r,
                     const struct mx_room_id *res, void *ud)
{
    struct mam_job *j = ud;
    const char *room_id = res ? res->room_id : NULL;
    if (!room_id) {
        if (r->status == 404)
            fail(j, "cancel", "item-not-found", "no such Matrix room");
        else
            fail_matrix(j, r);
        return;
    }
    j->room_id = xstrdup(room_id);
    begin(j);
}

/* ---------------------------------------------------------- the query -- */

static void query_set(struct gateway *gw, xmpp_stanza_t *iq,
                      xmpp_stanza_t *query, const char *target)
{
    const char *why;
    struct mam_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->iq = xmpp_stanza_copy(iq);
    j->archive = ids_jid_bare(xmpp_stanza_get_to(iq));
    j->requester = xstrdup(xmpp_stanza_get_from(iq));
    j->requester_bare = ids_jid_bare(j->requester);
    if (mam_query_parse(query, &j->q, &why) < 0) {
        fail(j, "modify", "bad-request", why);
        return;
    }
    if (ids_jid_to_ghost(&gw->ids, j->requester, &j->ghost, &why) < 0) {
        fail(j, "auth", "forbidden", why);
        return;
    }
    j->backward = j->q.before != NULL;
    j->want = j->q.max < 0 ? DEFAULT_MAX
              : j->q.max > MAX_MAX ? MAX_MAX : j->q.max;
    if (target[0] == '#') {
        mx_alias_lookup(gw->mx, target, 2, on_alias, j);
        return;
    }
    if (target[0] == '!') {
        j->room_id = xstrdup(target);
        begin(j);
        return;
    }
    /* A Matrix user's JID: the archive is the DM with them. */
    j->peer = xstrdup(target);
    struct store_room room;
    if (store_room_find_dm(gw->store, j->requester_bare, target, &room) != 1) {
        if ((j->q.before && *j->q.before) || j->q.after)
            fail(j, "cancel", "item-not-found",
                 "no message with that id in this archive");
        else
            finish(j, true); /* no conversation yet: an empty archive */
        return;
    }
    j->room_id = xstrdup(room.room_id);
    store_room_free(&room);
    begin(j);
}

void mam_query(struct gateway *gw, xmpp_stanza_t *iq, xmpp_stanza_t *query,
               const char *target)
{
    const char *type = xmpp_stanza_get_type(iq);
    const char *name = xmpp_stanza_get_name(query);
    if (!name || strcmp(name, "query") != 0) {
        /* Archive <metadata/> and preferences are not served. */
        send_now(gw, stanza_error_reply(gw->xmpp, iq, "cancel",
                                        "feature-not-implemented",
                                        "only MAM queries are served here"));
        return;
    }
    if (type && strcmp(type, "get") == 0) {
        send_now(gw, mam_fields_result(gw->xmpp, iq));
        return;
    }
    if (!xmpp_stanza_get_from(iq)) {
        send_now(gw, stanza_error_reply(gw->xmpp, iq, "modify", "bad-request",
                                        "a query needs a from"));
        return;
    }
    query_set(gw, iq, query, target);
}
