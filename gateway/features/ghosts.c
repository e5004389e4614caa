#include "gateway/features/ghosts.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "gateway/features/e2ee.h"
#include "xep/disco.h"

#include <stdlib.h>
#include <string.h>

#define VCARD_TIMEOUT_MS 3000

struct ensure {
    struct gateway *gw;
    char *mxid;
    char *jid;
    char *displayname;
    ghost_ready_cb cb;
    void *ud;
};

static void ensure_free(struct ensure *e)
{
    free(e->mxid);
    free(e->jid);
    free(e->displayname);
    free(e);
}

/* The ghost has its device (or goes without one, which e2ee logged). */
static void on_device(struct gateway *gw, void *ud)
{
    struct ensure *e = ud;
    e->cb(gw, true, NULL, e->ud);
    ensure_free(e);
}

static void ensure_finish(struct ensure *e, bool ok, const char *error)
{
    if (!ok) {
        e->cb(e->gw, ok, error, e->ud);
        ensure_free(e);
        return;
    }
    struct store_ghost g = { e->mxid, e->jid, e->displayname, 1 };
    store_ghost_put(e->gw->store, &g);
    /* Before anyone can talk to it: a Matrix client shares a room's key
     * with the devices the ghost has when it starts its session. */
    e2ee_device_ensure(e->gw, e->mxid, on_device, e);
}

static void on_displayname(const struct mx_response *r, void *ud)
{
    struct ensure *e = ud;
    if (r->status != 200)
        log_warn("ghosts: could not set the display name of %s: %s", e->mxid,
                 r->error);
    ensure_finish(e, true, NULL);
}

static void set_displayname(struct ensure *e)
{
    mx_set_displayname(e->gw->mx, e->mxid, e->displayname, 3,
                       on_displayname, e);
}

static void on_register(const struct mx_response *r, void *ud)
{
    struct ensure *e = ud;
    if (r->status == 200 ||
        (r->errcode && strcmp(r->errcode, "M_USER_IN_USE") == 0)) {
        set_displayname(e);
        return;
    }
    char why[MX_REASON_MAX];
    log_warn("ghosts: the homeserver refused to register %s: %s", e->mxid,
             mx_response_reason(r, why, sizeof why));
    ensure_finish(e, false, r->error);
}

static void do_register(struct ensure *e)
{
    const char *colon = strchr(e->mxid, ':');
    char *localpart = xstrndup(e->mxid + 1, (size_t)(colon - e->mxid - 1));
    mx_register(e->gw->mx, localpart, 5, on_register, e);
    free(localpart);
}

static void on_vcard(xmpp_stanza_t *result, void *ud)
{
    struct ensure *e = ud;
    char *name = result ? vcard_display_name(result) : NULL;
    if (name) {
        free(e->displayname);
        e->displayname = name;
    }
    do_register(e);
}

/* Starts making sure of a ghost: NULL (cb already called) when the store
 * knows it registered, else the job, with no display name yet. */
static struct ensure *ensure_start(struct gateway *gw, const char *mxid,
                                   const char *jid, ghost_ready_cb cb,
                                   void *ud)
{
    struct store_ghost g;
    int found = store_ghost_get(gw->store, mxid, &g);
    bool registered = found == 1 && g.registered;
    if (found == 1)
        store_ghost_free(&g);
    struct ensure *e = xcalloc(1, sizeof *e);
    e->gw = gw;
    e->mxid = xstrdup(mxid);
    e->jid = xstrdup(jid);
    e->cb = cb;
    e->ud = ud;
    if (registered) {
        /* A ghost registered before devices existed gets one now. */
        e2ee_device_ensure(gw, mxid, on_device, e);
        return NULL;
    }
    return e;
}

void ghosts_ensure(struct gateway *gw, const char *mxid, const char *jid,
                   const char *nick_hint, ghost_ready_cb cb, void *ud)
{
    struct ensure *e = ensure_start(gw, mxid, jid, cb, ud);
    if (!e)
        return;
    if (nick_hint && *nick_hint) {
        e->displayname = xstrdup(nick_hint);
    } else {
        const char *at = strchr(jid, '@');
        e->displayname = at ? xstrndup(jid, (size_t)(at - jid)) : xstrdup(jid);
    }
    /* The vCard is the XMPP user's own idea of their name; ask their server
     * for it, but never wait long: delivery must not hang on it. */
    struct component_query q = { .to = jid, .name = "vCard",
                                 .ns = NS_VCARD };
    if (component_query(gw->component, &q, VCARD_TIMEOUT_MS, on_vcard, e) < 0)
        do_register(e);
}

void ghosts_ensure_named(struct gateway *gw, const char *mxid, const char *jid,
                         const char *displayname, ghost_ready_cb cb, void *ud)
{
    struct ensure *e = ensure_start(gw, mxid, jid, cb, ud);
    if (!e)
        return;
    e->displayname = xstrdup(displayname);
    do_register(e);
}

static void on_nick_kept(const struct mx_response *r, void *ud)
{
    (void)ud;
    if (r->status != 200)
        log_info("ghosts: could not keep a nick in a room: %s", r->error);
}

void ghosts_keep_room_nicks(struct gateway *gw, const char *ghost,
                            const char *avatar_url)
{
    struct store_presence_room *rooms;
    int n = store_ghost_rooms(gw->store, ghost, &rooms);
    for (int i = 0; i < n; i++)
        mx_member_join(gw->mx, rooms[i].room_id, ghost, rooms[i].nick,
                       avatar_url, 3, on_nick_kept, NULL);
    if (n > 0)
        store_presence_rooms_free(rooms, n);
}
