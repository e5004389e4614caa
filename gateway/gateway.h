/* The gateway: the only place that knows both sides (DESIGN.md §1). It owns
 * every part and the one-thread event loop that drives them. */
#ifndef ISTHMUS_GATEWAY_H
#define ISTHMUS_GATEWAY_H

#include "common/wakeup.h"
#include "gateway/config.h"
#include "gateway/ids.h"
#include "matrix/api.h"
#include "matrix/appservice.h"
#include "matrix/client.h"
#include "matrix/event.h"
#include "gateway/metrics.h"
#include "store/store.h"
#include "xep/component.h"
#include "xep/message.h"
#include "gateway/translate.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <strophe.h>

struct media;
struct portal_state;
struct presence;
struct queues;
struct ratelimit;

struct gateway {
    struct config cfg;
    struct ids ids;
    struct store *store;
    xmpp_ctx_t *xmpp;
    struct component *component;
    CURLM *multi;
    struct mx_client *mx;
    struct as_server *as;
    struct queues *queues;
    struct ratelimit *senders; /* flood control per XMPP sender */
    struct portal_state *portal; /* portal mode's in-memory state */
    struct media *media;         /* media proxy and downloads */
    struct presence *presence; /* presence updates waiting to be coalesced */
    /* The outbox may hold stanzas that were not sent as they were
     * written (to_xmpp.c): the flush must read it. */
    bool stanza_outbox_dirty;
    struct to_xmpp *to_xmpp; /* owned by to_xmpp.c */
    struct catchup *catchup; /* owned by catchup.c */
    char *bot_mxid;
    /* For the latency metrics: when the stanza or transaction now being
     * handled arrived, or wall_us 0 outside such handling. */
    struct metrics_point stanza_start;
    /* The stanza being handled and its outbox item, so that a worker that
     * starts at once need not parse the stored copy again. */
    xmpp_stanza_t *live_stanza;
    int64_t live_item_id;
    struct metrics_point txn_start;
    int64_t highest_txn;      /* the numeric txn id applied last, or -1 */
    int64_t unsaved_txn;      /* a numeric txn id applied but not stored */
    int64_t gap_refused_txn;  /* txn refused once for a gap, or -1 */
    volatile sig_atomic_t stop;
    struct wakeup stop_wakeup; /* see gateway_request_stop */
};

/* Builds every part from a loaded config (which the gateway takes over).
 * On failure returns -1 with *err set (caller frees). */
int gateway_init(struct gateway *gw, struct config *cfg, char **err);
/* Runs the event loop until gw->stop is set. */
void gateway_run(struct gateway *gw);
/* Ends gateway_run: its turn finishes and it does not sleep again.
 * Async-signal-safe, for the signal handlers. */
void gateway_request_stop(struct gateway *gw);
void gateway_free(struct gateway *gw);

/* Wall-clock milliseconds, for timestamps that are stored or sent. */
int64_t gateway_now_ms(void);

/* True for the gateway's own Matrix users: its ghosts and its bot. */
bool gateway_is_ours(const struct gateway *gw, const char *mxid);
/* A client-server transaction id derived from the given strings (NULL
 * ends the list; each counts up to its end): the same work replayed after
 * a crash asks with the same id, and the homeserver returns the event it
 * made the first time instead of making a second one. The result is
 * "isthmus." tag and a hash; caller frees. */
char *gateway_txn_id(const char *tag, ...);

/* Posts an m.notice into a room (best effort: a failure is logged), as
 * `as_user` (a ghost in the room) or, when NULL, as the bot. txn_seed
 * (an event id...) makes the post idempotent. */
void gateway_notice(struct gateway *gw, const char *room_id,
                    const char *as_user, const char *txn_seed,
                    const char *text);

/* Sends a stanza now if the component is connected (best effort: error
 * replies, presence answers). The caller still releases st. */
void gateway_send_now(struct gateway *gw, xmpp_stanza_t *st);

/* Edits and replies, Matrix -> XMPP (gateway/relations.c). For an edit
 * (XEP-0308) or a reply (XEP-0461) to a message that crossed, fills r with
 * the ids the XMPP side knows the original by, and for a reply rewrites
 * *body (caller's, freed and replaced) with the XMPP fallback quote.
 * Release with relations_free. */
struct xmpp_relations {
    char *replace_id;
    char *reply_id;
    int fallback_len;
};
void relations_to_xmpp(struct gateway *gw, const struct mx_message *msg,
                       char **body, struct xmpp_relations *r);
void relations_free(struct xmpp_relations *r);
/* Edits and replies, XMPP -> Matrix: the event content for message m (its
 * text already translated into t) in conversation `jid`: an edit of the
 * original when m corrects a bridged message, a reply without the
 * fallback quote when it answers one, else plain. *replaces (caller frees)
 * gets the edited original's event id, or NULL. New reference. */
json_t *relations_to_matrix(struct gateway *gw, const char *jid,
                            const struct xmsg *m,
                            const struct translated_text *t,
                            char **replaces);
/* The event an XMPP id names in conversation `jid` (the XMPP party the
 * messages table files it under), or NULL. Caller frees. */
char *relations_event_for(struct gateway *gw, const char *jid,
                          const char *xmpp_id);
/* The id the XMPP side of `room` knows event_id by (what XEP-0444 and
 * XEP-0424 name: the room's stanza-id in MUCs, the message id in chats),
 * or NULL if it never crossed. Caller frees. */
char *relations_xmpp_id(struct gateway *gw, const struct store_room *room,
                        const char *event_id);

/* ---- gateway/xmpp_inbound.c: every stanza from the XMPP server */
void xmpp_inbound_stanza(struct gateway *gw, xmpp_stanza_t *st);
/* ---- gateway/to_matrix.c: bridging a stored XMPP message to Matrix */
void to_matrix_process(struct gateway *gw, const struct store_outbox_item *it);
/* ---- gateway/matrix_inbound.c: appservice requests */
extern const struct as_handlers matrix_inbound_handlers;
void matrix_join_process(struct gateway *gw,
                         const struct store_outbox_item *it);
/* ---- gateway/to_xmpp.c: stanzas to XMPP, kept in the outbox until the
 * server confirms them */
/* At the end of the turn, after its commit (commit 1), without one (0:
 * the transaction stays open) or after a failed one (-1): sends what waited
 * in the outbox and asks the server to confirm what was sent. */
void to_xmpp_flush(struct gateway *gw, int commit);
/* Stores a stanza and sends it, now if nothing waits before it. */
int to_xmpp_enqueue(struct gateway *gw, const char *queue, xmpp_stanza_t *st);
/* Writes what was sent so far to the server's socket, as far as it takes
 * it without waiting. */
void to_xmpp_write(struct gateway *gw);
/* Frees its state at shutdown (the outbox keeps the stanzas). */
void to_xmpp_free(struct gateway *gw);

#endif
