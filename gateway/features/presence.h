/* Presence: Matrix m.presence <-> XMPP presence, and the names that travel
 * with it (XEP-0172 nick <-> display name).
 *
 * Every change is stored per source (DESIGN.md §6) and coalesced per
 * person: however fast a person's state changes, the other side gets at
 * most one update per PRESENCE_WINDOW_MS with the latest state. The
 * updates themselves are sent directly (gateway_send_now, or a presence
 * PUT), not through the outbox: presence is last-state-wins, a stale one
 * replayed after a crash is worth nothing, and the stored state answers
 * probes after a restart anyway. */
#ifndef ISTHMUS_GATEWAY_PRESENCE_H
#define ISTHMUS_GATEWAY_PRESENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <strophe.h>

#include "gateway/features/presence_pending.h"

struct gateway;

struct mx_ephemeral;

/* One m.presence ephemeral event from an appservice transaction. */
void presence_matrix_ephemeral(struct gateway *gw,
                             const struct mx_ephemeral *ev);

/* Presence from an XMPP user to a Matrix user's JID or to a gateway-mode
 * MUC, of no type or type "unavailable"; subscriptions are handled
 * elsewhere. Each resource's presence to the gateway's users and to each
 * gateway MUC is a source of its own: leaving a room ends only that one. */
void presence_xmpp_presence(struct gateway *gw, xmpp_stanza_t *st);

/* An occupant of a portal MUC (not a Matrix user's own occupant) changed
 * presence: person is its real bare JID or, in an anonymous room, its
 * occupant JID; ghost stands for it. */
void presence_portal_occupant(struct gateway *gw, const char *person,
                              const char *muc_jid, const char *ghost,
                              xmpp_stanza_t *st);

/* Subscriptions to a Matrix user's JID (mxid), by an XMPP user (bare JID). */
void presence_subscribed(struct gateway *gw, const char *mxid,
                         const char *bare_jid, bool subscribed);

/* Sends the Matrix user's stored presence from their JID to `to` (a probe
 * answer, or the state after a subscription): available when nothing is
 * known. */
void presence_send_current(struct gateway *gw, const char *mxid,
                           const char *to);

/* A Matrix user in a DM with an XMPP user has this display name (may be
 * NULL): the XMPP side gets a presence with the XEP-0172 nick. */
void presence_matrix_name(struct gateway *gw, const char *mxid,
                          const char *xmpp_jid, const char *displayname);
/* Adds a Matrix user's stored show, status and avatar hash to an
 * available presence built for them (an occupant presence). Nothing for
 * ghosts or for users the gateway knows nothing about. */
void presence_decorate(struct gateway *gw, xmpp_stanza_t *p,
                       const char *mxid);

/* Flushes what is due; called every loop turn. */
void presence_tick(struct gateway *gw);

/* What a Matrix user's JID is and can do (disco#info), which its presence
 * announces as XEP-0115 caps: with OMEMO's +notify features, so that the
 * XMPP servers of its contacts push their device-list changes to it. */
extern const char *const presence_puppet_features[];
/* Milliseconds until presence_tick has something to do (0: now). */
long presence_next_due_ms(struct gateway *gw);

#endif
