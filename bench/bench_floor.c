/* What this machine charges for the least that a message towards Matrix
 * needs, whoever bridges it, measured without isthmus:
 *
 *   wake-up   the thread sleeps in poll() until a byte arrives on a
 *             socket, reads it, and sleeps again: what the arrival of a
 *             stanza costs before any of it is read;
 *   request   one PUT of a message event and its answer, through libcurl
 *             on a kept-alive loopback connection: the client-server API
 *             has no batch send, so each message pays one;
 *   raw       the same request written and its answer read on a plain
 *             socket, without an HTTP library: what is left is the
 *             system's share.
 *
 * Both run paced (default 40 per second, about the rate Synapse takes
 * messages at in bench_e2e), so that each starts from sleep as the
 * gateway's do when the homeserver sets the pace; the request also runs
 * back to back, to show what sleeping between messages adds.
 *
 * The peers (a writer thread, a libmicrohttpd server thread) do as little
 * as they can, and only the measuring thread's CPU is counted
 * (RUSAGE_THREAD; Linux adds it up in nanoseconds).
 * Prints one JSON object. Usage: bench_floor [per-second] [count] */
#include <curl/curl.h>
#include <microhttpd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char event_json[] =
    "{\"msgtype\":\"m.text\",\"body\":\"Sure, noon at the usual place\","
    "\"org.isthmus.stanza_id\":\"8d2a3c1e-5b7f-4c11-9e0a-1f2e3d4c5b6a\"}";
static const char answer_json[] =
    "{\"event_id\":\"$Qm3xV5a0tT2uYzCkq1Jr8nL4dE6fG7hI9jK0lMnOpQr\"}";

static double thread_cpu_us(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_floor: %s failed\n", what);
    exit(1);
}

/* Sleeps until the absolute monotonic time *next, then moves it on by
 * one period. */
static void pace(struct timespec *next, long period_ns)
{
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL);
    next->tv_nsec += period_ns;
    while (next->tv_nsec >= 1000000000L) {
        next->tv_nsec -= 1000000000L;
        next->tv_sec++;
    }
}

static void start_pacing(struct timespec *next)
{
    clock_gettime(CLOCK_MONOTONIC, next);
}

/* ---- wake-ups */

struct writer {
    int fd;
    long period_ns;
    int count;
};

static void *write_paced(void *arg)
{
    struct writer *w = arg;
    struct timespec next;
    start_pacing(&next);
    for (int i = 0; i < w->count; i++) {
        pace(&next, w->period_ns);
        if (write(w->fd, "x", 1) != 1)
            die("write");
    }
    return NULL;
}

static double wake_up_us(long period_ns, int count)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    struct writer w = { sv[1], period_ns, count };
    pthread_t tid;
    double before = thread_cpu_us();
    if (pthread_create(&tid, NULL, write_paced, &w) != 0)
        die("pthread_create");
    for (int got = 0; got < count;) {
        struct pollfd p = { sv[0], POLLIN, 0 };
        if (poll(&p, 1, 5000) != 1)
            die("poll (the writer stopped)");
        char buf[64];
        ssize_t n = read(sv[0], buf, sizeof buf);
        if (n <= 0)
            die("read");
        got += (int)n;
    }
    double used = thread_cpu_us() - before;
    pthread_join(tid, NULL);
    close(sv[0]);
    close(sv[1]);
    return used / count;
}

/* ---- requests */

static enum MHD_Result answer(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)cls, (void)url, (void)method, (void)version, (void)upload;
    if (!*state) { /* headers only: the body comes in the next calls */
        *state = conn;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer(
        sizeof answer_json - 1, (void *)answer_json, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ok;
}

static size_t discard(char *p, size_t size, size_t n, void *cls)
{
    (void)p, (void)cls;
    return size * n;
}

/* period_ns 0: back to back. */
static double request_us(CURL *curl, const char *base, long period_ns,
                         int count)
{
    struct timespec next;
    start_pacing(&next);
    char url[160];
    double before = thread_cpu_us();
    for (int i = 0; i < count; i++) {
        if (period_ns)
            pace(&next, period_ns);
        snprintf(url, sizeof url,
                 "%s/_matrix/client/v3/rooms/!room:hs.example/send/"
                 "m.room.message/%d", base, i);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        CURLcode rc = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200)
            die("request");
    }
    return (thread_cpu_us() - before) / count;
}

/* The least a client can do: one write of a prepared request, one read of
 * the answer (small enough to come in one piece). */
static double raw_request_us(unsigned port, long period_ns, int count)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET,
                                .sin_port = htons((uint16_t)port) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        die("connect");
    char req[512];
    int len = snprintf(req, sizeof req,
                       "PUT /_matrix/client/v3/rooms/!room:hs.example/send/"
                       "m.room.message/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Authorization: Bearer "
                       "not-a-secret-just-its-length-xx\r\n"
                       "Content-Type: application/json\r\n"
                       "Content-Length: %zu\r\n\r\n%s",
                       sizeof event_json - 1, event_json);
    struct timespec next;
    start_pacing(&next);
    double before = 0;
    for (int i = -50; i < count; i++) { /* 50 to warm up */
        if (i == 0)
            before = thread_cpu_us();
        if (period_ns && i >= 0)
            pace(&next, period_ns);
        if (send(fd, req, (size_t)len, 0) != len)
            die("send");
        struct pollfd p = { fd, POLLIN, 0 };
        char buf[2048];
        if (poll(&p, 1, 5000) != 1 || recv(fd, buf, sizeof buf, 0) <= 0 ||
            strncmp(buf, "HTTP/1.1 200", 12) != 0)
            die("raw request");
    }
    double used = thread_cpu_us() - before;
    close(fd);
    return used / count;
}

int main(int argc, char **argv)
{
    double per_s = argc > 1 ? atof(argv[1]) : 40;
    int count = argc > 2 ? atoi(argv[2]) : 400;
    if (per_s <= 0 || count <= 0) {
        fprintf(stderr, "usage: bench_floor [per-second] [count]\n");
        return 2;
    }
    long period_ns = (long)(1e9 / per_s);

    double wake = wake_up_us(period_ns, count);

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
        answer, NULL, MHD_OPTION_END);
    if (!d)
        die("MHD_start_daemon");
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    char base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%u",
             (unsigned)info->port);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Authorization: Bearer "
                                         "not-a-secret-just-its-length-xx");
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, event_json);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L); /* as the gateway does */

    request_us(curl, base, 0, 50); /* the connection, and warm caches */
    double paced = request_us(curl, base, period_ns, count);
    double busy = request_us(curl, base, 0, count * 5);

    double raw_paced = raw_request_us(info->port, period_ns, count);
    double raw_busy = raw_request_us(info->port, 0, count * 5);

    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    curl_global_cleanup();
    MHD_stop_daemon(d);

    printf("{\"per_second\": %g, \"count\": %d,\n"
           " \"wake_up_cpu_us\": %.1f,\n"
           " \"request_paced_cpu_us\": %.1f,\n"
           " \"request_back_to_back_cpu_us\": %.1f,\n"
           " \"raw_request_paced_cpu_us\": %.1f,\n"
           " \"raw_request_back_to_back_cpu_us\": %.1f}\n",
           per_s, count, wake, paced, busy, raw_paced, raw_busy);
    return 0;
}
