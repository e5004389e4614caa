/* The registration YAML: what Synapse needs, and tokens read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/core/config.h"
#include "gateway/core/registration.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void load(struct config *cfg)
{
    char *err = NULL;
    int rc = config_parse("t", "[xmpp]\ncomponent_jid = gw.x\nsecret = s\n"
                               "[matrix]\nhomeserver_url = http://h\n"
                               "server_name = hs.example.org\n"
                               "registration_file = r\n",
                          cfg, &err);
    assert_int_equal(rc, 0);
}

static void render_has_what_synapse_needs(void **state)
{
    (void)state;
    struct config cfg;
    load(&cfg);
    char *y = registration_render(&cfg, "AS", "HS");
    assert_non_null(strstr(y, "id: 'isthmus'\n"));
    assert_non_null(strstr(y, "url: 'http://127.0.0.1:9998'\n"));
    assert_non_null(strstr(y, "as_token: 'AS'\n"));
    assert_non_null(strstr(y, "hs_token: 'HS'\n"));
    /* The bot lies outside the ghosts' namespace, which the regex below
     * gives to the appservice too. */
    assert_non_null(strstr(y, "sender_localpart: '_xmpp'\n"));
    assert_non_null(strstr(y, "rate_limited: false\n"));
    assert_non_null(strstr(y, "org.matrix.msc3202: true\n"));
    assert_non_null(strstr(y, "io.element.msc4190: true\n"));
    /* Dots escaped: the namespace is exactly this server's. */
    assert_non_null(strstr(y, "regex: '@_xmpp_.*:hs\\.example\\.org'"));
    assert_non_null(strstr(y, "regex: '#_xmpp_.*:hs\\.example\\.org'"));
    assert_non_null(strstr(y, "exclusive: true"));
    free(y);
    config_free(&cfg);
}

static void write_then_read_tokens(void **state)
{
    (void)state;
    struct config cfg;
    load(&cfg);
    char dir[] = "/tmp/isthmus-reg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/registration.yaml", dir);
    char *err = NULL;
    assert_int_equal(registration_write(&cfg, path, &err), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* it holds secrets */

    char *as = NULL, *hs = NULL;
    assert_int_equal(registration_read_tokens(path, &as, &hs, &err), 0);
    assert_int_equal(strlen(as), 64);
    assert_int_equal(strlen(hs), 64);
    assert_string_not_equal(as, hs);

    /* Never silently rotate the tokens. */
    assert_int_equal(registration_write(&cfg, path, &err), -1);
    assert_non_null(strstr(err, "already exists"));
    free(err);
    free(as);
    free(hs);
    unlink(path);
    rmdir(dir);
    config_free(&cfg);
}

static void read_reports_missing_tokens(void **state)
{
    (void)state;
    char path[] = "/tmp/isthmus-reg-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "id: x\nas_token: \"only-as\"\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char *as = NULL, *hs = NULL, *err = NULL;
    assert_int_equal(registration_read_tokens(path, &as, &hs, &err), -1);
    assert_non_null(strstr(err, "no as_token or hs_token"));
    assert_null(as);
    free(err);
    unlink(path);
    assert_int_equal(registration_read_tokens("/nonexistent", &as, &hs, &err),
                     -1);
    assert_non_null(strstr(err, "--generate-registration"));
    free(err);
}

/* A registration without what encryption needs is named, flag by flag;
 * one written by --generate-registration lacks nothing. */
static void e2ee_flags_are_checked(void **state)
{
    (void)state;
    char path[] = "/tmp/isthmus-reg-XXXXXX";
    int fd = mkstemp(path);
    const char *text = "id: x\norg.matrix.msc3202: true\n"
                       "io.element.msc4190: false\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char *missing = registration_e2ee_missing(path);
    assert_non_null(missing);
    assert_non_null(strstr(missing, "io.element.msc4190"));
    assert_null(strstr(missing, "msc3202"));
    free(missing);
    struct config cfg;
    load(&cfg);
    char *y = registration_render(&cfg, "AS", "HS");
    FILE *f = fopen(path, "w");
    fputs(y, f);
    fclose(f);
    assert_null(registration_e2ee_missing(path));
    free(y);
    config_free(&cfg);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(render_has_what_synapse_needs),
        cmocka_unit_test(write_then_read_tokens),
        cmocka_unit_test(read_reports_missing_tokens),
        cmocka_unit_test(e2ee_flags_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
