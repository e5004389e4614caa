/* libFuzzer target: XML from the XMPP server, parsed (expat via
 * libstrophe) into a message struct, translated to Matrix, and built back
 * into a stanza; and what portal mode reads from a MUC's stanzas
 * (occupant items and status codes, stanza-ids, delays, invitations);
 * reactions, retractions and moderation requests, rebuilt too; and MAM
 * queries (XEP-0313 forms and RSM sets) with the results built from a
 * parsed message; and OMEMO's elements (an encrypted message's header,
 * device lists and bundles in pubsub results and notifications), built
 * back too. */
#include "gateway/core/formatting.h"
#include "gateway/core/translate.h"
#include "gateway/core/x2m.h"
#include "common/mem.h"
#include "xep/mam_client.h"
#include "xep/privilege.h"
#include "xep/avatars.h"
#include "xep/mam.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/omemo.h"
#include "xep/presence_stanza.h"
#include "xep/reactions.h"
#include "xep/retractions.h"
#include "xep/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static xmpp_ctx_t *ctx;

static char *some_event(void *ud, const char *xmpp_id)
{
    (void)ud;
    return xasprintf("$%s", xmpp_id);
}

static char *some_user(void *ud, const char *uri)
{
    (void)ud;
    return strncmp(uri, "xmpp:", 5) == 0 ? xstrdup("@u:hs") : NULL;
}

static const struct x2m_env env = { 60000, some_event, some_event, some_user,
                                    NULL };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ctx) {
        xmpp_initialize();
        ctx = xmpp_ctx_new(NULL, NULL);
    }
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    xmpp_stanza_t *st = xmpp_stanza_new_from_string(ctx, s);
    free(s);
    if (!st)
        return 0;
    struct xmsg m;
    const char *why;
    if (xmsg_parse(st, &m, &why) == 0) {
        /* The whole translation towards Matrix, every id "crossed" and
         * every mention resolved. */
        char *replaces = NULL;
        json_t *content = x2m_translate(&m, &env, &replaces, &why);
        json_decref(content);
        free(replaces);
        if (m.xhtml)
            free(fmt_sanitize_html(m.xhtml));
        xmpp_stanza_t *again = xmsg_build(ctx, &m);
        free(xmsg_stanza_to_xml(again));
        xmpp_stanza_t *res = mam_result_message(ctx, m.to, m.from, m.id,
                                                m.id ? m.id : "", 0, again);
        free(xml_serialize(res));
        xmpp_stanza_release(res);
        xmpp_stanza_release(again);
        xmsg_free(&m);
    }
    /* OMEMO: what a client or its server sends a puppet. */
    struct omemo_message om;
    xmpp_stanza_t *enc = omemo_encrypted_of(st);
    if (enc && omemo_message_parse(enc, &om, &why) == 0) {
        xmpp_stanza_t *again = xmpp_message_new(ctx, "chat", "a@b", "x");
        omemo_message_add(ctx, again, &om);
        free(xml_serialize(again));
        xmpp_stanza_release(again);
        omemo_message_free(&om);
    }
    xmpp_stanza_t *bare = omemo_message_stripped(ctx, st, true);
    xmpp_stanza_release(bare);
    /* OMEMO 2: the header's keys for one JID, the SCE envelope (here the
     * stanza's text read as one), the stripped copy. */
    xmpp_stanza_t *enc2 = omemo2_encrypted_of(st);
    if (enc2 && omemo2_message_parse(enc2, "bob%hs@gw", &om, &why) == 0) {
        xmpp_stanza_t *again = xmpp_message_new(ctx, "chat", "a@b", "x");
        omemo2_message_add(ctx, again, &om, "a@b");
        free(xml_serialize(again));
        xmpp_stanza_release(again);
        omemo_message_free(&om);
    }
    bare = omemo2_message_stripped(ctx, st);
    char *text = xml_serialize(st);
    (void)omemo2_envelope_open(ctx, text, bare, "a@b", "bob%hs@gw", &why);
    free(text);
    xmpp_stanza_release(bare);
    xmpp_stanza_t *items = NULL;
    (void)omemo_bundle_node_device(omemo_pubsub_node(st, &items));
    xmpp_stanza_t *item = omemo_first_item_payload(items);
    uint32_t *devices = NULL;
    if (omemo_devicelist_parse(item, &devices) >= 0)
        free(devices);
    if (omemo2_devices_parse(item, &devices) >= 0)
        free(devices);
    (void)omemo2_requested_item(items);
    struct omemo_bundle bundle2;
    if (item && omemo2_bundle_parse(item, &bundle2, &why) == 0) {
        xmpp_stanza_t *again = omemo2_bundle_build(ctx, &bundle2);
        free(xml_serialize(again));
        xmpp_stanza_release(again);
        omemo_bundle_free(&bundle2);
    }
    struct omemo_bundle bundle;
    if (item && omemo_bundle_parse(item, &bundle, &why) == 0) {
        xmpp_stanza_t *again = omemo_bundle_build(ctx, &bundle);
        free(xml_serialize(again));
        xmpp_stanza_release(again);
        omemo_bundle_free(&bundle);
    }
    struct muc_user_info info;
    if (muc_user_info_parse(st, &info))
        (void)muc_has_code(&info, 110);
    const char *from = xmpp_stanza_get_from(st);
    (void)xmsg_stanza_id_by(st, from ? from : "");
    (void)xmsg_delay_ms(st);
    /* What the catch-up reads from the server: a privileged message's
     * forwarded archive result, and a query's <fin/>. */
    xmpp_stanza_t *fwd = privilege_forwarded_message(st);
    struct mam_result mr;
    if (fwd && mam_result_read(fwd, &mr) == 0) {
        struct xmsg archived;
        if (xmsg_parse(mr.message, &archived, &why) == 0)
            xmsg_free(&archived);
    }
    bool complete;
    char *last = NULL;
    if (mam_fin_read(st, &complete, &last) == 0)
        free(last);
    const char *inviter;
    (void)muc_invite_room(st, &inviter);
    struct xreactions rx;
    if (xreactions_parse(st, &rx, &why) == 1) {
        xmpp_stanza_t *again = xmpp_message_new(ctx, "chat", "a@b", "x");
        xreactions_add(ctx, again, rx.id, (const char *const *)rx.keys, rx.n);
        free(xml_serialize(again));
        xmpp_stanza_release(again);
        xreactions_free(&rx);
    }
    char *retracted = xretract_target(st);
    if (retracted) {
        xmpp_stanza_t *again = xmpp_message_new(ctx, "chat", "a@b", "x");
        xretract_add(ctx, again, retracted, "room@muc/mod", "why");
        free(xml_serialize(again));
        xmpp_stanza_release(again);
        free(retracted);
    }
    char *mod_id, *mod_reason;
    if (xmoderate_parse(st, &mod_id, &mod_reason, &why) >= 0) {
        free(mod_id);
        free(mod_reason);
    }
    /* A MAM query: the stanza itself or an iq's payload. */
    xmpp_stanza_t *query = xmpp_stanza_get_child_by_name_and_ns(st, "query",
                                                                NS_MAM);
    struct mam_query q;
    if (mam_query_parse(query ? query : st, &q, &why) == 0) {
        char stamp[40];
        mam_format_datetime(q.start_ms, stamp, sizeof stamp);
        xmpp_stanza_t *fin = mam_fin(ctx, st, q.flip_page, q.before, q.after);
        xmpp_stanza_release(fin);
        mam_query_free(&q);
    }
    (void)mam_parse_datetime(xmpp_stanza_get_attribute(st, "stamp"));
    /* presence payloads and avatars (gateway/presence.c, avatars.c) */
    struct xpresence p;
    xpresence_parse(st, &p, 64);
    xpresence_free(&p);
    free(avatar_presence_hash(st));
    unsigned char *img;
    size_t len;
    char *type;
    if (avatar_vcard_photo(st, 4096, &img, &len, &type, &why) == 0) {
        free(img);
        free(type);
    }
    (void)avatar_pubsub_items_node(st);
    free(xml_serialize(st));
    xmpp_stanza_release(st);
    return 0;
}
