/* Presence: Matrix m.presence <-> XMPP presence. */
#include "gateway/presence.h"

#include "gateway/gateway.h"

void presence_matrix_ephemeral(struct gateway *gw, json_t *ev)
{
    (void)gw;
    (void)ev; /* not bridged yet */
}

void presence_xmpp_presence(struct gateway *gw, xmpp_stanza_t *st)
{
    (void)gw;
    (void)st; /* not bridged yet */
}
