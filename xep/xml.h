/* Small helpers over libstrophe's stanza tree, shared by the xep/ files. */
#ifndef ISTHMUS_XEP_XML_H
#define ISTHMUS_XEP_XML_H

#include "common/strbuf.h"

#include <stdbool.h>
#include <strophe.h>

/* Namespaces more than one XEP module writes: XEP-0203 delayed delivery
 * (MAM results, MUC history, any delayed message) and XEP-0428 fallback
 * indication (replies, retractions). */
#define NS_DELAY "urn:xmpp:delay"
#define NS_FALLBACK "urn:xmpp:fallback:0"

/* Appends <name xmlns=ns/> (ns may be NULL) to parent and returns it; the
 * parent owns it, so the caller does not release it. */
xmpp_stanza_t *xml_add_child(xmpp_ctx_t *ctx, xmpp_stanza_t *parent,
                             const char *name, const char *ns);
/* The same with a text body. */
xmpp_stanza_t *xml_add_text_child(xmpp_ctx_t *ctx, xmpp_stanza_t *parent,
                                  const char *name, const char *ns,
                                  const char *text);
/* A copy of st (its name and attributes) with every child for which drop
 * says true left out. Caller releases. */
xmpp_stanza_t *xml_copy_without(xmpp_ctx_t *ctx, xmpp_stanza_t *st,
                                bool (*drop)(xmpp_stanza_t *child, void *ud),
                                void *ud);
/* A copy of el's text (its text children, concatenated): "" when it has
 * none. Caller frees. */
char *xml_text(xmpp_stanza_t *el);
/* A copy of the text of parent's first child called name (in ns, if not
 * NULL): "" for an empty element, NULL if there is none. Caller frees. */
char *xml_child_text(xmpp_stanza_t *parent, const char *name, const char *ns);

/* The stanza as XML text; caller frees. Every message crosses this twice
 * (the outbox copy on the way in, the stanza outbox on the way out), so it
 * writes into one growing buffer instead of libstrophe's
 * xmpp_stanza_to_text, which formats each piece with snprintf. */
char *xml_serialize(xmpp_stanza_t *st);
/* The same, appended to sb. */
void xml_serialize_into(struct strbuf *sb, xmpp_stanza_t *st);
/* A XEP-0082 date-time ("2026-11-22T10:00:00Z") in ms since the epoch,
 * or -1 if malformed. Fractions and zones other than Z are ignored. */
long long xml_datetime_ms(const char *s);

/* Base64 (RFC 4648, with padding) of len bytes; caller frees. */
char *xml_base64(const unsigned char *data, size_t len);
/* Decodes text (whitespace allowed) into *out (malloc'd, the caller
 * frees): its length, or -1 when it is not base64 or decodes to more than
 * max bytes. */
long xml_unbase64(const char *text, size_t max, unsigned char **out);
/* <iq type=result><pubsub><items node><item id/></items></pubsub></iq> in
 * reply to iq; *item is the item, for the payload. Caller releases. */
xmpp_stanza_t *xml_items_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                const char *node, const char *id,
                                xmpp_stanza_t **item);

#endif
