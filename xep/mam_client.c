#include "xep/mam_client.h"

#include "xep/mam.h"
#include "xep/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_field(xmpp_ctx_t *ctx, xmpp_stanza_t *form, const char *var,
                      const char *type, const char *value)
{
    xmpp_stanza_t *f = xml_add_child(ctx, form, "field", NULL);
    xmpp_stanza_set_attribute(f, "var", var);
    if (type)
        xmpp_stanza_set_attribute(f, "type", type);
    xml_add_text_child(ctx, f, "value", NULL, value);
}

xmpp_stanza_t *mam_query_build(xmpp_ctx_t *ctx, const char *queryid,
                               long long start_ms, long long end_ms, int max,
                               const char *after)
{
    xmpp_stanza_t *q = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(q, "query");
    xmpp_stanza_set_ns(q, NS_MAM);
    if (queryid)
        xmpp_stanza_set_attribute(q, "queryid", queryid);
    xmpp_stanza_t *form = xml_add_child(ctx, q, "x", NS_DATA_FORMS);
    xmpp_stanza_set_type(form, "submit");
    add_field(ctx, form, "FORM_TYPE", "hidden", NS_MAM);
    char stamp[40];
    if (start_ms >= 0) {
        mam_format_datetime(start_ms, stamp, sizeof stamp);
        add_field(ctx, form, "start", NULL, stamp);
    }
    if (end_ms >= 0) {
        mam_format_datetime(end_ms, stamp, sizeof stamp);
        add_field(ctx, form, "end", NULL, stamp);
    }
    xmpp_stanza_t *set = xml_add_child(ctx, q, "set", NS_RSM);
    char num[16];
    snprintf(num, sizeof num, "%d", max);
    xml_add_text_child(ctx, set, "max", NULL, num);
    if (after)
        xml_add_text_child(ctx, set, "after", NULL, after);
    return q;
}

int mam_result_read(xmpp_stanza_t *msg, struct mam_result *out)
{
    memset(out, 0, sizeof *out);
    out->ts_ms = -1;
    xmpp_stanza_t *r = xmpp_stanza_get_child_by_name_and_ns(msg, "result",
                                                            NS_MAM);
    xmpp_stanza_t *fwd = r ? xmpp_stanza_get_child_by_name_and_ns(
                                 r, "forwarded", NS_FORWARD)
                           : NULL;
    xmpp_stanza_t *inner = fwd ? xmpp_stanza_get_child_by_name(fwd, "message")
                               : NULL;
    if (!inner)
        return -1;
    out->queryid = xmpp_stanza_get_attribute(r, "queryid");
    out->archive_id = xmpp_stanza_get_attribute(r, "id");
    out->message = inner;
    xmpp_stanza_t *delay = xmpp_stanza_get_child_by_name_and_ns(fwd, "delay",
                                                                NS_DELAY);
    const char *stamp = delay ? xmpp_stanza_get_attribute(delay, "stamp")
                              : NULL;
    if (stamp)
        out->ts_ms = mam_parse_datetime(stamp);
    return 0;
}

int mam_fin_read(xmpp_stanza_t *iq, bool *complete, char **last)
{
    xmpp_stanza_t *fin = xmpp_stanza_get_child_by_name_and_ns(iq, "fin",
                                                              NS_MAM);
    if (!fin)
        return -1;
    const char *c = xmpp_stanza_get_attribute(fin, "complete");
    *complete = c && (strcmp(c, "true") == 0 || strcmp(c, "1") == 0);
    xmpp_stanza_t *set = xmpp_stanza_get_child_by_name_and_ns(fin, "set",
                                                              NS_RSM);
    xmpp_stanza_t *l = set ? xmpp_stanza_get_child_by_name(set, "last")
                           : NULL;
    *last = l ? xml_text(l) : NULL;
    return 0;
}
