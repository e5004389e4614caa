/* OMEMO messages between XMPP users and puppets: decrypted before the
 * stanza is parsed (so that every feature works encrypted without being
 * written twice), encrypted after the stanza is built (so that the
 * stanza outbox, and with it the disk, only ever holds the ciphertext). */
#include "gateway/features/omemo_state.h"

#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "gateway/base/metrics.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/core/ids.h"
#include "gateway/features/media.h"
#include "xep/encrypted.h"
#include "xep/omemo.h"
#include "xep/xml.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* The bare JID of the puppet st is addressed to (attr "to") or comes from
 * ("from"), or NULL when it is not a Matrix user's JID. Caller frees. */
static char *puppet_of(struct gateway *gw, xmpp_stanza_t *st,
                       const char *attr)
{
    const char *jid = xmpp_stanza_get_attribute(st, attr);
    if (!jid)
        return NULL;
    char *bare = ids_jid_bare(jid), *mxid = NULL;
    enum ids_matrix_kind kind;
    const char *why;
    if (ids_jid_to_matrix(&gw->ids, bare, &mxid, &kind, &why) < 0 ||
        kind != IDS_MATRIX_USER) {
        free(bare);
        bare = NULL;
    }
    free(mxid);
    return bare;
}

static bool is_groupchat(xmpp_stanza_t *st)
{
    const char *type = xmpp_stanza_get_type(st);
    return type && strcmp(type, "groupchat") == 0;
}

/* The stanza as if it had been sent in clear: the OMEMO parts out, the
 * text in as the body. */
static xmpp_stanza_t *in_clear(struct gateway *gw, xmpp_stanza_t *st,
                               const char *text)
{
    xmpp_stanza_t *plain = omemo_message_stripped(gw->xmpp, st, false);
    xml_add_text_child(gw->xmpp, plain, "body", NULL, text);
    xencrypted_mark_decrypted(gw->xmpp, plain, "OMEMO");
    return plain;
}

static bool device_known(struct gateway *gw, const char *user, uint32_t id)
{
    uint32_t *ids = NULL;
    int n = omemo_user_devices(gw, user, &ids);
    bool known = false;
    for (int i = 0; i < n && !known; i++)
        known = ids[i] == id;
    free(ids);
    return known;
}

enum omemo_inbound omemo_xmpp_decrypt(struct gateway *gw, xmpp_stanza_t *st,
                                      xmpp_stanza_t **plain, const char **why)
{
    *plain = NULL;
    xmpp_stanza_t *enc = omemo_encrypted_of(st);
    if (!enc || !omemo_active(gw) || is_groupchat(st))
        return OMEMO_IN_PLAIN;
    char *puppet = puppet_of(gw, st, "to");
    const char *from = xmpp_stanza_get_from(st);
    if (!puppet || !from) {
        free(puppet);
        return OMEMO_IN_PLAIN;
    }
    char *user = ids_jid_bare(from);
    enum omemo_inbound out = OMEMO_IN_FAILED;
    struct omemo_message m;
    struct omemo_owner owner = { 0 };
    struct omemo_device *d = NULL;
    uint8_t *key = NULL;
    size_t key_len = 0;
    char *text = NULL;
    if (omemo_message_parse(enc, &m, why) < 0) {
        memset(&m, 0, sizeof m);
        goto out;
    }
    if (!(d = omemo_puppet_open(gw, puppet, &owner, why)))
        goto out;
    const struct omemo_key_el *mine = NULL;
    for (int i = 0; i < m.n_keys && !mine; i++)
        if (m.keys[i].rid == omemo_device_id(d))
            mine = &m.keys[i];
    if (!mine) {
        *why = "it was not encrypted for the gateway's device of this "
               "contact (your client may hold an old device list: fetch "
               "the contact's devices again)";
        if (!m.payload)
            out = OMEMO_IN_CONSUMED; /* key transport: nobody wrote it */
        goto out;
    }
    bool replaced = false;
    if (omemo_decrypt_key(d, user, m.sid, mine->data, mine->len, mine->prekey,
                          &key, &key_len, &replaced, why) < 0) {
        if (strcmp(*why, "the message was received before") == 0)
            out = OMEMO_IN_CONSUMED; /* a resend: bridged the first time */
        goto out;
    }
    if (!device_known(gw, user, m.sid)) {
        /* A device we did not know: it has a session now; learn the rest
         * of the user's devices too, so replies reach all of them. */
        omemo_user_device_add(gw, user, m.sid);
        omemo_peer_refresh(gw, puppet, user, NULL, NULL);
    }
    if (!m.payload) {
        out = OMEMO_IN_CONSUMED; /* key transport: a session, no text */
        goto out;
    }
    if (omemo_payload_decrypt(key, key_len, m.iv, m.iv_len, m.payload,
                              m.payload_len, &text, why) < 0)
        goto out;
    *plain = in_clear(gw, st, text);
    metrics_inc(CNT_OMEMO_DECRYPTED);
    out = OMEMO_IN_DECRYPTED;
out:
    if (out == OMEMO_IN_FAILED)
        metrics_inc(CNT_OMEMO_UNDECRYPTABLE);
    if (key)
        sodium_memzero(key, key_len);
    free(key);
    if (text)
        sodium_memzero(text, strlen(text));
    free(text);
    omemo_message_free(&m);
    omemo_puppet_close(d, &owner);
    free(user);
    free(puppet);
    return out;
}

/* ------------------------------------------------------------ outbound -- */

/* Key elements for every device of the user the puppet has a session
 * with; a device without one is fetched for the next message. */
static int keys_for(struct gateway *gw, struct omemo_device *d,
                    const char *puppet, const char *user,
                    const uint8_t *key_tag, size_t key_len,
                    struct omemo_key_el **keys)
{
    uint32_t *ids = NULL;
    int n = omemo_user_devices(gw, user, &ids), got = 0;
    bool missing = false;
    *keys = n > 0 ? xcalloc((size_t)n, sizeof **keys) : NULL;
    for (int i = 0; i < n; i++) {
        const char *why;
        struct omemo_key_el *k = &(*keys)[got];
        if (!omemo_has_session(d, user, ids[i])) {
            missing = true;
            continue;
        }
        if (omemo_encrypt_key(d, user, ids[i], key_tag, key_len, &k->data,
                              &k->len, &k->prekey, &why) == 0) {
            k->rid = ids[i];
            got++;
        } else {
            log_warn("omemo: no key for device %u of %s: %s", ids[i], user,
                     why);
        }
    }
    free(ids);
    if (missing)
        omemo_peer_refresh(gw, puppet, user, NULL, NULL);
    return got;
}

bool omemo_can_encrypt_to(struct gateway *gw, const char *puppet_jid,
                          const char *user_bare)
{
    uint32_t *ids = NULL;
    int n = omemo_user_devices(gw, user_bare, &ids);
    bool can = false;
    struct omemo_owner owner = { 0 };
    const char *why;
    struct omemo_device *d = n > 0 ? omemo_puppet_open(gw, puppet_jid, &owner,
                                                       &why)
                                   : NULL;
    for (int i = 0; d && i < n && !can; i++)
        can = omemo_has_session(d, user_bare, ids[i]);
    omemo_puppet_close(d, &owner);
    free(ids);
    return can;
}

xmpp_stanza_t *omemo_xmpp_encrypt(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *name = xmpp_stanza_get_name(st);
    if (!omemo_active(gw) || !name || strcmp(name, "message") != 0 ||
        is_groupchat(st) || omemo_encrypted_of(st))
        return st;
    char *body = xml_child_text(st, "body", NULL);
    const char *to = xmpp_stanza_get_to(st);
    char *puppet = body && to ? puppet_of(gw, st, "from") : NULL;
    if (!puppet) {
        free(body);
        return st;
    }
    char *user = ids_jid_bare(to);
    xmpp_stanza_t *out = st;
    char *oob = NULL, *link = NULL;
    struct omemo_owner owner = { 0 };
    const char *why = NULL;
    uint32_t *ids = NULL;
    int n = omemo_user_devices(gw, user, &ids);
    free(ids);
    if (n <= 0)
        omemo_peer_meet(gw, puppet, user, NULL, NULL); /* the next one */
    struct omemo_device *d = n > 0 ? omemo_puppet_open(gw, puppet, &owner, &why)
                                   : NULL;
    if (!d)
        goto close;
    /* A file from Matrix: its link becomes an aesgcm:// one (XEP-0454),
     * the file served encrypted under a key only this message carries;
     * the clear link in the XEP-0066 data goes. */
    oob = omemo_oob_url(st);
    link = oob ? media_proxy_url_aesgcm(gw->media, oob) : NULL;
    char *at = link ? strstr(body, oob) : NULL;
    if (at) {
        char *with = xasprintf("%.*s%s%s", (int)(at - body), body, link,
                               at + strlen(oob));
        sodium_memzero(body, strlen(body));
        free(body);
        body = with;
    }
    uint8_t key_tag[OMEMO_KEY_LEN + OMEMO_TAG_LEN], iv[OMEMO_IV_LEN];
    struct omemo_message m = { .sid = omemo_device_id(d), .iv = iv,
                               .iv_len = sizeof iv };
    if (omemo_payload_encrypt(body, strlen(body), key_tag, iv, &m.payload,
                              &m.payload_len) < 0) {
        log_error("omemo: AES-GCM failed");
        goto close;
    }
    m.n_keys = keys_for(gw, d, puppet, user, key_tag, sizeof key_tag,
                        &m.keys);
    if (m.n_keys > 0) {
        out = omemo_message_stripped(gw->xmpp, st, at != NULL);
        omemo_message_add(gw->xmpp, out, &m);
        metrics_inc(CNT_OMEMO_ENCRYPTED);
    } else {
        log_warn("omemo: %s has OMEMO devices but no session with %s yet; "
                 "this message leaves in clear", user, puppet);
    }
    sodium_memzero(key_tag, sizeof key_tag);
    m.iv = NULL; /* on the stack */
    omemo_message_free(&m);
close:
    omemo_puppet_close(d, &owner);
    if (link)
        sodium_memzero(link, strlen(link));
    free(link);
    free(oob);
    if (body)
        sodium_memzero(body, strlen(body));
    free(body);
    free(user);
    free(puppet);
    return out;
}
