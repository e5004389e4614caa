/* Typing notifications: Matrix m.typing <-> XEP-0085 chat states. */
#include "gateway/typing.h"

#include "gateway/gateway.h"

void typing_matrix_ephemeral(struct gateway *gw, json_t *ev)
{
    (void)gw;
    (void)ev; /* not bridged yet */
}

void typing_xmpp_message(struct gateway *gw, xmpp_stanza_t *st,
                        const struct xmsg *m)
{
    (void)gw;
    (void)st;
    (void)m; /* not bridged yet */
}
