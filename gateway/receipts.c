/* Read positions: Matrix m.receipt <-> XEP-0184 receipts and XEP-0333 chat markers. */
#include "gateway/receipts.h"

#include "gateway/gateway.h"

void receipts_matrix_ephemeral(struct gateway *gw, json_t *ev)
{
    (void)gw;
    (void)ev; /* not bridged yet */
}

void receipts_xmpp_message(struct gateway *gw, xmpp_stanza_t *st,
                          const struct xmsg *m)
{
    (void)gw;
    (void)st;
    (void)m; /* not bridged yet */
}
