/* Delivery across a crash of the component link: what the XMPP server
 * grants the gateway (XEP-0356) and, where it grants reading its users'
 * archives, the catch-up that closes the window.
 *
 * XEP-0114 has no acknowledgements and neither Prosody nor ejabberd offers
 * XEP-0198 on component streams (doc/delivery-component-link.md), so a
 * message written to the gateway's socket as it dies is lost, and a stanza
 * the gateway replays after a crash may already have been delivered. With
 * an iq permission for urn:xmpp:mam:2, after a start or a reconnection
 * the gateway reads the archives (XEP-0313) of the server's users who were
 * active just before the link went down, for the minute around that
 * moment: what they sent to the gateway's addresses and it never took in
 * is taken in now (a resend of what it did take in is recognised as
 * always, by sender, recipient and id), and a stanza waiting in its outbox
 * that the recipient's archive already holds is not sent again. Meanwhile
 * stanzas to XMPP wait, and messages from those users wait behind what
 * the archives give back, so the order holds. Without the permission the
 * gateway says once, at start-up, what it cannot guarantee. */
#ifndef ISTHMUS_GATEWAY_CATCHUP_H
#define ISTHMUS_GATEWAY_CATCHUP_H

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>

struct gateway;
struct catchup;

/* Takes a message in as if it had just arrived (the edge's own path):
 * ts_ms is when it was sent (an archive's stamp), or 0 for a live message
 * that waited. Returns true when it was new, false when it was known (a
 * resend) or refused. The catch-up does not release st. */
typedef bool catchup_take_in_fn(struct gateway *gw, xmpp_stanza_t *st,
                                int64_t ts_ms);

/* The state lives in gw->catchup; catchup_free releases it. take_in is
 * the loop's (it names the edge, which this floor may not). */
struct catchup *catchup_new(catchup_take_in_fn *take_in);
void catchup_free(struct catchup *c);

/* The component (re)connected: stanzas to XMPP wait until the server's
 * advertisement has come (or has not) and any catch-up is done. */
void catchup_on_connected(struct gateway *gw);
/* The component link went down: the catch-up after the reconnection
 * reads the archives around this moment. */
void catchup_on_disconnected(struct gateway *gw);
/* Takes the server's <privilege/> advertisement and the archive results
 * the catch-up asked for; returns true when st was one (the caller then
 * does nothing else with it). */
bool catchup_take_stanza(struct gateway *gw, xmpp_stanza_t *st);
/* A message from `from` (a full JID) while the catch-up reads that user's
 * archive: kept (a copy of st) and taken in after what the archive gives
 * back. Returns true when kept; costs nothing when no catch-up runs. */
bool catchup_defer(struct gateway *gw, xmpp_stanza_t *st, const char *from);
/* Once a loop turn: keeps the mark of when the gateway was last alive,
 * which bounds the catch-up's window after a crash. */
void catchup_tick(struct gateway *gw);
/* True when the server advertised an iq permission that lets the gateway
 * query its users' archives (an iq set in urn:xmpp:mam:2). */
bool catchup_archive_permitted(const struct gateway *gw);

#endif
