/* Service discovery (XEP-0030), software version (XEP-0092), ping
 * (XEP-0199), vCard (XEP-0054) and presence subscription answers: the
 * replies an entity on the component gives about itself. */
#ifndef ISTHMUS_XEP_DISCO_H
#define ISTHMUS_XEP_DISCO_H

#include <stdbool.h>
#include <strophe.h>

#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define NS_VERSION "jabber:iq:version"
#define NS_PING "urn:xmpp:ping"
#define NS_VCARD "vcard-temp"

struct disco_identity {
    const char *category;
    const char *type;
    const char *name; /* may be NULL */
};

#define NS_CAPS "http://jabber.org/protocol/caps"

/* XEP-0115: the verification string (SHA-1, base64) of an entity with
 * one identity and these features; caller frees. */
char *caps_ver(const struct disco_identity *identity,
               const char *const *features);
/* Adds <c xmlns=caps hash=sha-1 node ver/> to a presence. */
void caps_add(xmpp_ctx_t *ctx, xmpp_stanza_t *presence, const char *node,
              const char *ver);

/* Each returns a stanza the caller releases; `iq` is the request. */
xmpp_stanza_t *disco_info_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                 const struct disco_identity *identity,
                                 const char *const *features);
xmpp_stanza_t *disco_items_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq);
/* Whether a disco#info result (the whole iq) lists feature `var`. */
bool disco_has_feature(xmpp_stanza_t *result, const char *var);
xmpp_stanza_t *version_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                              const char *name, const char *version);
/* An empty result: answers ping and any set that needs no payload. */
xmpp_stanza_t *empty_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq);
/* fn and nickname may be NULL. */
xmpp_stanza_t *vcard_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq, const char *fn,
                            const char *nickname);
/* Reads FN (or NICKNAME) out of a vCard result; caller frees, may be NULL. */
char *vcard_display_name(xmpp_stanza_t *result);
/* <presence type=…/> from → to; caller releases. type may be NULL. */
xmpp_stanza_t *presence_new(xmpp_ctx_t *ctx, const char *from, const char *to,
                            const char *type);

#endif
