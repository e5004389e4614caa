/* Each ghost's device: created by the appservice (MSC4190), its Olm
 * identity, one-time and fallback keys uploaded as that device (MSC4326),
 * its cross-signing keys uploaded and the device signed by them; then its
 * one-time keys topped up from the counts transactions carry (MSC3202),
 * never by polling. */
#include "gateway/features/e2ee_state.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "gateway/base/metrics.h"
#include "matrix/crypto/cross_signing.h"
#include "matrix/event_device.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define DEVICE_NAME "isthmus (XMPP)"
/* libolm holds 100; keeping half of that on the server leaves room for
 * keys claimed while an upload is in flight. */
#define OTK_TARGET 50
#define OTK_LOW (OTK_TARGET / 2)
#define OTK_ALGORITHM "signed_curve25519"

struct waiter {
    e2ee_device_cb *cb;
    void *ud;
};

struct device_job {
    struct gateway *gw;
    char *mxid;
    char *device_id;
    struct waiter *waiters;
    size_t n_waiters;
    struct device_job *next;
};

bool e2ee_active(const struct gateway *gw)
{
    return gw->cfg.e2ee_enabled && gw->e2ee && !gw->e2ee->refused;
}

void e2ee_device_jobs_free(struct e2ee *e)
{
    /* Jobs still in flight belong to calls the client cancels without
     * callbacks at shutdown. */
    for (struct device_job *j = e->jobs, *next; j; j = next) {
        next = j->next;
        free(j->mxid);
        free(j->device_id);
        free(j->waiters);
        free(j);
    }
    e->jobs = NULL;
}

/* ---------------------------------------------------- load and save -- */

int e2ee_device_load(struct gateway *gw, const char *mxid,
                     struct store_crypto_device *dev,
                     struct mx_account **account)
{
    *account = NULL;
    int found = store_crypto_device_get(gw->store, mxid, dev);
    if (found != 1)
        return found;
    const char *err;
    *account = mx_account_unpickle(dev->account, &err);
    if (!*account) {
        log_error("e2ee: the Olm account of %s does not load: %s", mxid, err);
        store_crypto_device_free(dev);
        return -1;
    }
    return 1;
}

int e2ee_device_save(struct gateway *gw, struct store_crypto_device *dev,
                     struct mx_account *account)
{
    char *pickle = mx_account_pickle(account);
    sodium_memzero(dev->account, strlen(dev->account));
    free(dev->account);
    dev->account = pickle;
    return store_crypto_device_put(gw->store, dev);
}

void e2ee_device_release(struct store_crypto_device *dev,
                         struct mx_account *account)
{
    mx_account_free(account);
    store_crypto_device_free(dev);
}

/* ------------------------------------------------------------- jobs -- */

static struct device_job *job_find(struct e2ee *e, const char *mxid)
{
    for (struct device_job *j = e->jobs; j; j = j->next)
        if (strcmp(j->mxid, mxid) == 0)
            return j;
    return NULL;
}

static void job_add_waiter(struct device_job *j, e2ee_device_cb *cb, void *ud)
{
    j->waiters = xrealloc(j->waiters, (j->n_waiters + 1) * sizeof *j->waiters);
    j->waiters[j->n_waiters++] = (struct waiter){ cb, ud };
}

static void job_finish(struct device_job *j)
{
    struct e2ee *e = j->gw->e2ee;
    for (struct device_job **p = &e->jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    for (size_t i = 0; i < j->n_waiters; i++)
        j->waiters[i].cb(j->gw, j->waiters[i].ud);
    free(j->mxid);
    free(j->device_id);
    free(j->waiters);
    free(j);
}

/* A device id of our own making: the ISTHMUS prefix tells people where
 * the device comes from; the rest keeps it unique if one is replaced. */
static char *new_device_id(void)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char id[] = "ISTHMUS_XXXXXXXX";
    for (char *c = id + 8; *c; c++)
        *c = alphabet[randombytes_uniform(sizeof alphabet - 1)];
    return xstrdup(id);
}

/* Keeps the ready device's public identity in memory. */
static void remember_ready(struct gateway *gw,
                           const struct store_crypto_device *dev)
{
    const char *err;
    struct mx_account *a = mx_account_unpickle(dev->account, &err);
    if (!a) {
        log_error("e2ee: the Olm account of %s does not load: %s", dev->mxid,
                  err);
        return;
    }
    char *v = xasprintf("%s %s", dev->device_id, mx_account_curve25519(a));
    strmap_put(&gw->e2ee->ready, dev->mxid, v);
    free(v);
    mx_account_free(a);
}

bool e2ee_device_identity(struct gateway *gw, const char *mxid,
                          char **device_id, char **curve25519)
{
    const char *v = strmap_get(&gw->e2ee->ready, mxid);
    const char *space = v ? strchr(v, ' ') : NULL;
    if (!space)
        return false;
    *device_id = xstrndup(v, (size_t)(space - v));
    *curve25519 = xstrdup(space + 1);
    return true;
}

bool e2ee_ghost_fingerprint(struct gateway *gw, const char *mxid,
                            char **device_id, char **ed25519)
{
    struct store_crypto_device dev;
    const char *err = NULL;
    *device_id = *ed25519 = NULL;
    if (store_crypto_device_get(gw->store, mxid, &dev) != 1)
        return false;
    struct mx_account *a = mx_account_unpickle(dev.account, &err);
    if (a) {
        *device_id = xstrdup(dev.device_id);
        *ed25519 = xstrdup(mx_account_ed25519(a));
        mx_account_free(a);
    }
    store_crypto_device_free(&dev);
    return a != NULL;
}

static void mark_ready(struct device_job *j)
{
    struct store_crypto_device dev;
    if (store_crypto_device_get(j->gw->store, j->mxid, &dev) == 1) {
        dev.ready = 1;
        store_crypto_device_put(j->gw->store, &dev);
        remember_ready(j->gw, &dev);
        store_crypto_device_free(&dev);
        log_info("e2ee: %s has its device %s", j->mxid, j->device_id);
    }
    job_finish(j);
}

static void on_signatures(const struct mx_response *r, void *ud)
{
    struct device_job *j = ud;
    json_t *failures = r->body ? json_object_get(r->body, "failures") : NULL;
    if (r->status != 200 || json_object_size(failures) > 0)
        log_warn("e2ee: the homeserver did not take the cross-signature of "
                 "%s's device: %s", j->mxid,
                 r->status != 200 ? r->error : "failures in the answer");
    mark_ready(j);
}

static void on_cross_signing(const struct mx_response *r, void *ud)
{
    struct device_job *j = ud;
    struct gateway *gw = j->gw;
    if (r->status != 200) {
        /* The device still works; clients that insist on cross-signed
         * devices will not encrypt to it. */
        log_warn("e2ee: the homeserver refused the cross-signing keys of "
                 "%s: %s", j->mxid, r->error);
        mark_ready(j);
        return;
    }
    struct store_crypto_device dev;
    struct mx_account *acc;
    if (e2ee_device_load(gw, j->mxid, &dev, &acc) != 1) {
        job_finish(j);
        return;
    }
    const char *err;
    struct mx_cross_signing *x = mx_cross_signing_load(dev.cross_signing,
                                                       &err);
    json_t *keys = mx_account_device_keys(acc, j->mxid, j->device_id);
    if (x)
        mx_cross_signing_sign_device(x, keys, j->mxid);
    json_t *body = json_pack("{s:{s:o}}", j->mxid, j->device_id, keys);
    mx_cross_signing_free(x);
    e2ee_device_release(&dev, acc);
    mx_signatures_upload(gw->mx, j->mxid, body, 5, on_signatures, j);
}

static void on_keys_uploaded(const struct mx_response *r, void *ud)
{
    struct device_job *j = ud;
    struct gateway *gw = j->gw;
    if (r->status != 200) {
        log_warn("e2ee: the homeserver refused the keys of %s's device: %s",
                 j->mxid, r->error);
        job_finish(j);
        return;
    }
    struct store_crypto_device dev;
    if (store_crypto_device_get(gw->store, j->mxid, &dev) != 1) {
        job_finish(j);
        return;
    }
    const char *err;
    struct mx_cross_signing *x = mx_cross_signing_load(dev.cross_signing,
                                                       &err);
    store_crypto_device_free(&dev);
    if (!x) {
        log_error("e2ee: the cross-signing keys of %s do not load: %s",
                  j->mxid, err);
        mark_ready(j);
        return;
    }
    json_t *body = mx_cross_signing_upload(x, j->mxid);
    mx_cross_signing_free(x);
    mx_cross_signing_upload_keys(gw->mx, j->mxid, body, 5, on_cross_signing,
                                 j);
}

/* The keys upload body: the device's keys once, then one-time keys up to
 * the target and a fresh fallback key when asked. Marked published and
 * saved before it is sent: an account copy that waits for the answer
 * could undo a one-time key spent meanwhile; a key that never reaches the
 * server costs nothing. NULL when the account does not load. */
static json_t *keys_body(struct gateway *gw, const char *mxid,
                         bool device_keys, size_t otks, bool fallback)
{
    struct store_crypto_device dev;
    struct mx_account *acc;
    if (e2ee_device_load(gw, mxid, &dev, &acc) != 1)
        return NULL;
    json_t *body = json_object();
    if (device_keys)
        json_object_set_new(body, "device_keys",
                            mx_account_device_keys(acc, mxid, dev.device_id));
    if (otks)
        json_object_set_new(body, "one_time_keys",
                            mx_account_one_time_keys(acc, mxid, dev.device_id,
                                                     otks));
    if (fallback)
        json_object_set_new(body, "fallback_keys",
                            mx_account_fallback_key(acc, mxid, dev.device_id,
                                                    1));
    mx_account_mark_published(acc);
    if (e2ee_device_save(gw, &dev, acc) < 0) {
        json_decref(body);
        body = NULL;
    }
    e2ee_device_release(&dev, acc);
    return body;
}

static void on_device_created(const struct mx_response *r, void *ud)
{
    struct device_job *j = ud;
    struct gateway *gw = j->gw;
    if (r->status != 200 && r->status != 201) {
        bool unsupported = r->status == 404 || r->status == 405 ||
                           (r->errcode &&
                            strcmp(r->errcode, "M_UNRECOGNIZED") == 0);
        if (unsupported && !gw->e2ee->refused) {
            gw->e2ee->refused = true;
            char why[MX_REASON_MAX];
            log_warn("e2ee: the homeserver does not let the appservice "
                     "create devices (%s): ghosts get no devices, and "
                     "encrypted rooms cannot be bridged. Set "
                     "\"io.element.msc4190: true\" in the registration "
                     "file (MSC4190).", mx_response_reason(r, why, sizeof why));
        } else if (!unsupported) {
            log_warn("e2ee: could not create a device for %s: %s", j->mxid,
                     r->error);
        }
        job_finish(j);
        return;
    }
    json_t *body = keys_body(gw, j->mxid, true, OTK_TARGET, true);
    if (!body) {
        job_finish(j);
        return;
    }
    mx_keys_upload(gw->mx, j->mxid, j->device_id, body, 5, on_keys_uploaded,
                   j);
}

void e2ee_device_ensure(struct gateway *gw, const char *mxid,
                        e2ee_device_cb *cb, void *ud)
{
    if (!e2ee_active(gw)) {
        cb(gw, ud);
        return;
    }
    if (strmap_get(&gw->e2ee->ready, mxid)) {
        cb(gw, ud);
        return;
    }
    struct device_job *j = job_find(gw->e2ee, mxid);
    if (j) {
        job_add_waiter(j, cb, ud);
        return;
    }
    struct store_crypto_device dev;
    int found = store_crypto_device_get(gw->store, mxid, &dev);
    if (found < 0 || (found == 1 && dev.ready)) {
        if (found == 1) {
            remember_ready(gw, &dev);
            store_crypto_device_free(&dev);
        }
        cb(gw, ud);
        return;
    }
    j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->mxid = xstrdup(mxid);
    job_add_waiter(j, cb, ud);
    j->next = gw->e2ee->jobs;
    gw->e2ee->jobs = j;
    if (found == 1) {
        /* Made before but not finished (a refusal, a crash): the same
         * device and keys, asked for again. */
        j->device_id = xstrdup(dev.device_id);
        store_crypto_device_free(&dev);
    } else {
        struct mx_account *acc = mx_account_new();
        struct mx_cross_signing *x = mx_cross_signing_new();
        j->device_id = new_device_id();
        struct store_crypto_device fresh = {
            .mxid = j->mxid, .device_id = j->device_id,
            .account = mx_account_pickle(acc),
            .cross_signing = mx_cross_signing_save(x), .ready = 0,
        };
        int rc = store_crypto_device_put(gw->store, &fresh);
        sodium_memzero(fresh.account, strlen(fresh.account));
        sodium_memzero(fresh.cross_signing, strlen(fresh.cross_signing));
        free(fresh.account);
        free(fresh.cross_signing);
        mx_account_free(acc);
        mx_cross_signing_free(x);
        if (rc < 0) {
            job_finish(j);
            return;
        }
    }
    mx_device_create(gw->mx, mxid, j->device_id, DEVICE_NAME, 5,
                     on_device_created, j);
}

/* ------------------------------------------------ keys running low -- */

struct upload {
    struct gateway *gw;
    char *key; /* "user|device" in e2ee->uploading */
};

static void on_topped_up(const struct mx_response *r, void *ud)
{
    struct upload *u = ud;
    if (r->status != 200)
        log_warn("e2ee: a key upload failed (%s): %s", u->key, r->error);
    strmap_put(&u->gw->e2ee->uploading, u->key, "0");
    free(u->key);
    free(u);
}

/* Uploads otks more one-time keys and, if asked, a new fallback key for
 * the ghost's device, unless an upload for it is in flight. */
static void top_up(struct gateway *gw, const char *mxid, const char *device,
                   size_t otks, bool fallback)
{
    struct store_crypto_device dev;
    if (store_crypto_device_get(gw->store, mxid, &dev) != 1)
        return;
    bool ours = dev.ready && strcmp(dev.device_id, device) == 0;
    store_crypto_device_free(&dev);
    if (!ours)
        return; /* a device we did not make, or not finished yet */
    char *key = xasprintf("%s|%s", mxid, device);
    const char *busy = strmap_get(&gw->e2ee->uploading, key);
    if (busy && strcmp(busy, "1") == 0) {
        free(key);
        return;
    }
    json_t *body = keys_body(gw, mxid, false, otks, fallback);
    if (!body) {
        free(key);
        return;
    }
    log_debug("e2ee: %zu one-time keys%s for %s", otks,
              fallback ? " and a fallback key" : "", key);
    strmap_put(&gw->e2ee->uploading, key, "1");
    struct upload *u = xcalloc(1, sizeof *u);
    u->gw = gw;
    u->key = key;
    mx_keys_upload(gw->mx, mxid, device, body, 5, on_topped_up, u);
}

static void on_otk_count(const struct mx_otk_count *c, void *ud)
{
    struct gateway *gw = ud;
    if (strcmp(c->algorithm, OTK_ALGORITHM) != 0 || c->count >= OTK_LOW ||
        !gateway_is_ours(gw, c->user_id))
        return;
    top_up(gw, c->user_id, c->device_id, OTK_TARGET - (size_t)c->count,
           false);
}

static void on_fallback_keys(const struct mx_fallback_keys *f, void *ud)
{
    struct gateway *gw = ud;
    if (!gateway_is_ours(gw, f->user_id))
        return;
    for (size_t i = 0; i < f->algorithms.n; i++) {
        const char *alg = mx_str_list_at(&f->algorithms, i);
        if (alg && strcmp(alg, OTK_ALGORITHM) == 0)
            return; /* still unused */
    }
    top_up(gw, f->user_id, f->device_id, 0, true);
}

void e2ee_devices_transaction(struct gateway *gw,
                              const struct mx_transaction *txn)
{
    if (!e2ee_active(gw))
        return;
    const char *why;
    if (mx_otk_counts_foreach(txn->otk_counts, on_otk_count, gw, &why) < 0)
        log_warn("e2ee: one-time key counts unreadable: %s", why);
    if (mx_fallback_keys_foreach(txn->fallback_key_types, on_fallback_keys,
                                 gw, &why) < 0)
        log_warn("e2ee: fallback key types unreadable: %s", why);
}
