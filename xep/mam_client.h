/* The asking side of Message Archive Management (XEP-0313, with XEP-0059
 * paging): a query for a time window built from plain values, and the
 * answer's result messages and closing <fin/> read back. xep/mam.c is the
 * answering side. Pure: no I/O. */
#ifndef ISTHMUS_XEP_MAM_CLIENT_H
#define ISTHMUS_XEP_MAM_CLIENT_H

#include <stdbool.h>
#include <strophe.h>

/* <query xmlns='urn:xmpp:mam:2' queryid=…> with a form for start and end
 * (ms since the epoch; -1 leaves one out) and an RSM set asking for at
 * most max messages after archive id `after` (NULL: from the start of
 * the window). Caller releases. */
xmpp_stanza_t *mam_query_build(xmpp_ctx_t *ctx, const char *queryid,
                               long long start_ms, long long end_ms, int max,
                               const char *after);

/* One archived message, as a result message carries it. Strings and the
 * stanza point into the message read. */
struct mam_result {
    const char *queryid;    /* NULL if the result has none */
    const char *archive_id; /* the archive's id for it, NULL if none */
    long long ts_ms;        /* its <delay/> stamp, -1 if none */
    xmpp_stanza_t *message; /* the archived <message/> */
};
/* Reads <message><result queryid id><forwarded><delay stamp/><message/>
 * </forwarded></result></message>: 0, or -1 if msg carries no result. */
int mam_result_read(xmpp_stanza_t *msg, struct mam_result *out);

/* Reads the <fin/> an answer (an iq result) closes with: whether the
 * window is complete, and the RSM <last/> archive id of the page (*last:
 * a copy the caller frees, NULL for an empty page). 0, or -1 without a
 * <fin/>. */
int mam_fin_read(xmpp_stanza_t *iq, bool *complete, char **last);

#endif
