/* Delivery across a crash of the component link: what the XMPP server
 * grants the gateway (XEP-0356) and what the gateway can therefore
 * guarantee after a start or a reconnection.
 *
 * XEP-0114 has no acknowledgements and neither Prosody nor ejabberd offers
 * XEP-0198 on component streams (doc/delivery-component-link.md), so a
 * message written to the gateway's socket as it dies is lost, and a stanza
 * the gateway replays after a crash may already have been delivered. The
 * way to close that window is to read the users' own archives (XEP-0313)
 * through an iq permission for urn:xmpp:mam:2. This file takes the
 * server's advertisement and says, once per process, what holds. */
#ifndef ISTHMUS_GATEWAY_CATCHUP_H
#define ISTHMUS_GATEWAY_CATCHUP_H

#include <stdbool.h>
#include <strophe.h>

struct gateway;
struct catchup;

/* The state lives in gw->catchup; catchup_free releases it. */
struct catchup *catchup_new(void);
void catchup_free(struct catchup *c);

/* The component (re)connected: the advertisement, if any, comes next. */
void catchup_on_connected(struct gateway *gw);
/* Takes the server's <privilege/> advertisement; returns true when st was
 * one (the caller then does nothing else with it). */
bool catchup_take_stanza(struct gateway *gw, xmpp_stanza_t *st);
/* True when the server advertised an iq permission that lets the gateway
 * query its users' archives (an iq set in urn:xmpp:mam:2). */
bool catchup_archive_permitted(const struct gateway *gw);

#endif
