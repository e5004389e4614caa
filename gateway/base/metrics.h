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
    HIST_TO_MATRIX_CPU, /* the same two spans, counting only the time the */
    HIST_TO_XMPP_CPU,   /* gateway's thread was running */
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
    CNT_E2EE_DECRYPTED,     /* encrypted room events decrypted */
    CNT_E2EE_UNDECRYPTABLE, /* ... given up on, and told */
    CNT_E2EE_WAITED,        /* ... that had to wait for their key */
    CNT_E2EE_KEYS_RECEIVED, /* room keys taken in */
    CNT_E2EE_KEY_REQUESTS,  /* room keys the ghosts asked for */
    CNT_E2EE_ENCRYPTED,     /* events sent encrypted */
    CNT_E2EE_KEY_SHARES,    /* room keys sent to members' devices */
    CNT_E2EE_DEVICE_CHANGES, /* users whose devices changed (MSC3202) */
    CNT_E2EE_KEYREQ_ANSWERED, /* others' key requests answered */
    CNT_E2EE_KEYREQ_REFUSED,  /* ... refused by policy */
    CNT_OMEMO_DECRYPTED,     /* OMEMO messages from XMPP decrypted */
    CNT_OMEMO_UNDECRYPTABLE, /* ... that did not decrypt (sender told) */
    CNT_OMEMO_ENCRYPTED,     /* messages to XMPP sent OMEMO-encrypted */
    CNT_COUNT
};

/* Monotonic microseconds. */
int64_t metrics_now_us(void);

/* A point in a message's trip through the gateway, by the wall clock and
 * by the CPU time the gateway's thread had used so far. Between two points
 * the wall clock also counts the time the gateway was not running: another
 * process had the CPU, or a system call waited for the disk. On a machine
 * shared with the homeserver, that is most of the difference between the
 * two figures. wall_us is 0 for "not set". */
struct metrics_point {
    int64_t wall_us;
    int64_t cpu_us;
};
struct metrics_point metrics_point_now(void);
/* Observes the span from start to end: its wall time in wall, its CPU
 * time in cpu. */
void metrics_observe_span(enum metric_hist wall, enum metric_hist cpu,
                          struct metrics_point start,
                          struct metrics_point end);
void metrics_observe_us(enum metric_hist h, int64_t us);
void metrics_inc(enum metric_counter c);
/* A counter's value and its exposition name (static), for the stats
 * command. */
uint64_t metrics_counter(enum metric_counter c);
const char *metrics_counter_name(enum metric_counter c);
/* Prometheus text exposition; caller frees. */
char *metrics_render(void);

#endif
