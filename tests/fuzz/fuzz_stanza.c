/* libFuzzer target: XML from the XMPP server, parsed (expat via
 * libstrophe) into a message struct, translated to Matrix, and built back
 * into a stanza; and what portal mode reads from a MUC's stanzas
 * (occupant items and status codes, stanza-ids, delays, invitations). */
#include "gateway/translate.h"
#include "xep/avatar.h"
#include "xep/message.h"
#include "xep/muc.h"
#include "xep/presence_stanza.h"
#include "xep/xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static xmpp_ctx_t *ctx;

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
        struct translated_text t;
        if (translate_to_matrix(&m, 60000, &t, &why) == 0)
            free(t.body);
        xmpp_stanza_t *again = xmsg_build(ctx, &m);
        free(xmsg_stanza_to_xml(again));
        xmpp_stanza_release(again);
        xmsg_free(&m);
    }
    struct muc_user_info info;
    if (muc_user_info_parse(st, &info))
        (void)muc_has_code(&info, 110);
    const char *from = xmpp_stanza_get_from(st);
    (void)muc_stanza_id(st, from ? from : "");
    (void)muc_delay_ms(st);
    const char *inviter;
    (void)muc_invite_room(st, &inviter);
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
