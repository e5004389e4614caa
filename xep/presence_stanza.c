#include "xep/presence_stanza.h"

#include "common/mem.h"
#include "xep/xml.h"

#include <stdlib.h>
#include <string.h>

static char *clip(char *s, size_t max)
{
    if (!s || strlen(s) <= max)
        return s;
    size_t n = max;
    /* back up to the start of a UTF-8 sequence */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    s[n] = '\0';
    return s;
}

void xpresence_parse(xmpp_stanza_t *st, struct xpresence *out,
                     size_t max_text)
{
    memset(out, 0, sizeof *out);
    const char *type = xmpp_stanza_get_type(st);
    out->type = type ? xstrdup(type) : NULL;
    out->show = xml_child_text(st, "show", NULL);
    if (out->show && !*out->show) {
        free(out->show);
        out->show = NULL;
    }
    out->status = clip(xml_child_text(st, "status", NULL), max_text);
    out->nick = clip(xml_child_text(st, "nick", NS_NICK), max_text);
    if (out->nick && !*out->nick) {
        free(out->nick);
        out->nick = NULL;
    }
}

void xpresence_free(struct xpresence *p)
{
    free(p->type);
    free(p->show);
    free(p->status);
    free(p->nick);
    memset(p, 0, sizeof *p);
}

void xpresence_add_show(xmpp_ctx_t *ctx, xmpp_stanza_t *p, const char *show,
                        const char *status)
{
    if (show)
        xml_add_text_child(ctx, p, "show", NULL, show);
    if (status && *status)
        xml_add_text_child(ctx, p, "status", NULL, status);
}

xmpp_stanza_t *xpresence_build(xmpp_ctx_t *ctx, const char *from,
                               const char *to, const char *type,
                               const char *show, const char *status,
                               const char *nick)
{
    xmpp_stanza_t *p = xmpp_presence_new(ctx);
    xmpp_stanza_set_from(p, from);
    xmpp_stanza_set_to(p, to);
    if (type)
        xmpp_stanza_set_type(p, type);
    xpresence_add_show(ctx, p, type ? NULL : show, status);
    if (nick && *nick)
        xml_add_text_child(ctx, p, "nick", NS_NICK, nick);
    return p;
}
