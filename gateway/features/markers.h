/* Read positions: Matrix m.receipt <-> XEP-0184 receipts and XEP-0333 chat markers. */
#ifndef ISTHMUS_GATEWAY_MARKERS_H
#define ISTHMUS_GATEWAY_MARKERS_H

#include <jansson.h>
#include <strophe.h>

struct gateway;
struct store_room;
struct xmsg;

struct mx_ephemeral;

/* One m.receipt ephemeral event from an appservice transaction. */
void receipts_matrix_ephemeral(struct gateway *gw,
                             const struct mx_ephemeral *ev);

/* Every message from an XMPP user to the gateway (not an error, not a
 * spoof): its XEP-0184 receipt or XEP-0333 marker, if any. */
void receipts_xmpp_message(struct gateway *gw, const struct xmsg *m);

/* A groupchat message a portal's MUC relayed (parsed into m): an XMPP
 * occupant's XEP-0333 marker, if any. */
void receipts_portal_message(struct gateway *gw,
                             const struct store_room *room,
                             const struct xmsg *m);

/* A message from XMPP was just stored as event_id: a Matrix read receipt
 * that named it before it was known is applied now. */
void receipts_message_stored(struct gateway *gw, const char *event_id);

#endif
