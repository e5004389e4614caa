#include "xep/mam.h"

#include "common/mem.h"
#include "xep/xml.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_CLIENT "jabber:client"

/* ------------------------------------------------------------ datetime -- */

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

long long mam_parse_datetime(const char *s)
{
    /* CCYY-MM-DDThh:mm:ss, then [.sss…], then Z or ±hh:mm. */
    if (!s || strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' ||
        s[13] != ':' || s[16] != ':')
        return -1;
    int year = digits(s, 4), mon = digits(s + 5, 2), day = digits(s + 8, 2);
    int hour = digits(s + 11, 2), min = digits(s + 14, 2);
    int sec = digits(s + 17, 2);
    if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 ||
        hour < 0 || hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60)
        return -1;
    const char *p = s + 19;
    long long frac_ms = 0;
    if (*p == '.') {
        p++;
        int n = 0;
        for (; isdigit((unsigned char)*p); p++, n++)
            if (n < 3)
                frac_ms = frac_ms * 10 + (*p - '0');
        if (n == 0)
            return -1;
        for (; n < 3; n++)
            frac_ms *= 10;
    }
    long long offset_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh = digits(p + 1, 2);
        if (oh < 0 || p[3] != ':')
            return -1;
        int om = digits(p + 4, 2);
        if (om < 0 || oh > 23 || om > 59)
            return -1;
        offset_s = (long long)(oh * 3600 + om * 60) * (*p == '+' ? 1 : -1);
        p += 6;
    } else {
        return -1; /* XEP-0082 requires a zone */
    }
    if (*p)
        return -1;
    struct tm tm = { .tm_year = year - 1900, .tm_mon = mon - 1,
                     .tm_mday = day, .tm_hour = hour, .tm_min = min,
                     .tm_sec = sec };
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    return ((long long)t - offset_s) * 1000 + frac_ms;
}

void mam_format_datetime(long long ms, char *out, size_t size)
{
    if (ms < 0)
        ms = 0;
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char date[24];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%03dZ", date, (int)(ms % 1000));
}

/* --------------------------------------------------------------- query -- */

void mam_query_free(struct mam_query *q)
{
    free(q->queryid);
    free(q->with);
    free(q->before);
    free(q->after);
    memset(q, 0, sizeof *q);
    q->start_ms = q->end_ms = -1;
    q->max = -1;
}

/* The first <value/> of a form field, a copy, or NULL. */
static char *field_value(xmpp_stanza_t *field)
{
    return xml_child_text(field, "value", NULL);
}

static int parse_form(xmpp_stanza_t *form, struct mam_query *out,
                      const char **why)
{
    for (xmpp_stanza_t *f = xmpp_stanza_get_children(form); f;
         f = xmpp_stanza_get_next(f)) {
        const char *name = xmpp_stanza_get_name(f);
        const char *var = xmpp_stanza_get_attribute(f, "var");
        if (!name || strcmp(name, "field") != 0 || !var)
            continue;
        char *value = field_value(f);
        int bad = 0;
        if (strcmp(var, "FORM_TYPE") == 0) {
            bad = value && strcmp(value, NS_MAM) != 0;
            if (bad)
                *why = "the form is not a urn:xmpp:mam:2 query";
        } else if (strcmp(var, "with") == 0) {
            free(out->with);
            out->with = value && *value ? value : NULL;
            if (out->with)
                value = NULL;
        } else if (strcmp(var, "start") == 0 || strcmp(var, "end") == 0) {
            long long ms = value ? mam_parse_datetime(value) : -1;
            bad = ms < 0;
            if (bad)
                *why = "start and end must be XEP-0082 date-times";
            else if (var[0] == 's')
                out->start_ms = ms;
            else
                out->end_ms = ms;
        }
        /* Other fields (before-id, after-id, ids, full-text search) are not
         * advertised; clients only send what the form offered. */
        free(value);
        if (bad)
            return -1;
    }
    return 0;
}

static int parse_set(xmpp_stanza_t *set, struct mam_query *out,
                     const char **why)
{
    if (xmpp_stanza_get_child_by_name(set, "index")) {
        *why = "RSM <index/> is not supported; page with <before/> or "
               "<after/>";
        return -1;
    }
    char *max = xml_child_text(set, "max", NULL);
    if (max) {
        char *end;
        long v = strtol(max, &end, 10);
        int bad = !*max || *end || v < 0;
        free(max);
        if (bad) {
            *why = "RSM <max/> must be a non-negative integer";
            return -1;
        }
        out->max = v > 100000 ? 100000 : (int)v;
    }
    out->before = xml_child_text(set, "before", NULL);
    out->after = xml_child_text(set, "after", NULL);
    if (out->before && out->after) {
        *why = "RSM <before/> and <after/> exclude each other";
        return -1;
    }
    if (out->after && !*out->after) {
        *why = "RSM <after/> needs an id";
        return -1;
    }
    return 0;
}

int mam_query_parse(xmpp_stanza_t *query, struct mam_query *out,
                    const char **why)
{
    memset(out, 0, sizeof *out);
    out->start_ms = out->end_ms = -1;
    out->max = -1;
    const char *qid = xmpp_stanza_get_attribute(query, "queryid");
    out->queryid = qid ? xstrdup(qid) : NULL;
    xmpp_stanza_t *form = xmpp_stanza_get_child_by_name_and_ns(query, "x",
                                                                NS_DATA_FORMS);
    xmpp_stanza_t *set = xmpp_stanza_get_child_by_name_and_ns(query, "set",
                                                              NS_RSM);
    out->flip_page = xmpp_stanza_get_child_by_name(query, "flip-page") != NULL;
    if ((form && parse_form(form, out, why) < 0) ||
        (set && parse_set(set, out, why) < 0)) {
        mam_query_free(out);
        return -1;
    }
    if (out->start_ms >= 0 && out->end_ms >= 0 && out->end_ms < out->start_ms) {
        *why = "the end of the period is before its start";
        mam_query_free(out);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- results -- */

/* A copy of st with ns on its top element, so that a message built for the
 * component stream reads as a client stanza inside <forwarded/>. */
static xmpp_stanza_t *copy_with_ns(xmpp_stanza_t *st, const char *ns)
{
    xmpp_stanza_t *copy = xmpp_stanza_copy(st);
    xmpp_stanza_set_ns(copy, ns);
    return copy;
}

xmpp_stanza_t *mam_result_message(xmpp_ctx_t *ctx, const char *archive,
                                  const char *requester, const char *queryid,
                                  const char *archive_id, long long ts_ms,
                                  xmpp_stanza_t *msg)
{
    xmpp_stanza_t *m = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(m, "message");
    xmpp_stanza_set_from(m, archive);
    xmpp_stanza_set_to(m, requester);
    xmpp_stanza_t *r = xml_add_child(ctx, m, "result", NS_MAM);
    if (queryid)
        xmpp_stanza_set_attribute(r, "queryid", queryid);
    xmpp_stanza_set_attribute(r, "id", archive_id);
    xmpp_stanza_t *fwd = xml_add_child(ctx, r, "forwarded", NS_FORWARD);
    xmpp_stanza_t *delay = xml_add_child(ctx, fwd, "delay", NS_DELAY);
    char stamp[40];
    mam_format_datetime(ts_ms, stamp, sizeof stamp);
    xmpp_stanza_set_attribute(delay, "stamp", stamp);
    xmpp_stanza_t *inner = copy_with_ns(msg, NS_CLIENT);
    xmpp_stanza_add_child(fwd, inner);
    xmpp_stanza_release(inner);
    return m;
}

static xmpp_stanza_t *result_iq(xmpp_ctx_t *ctx, xmpp_stanza_t *iq)
{
    xmpp_stanza_t *res = xmpp_iq_new(ctx, "result", xmpp_stanza_get_id(iq));
    const char *from = xmpp_stanza_get_from(iq), *to = xmpp_stanza_get_to(iq);
    if (from)
        xmpp_stanza_set_to(res, from);
    if (to)
        xmpp_stanza_set_from(res, to);
    return res;
}

xmpp_stanza_t *mam_fin(xmpp_ctx_t *ctx, xmpp_stanza_t *iq, bool complete,
                       const char *first, const char *last)
{
    xmpp_stanza_t *res = result_iq(ctx, iq);
    xmpp_stanza_t *fin = xml_add_child(ctx, res, "fin", NS_MAM);
    if (complete)
        xmpp_stanza_set_attribute(fin, "complete", "true");
    xmpp_stanza_t *set = xml_add_child(ctx, fin, "set", NS_RSM);
    if (first && last) {
        xml_add_text_child(ctx, set, "first", NULL, first);
        xml_add_text_child(ctx, set, "last", NULL, last);
    }
    return res;
}

static void add_field(xmpp_ctx_t *ctx, xmpp_stanza_t *form, const char *var,
                      const char *type, const char *value)
{
    xmpp_stanza_t *f = xml_add_child(ctx, form, "field", NULL);
    xmpp_stanza_set_attribute(f, "var", var);
    xmpp_stanza_set_attribute(f, "type", type);
    if (value)
        xml_add_text_child(ctx, f, "value", NULL, value);
}

xmpp_stanza_t *mam_fields_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq)
{
    xmpp_stanza_t *res = result_iq(ctx, iq);
    xmpp_stanza_t *q = xml_add_child(ctx, res, "query", NS_MAM);
    xmpp_stanza_t *form = xml_add_child(ctx, q, "x", NS_DATA_FORMS);
    xmpp_stanza_set_type(form, "form");
    add_field(ctx, form, "FORM_TYPE", "hidden", NS_MAM);
    add_field(ctx, form, "with", "jid-single", NULL);
    add_field(ctx, form, "start", "text-single", NULL);
    add_field(ctx, form, "end", "text-single", NULL);
    return res;
}
