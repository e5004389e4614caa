#include "xep/encrypted.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Payload elements, by namespace. OMEMO's element holds a header and, for
 * a message someone wrote, a <payload/>. */
static const struct {
    const char *name, *ns, *scheme;
    bool needs_payload;
} schemes[] = {
    { "encrypted", NS_OMEMO_LEGACY, "OMEMO", true },
    { "encrypted", NS_OMEMO2, "OMEMO 2", true },
    { "openpgp", NS_OX, "OpenPGP", false },
    { "x", NS_PGP_LEGACY, "legacy OpenPGP", false },
};
#define N_SCHEMES (sizeof schemes / sizeof schemes[0])

/* XEP-0380 names the scheme of what the body cannot show. */
static const struct {
    const char *ns, *scheme;
} eme_names[] = {
    { "urn:xmpp:otr:0", "OTR" },
    { NS_OMEMO_LEGACY, "OMEMO" },
    { NS_OMEMO2, "OMEMO 2" },
    { NS_OX, "OpenPGP" },
    { NS_PGP_LEGACY, "legacy OpenPGP" },
};
#define N_EME (sizeof eme_names / sizeof eme_names[0])

#define OTR_MARK "?OTR"

const char *xencrypted_scheme(xmpp_stanza_t *msg)
{
    for (size_t i = 0; i < N_SCHEMES; i++) {
        xmpp_stanza_t *el = xmpp_stanza_get_child_by_name_and_ns(
            msg, schemes[i].name, schemes[i].ns);
        if (!el)
            continue;
        if (schemes[i].needs_payload &&
            !xmpp_stanza_get_child_by_name(el, "payload"))
            return NULL; /* key transport */
        return schemes[i].scheme;
    }
    xmpp_stanza_t *eme = xmpp_stanza_get_child_by_name_and_ns(msg,
                                                              "encryption",
                                                              NS_EME);
    const char *ns = eme ? xmpp_stanza_get_attribute(eme, "namespace") : NULL;
    for (size_t i = 0; ns && i < N_EME; i++)
        if (strcmp(ns, eme_names[i].ns) == 0)
            return eme_names[i].scheme;
    /* OTR has no element of its own: its messages are bodies that start
     * with this mark. */
    xmpp_stanza_t *body = xmpp_stanza_get_child_by_name(msg, "body");
    char *text = body ? xmpp_stanza_get_text(body) : NULL;
    bool otr = text && strncmp(text, OTR_MARK, strlen(OTR_MARK)) == 0;
    if (text)
        xmpp_free(xmpp_stanza_get_context(msg), text);
    return otr ? "OTR" : NULL;
}

void xencrypted_mark_decrypted_keeping(xmpp_ctx_t *ctx, xmpp_stanza_t *msg,
                                       const char *scheme,
                                       xmpp_stanza_t *original)
{
    xmpp_stanza_t *mark = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(mark, "decrypted");
    xmpp_stanza_set_ns(mark, NS_ISTHMUS_DECRYPTED);
    xmpp_stanza_set_attribute(mark, "scheme", scheme);
    if (original) {
        xmpp_stanza_t *copy = xmpp_stanza_copy(original);
        xmpp_stanza_add_child(mark, copy);
        xmpp_stanza_release(copy);
    }
    xmpp_stanza_add_child(msg, mark);
    xmpp_stanza_release(mark);
}

void xencrypted_mark_decrypted(xmpp_ctx_t *ctx, xmpp_stanza_t *msg,
                               const char *scheme)
{
    xencrypted_mark_decrypted_keeping(ctx, msg, scheme, NULL);
}

xmpp_stanza_t *xencrypted_kept_original(xmpp_stanza_t *msg)
{
    xmpp_stanza_t *mark = xmpp_stanza_get_child_by_name_and_ns(
        msg, "decrypted", NS_ISTHMUS_DECRYPTED);
    return mark ? xmpp_stanza_get_child_by_name(mark, "message") : NULL;
}

bool xencrypted_is_mark(xmpp_stanza_t *child)
{
    const char *name = xmpp_stanza_get_name(child);
    const char *ns = xmpp_stanza_get_ns(child);
    return name && ns && strcmp(name, "decrypted") == 0 &&
           strcmp(ns, NS_ISTHMUS_DECRYPTED) == 0;
}

const char *xencrypted_decrypted_from(xmpp_stanza_t *msg)
{
    xmpp_stanza_t *mark = xmpp_stanza_get_child_by_name_and_ns(
        msg, "decrypted", NS_ISTHMUS_DECRYPTED);
    const char *scheme = mark ? xmpp_stanza_get_attribute(mark, "scheme")
                              : NULL;
    return scheme && strcmp(scheme, "OMEMO") == 0 ? "OMEMO" : NULL;
}
