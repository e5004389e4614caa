/* /metrics: every metric in the exposition has its # HELP and # TYPE,
 * before its samples, so that Prometheus and promtool take it as it is.
 * (tests/integration/test_metrics.py runs promtool on a live one too.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/base/metrics.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The family a sample line belongs to: its name, less a histogram's
 * suffix when the family is declared a histogram. */
static void family_of(const char *text, const char *sample, char *out,
                      size_t size)
{
    size_t n = strcspn(sample, "{ ");
    snprintf(out, size, "%.*s", (int)n, sample);
    static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
    for (size_t i = 0; i < 3; i++) {
        size_t sl = strlen(suffixes[i]), ol = strlen(out);
        if (ol > sl && strcmp(out + ol - sl, suffixes[i]) == 0) {
            char type[256];
            snprintf(type, sizeof type, "# TYPE %.*s histogram\n",
                     (int)(ol - sl), out);
            if (strstr(text, type))
                out[ol - sl] = '\0';
        }
    }
}

static void every_metric_has_help_and_type(void **state)
{
    (void)state;
    metrics_inc(CNT_TO_MATRIX);
    metrics_observe_us(HIST_LOOP_TURN, 1234);
    char *text = metrics_render();
    int samples = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl); /* every line ends */
        if (*line != '#') {
            char family[256], help[300], type[300];
            family_of(text, line, family, sizeof family);
            snprintf(help, sizeof help, "# HELP %s ", family);
            snprintf(type, sizeof type, "# TYPE %s ", family);
            const char *h = strstr(text, help), *t = strstr(text, type);
            if (!h || !t || h > line || t > line)
                fail_msg("%s has no # HELP or # TYPE before its samples",
                         family);
            /* The help says something. */
            const char *words = h + strlen(help);
            if (*words == '\n' || strncmp(words, "(null)", 6) == 0)
                fail_msg("%s has an empty # HELP", family);
            samples++;
        }
        line = nl + 1;
    }
    /* Every counter and histogram was there. */
    assert_true(samples >= CNT_COUNT + HIST_COUNT * 3);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_metric_has_help_and_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
