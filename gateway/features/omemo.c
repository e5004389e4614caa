/* The OMEMO state and each puppet's device over the store. */
#include "gateway/features/omemo_state.h"

#include "gateway/base/context.h"
#include "gateway/base/effects.h"

#include "common/log.h"
#include "common/mem.h"
#include "store/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct omemo_state *omemo_state_new(void)
{
    struct omemo_state *s = xcalloc(1, sizeof *s);
    s->lib = omemo_lib_new();
    return s;
}

void omemo_state_free(struct omemo_state *s)
{
    if (!s)
        return;
    /* A refresh still running at shutdown has its iq cancelled (and
     * ended) with the component, before this. */
    for (int i = 0; i < s->n_refreshing; i++) {
        free(s->refreshing[i].waiters);
        free(s->refreshing[i].key);
    }
    free(s->refreshing);
    strmap_clear(&s->met);
    strmap_clear(&s->device_ids);
    omemo_lib_free(s->lib);
    free(s);
}

bool omemo_active(const struct gateway *gw)
{
    return gw->cfg.e2ee_omemo && gw->omemo && gw->omemo->lib;
}

bool omemo_refresh_begin(struct omemo_state *s, const char *key,
                         omemo_ready_cb *cb, void *ud)
{
    struct omemo_refresh *r = NULL;
    for (int i = 0; i < s->n_refreshing && !r; i++)
        if (strcmp(s->refreshing[i].key, key) == 0)
            r = &s->refreshing[i];
    bool fresh = !r;
    if (fresh) {
        s->refreshing = xrealloc(s->refreshing,
                                 (size_t)(s->n_refreshing + 1) *
                                     sizeof *s->refreshing);
        r = &s->refreshing[s->n_refreshing++];
        *r = (struct omemo_refresh){ xstrdup(key), NULL, 0 };
    }
    if (cb) {
        r->waiters = xrealloc(r->waiters, (size_t)(r->n_waiters + 1) *
                                              sizeof *r->waiters);
        r->waiters[r->n_waiters++] = (struct omemo_waiter){ cb, ud };
    }
    return fresh;
}

void omemo_refresh_done(struct gateway *gw, const char *key)
{
    struct omemo_state *s = gw->omemo;
    for (int i = 0; i < s->n_refreshing; i++) {
        if (strcmp(s->refreshing[i].key, key) != 0)
            continue;
        struct omemo_refresh r = s->refreshing[i];
        s->refreshing[i] = s->refreshing[--s->n_refreshing];
        /* Taken out first: a waiter may start another refresh. */
        for (int w = 0; w < r.n_waiters; w++)
            r.waiters[w].cb(gw, r.waiters[w].ud);
        free(r.waiters);
        free(r.key);
        return;
    }
}

/* ------------------------------------------------- records in the store -- */

static int rec_get(void *ud, enum omemo_record_kind kind, const char *name,
                   uint32_t id, uint8_t **data, size_t *len)
{
    struct omemo_owner *o = ud;
    return store_omemo_get(o->gw->store, o->jid, (int)kind, name, id, data,
                           len);
}

static int rec_put(void *ud, enum omemo_record_kind kind, const char *name,
                   uint32_t id, const uint8_t *data, size_t len)
{
    struct omemo_owner *o = ud;
    return store_omemo_put(o->gw->store, o->jid, (int)kind, name, id, data,
                           len);
}

static int rec_del(void *ud, enum omemo_record_kind kind, const char *name,
                   uint32_t id)
{
    struct omemo_owner *o = ud;
    return store_omemo_del(o->gw->store, o->jid, (int)kind, name, id);
}

static int rec_ids(void *ud, enum omemo_record_kind kind, const char *name,
                   uint32_t **ids)
{
    struct omemo_owner *o = ud;
    return store_omemo_ids(o->gw->store, o->jid, (int)kind, name, ids);
}

struct omemo_device *omemo_puppet_open(struct gateway *gw,
                                       const char *puppet_jid,
                                       struct omemo_owner *owner,
                                       const char **why)
{
    owner->gw = gw;
    owner->jid = xstrdup(puppet_jid);
    if (!omemo_active(gw)) {
        *why = "OMEMO is off on this gateway";
        return NULL;
    }
    struct omemo_records recs = { rec_get, rec_put, rec_del, rec_ids, owner };
    struct omemo_device *d = omemo_device_open(gw->omemo->lib, &recs, why);
    if (!d) {
        log_warn("omemo: %s has no OMEMO device: %s", puppet_jid, *why);
        return NULL;
    }
    char id[16];
    snprintf(id, sizeof id, "%u", omemo_device_id(d));
    strmap_put(&gw->omemo->device_ids, puppet_jid, id);
    return d;
}

bool omemo_puppet_device_id(struct gateway *gw, const char *puppet_jid,
                            uint32_t *id)
{
    if (!omemo_active(gw))
        return false;
    const char *known = strmap_get(&gw->omemo->device_ids, puppet_jid);
    if (!known) {
        uint8_t *data = NULL;
        size_t len = 0;
        /* Opened once to learn it; a puppet without a device stays so. */
        if (store_omemo_get(gw->store, puppet_jid, OMEMO_REC_IDENTITY, "", 0,
                            &data, &len) != 1)
            return false;
        if (data)
            sodium_memzero(data, len);
        free(data);
        struct omemo_owner owner;
        const char *why;
        omemo_puppet_close(omemo_puppet_open(gw, puppet_jid, &owner, &why),
                           &owner);
        known = strmap_get(&gw->omemo->device_ids, puppet_jid);
    }
    return known && (*id = (uint32_t)strtoul(known, NULL, 10)) != 0;
}

void omemo_puppet_close(struct omemo_device *d, struct omemo_owner *owner)
{
    omemo_device_close(d);
    free(owner->jid);
    owner->jid = NULL;
}

static int user_kind(int version)
{
    return version == OMEMO_2 ? OMEMO_REC_USER_DEVICE_V2
                              : OMEMO_REC_USER_DEVICE;
}

int omemo_user_devices(struct gateway *gw, int version, const char *user,
                       uint32_t **ids)
{
    return store_omemo_ids(gw->store, "", user_kind(version), user, ids);
}

void omemo_user_device_add(struct gateway *gw, int version,
                           const char *user, uint32_t device)
{
    static const uint8_t known = 1;
    store_omemo_put(gw->store, "", user_kind(version), user, device, &known,
                    1);
}

void omemo_user_device_del(struct gateway *gw, int version,
                           const char *user, uint32_t device)
{
    store_omemo_del(gw->store, "", user_kind(version), user, device);
}

int omemo_user_known_devices(struct gateway *gw, const char *user_bare,
                             uint32_t **ids)
{
    uint32_t *v2 = NULL, *old = NULL;
    int n2 = omemo_user_devices(gw, OMEMO_2, user_bare, &v2);
    int n3 = omemo_user_devices(gw, OMEMO_LEGACY, user_bare, &old);
    n2 = n2 > 0 ? n2 : 0;
    n3 = n3 > 0 ? n3 : 0;
    *ids = xcalloc((size_t)(n2 + n3 + 1), sizeof **ids);
    int n = 0;
    for (int i = 0; i < n2; i++)
        (*ids)[n++] = v2[i];
    for (int i = 0; i < n3; i++) {
        bool dup = false;
        for (int k = 0; k < n2 && !dup; k++)
            dup = v2[k] == old[i];
        if (!dup)
            (*ids)[n++] = old[i];
    }
    free(v2);
    free(old);
    return n;
}

/* ------------------------------------------------------- fingerprints -- */

/* hex of the key (without its 0x05 type byte), in groups of 8. */
static char *grouped_hex(const uint8_t *key, size_t len)
{
    if (len == OMEMO_PUBKEY_LEN && key[0] == 0x05) {
        key++;
        len--;
    }
    char *out = xmalloc(len * 2 + len / 4 + 1), *p = out;
    for (size_t i = 0; i < len; i++) {
        if (i && i % 4 == 0)
            *p++ = ' ';
        p += sprintf(p, "%02x", key[i]);
    }
    *p = '\0';
    return out;
}

int omemo_user_fingerprints(struct gateway *gw, const char *puppet_jid,
                            const char *user_bare,
                            struct omemo_fingerprint **out)
{
    *out = NULL;
    int n = 0;
    for (int v = OMEMO_LEGACY; v <= OMEMO_2; v++) {
        char *name = v == OMEMO_2 ? xasprintf("omemo2:%s", user_bare)
                                  : xstrdup(user_bare);
        uint32_t *ids = NULL;
        int k = store_omemo_ids(gw->store, puppet_jid,
                                OMEMO_REC_PEER_IDENTITY, name, &ids);
        for (int i = 0; i < k; i++) {
            uint8_t *key = NULL;
            size_t len = 0;
            if (store_omemo_get(gw->store, puppet_jid,
                                OMEMO_REC_PEER_IDENTITY, name, ids[i], &key,
                                &len) != 1)
                continue;
            *out = xrealloc(*out, (size_t)(n + 1) * sizeof **out);
            (*out)[n++] = (struct omemo_fingerprint){ v, ids[i],
                                                      grouped_hex(key, len) };
            free(key);
        }
        free(ids);
        free(name);
    }
    return n;
}

void omemo_fingerprints_free(struct omemo_fingerprint *f, int n)
{
    for (int i = 0; i < n; i++)
        free(f[i].hex);
    free(f);
}

bool omemo_puppet_fingerprint(struct gateway *gw, const char *puppet_jid,
                              uint32_t *device, char **hex)
{
    struct omemo_owner owner;
    const char *why;
    struct omemo_device *d = omemo_puppet_open(gw, puppet_jid, &owner, &why);
    char fp[65];
    if (d) {
        *device = omemo_device_id(d);
        omemo_device_fingerprint(d, fp);
        uint8_t raw[32];
        size_t got = 0;
        sodium_hex2bin(raw, sizeof raw, fp, 64, NULL, &got, NULL);
        *hex = grouped_hex(raw, got);
    }
    omemo_puppet_close(d, &owner);
    return d != NULL;
}
