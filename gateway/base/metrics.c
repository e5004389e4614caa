#include "gateway/base/metrics.h"

#include "common/clock.h"
#include "common/strbuf.h"

#include <sys/resource.h>
#include <time.h>

/* Bucket bounds in microseconds: 1-2-5 steps, finer between 100 us and
 * 10 ms where the gateway's share of a message lives. */
static const int64_t bounds_us[] = {
    10,    20,    50,    100,   150,   200,   300,   400,   500,   700,
    1000,  1500,  2000,  3000,  4000,  5000,  7000,  10000, 20000, 50000,
    100000, 200000, 500000, 1000000, 2000000, 5000000, 10000000,
};
#define NBOUNDS (sizeof bounds_us / sizeof bounds_us[0])

struct histogram {
    uint64_t buckets[NBOUNDS + 1]; /* the last is +Inf */
    uint64_t count;
    int64_t sum_us;
};

static struct histogram hists[HIST_COUNT];
static uint64_t counters[CNT_COUNT];

static const char *const hist_names[HIST_COUNT] = {
    [HIST_TO_MATRIX] = "isthmus_to_matrix_gateway_seconds",
    [HIST_TO_XMPP] = "isthmus_to_xmpp_gateway_seconds",
    [HIST_TO_MATRIX_CPU] = "isthmus_to_matrix_gateway_cpu_seconds",
    [HIST_TO_XMPP_CPU] = "isthmus_to_xmpp_gateway_cpu_seconds",
    [HIST_LOOP_TURN] = "isthmus_loop_turn_seconds",
    [HIST_COMMIT] = "isthmus_store_commit_seconds",
};
static const char *const hist_help[HIST_COUNT] = {
    [HIST_TO_MATRIX] = "Gateway time from an XMPP message being workable "
                       "to its Matrix request handed to libcurl",
    [HIST_TO_XMPP] = "Gateway time from a transaction arriving to its "
                     "stanzas handed to libstrophe",
    [HIST_TO_MATRIX_CPU] = "Of isthmus_to_matrix_gateway_seconds, the time "
                           "the gateway was running (its thread's CPU "
                           "time)",
    [HIST_TO_XMPP_CPU] = "Of isthmus_to_xmpp_gateway_seconds, the time the "
                         "gateway was running (its thread's CPU time)",
    [HIST_LOOP_TURN] = "Time of one event loop turn, from waking to "
                       "sleeping again: the longest the gateway can hold "
                       "up any conversation",
    [HIST_COMMIT] = "Time of one store commit, which every transaction's "
                    "answer and every stanza it releases wait for",
};
static const char *const counter_names[CNT_COUNT] = {
    [CNT_TO_MATRIX] = "isthmus_messages_to_matrix_total",
    [CNT_TO_XMPP] = "isthmus_stanzas_to_xmpp_total",
    [CNT_TXNS] = "isthmus_transactions_total",
    [CNT_TXNS_DUPLICATE] = "isthmus_transactions_duplicate_total",
    [CNT_REFUSED] = "isthmus_stanzas_refused_total",
    [CNT_PRESENCE_TO_MATRIX] = "isthmus_presence_to_matrix_total",
    [CNT_PRESENCE_TO_XMPP] = "isthmus_presence_to_xmpp_total",
    [CNT_READS_TO_MATRIX] = "isthmus_read_markers_to_matrix_total",
    [CNT_E2EE_DECRYPTED] = "isthmus_e2ee_events_decrypted_total",
    [CNT_E2EE_UNDECRYPTABLE] = "isthmus_e2ee_events_undecryptable_total",
    [CNT_E2EE_WAITED] = "isthmus_e2ee_events_waited_for_key_total",
    [CNT_E2EE_KEYS_RECEIVED] = "isthmus_e2ee_room_keys_received_total",
    [CNT_E2EE_KEY_REQUESTS] = "isthmus_e2ee_key_requests_sent_total",
    [CNT_E2EE_ENCRYPTED] = "isthmus_e2ee_events_encrypted_total",
    [CNT_E2EE_KEY_SHARES] = "isthmus_e2ee_key_shares_sent_total",
    [CNT_E2EE_DEVICE_CHANGES] = "isthmus_e2ee_device_list_changes_total",
    [CNT_E2EE_KEYREQ_ANSWERED] = "isthmus_e2ee_key_requests_answered_total",
    [CNT_E2EE_KEYREQ_REFUSED] = "isthmus_e2ee_key_requests_refused_total",
    [CNT_OMEMO_DECRYPTED] = "isthmus_omemo_messages_decrypted_total",
    [CNT_OMEMO_UNDECRYPTABLE] = "isthmus_omemo_messages_undecryptable_total",
    [CNT_OMEMO_ENCRYPTED] = "isthmus_omemo_messages_encrypted_total",
};

/* What each counter counts, for # HELP: a scraper (and promtool) expects
 * one for every metric. */
static const char *const counter_help[CNT_COUNT] = {
    [CNT_TO_MATRIX] = "Messages bridged from XMPP to Matrix",
    [CNT_TO_XMPP] = "Stanzas sent to XMPP",
    [CNT_TXNS] = "Appservice transactions applied",
    [CNT_TXNS_DUPLICATE] = "Appservice transactions received again and "
                           "not applied twice",
    [CNT_REFUSED] = "XMPP stanzas answered with an error",
    [CNT_PRESENCE_TO_MATRIX] = "Presence updates sent to the homeserver",
    [CNT_PRESENCE_TO_XMPP] = "Presence stanzas sent for Matrix users",
    [CNT_READS_TO_MATRIX] = "XMPP read markers queued as Matrix read "
                            "receipts",
    [CNT_E2EE_DECRYPTED] = "Encrypted Matrix room events decrypted",
    [CNT_E2EE_UNDECRYPTABLE] = "Encrypted Matrix room events given up on, "
                               "and the XMPP side told",
    [CNT_E2EE_WAITED] = "Encrypted Matrix room events that had to wait for "
                        "their room key",
    [CNT_E2EE_KEYS_RECEIVED] = "Matrix room keys taken in",
    [CNT_E2EE_KEY_REQUESTS] = "Matrix room keys the ghosts asked for",
    [CNT_E2EE_ENCRYPTED] = "Matrix room events sent encrypted",
    [CNT_E2EE_KEY_SHARES] = "Matrix room keys sent to members' devices",
    [CNT_E2EE_DEVICE_CHANGES] = "Matrix users whose devices changed",
    [CNT_E2EE_KEYREQ_ANSWERED] = "Other devices' room key requests "
                                 "answered",
    [CNT_E2EE_KEYREQ_REFUSED] = "Other devices' room key requests refused "
                                "by policy",
    [CNT_OMEMO_DECRYPTED] = "OMEMO messages from XMPP users decrypted",
    [CNT_OMEMO_UNDECRYPTABLE] = "OMEMO messages from XMPP users that did "
                                "not decrypt (their senders were told)",
    [CNT_OMEMO_ENCRYPTED] = "Messages to XMPP users sent OMEMO-encrypted",
};

int64_t metrics_now_us(void)
{
    return clock_mono_us();
}

struct metrics_point metrics_point_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (struct metrics_point){
        metrics_now_us(), (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000
    };
}

void metrics_observe_span(enum metric_hist wall, enum metric_hist cpu,
                          struct metrics_point start, struct metrics_point end)
{
    metrics_observe_us(wall, end.wall_us - start.wall_us);
    metrics_observe_us(cpu, end.cpu_us - start.cpu_us);
}

void metrics_observe_us(enum metric_hist h, int64_t us)
{
    struct histogram *hist = &hists[h];
    size_t i = 0;
    while (i < NBOUNDS && us > bounds_us[i])
        i++;
    hist->buckets[i]++;
    hist->count++;
    hist->sum_us += us;
}

void metrics_inc(enum metric_counter c)
{
    counters[c]++;
}

uint64_t metrics_counter(enum metric_counter c)
{
    return counters[c];
}

const char *metrics_counter_name(enum metric_counter c)
{
    return counter_names[c];
}

char *metrics_render(void)
{
    struct strbuf sb = STRBUF_INIT;
    for (int c = 0; c < CNT_COUNT; c++)
        strbuf_printf(&sb, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n",
                      counter_names[c], counter_help[c], counter_names[c],
                      counter_names[c], (unsigned long long)counters[c]);
    for (int h = 0; h < HIST_COUNT; h++) {
        const char *n = hist_names[h];
        strbuf_printf(&sb, "# HELP %s %s\n# TYPE %s histogram\n", n,
                      hist_help[h], n);
        uint64_t cumulative = 0;
        for (size_t i = 0; i < NBOUNDS; i++) {
            cumulative += hists[h].buckets[i];
            strbuf_printf(&sb, "%s_bucket{le=\"%g\"} %llu\n", n,
                          (double)bounds_us[i] / 1e6,
                          (unsigned long long)cumulative);
        }
        strbuf_printf(&sb, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
                      "%s_count %llu\n", n,
                      (unsigned long long)hists[h].count, n,
                      (double)hists[h].sum_us / 1e6, n,
                      (unsigned long long)hists[h].count);
    }
    /* Every thread's CPU (the loop's and the checkpointer's), under the
     * name Prometheus gives it for any process, so that dashboards and
     * the benchmark read it as they read any other. Linux adds it up in
     * nanoseconds, not in clock ticks. */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        long long us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
                       ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
        strbuf_printf(&sb,
                      "# HELP process_cpu_seconds_total Total user and "
                      "system CPU time spent in seconds.\n"
                      "# TYPE process_cpu_seconds_total counter\n"
                      "process_cpu_seconds_total %lld.%06lld\n",
                      us / 1000000, us % 1000000);
    }
    return strbuf_detach(&sb);
}
