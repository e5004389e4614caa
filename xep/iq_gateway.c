#include "xep/iq_gateway.h"

#include "common/mem.h"
#include "xep/disco.h"
#include "xep/xml.h"

#include <stdlib.h>
#include <string.h>

xmpp_stanza_t *iq_gateway_prompt_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                        const char *desc, const char *prompt)
{
    xmpp_stanza_t *r = empty_result(ctx, iq);
    xmpp_stanza_t *q = xml_add_child(ctx, r, "query", NS_IQ_GATEWAY);
    xml_add_text_child(ctx, q, "desc", NULL, desc);
    xml_add_text_child(ctx, q, "prompt", NULL, prompt);
    return r;
}

char *iq_gateway_prompt_of(xmpp_stanza_t *iq)
{
    xmpp_stanza_t *q =
        xmpp_stanza_get_child_by_name_and_ns(iq, "query", NS_IQ_GATEWAY);
    char *text = q ? xml_child_text(q, "prompt", NULL) : NULL;
    if (!text)
        return NULL;
    /* Pasted addresses come with spaces and line breaks around them. */
    const char *ws = " \t\r\n";
    size_t start = strspn(text, ws), end = strlen(text);
    while (end > start && strchr(ws, text[end - 1]))
        end--;
    char *out = end > start ? xstrndup(text + start, end - start) : NULL;
    free(text);
    return out;
}

xmpp_stanza_t *iq_gateway_jid_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                     const char *jid)
{
    xmpp_stanza_t *r = empty_result(ctx, iq);
    xmpp_stanza_t *q = xml_add_child(ctx, r, "query", NS_IQ_GATEWAY);
    xml_add_text_child(ctx, q, "jid", NULL, jid);
    return r;
}
