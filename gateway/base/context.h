/* The gateway's parts, as every feature sees them: one struct that the
 * loop (gateway/gateway.c) fills at start-up and frees at shutdown, and
 * that the rest of gateway/ reads and passes along. It lives here, below
 * the features, so that no feature needs the loop's header: the loop is on
 * top and nothing calls back up into it. */
#ifndef ISTHMUS_GATEWAY_BASE_CONTEXT_H
#define ISTHMUS_GATEWAY_BASE_CONTEXT_H

#include "common/wakeup.h"
#include "gateway/base/metrics.h"
#include "gateway/core/config.h"
#include "gateway/core/ids.h"
#include "matrix/api.h"
#include "matrix/appservice.h"
#include "matrix/client.h"
#include "matrix/event.h"
#include "store/store.h"
#include "xep/component.h"
#include "xep/message.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdbool.h>
#include <strophe.h>

struct e2ee;
struct media;
struct omemo_state;
struct portal_state;
struct presence;
struct queues;
struct ratelimit;

struct gateway;
/* mx_send_event's arguments (matrix/api.h); see gateway_send_event. */
typedef void gateway_send_event_fn(struct gateway *gw, const char *room_id,
                                   const char *type, const char *txn_id,
                                   const char *as_user, long long ts,
                                   json_t *content, int max_attempts,
                                   mx_event_id_cb cb, void *ud);

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
    /* Stanzas to XMPP wait (are stored, not sent) while the catch-up
     * decides which of those waiting were delivered already
     * (features/catchup.c). */
    bool stanza_outbox_held;
    struct to_xmpp *to_xmpp; /* owned by to_xmpp.c */
    struct catchup *catchup; /* owned by features/catchup.c */
    struct e2ee *e2ee;       /* owned by features/e2ee_*.c */
    struct omemo_state *omemo; /* owned by features/omemo*.c */
    /* Applied to every stanza before it enters the stanza outbox:
     * features/omemo_messages.c's, which encrypts for XMPP users who speak
     * OMEMO; set by the loop (this floor may not name it). Returns the
     * stanza to store and send (st itself, or a new one the caller
     * releases too). */
    xmpp_stanza_t *(*seal_stanza)(struct gateway *gw, xmpp_stanza_t *st);
    /* How room events leave: features/e2ee_outbound.c's, which encrypts
     * for encrypted rooms; set by the loop (this floor may not name it). */
    gateway_send_event_fn *send_event;
    char *bot_mxid;
    int64_t started_ms; /* wall clock at start-up, for the uptime */
    /* For the latency metrics: when the stanza or transaction now being
     * handled arrived, or wall_us 0 outside such handling. */
    struct metrics_point stanza_start;
    struct metrics_point txn_start;
    int64_t highest_txn;      /* the numeric txn id applied last, or -1 */
    int64_t unsaved_txn;      /* a numeric txn id applied but not stored */
    int64_t gap_refused_txn;  /* txn refused once for a gap, or -1 */
    bool gaps_are_normal;     /* another appservice numbers in between */
    int benign_gaps;          /* refused jumps that came back alone */
    /* When to ping the homeserver again (0: not planned): after a gap
     * refusal, so that Synapse retries at once instead of after its
     * backoff, which repeated failures stretch to minutes. */
    int64_t ping_due_ms;
    volatile sig_atomic_t stop;
    struct wakeup stop_wakeup; /* see gateway_request_stop */
};

#endif
