/* Counters and latency histograms, rendered in the Prometheus text format
 * at /metrics on the appservice listener. The gateway is one thread, so
 * plain globals suffice.
 *
 * The latency histograms measure the gateway's own share of a message's
 * trip: from the moment it could be worked on (it arrived, or the message
 * before it in the same conversation was done) to the moment it is handed
 * to the next hop's socket. Time spent waiting for Synapse or Prosody is
 * not included; the benchmarks measure that separately. */
#ifndef ISTHMUS_METRICS_H
#define ISTHMUS_METRICS_H

#include <stdint.h>

enum metric_hist {
    HIST_TO_MATRIX,   /* stanza in -> PUT handed to libcurl */
    HIST_TO_XMPP,     /* transaction in -> stanza handed to libstrophe */
    HIST_LOOP_TURN,   /* one event loop turn, waking to sleeping again */
    HIST_COMMIT,      /* one store commit */
    HIST_COUNT
};

enum metric_counter {
    CNT_TO_MATRIX,        /* messages bridged XMPP -> Matrix */
    CNT_TO_XMPP,          /* stanzas sent to XMPP */
    CNT_TXNS,             /* transactions applied */
    CNT_TXNS_DUPLICATE,   /* transactions seen before */
    CNT_REFUSED,          /* stanzas answered with an error */
    CNT_PRESENCE_TO_MATRIX, /* presence updates sent to the homeserver */
    CNT_PRESENCE_TO_XMPP,   /* presence stanzas sent for Matrix users */
    CNT_READS_TO_MATRIX,    /* XMPP read markers queued as m.read */
    CNT_COUNT
};

/* Monotonic microseconds. */
int64_t metrics_now_us(void);
void metrics_observe_us(enum metric_hist h, int64_t us);
void metrics_inc(enum metric_counter c);
/* Prometheus text exposition; caller frees. */
char *metrics_render(void);

#endif
