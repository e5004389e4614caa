/* Message Archive Management (XEP-0313, urn:xmpp:mam:2) with Result Set
 * Management paging (XEP-0059): a query read into a plain struct, and the
 * result messages, the closing <fin/> and the field discovery answer
 * built from plain values. Pure: no I/O. */
#ifndef ISTHMUS_XEP_MAM_H
#define ISTHMUS_XEP_MAM_H

#include <stdbool.h>
#include <strophe.h>

#define NS_MAM "urn:xmpp:mam:2"
#define NS_RSM "http://jabber.org/protocol/rsm"
#define NS_FORWARD "urn:xmpp:forward:0"
#define NS_DATA_FORMS "jabber:x:data"

struct mam_query {
    char *queryid;      /* echoed in every result; may be NULL */
    char *with;         /* the "with" filter (a JID); may be NULL */
    long long start_ms; /* the "start" filter, ms since the epoch; -1 none */
    long long end_ms;   /* the "end" filter; -1 none */
    int max;            /* RSM <max/>; -1 when absent */
    /* RSM <before/>: NULL when absent, "" for an empty <before/> (the last
     * page), else the archive id the page ends before. */
    char *before;
    char *after;        /* RSM <after/>: NULL when absent */
    bool flip_page;     /* XEP-0313 <flip-page/>: newest first in the page */
};

/* Reads a <query xmlns='urn:xmpp:mam:2'/> element (its form and its RSM
 * set) into out; every string is a copy (mam_query_free). Returns -1 with
 * *why set when the query asks for something malformed or unsupported
 * (a bad timestamp, a foreign FORM_TYPE, both <before/> and <after/>, an
 * RSM <index/>); out is then left empty. */
int mam_query_parse(xmpp_stanza_t *query, struct mam_query *out,
                    const char **why);
void mam_query_free(struct mam_query *q);

/* XEP-0082 date-time ("2026-11-22T10:00:00Z", with optional fraction and
 * numeric offset) to ms since the epoch; -1 if malformed. */
long long mam_parse_datetime(const char *s);
/* ms since the epoch to "2026-11-22T10:00:00.123Z"; out holds >= 32. */
void mam_format_datetime(long long ms, char *out, size_t size);

/* One archived message for the requester:
 * <message from=archive to=requester><result queryid=… id=archive_id>
 * <forwarded><delay stamp=…/>msg</forwarded></result></message>.
 * msg (a built <message/>) is copied in with the jabber:client namespace,
 * as forwarded stanzas carry it; the caller still releases msg and
 * releases the returned stanza. queryid may be NULL. */
xmpp_stanza_t *mam_result_message(xmpp_ctx_t *ctx, const char *archive,
                                  const char *requester, const char *queryid,
                                  const char *archive_id, long long ts_ms,
                                  xmpp_stanza_t *msg);
/* The iq result that closes a query: <fin complete=…> with the RSM
 * <first/> and <last/> archive ids of the page (both NULL for an empty
 * page). Caller releases. */
xmpp_stanza_t *mam_fin(xmpp_ctx_t *ctx, xmpp_stanza_t *iq, bool complete,
                       const char *first, const char *last);
/* The answer to <iq type='get'><query xmlns='urn:xmpp:mam:2'/></iq>: the
 * form fields a query may use. Caller releases. */
xmpp_stanza_t *mam_fields_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq);

#endif
