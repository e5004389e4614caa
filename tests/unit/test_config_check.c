/* What --check-config (and every start) checks beyond parsing: secrets
 * still the example's, a registration file that disagrees with the
 * configuration, a state directory that is missing or cannot be written,
 * a store key that cannot be used. Errors name the configuration file
 * and the line of the setting at fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/mem.h"
#include "gateway/config_check.h"
#include "gateway/core/config.h"
#include "gateway/core/registration.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
    char dir[64];        /* a fresh directory for everything below */
    char conf[1024];     /* the configuration text */
    char reg[128];       /* the registration file */
    char state[128];     /* the state directory */
    struct config cfg;
    char warnings[4096]; /* every warning, one a line */
};

static void collect(void *ud, const char *warning)
{
    struct fixture *f = ud;
    size_t n = strlen(f->warnings);
    snprintf(f->warnings + n, sizeof f->warnings - n, "%s\n", warning);
}

/* Line 1 [xmpp], 3 secret, 7 registration_file, 9 bot_localpart (when
 * extra is empty), then extra's lines. */
static void parse(struct fixture *f, const char *secret, const char *extra)
{
    snprintf(f->conf, sizeof f->conf,
             "[xmpp]\ncomponent_jid = gw.example.org\nsecret = %s\n"
             "[matrix]\nhomeserver_url = http://127.0.0.1:8008\n"
             "server_name = example.org\nregistration_file = %s\n"
             "[store]\npath = %s/isthmus.db\n%s",
             secret, f->reg, f->state, extra);
    char *err = NULL;
    if (config_parse("t.conf", f->conf, &f->cfg, &err) != 0)
        fail_msg("%s", err);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
    chmod(path, mode);
}

static void write_registration(struct fixture *f, const char *as,
                               const char *hs)
{
    char *text = registration_render(&f->cfg, as, hs);
    write_file(f->reg, text, 0600);
    free(text);
}

static int setup(void **state)
{
    struct fixture *f = xcalloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/isthmus-check-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->reg, sizeof f->reg, "%s/registration.yaml", f->dir);
    snprintf(f->state, sizeof f->state, "%s/state", f->dir);
    assert_int_equal(mkdir(f->state, 0700), 0);
    parse(f, "a-long-random-secret", "");
    write_registration(f, "as-0123456789abcdef", "hs-0123456789abcdef");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    config_free(&f->cfg);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "chmod -R u+rwx %s; rm -rf %s", f->dir, f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int run(struct fixture *f, char **err)
{
    f->warnings[0] = '\0';
    return config_check(&f->cfg, collect, f, err);
}

static void expect_error(struct fixture *f, const char *start,
                         const char *inside)
{
    char *err = NULL;
    assert_int_equal(run(f, &err), -1);
    if (strncmp(err, start, strlen(start)) != 0 || !strstr(err, inside))
        fail_msg("expected \"%s...%s...\", got \"%s\"", start, inside, err);
    free(err);
}

static void expect_warning(struct fixture *f, const char *start,
                           const char *inside)
{
    char *err = NULL;
    if (run(f, &err) != 0)
        fail_msg("unexpected error: %s", err);
    const char *w = strstr(f->warnings, start);
    if (!w || !strstr(w, inside))
        fail_msg("expected a warning \"%s...%s...\", got \"%s\"", start,
                 inside, f->warnings);
}

static void a_consistent_setup_passes_quietly(void **state)
{
    struct fixture *f = *state;
    char *err = NULL;
    if (run(f, &err) != 0)
        fail_msg("%s", err);
    assert_string_equal(f->warnings, "");
}

static void placeholder_secrets_are_warned_about(void **state)
{
    struct fixture *f = *state;
    config_free(&f->cfg);
    parse(f, "change-me", "");
    expect_warning(f, "t.conf:3: secret is a placeholder", "component_secret");
    config_free(&f->cfg);
    parse(f, "a-long-random-secret", "");
    write_registration(f, "change-me", "hs-0123456789abcdef");
    expect_warning(f, "t.conf:7: ", "the as_token or hs_token is a "
                                    "placeholder");
    write_registration(f, "same-0123456789", "same-0123456789");
    expect_warning(f, "t.conf:7: ", "as_token and hs_token are the same");
}

static void the_registration_must_agree(void **state)
{
    struct fixture *f = *state;
    /* Written for another bot: an error, at the setting's line. */
    config_free(&f->cfg);
    parse(f, "a-long-random-secret", "[appservice]\nbot_localpart = gw_bot\n");
    char *text = registration_render(&f->cfg, "as-0123456789abcdef",
                                     "hs-0123456789abcdef");
    config_free(&f->cfg);
    parse(f, "a-long-random-secret", "");
    write_file(f->reg, text, 0600);
    free(text);
    expect_error(f, "t.conf:9: bot_localpart is '_xmpp' but ",
                 "has sender_localpart 'gw_bot'");
    /* Another id, url and prefixes: warnings naming each. */
    config_free(&f->cfg);
    parse(f, "a-long-random-secret",
          "[appservice]\nid = other\nurl = http://10.0.0.1:9000\n"
          "user_prefix = _x_\nalias_prefix = _y_\n");
    text = registration_render(&f->cfg, "as-0123456789abcdef",
                               "hs-0123456789abcdef");
    config_free(&f->cfg);
    parse(f, "a-long-random-secret", "");
    write_file(f->reg, text, 0600);
    free(text);
    expect_warning(f, "t.conf:9: id is 'isthmus'", "has id 'other'");
    expect_warning(f, "t.conf:9: the homeserver sends transactions to "
                      "'http://10.0.0.1:9000'", "'http://127.0.0.1:9998'");
    expect_warning(f, "t.conf:9: ", "namespace regex '@_xmpp_.*:example\\.org'"
                                    " that user_prefix");
    expect_warning(f, "t.conf:9: ", "namespace regex '#_xmpp_.*:example\\.org'"
                                    " that alias_prefix");
    /* Without the lines encrypted rooms need. */
    write_file(f->reg, "as_token: a-0123456789\nhs_token: h-0123456789\n"
                       "sender_localpart: _xmpp\n", 0600);
    expect_warning(f, "t.conf:9: ", "io.element.msc4190");
    /* None at all, or one without tokens. */
    unlink(f->reg);
    expect_error(f, "t.conf:7: ", "cannot read the registration file");
    write_file(f->reg, "id: isthmus\n", 0600);
    expect_error(f, "t.conf:7: ", "has no as_token or hs_token");
}

static void the_state_directory_must_be_writable(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(rmdir(f->state), 0);
    expect_error(f, "t.conf:9: the state directory ", "No such file");
    write_file(f->state, "", 0600);
    expect_error(f, "t.conf:9: the state directory ", "is not a directory");
    unlink(f->state);
    assert_int_equal(mkdir(f->state, 0500), 0);
    /* root may write anywhere: check as nobody, in a child. The fixture's
     * directory must then let it through. */
    assert_int_equal(chmod(f->dir, 0755), 0);
    assert_int_equal(chmod(f->reg, 0644), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        char *err = NULL;
        int rc = run(f, &err);
        _exit(rc == -1 && strstr(err, "t.conf:9: the state directory ") &&
                      strstr(err, "cannot be written by this user")
                  ? 0
                  : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void the_store_key_must_be_usable(void **state)
{
    struct fixture *f = *state;
    config_free(&f->cfg);
    char extra[256];
    snprintf(extra, sizeof extra, "key_file = %s/keys/store.key\n", f->dir);
    parse(f, "a-long-random-secret", extra);
    /* Missing, where it cannot be made at the start. */
    expect_error(f, "t.conf:10: the store key file ", "cannot be created");
    char keys[128], key[160];
    snprintf(keys, sizeof keys, "%s/keys", f->dir);
    snprintf(key, sizeof key, "%s/store.key", keys);
    assert_int_equal(mkdir(keys, 0700), 0);
    char *err = NULL;
    assert_int_equal(run(f, &err), 0);
    /* There, but readable by everyone. */
    write_file(key, "0000000000000000000000000000000000000000000000000000000000"
                    "000000\n", 0644);
    expect_error(f, "t.conf:10: ", key);
    chmod(key, 0600);
    assert_int_equal(run(f, &err), 0);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_consistent_setup_passes_quietly,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(placeholder_secrets_are_warned_about,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(the_registration_must_agree, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(the_state_directory_must_be_writable,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(the_store_key_must_be_usable, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
