/* OMEMO messages between XMPP users and puppets: decrypted before the
 * stanza is parsed (so that every feature works encrypted without being
 * written twice), encrypted after the stanza is built (so that the
 * stanza outbox, and with it the disk, only ever holds the ciphertext). */
#include "gateway/features/omemo_state.h"
#include "gateway/features/trust.h"

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
 * text in (a legacy message's body; an OMEMO 2 envelope's content, whose
 * to affix must be `to`: the puppet, or the room for a group message),
 * with the gateway's mark. NULL with *why when an envelope does not
 * open. */
static xmpp_stanza_t *in_clear(struct gateway *gw, xmpp_stanza_t *st,
                               int version, const char *text,
                               const char *user, const char *to,
                               bool group, const char **why)
{
    xmpp_stanza_t *plain;
    if (version == OMEMO_2) {
        plain = omemo2_message_stripped(gw->xmpp, st);
        if (omemo2_envelope_open(gw->xmpp, text, plain, user, to, why) < 0) {
            xmpp_stanza_release(plain);
            return NULL;
        }
    } else {
        plain = omemo_message_stripped(gw->xmpp, st, false);
        xml_add_text_child(gw->xmpp, plain, "body", NULL, text);
    }
    /* A group message keeps its ciphertext for the room's other XMPP
     * occupants (room_pass_on). */
    xencrypted_mark_decrypted_keeping(gw->xmpp, plain, "OMEMO",
                                      group ? st : NULL);
    return plain;
}

static bool device_known(struct gateway *gw, int version, const char *user,
                         uint32_t id)
{
    uint32_t *ids = NULL;
    int n = omemo_user_devices(gw, version, user, &ids);
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
    int version = OMEMO_LEGACY;
    /* A message in both versions is read in the newer one. */
    if (omemo2_encrypted_of(st)) {
        enc = omemo2_encrypted_of(st);
        version = OMEMO_2;
    }
    if (!enc || !omemo_active(gw))
        return OMEMO_IN_PLAIN;
    const char *from = xmpp_stanza_get_from(st);
    bool group = is_groupchat(st);
    char *room_jid = NULL, *puppet = NULL;
    if (!from)
        return OMEMO_IN_PLAIN;
    if (group) {
        /* Read by a Matrix member's puppet it was encrypted for; from
         * someone not in the room, it goes on to be refused as such. */
        puppet = omemo_room_reader(gw, st, enc, version, &room_jid, why);
        if (!room_jid)
            return OMEMO_IN_PLAIN;
        if (!puppet) {
            free(room_jid);
            metrics_inc(CNT_OMEMO_UNDECRYPTABLE);
            return OMEMO_IN_FAILED;
        }
    } else if (!(puppet = puppet_of(gw, st, "to"))) {
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
    if ((version == OMEMO_2 ? omemo2_message_parse(enc, puppet, &m, why)
                            : omemo_message_parse(enc, &m, why)) < 0) {
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
    if (omemo_decrypt_key(d, version, user, m.sid, mine->data, mine->len,
                          mine->prekey, &key, &key_len, &replaced, why) < 0) {
        if (strcmp(*why, "the message was received before") == 0)
            out = OMEMO_IN_CONSUMED; /* a resend: bridged the first time */
        goto out;
    }
    if (!device_known(gw, version, user, m.sid)) {
        /* A device we did not know: it has a session now; learn the rest
         * of the user's devices too, so replies reach all of them. */
        omemo_user_device_add(gw, version, user, m.sid);
        trust_xmpp_devices_seen(gw, user, &m.sid, 1);
        omemo_peer_refresh(gw, puppet, user, NULL, NULL);
    }
    if (!m.payload) {
        out = OMEMO_IN_CONSUMED; /* key transport: a session, no text */
        goto out;
    }
    if ((version == OMEMO_2
             ? omemo2_payload_decrypt(key, key_len, m.payload, m.payload_len,
                                      &text, why)
             : omemo_payload_decrypt(key, key_len, m.iv, m.iv_len, m.payload,
                                     m.payload_len, &text, why)) < 0)
        goto out;
    if (!(*plain = in_clear(gw, st, version, text, user,
                            room_jid ? room_jid : puppet, group, why)))
        goto out;
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
    free(room_jid);
    return out;
}

/* ------------------------------------------------------------ outbound -- */

/* Which devices of the user get the message in which version: OMEMO 2
 * where the device is in that list and has a session; legacy for the
 * others that have one. A device without a session is fetched for the
 * next message. */
struct recipients {
    uint32_t *v2, *legacy;
    int n_v2, n_legacy;
};

static bool listed(const uint32_t *ids, int n, uint32_t id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static void recipients_of(struct gateway *gw, struct omemo_device *d,
                          const char *puppet, const char *user,
                          struct recipients *r)
{
    memset(r, 0, sizeof *r);
    uint32_t *v2 = NULL, *old = NULL;
    int n2 = omemo_user_devices(gw, OMEMO_2, user, &v2);
    int n3 = omemo_user_devices(gw, OMEMO_LEGACY, user, &old);
    bool missing = false;
    r->v2 = xcalloc((size_t)(n2 > 0 ? n2 : 1), sizeof *r->v2);
    r->legacy = xcalloc((size_t)(n3 > 0 ? n3 : 1), sizeof *r->legacy);
    for (int i = 0; i < n2; i++) {
        if (omemo_has_session(d, OMEMO_2, user, v2[i]))
            r->v2[r->n_v2++] = v2[i];
        else
            missing = true;
    }
    for (int i = 0; i < n3; i++) {
        if (listed(r->v2, r->n_v2, old[i]))
            continue;
        if (omemo_has_session(d, OMEMO_LEGACY, user, old[i]))
            r->legacy[r->n_legacy++] = old[i];
        else if (!listed(v2, n2, old[i]))
            missing = true;
    }
    free(v2);
    free(old);
    if (missing)
        omemo_peer_refresh(gw, puppet, user, NULL, NULL);
}

/* One key element per device, in that version. */
static int encrypt_keys(struct omemo_device *d, int version, const char *user,
                        const uint32_t *ids, int n, const uint8_t *key,
                        size_t key_len, struct omemo_key_el **keys)
{
    *keys = xcalloc((size_t)(n > 0 ? n : 1), sizeof **keys);
    int got = 0;
    for (int i = 0; i < n; i++) {
        const char *why;
        struct omemo_key_el *k = &(*keys)[got];
        if (omemo_encrypt_key(d, version, user, ids[i], key, key_len,
                              &k->data, &k->len, &k->prekey, &why) == 0) {
            k->rid = ids[i];
            got++;
        } else {
            log_warn("omemo: no key for device %u of %s: %s", ids[i], user,
                     why);
        }
    }
    return got;
}

bool omemo_can_encrypt_to(struct gateway *gw, const char *puppet_jid,
                          const char *user_bare)
{
    struct omemo_owner owner = { 0 };
    const char *why;
    struct omemo_device *d = omemo_puppet_open(gw, puppet_jid, &owner, &why);
    bool can = false;
    if (d) {
        uint32_t *v2 = NULL, *old = NULL;
        int n2 = omemo_user_devices(gw, OMEMO_2, user_bare, &v2);
        int n3 = omemo_user_devices(gw, OMEMO_LEGACY, user_bare, &old);
        for (int i = 0; i < n2 && !can; i++)
            can = omemo_has_session(d, OMEMO_2, user_bare, v2[i]);
        for (int i = 0; i < n3 && !can; i++)
            can = omemo_has_session(d, OMEMO_LEGACY, user_bare, old[i]);
        free(v2);
        free(old);
    }
    omemo_puppet_close(d, &owner);
    return can;
}

static bool has_devices(struct gateway *gw, const char *user)
{
    uint32_t *ids = NULL;
    int n = omemo_user_devices(gw, OMEMO_LEGACY, user, &ids);
    free(ids);
    if (n > 0)
        return true;
    n = omemo_user_devices(gw, OMEMO_2, user, &ids);
    free(ids);
    return n > 0;
}

/* The message with its file link made an aesgcm:// one (XEP-0454) and
 * its clear XEP-0066 data gone, when it shares a file from this gateway's
 * proxy; else a plain copy. Caller releases. */
static xmpp_stanza_t *with_sealed_file(struct gateway *gw, xmpp_stanza_t *st,
                                       const char *body)
{
    char *oob = omemo_oob_url(st);
    char *link = oob ? media_proxy_url_aesgcm(gw->media, oob) : NULL;
    const char *at = link ? strstr(body, oob) : NULL;
    xmpp_stanza_t *work;
    if (at) {
        char *with = xasprintf("%.*s%s%s", (int)(at - body), body, link,
                               at + strlen(oob));
        work = omemo_message_stripped(gw->xmpp, st, true);
        xml_add_text_child(gw->xmpp, work, "body", NULL, with);
        sodium_memzero(with, strlen(with));
        free(with);
    } else {
        work = xmpp_stanza_copy(st);
    }
    if (link)
        sodium_memzero(link, strlen(link));
    free(link);
    free(oob);
    return work;
}

/* Adds what OMEMO 2 alone gives a client without it: XEP-0380's name and
 * a fallback body (legacy OMEMO's element adds its own); a reaction or a
 * retraction gets one too, as XEP-0384 asks, since nothing in clear says
 * what it is. */
static void name_v2(xmpp_ctx_t *ctx, xmpp_stanza_t *out)
{
    xmpp_stanza_t *eme = xml_add_child(ctx, out, "encryption", NS_EME);
    xmpp_stanza_set_attribute(eme, "namespace", NS_OMEMO2_EL);
    xmpp_stanza_set_attribute(eme, "name", "OMEMO 2");
    xml_add_text_child(ctx, out, "body", NULL,
                       "This message is encrypted with OMEMO 2, which your "
                       "client does not support.");
}

xmpp_stanza_t *omemo_xmpp_encrypt(struct gateway *gw, xmpp_stanza_t *st)
{
    const char *name = xmpp_stanza_get_name(st);
    if (!omemo_active(gw) || !name || strcmp(name, "message") != 0 ||
        omemo_encrypted_of(st) || omemo2_encrypted_of(st))
        return st;
    char *body = xml_child_text(st, "body", NULL);
    const char *to = xmpp_stanza_get_to(st);
    bool group = is_groupchat(st);
    /* A reaction or a retraction has no body; OMEMO 2 carries it in its
     * envelope (legacy OMEMO only a body: it stays in clear for those
     * devices, as legacy clients send it). */
    bool about = !body && omemo2_has_inside(st);
    /* In a members-only room, a Matrix member's words leave as their
     * puppet's, to each XMPP occupant's devices. */
    char *puppet = !(body || about) || !to ? NULL
                   : group                 ? omemo_room_speaker(gw, st)
                                           : puppet_of(gw, st, "from");
    if (!puppet) {
        free(body);
        return st;
    }
    char *user = ids_jid_bare(to);
    /* OMEMO 2's to affix: the room, for a group message. */
    char *affix_to = group ? ids_jid_bare(xmpp_stanza_get_from(st))
                           : xstrdup(user);
    xmpp_stanza_t *out = st, *work = NULL;
    struct omemo_owner owner = { 0 };
    const char *why = NULL;
    struct recipients r = { 0 };
    struct omemo_message m2 = { 0 }, m3 = { 0 };
    uint8_t key_tag[OMEMO_KEY_LEN + OMEMO_TAG_LEN], iv[OMEMO_IV_LEN];
    uint8_t key_hmac[OMEMO2_KEY_HMAC_LEN];
    char *envelope = NULL, *text = NULL;
    omemo_peer_meet(gw, puppet, user, NULL, NULL); /* for the next one */
    struct omemo_device *d = has_devices(gw, user)
                                 ? omemo_puppet_open(gw, puppet, &owner, &why)
                                 : NULL;
    if (!d)
        goto done;
    recipients_of(gw, d, puppet, user, &r);
    if (r.n_v2 + r.n_legacy == 0) {
        log_warn("omemo: %s has OMEMO devices but no session with %s yet; "
                 "this message leaves in clear", user, puppet);
        goto done;
    }
    if (about && (r.n_legacy || !r.n_v2))
        goto done; /* a legacy device could not read it encrypted */
    work = body ? with_sealed_file(gw, st, body) : xmpp_stanza_copy(st);
    text = xml_child_text(work, "body", NULL);
    m3.sid = m2.sid = omemo_device_id(d);
    if (r.n_legacy && text &&
        omemo_payload_encrypt(text, strlen(text), key_tag, iv, &m3.payload,
                              &m3.payload_len) == 0) {
        m3.iv = iv;
        m3.iv_len = sizeof iv;
        m3.n_keys = encrypt_keys(d, OMEMO_LEGACY, user, r.legacy, r.n_legacy,
                                 key_tag, sizeof key_tag, &m3.keys);
    }
    if (r.n_v2) {
        envelope = omemo2_envelope(gw->xmpp, work, puppet, affix_to);
        if (omemo2_payload_encrypt(envelope, strlen(envelope), key_hmac,
                                   &m2.payload, &m2.payload_len) == 0)
            m2.n_keys = encrypt_keys(d, OMEMO_2, user, r.v2, r.n_v2,
                                     key_hmac, sizeof key_hmac, &m2.keys);
    }
    if (m2.n_keys + m3.n_keys == 0)
        goto done;
    /* With a legacy-only device among the user's, what legacy OMEMO
     * leaves in clear (corrections, replies...) stays in clear. */
    out = m3.n_keys ? omemo_message_stripped(gw->xmpp, work, true)
                    : omemo2_message_stripped(gw->xmpp, work);
    if (m3.n_keys)
        omemo_message_add(gw->xmpp, out, &m3);
    if (m2.n_keys) {
        omemo2_message_add(gw->xmpp, out, &m2, user);
        if (!m3.n_keys)
            name_v2(gw->xmpp, out);
    }
    metrics_inc(CNT_OMEMO_ENCRYPTED);
done:
    sodium_memzero(key_tag, sizeof key_tag);
    sodium_memzero(key_hmac, sizeof key_hmac);
    m3.iv = NULL; /* on the stack */
    omemo_message_free(&m3);
    omemo_message_free(&m2);
    free(r.v2);
    free(r.legacy);
    if (envelope)
        sodium_memzero(envelope, strlen(envelope));
    free(envelope);
    if (text)
        sodium_memzero(text, strlen(text));
    free(text);
    if (work)
        xmpp_stanza_release(work);
    omemo_puppet_close(d, &owner);
    if (body)
        sodium_memzero(body, strlen(body));
    free(body);
    free(user);
    free(affix_to);
    free(puppet);
    return out;
}
