/* Avatars across (see avatars.h). */
#include "gateway/features/avatars.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "gateway/features/ghosts.h"
#include "gateway/features/presence_pending.h"
#include "xep/avatars.h"
#include "xep/disco.h"
#include "xep/stanza_error.h"

#include <stdlib.h>
#include <string.h>

#define VCARD_TIMEOUT_MS 5000

/* ------------------------------------------------ fetching and caching -- */

typedef void (*fetched_cb)(struct gateway *gw, const struct store_avatar *a,
                           void *ud);

struct fetch {
    struct gateway *gw;
    char *mxc;
    fetched_cb cb;
    void *ud;
};

static void on_download(const struct mx_response *r,
                        const struct mx_media *res, void *ud)
{
    struct fetch *f = ud;
    if (res && res->len > 0) {
        char sha1[41];
        avatar_sha1_hex(res->data, res->len, sha1);
        const char *type = res->content_type &&
                                   strncmp(res->content_type, "image/", 6) == 0
                               ? res->content_type
                               : "image/png";
        char *t = xstrndup(type, strcspn(type, "; \r\n"));
        struct store_avatar a = { f->mxc, sha1, t, (unsigned char *)res->data,
                                  res->len };
        store_avatar_put(f->gw->store, &a);
        f->cb(f->gw, &a, f->ud);
        free(t);
    } else {
        char why[MX_REASON_MAX];
        log_info("avatars: could not fetch %s: %s", f->mxc,
                 mx_response_reason(r, why, sizeof why));
        f->cb(f->gw, NULL, f->ud);
    }
    free(f->mxc);
    free(f);
}

/* Calls cb with the image of mxc from the cache, or once downloaded (with
 * the appservice token, at most AVATAR_MAX_BYTES); NULL on failure. */
static void fetch(struct gateway *gw, const char *mxc, fetched_cb cb, void *ud)
{
    struct store_avatar a;
    if (store_avatar_get(gw->store, mxc, &a) == 1) {
        cb(gw, &a, ud);
        store_avatar_free(&a);
        return;
    }
    struct fetch *f = xcalloc(1, sizeof *f);
    f->gw = gw;
    f->mxc = xstrdup(mxc);
    f->cb = cb;
    f->ud = ud;
    const char *why;
    if (mx_media_download(gw->mx, mxc, AVATAR_MAX_BYTES, 2, on_download, f,
                          &why) < 0) {
        free(f->mxc);
        free(f);
        cb(gw, NULL, ud);
    }
}

/* ------------------------------------------------------ Matrix -> XMPP -- */

struct user_job {
    char *mxid;
    char *mxc;
};

static void on_user_avatar(struct gateway *gw, const struct store_avatar *a,
                           void *ud)
{
    struct user_job *j = ud;
    char *mxc = NULL, *sha1 = NULL;
    /* Only if the user did not change avatar again meanwhile. */
    if (a && store_avatar_of_get(gw->store, j->mxid, &mxc, &sha1) == 1 &&
        mxc && strcmp(mxc, j->mxc) == 0) {
        store_avatar_of_put(gw->store, j->mxid, j->mxc, a->sha1);
        presence_matrix_touch(gw, j->mxid);
    }
    free(mxc);
    free(sha1);
    free(j->mxid);
    free(j->mxc);
    free(j);
}

void avatars_matrix_user(struct gateway *gw, const char *mxid,
                         const char *avatar_url)
{
    const char *url = avatar_url ? avatar_url : "";
    char *mxc = NULL, *sha1 = NULL;
    int found = store_avatar_of_get(gw->store, mxid, &mxc, &sha1);
    bool same = found == 1 && strcmp(mxc ? mxc : "", url) == 0;
    free(mxc);
    free(sha1);
    if (same || (found == 0 && !*url))
        return;
    if (!*url) {
        store_avatar_of_put(gw->store, mxid, "", "");
        presence_matrix_touch(gw, mxid);
        return;
    }
    store_avatar_of_put(gw->store, mxid, url, NULL);
    struct user_job *j = xcalloc(1, sizeof *j);
    j->mxid = xstrdup(mxid);
    j->mxc = xstrdup(url);
    fetch(gw, url, on_user_avatar, j);
}

char *avatars_matrix_hash(struct gateway *gw, const char *mxid)
{
    char *mxc = NULL, *sha1 = NULL;
    if (store_avatar_of_get(gw->store, mxid, &mxc, &sha1) != 1)
        return NULL;
    free(mxc);
    return sha1;
}

struct vcard_job {
    xmpp_stanza_t *iq;
    char *fn;
    char *nickname;
};

static void on_vcard_photo(struct gateway *gw, const struct store_avatar *a,
                           void *ud)
{
    struct vcard_job *j = ud;
    xmpp_stanza_t *res = vcard_result(gw->xmpp, j->iq, j->fn, j->nickname);
    if (a)
        avatar_vcard_add_photo(gw->xmpp, res, a->type, a->data, a->len);
    gateway_send_now(gw, res);
    xmpp_stanza_release(res);
    xmpp_stanza_release(j->iq);
    free(j->fn);
    free(j->nickname);
    free(j);
}

void avatars_vcard_reply(struct gateway *gw, xmpp_stanza_t *iq,
                         const char *fn, const char *nickname,
                         const char *avatar_url)
{
    struct vcard_job *j = xcalloc(1, sizeof *j);
    j->iq = xmpp_stanza_copy(iq);
    j->fn = fn ? xstrdup(fn) : NULL;
    j->nickname = nickname ? xstrdup(nickname) : NULL;
    if (avatar_url && *avatar_url)
        fetch(gw, avatar_url, on_vcard_photo, j);
    else
        on_vcard_photo(gw, NULL, j);
}

struct pubsub_job {
    xmpp_stanza_t *iq;
    bool data; /* the data node, else metadata */
};

static void on_pubsub_avatar(struct gateway *gw, const struct store_avatar *a,
                             void *ud)
{
    struct pubsub_job *j = ud;
    xmpp_stanza_t *res;
    if (!a)
        res = stanza_error_reply(gw->xmpp, j->iq, "cancel", "item-not-found",
                                 "this user has no avatar");
    else if (j->data)
        res = avatar_data_result(gw->xmpp, j->iq, a->sha1, a->data, a->len);
    else
        res = avatar_metadata_result(gw->xmpp, j->iq, a->sha1, a->len,
                                     a->type);
    gateway_send_now(gw, res);
    xmpp_stanza_release(res);
    xmpp_stanza_release(j->iq);
    free(j);
}

bool avatars_pubsub_get(struct gateway *gw, xmpp_stanza_t *iq,
                        const char *mxid)
{
    const char *node = avatar_pubsub_items_node(iq);
    if (!node || (strcmp(node, NS_AVATAR_METADATA) != 0 &&
                  strcmp(node, NS_AVATAR_DATA) != 0))
        return false;
    struct pubsub_job *j = xcalloc(1, sizeof *j);
    j->iq = xmpp_stanza_copy(iq);
    j->data = strcmp(node, NS_AVATAR_DATA) == 0;
    char *mxc = NULL, *sha1 = NULL;
    if (store_avatar_of_get(gw->store, mxid, &mxc, &sha1) == 1 && mxc &&
        *mxc)
        fetch(gw, mxc, on_pubsub_avatar, j);
    else
        on_pubsub_avatar(gw, NULL, j);
    free(mxc);
    free(sha1);
    return true;
}

/* ------------------------------------------------------ XMPP -> Matrix -- */

struct ghost_job {
    struct gateway *gw;
    char *ghost;
    char *sha1;
    char *mxc;
};

static void ghost_job_free(struct ghost_job *j)
{
    free(j->ghost);
    free(j->sha1);
    free(j->mxc);
    free(j);
}

/* Forgets the hash being worked on, so that the next presence tries
 * again. */
static void ghost_job_fail(struct ghost_job *j, const char *why)
{
    log_info("avatars: %s keeps its avatar: %s", j->ghost, why);
    store_avatar_of_put(j->gw->store, j->ghost, NULL, NULL);
    ghost_job_free(j);
}

static void on_avatar_url_set(const struct mx_response *r, void *ud)
{
    struct ghost_job *j = ud;
    if (r->status != 200) {
        ghost_job_fail(j, r->error);
        return;
    }
    store_avatar_of_put(j->gw->store, j->ghost, j->mxc, j->sha1);
    log_info("avatars: %s shows photo %s", j->ghost, j->sha1);
    ghosts_keep_room_nicks(j->gw, j->ghost, j->mxc);
    ghost_job_free(j);
}

static void set_avatar_url(struct ghost_job *j)
{
    mx_set_avatar_url(j->gw->mx, j->ghost, j->mxc, 3, on_avatar_url_set, j);
}

static void on_uploaded(const struct mx_response *r,
                        const struct mx_content_uri *res, void *ud)
{
    struct ghost_job *j = ud;
    if (!res) {
        ghost_job_fail(j, r->error);
        return;
    }
    j->mxc = xstrdup(res->content_uri);
    set_avatar_url(j);
}

static void on_xmpp_vcard(xmpp_stanza_t *result, void *ud)
{
    struct ghost_job *j = ud;
    unsigned char *data;
    size_t len;
    char *type;
    const char *why = "no answer to the vCard request";
    if (!result || avatar_vcard_photo(result, AVATAR_MAX_BYTES, &data, &len,
                                      &type, &why) < 0) {
        ghost_job_fail(j, why);
        return;
    }
    /* The hash of what was fetched is what the ghost shows from now on,
     * whatever the presence said. */
    char sha1[41];
    avatar_sha1_hex(data, len, sha1);
    free(j->sha1);
    j->sha1 = xstrdup(sha1);
    /* The call takes data over. */
    mx_upload(j->gw->mx, j->ghost, NULL, type, (char *)data, len, 3,
              on_uploaded, j);
    free(type);
}

void avatars_xmpp_hash(struct gateway *gw, const char *ghost,
                       const char *bare_jid, const char *sha1_hex)
{
    char *mxc = NULL, *sha1 = NULL;
    int found = store_avatar_of_get(gw->store, ghost, &mxc, &sha1);
    bool same = found == 1 && sha1 && strcmp(sha1, sha1_hex) == 0;
    bool none = found == 0 || !sha1 || !*sha1;
    free(mxc);
    free(sha1);
    if (same || (none && !*sha1_hex))
        return;
    struct store_ghost g;
    bool registered = false;
    if (store_ghost_get(gw->store, ghost, &g) == 1) {
        registered = g.registered;
        store_ghost_free(&g);
    }
    if (!registered)
        return; /* the next presence after the ghost exists will do */
    struct ghost_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->ghost = xstrdup(ghost);
    j->sha1 = xstrdup(sha1_hex);
    /* Marked at once, so the presences that follow do not start the same
     * work again. */
    store_avatar_of_put(gw->store, ghost, NULL, sha1_hex);
    if (!*sha1_hex) {
        set_avatar_url(j); /* the photo was removed */
        return;
    }
    struct component_query q = { .to = bare_jid, .name = "vCard",
                                 .ns = NS_VCARD };
    if (component_query(gw->component, &q, VCARD_TIMEOUT_MS, on_xmpp_vcard,
                        j) < 0)
        ghost_job_fail(j, "not connected");
}
