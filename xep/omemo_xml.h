/* What xep/omemo.c and xep/omemo2.c share: small readers and writers of
 * OMEMO's XML. Not for other files. */
#ifndef ISTHMUS_XEP_OMEMO_XML_H
#define ISTHMUS_XEP_OMEMO_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strophe.h>

#define OMEMO_MAX_KEYS 1000
#define OMEMO_MAX_KEY_BYTES 4096
#define OMEMO_MAX_PAYLOAD (1 << 20)

/* A decimal uint32 attribute value: true with *out. */
bool omemo_xml_u32(const char *s, uint32_t *out);
/* el's base64 text decoded into *out (malloc'd): its length, or -1. */
long omemo_xml_bytes(xmpp_stanza_t *el, size_t max, uint8_t **out);
void omemo_xml_set_u32(xmpp_stanza_t *el, const char *attr, uint32_t v);
/* Appends <name>base64</name> to parent; *el (if not NULL) is it. */
void omemo_xml_add_b64(xmpp_ctx_t *ctx, xmpp_stanza_t *parent,
                       const char *name, const uint8_t *data, size_t len,
                       xmpp_stanza_t **el);
/* A key of exactly want bytes from el's base64: 0, or -1. A 33-byte key
 * given as 32 (without its 0x05) gets it back. */
int omemo_xml_fixed(xmpp_stanza_t *el, uint8_t *out, size_t want);

#endif
