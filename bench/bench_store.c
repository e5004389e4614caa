/* The store's share of a bridged message, in process: the rows the gateway
 * writes for one message each way, committed as the loop commits them, in
 * a store that already holds a history of messages (an index is cheap to
 * append to while it is small; a gateway's is not small for long).
 *
 *   Matrix -> XMPP, per transaction of K events: for each event an outbox
 *     row with the stanza and a messages row; the transaction's id; one
 *     commit. Then the server's confirmation removes the stanzas' rows, in
 *     one more commit.
 *   XMPP -> Matrix, per message: the inbound id and an outbox row, one
 *     commit; once the homeserver has the event, the messages row, the
 *     inbound id marked delivered, the outbox row removed, and the echo
 *     transaction's id, one more commit.
 *
 * CPU time is the process's (getrusage), so it includes the checkpoint
 * thread's copying of the log back into the database file.
 * Prints one JSON object. Usage: bench_store [history-messages] */
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define CONVERSATIONS 20
#define MEASURED 20000

static const char stanza_xml[] =
    "<message xmlns='jabber:component:accept' "
    "from='bob%matrix.org@gw.xmpp.example' to='alice@xmpp.example' "
    "id='$EVENTID' type='chat'><body>Sure, noon at the usual place</body>"
    "<origin-id xmlns='urn:xmpp:sid:0' id='$EVENTID'/></message>";

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static double wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Event ids are 43 random characters after '$', as Synapse makes them:
 * random keys are what make an index expensive to write. */
static void random_event_id(char *buf, size_t size)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvw"
                            "xyz0123456789-_";
    size_t n = size - 1 < 44 ? size - 1 : 44;
    buf[0] = '$';
    for (size_t i = 1; i < n; i++)
        buf[i] = a[random() % (sizeof a - 1)];
    buf[n] = '\0';
}

static void die(const char *what)
{
    fprintf(stderr, "bench_store: %s failed\n", what);
    exit(1);
}

/* Returns the stanza's outbox id. */
static int64_t put_to_xmpp(struct store *st, int64_t i)
{
    char ev[48], room[40], jid[40];
    random_event_id(ev, sizeof ev);
    snprintf(room, sizeof room, "!room%d:hs.example",
             (int)(i % CONVERSATIONS));
    snprintf(jid, sizeof jid, "alice%d@xmpp.example",
             (int)(i % CONVERSATIONS));
    char queue[64];
    snprintf(queue, sizeof queue, "m2x %s", room);
    int64_t id = store_outbox_add(st, queue, OUTBOX_STANZA, stanza_xml, i);
    if (id < 0)
        die("outbox add");
    struct store_message m = {
        .event_id = ev, .room_id = room, .xmpp_jid = jid, .stanza_id = ev,
        .origin_id = ev, .direction = DIR_MATRIX_TO_XMPP, .ts = i,
        .sender = "@bob:matrix.org",
    };
    if (store_message_put(st, &m) != 0)
        die("message put");
    return id;
}

/* Returns CPU microseconds per event; *wall_txn_ms is the mean wall time
 * from a transaction's first write to its commit. */
static double to_xmpp(struct store *st, int per_txn, int64_t *seq,
                      double *wall_txn_ms)
{
    double c0 = cpu_s(), txn_wall = 0;
    int txns = MEASURED / per_txn;
    int64_t last_outbox = 0;
    for (int t = 0; t < txns; t++) {
        double w0 = wall_s();
        for (int k = 0; k < per_txn; k++)
            last_outbox = put_to_xmpp(st, (*seq)++);
        char txn[32];
        snprintf(txn, sizeof txn, "%lld", (long long)*seq);
        if (store_txn_mark(st, txn, "digest", *seq) != 0)
            die("txn mark");
        if (store_flush(st) != 0)
            die("commit");
        txn_wall += wall_s() - w0;
        /* The confirmation of what that commit released. */
        if (store_outbox_delete_range(st, OUTBOX_STANZA, 0, last_outbox) != 0)
            die("outbox delete range");
        if (store_flush(st) != 0)
            die("commit");
    }
    *wall_txn_ms = txn_wall * 1000 / txns;
    return (cpu_s() - c0) * 1e6 / (txns * per_txn);
}

static double to_matrix(struct store *st, int64_t *seq)
{
    double c0 = cpu_s();
    for (int i = 0; i < MEASURED; i++, (*seq)++) {
        char jid[40], stanza_id[40], ev[48], room[40], txn[32];
        snprintf(jid, sizeof jid, "alice%d@xmpp.example",
                 (int)(*seq % CONVERSATIONS));
        snprintf(room, sizeof room, "!room%d:hs.example",
                 (int)(*seq % CONVERSATIONS));
        /* Clients make ids as random as Matrix's. */
        random_event_id(stanza_id, 24);
        if (store_inbound_add(st, jid, "bob%hs.example@gw.example", stanza_id + 1, *seq) != 0)
            die("inbound add");
        int64_t item = store_outbox_add(st, "x2m", OUTBOX_XMPP_INBOUND,
                                        stanza_xml, *seq);
        if (item < 0)
            die("outbox add");
        if (store_flush(st) != 0)
            die("commit");
        random_event_id(ev, sizeof ev);
        struct store_message m = {
            .event_id = ev, .room_id = room, .xmpp_jid = jid,
            .stanza_id = stanza_id + 1, .origin_id = stanza_id + 1,
            .direction = DIR_XMPP_TO_MATRIX, .ts = *seq,
            .sender = "@_xmpp_alice:hs.example",
        };
        if (store_message_put(st, &m) != 0 ||
            store_inbound_delivered(st, jid, "bob%hs.example@gw.example",
                                    stanza_id + 1, ev) != 0 ||
            store_outbox_delete(st, item) != 0)
            die("delivery marks");
        snprintf(txn, sizeof txn, "e%lld", (long long)*seq);
        if (store_txn_mark(st, txn, "digest", *seq) != 0)
            die("txn mark");
        if (store_flush(st) != 0)
            die("commit");
    }
    return (cpu_s() - c0) * 1e6 / MEASURED;
}

int main(int argc, char **argv)
{
    long history = argc > 1 ? atol(argv[1]) : 100000;
    char dir[] = "/tmp/isthmus-bench-store-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp");
    char path[128];
    snprintf(path, sizeof path, "%s/store.db", dir);
    struct store *st;
    char *err = NULL;
    if (store_open(path, &st, &err) != 0) {
        fprintf(stderr, "bench_store: %s\n", err);
        return 1;
    }
    /* The outbox seals what it keeps, as the gateway's does. */
    static const unsigned char key[STORE_KEY_BYTES] = { 7 };
    store_set_seal_key(st, key);
    srandom(1);
    int64_t seq = 1;
    for (long i = 0; i < history; i++) {
        put_to_xmpp(st, seq++);
        if (i % 1000 == 999 && store_flush(st) != 0)
            die("commit");
    }
    store_outbox_delete_range(st, OUTBOX_STANZA, 0, INT64_MAX);
    if (store_flush(st) != 0)
        die("commit");

    double wall1, wall10, wall100;
    double x1 = to_xmpp(st, 1, &seq, &wall1);
    double x10 = to_xmpp(st, 10, &seq, &wall10);
    double x100 = to_xmpp(st, 100, &seq, &wall100);
    double m = to_matrix(st, &seq);
    printf("{\"history_messages\": %ld,\n"
           " \"to_xmpp_cpu_us_per_event\": {\"txn_of_1\": %.1f, "
           "\"txn_of_10\": %.1f, \"txn_of_100\": %.1f},\n"
           " \"to_xmpp_txn_wall_ms\": {\"txn_of_1\": %.3f, "
           "\"txn_of_10\": %.3f, \"txn_of_100\": %.3f},\n"
           " \"to_matrix_cpu_us_per_message\": %.1f}\n",
           history, x1, x10, x100, wall1, wall10, wall100, m);
    store_close(st);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
