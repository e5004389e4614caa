/* isthmus: an XMPP component and a Matrix application service in one
 * daemon. This file only reads the command line. */
#include "common/log.h"
#include "common/mem.h"
#include "gateway/core/config.h"
#include "gateway/config_check.h"
#include "gateway/gateway.h"
#include "gateway/core/registration.h"
#include "gateway/base/store_key.h"

#include <getopt.h>
#include <sodium.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Exit statuses: 0 ok, 1 runtime failure, 2 bad usage or configuration. */
enum { EXIT_RUNTIME = 1, EXIT_CONFIG = 2 };

/* Set only while gateway_run runs, so a handler never reaches a gateway
 * being built or freed. */
static struct gateway *volatile running;

static void on_signal(int sig)
{
    (void)sig;
    struct gateway *gw = running;
    if (gw)
        gateway_request_stop(gw);
}

/* There is nothing to reload: the configuration and the registration are
 * read at start only. Stopping instead would leave a gateway down that
 * an operator meant to refresh (systemd does not restart a clean exit), so
 * SIGHUP is answered and otherwise ignored. write(2), unlike the log, is
 * safe in a handler. */
static void on_hangup(int sig)
{
    (void)sig;
    static const char msg[] = "isthmus: SIGHUP ignored: the configuration "
                              "is read only at start; restart isthmus to "
                              "apply changes\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)w;
}

static void print_warning(void *ud, const char *warning)
{
    (void)ud;
    printf("warning: %s\n", warning);
}

static void log_warning(void *ud, const char *warning)
{
    (void)ud;
    log_warn("%s", warning);
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: isthmus --config FILE [options]\n"
            "\n"
            "An XMPP <-> Matrix gateway: an XMPP component (XEP-0114) and a\n"
            "Matrix application service in one daemon.\n"
            "\n"
            "  -c, --config FILE                 the configuration file\n"
            "      --generate-registration FILE  write the appservice "
            "registration\n"
            "                                    for the homeserver, then "
            "exit\n"
            "      --check-config                validate the configuration "
            "and exit\n"
            "  -v, --version                     print the version and exit\n"
            "  -h, --help                        print this help and exit\n"
            "\n"
            "See isthmus.example.conf for every setting.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "config", required_argument, NULL, 'c' },
        { "generate-registration", required_argument, NULL, 'g' },
        { "check-config", no_argument, NULL, 'k' },
        { "version", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config_path = NULL, *registration_out = NULL;
    int check_only = 0, c;
    while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c': config_path = optarg; break;
        case 'g': registration_out = optarg; break;
        case 'k': check_only = 1; break;
        case 'v': printf("isthmus %s\n", PACKAGE_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_CONFIG;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "isthmus: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return EXIT_CONFIG;
    }
    if (!config_path) {
        fprintf(stderr, "isthmus: --config FILE is required\n");
        usage(stderr);
        return EXIT_CONFIG;
    }

    struct config cfg;
    char *err = NULL;
    if (config_load(config_path, &cfg, &err) < 0) {
        fprintf(stderr, "%s\n", err);
        free(err);
        return EXIT_CONFIG;
    }
    log_set_level((enum log_level)cfg.log_level);

    if (registration_out) {
        int rc = registration_write(&cfg, registration_out, &err);
        char *key_path = store_key_path(cfg.store_key_file, cfg.store_path);
        /* The store key too, so the operator sees where it is from the
         * start; one that exists is kept (it opens what is stored). */
        int made = rc < 0 ? 0 : store_key_create(key_path, &err);
        config_free(&cfg);
        if (rc < 0 || made < 0) {
            fprintf(stderr, "isthmus: %s\n", err);
            free(err);
            free(key_path);
            return EXIT_RUNTIME;
        }
        printf("wrote %s; point the homeserver at it (Synapse: "
               "app_service_config_files) and restart the homeserver\n",
               registration_out);
        if (made > 0)
            printf("wrote %s, the key that seals message text in the store; "
                   "keep it private and with the database\n", key_path);
        free(key_path);
        return 0;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "isthmus: libsodium failed to initialise\n");
        config_free(&cfg);
        return EXIT_RUNTIME;
    }
    /* The same checks before a start as for --check-config: a mistake is
     * named before it turns into a failure somewhere else. */
    if (config_check(&cfg, check_only ? print_warning : log_warning, NULL,
                     &err) < 0) {
        fprintf(stderr, "%s\n", err);
        free(err);
        config_free(&cfg);
        return EXIT_CONFIG;
    }
    if (check_only) {
        printf("%s: configuration ok\n", config_path);
        config_free(&cfg);
        return 0;
    }

    static struct gateway gw;
    if (gateway_init(&gw, &cfg, &err) < 0) {
        log_error("%s", err);
        free(err);
        gateway_free(&gw);
        return EXIT_RUNTIME;
    }
    running = &gw;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_hangup;
    sa.sa_flags = SA_RESTART; /* nothing waits on it */
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    gateway_run(&gw);
    running = NULL;
    gateway_free(&gw);
    return 0;
}
