/* The config parser: defaults, every error as file:line: message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/log.h"
#include "gateway/core/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const MINIMAL =
    "[xmpp]\n"
    "component_jid = gw.example.org\n"
    "secret = s3cret\n"
    "[matrix]\n"
    "homeserver_url = http://127.0.0.1:8008/\n"
    "server_name = example.org\n"
    "registration_file = /tmp/reg.yaml\n";

static void minimal_config_gets_defaults(void **state)
{
    (void)state;
    struct config cfg;
    char *err = NULL;
    assert_int_equal(config_parse("t.conf", MINIMAL, &cfg, &err), 0);
    assert_string_equal(cfg.component_jid, "gw.example.org");
    assert_string_equal(cfg.xmpp_host, "127.0.0.1");
    assert_int_equal(cfg.xmpp_port, 5347);
    /* The trailing slash is dropped so paths can be appended. */
    assert_string_equal(cfg.homeserver_url, "http://127.0.0.1:8008");
    assert_string_equal(cfg.user_prefix, "_xmpp_");
    assert_int_equal(cfg.bind_port, 9998);
    assert_string_equal(cfg.as_url, "http://127.0.0.1:9998");
    assert_int_equal(cfg.log_level, LOG_INFO);
    assert_int_equal(cfg.max_event_body, 60000);
    /* XMPP clients reach the media proxy where the homeserver reaches us. */
    assert_string_equal(cfg.media_url, "http://127.0.0.1:9998");
    assert_int_equal(cfg.media_max_bytes, 104857600);
    assert_int_equal(cfg.media_timeout_s, 60);
    assert_true(cfg.e2ee_enabled);
    assert_int_equal(cfg.e2ee_key_wait_s, 60);
    assert_true(cfg.e2ee_encrypt_new_dms);
    config_free(&cfg);
}

static void comments_blank_lines_and_whitespace(void **state)
{
    (void)state;
    const char *text =
        "# a comment\n"
        "\n"
        "  [xmpp]  \n"
        "component_jid=gw.example.org\n"
        "\tsecret   =   with spaces inside  \r\n"
        "; another comment\n"
        "[matrix]\n"
        "homeserver_url = https://matrix.example.org\n"
        "server_name = example.org\n"
        "registration_file = /tmp/reg.yaml\n"
        "[appservice]\n"
        "url = http://10.0.0.5:9000\n"
        "[log]\n"
        "level = debug\n";
    struct config cfg;
    char *err = NULL;
    assert_int_equal(config_parse("t.conf", text, &cfg, &err), 0);
    assert_string_equal(cfg.component_secret, "with spaces inside");
    assert_string_equal(cfg.as_url, "http://10.0.0.5:9000");
    assert_int_equal(cfg.log_level, LOG_DEBUG);
    config_free(&cfg);
}

static void expect_error(const char *text, const char *message)
{
    struct config cfg;
    char *err = NULL;
    assert_int_equal(config_parse("bad.conf", text, &cfg, &err), -1);
    assert_non_null(err);
    if (strcmp(err, message) != 0)
        fail_msg("expected \"%s\", got \"%s\"", message, err);
    free(err);
}

static void errors_name_file_and_line(void **state)
{
    (void)state;
    expect_error("[xmpp]\nport = 99999\n",
                 "bad.conf:2: port: the value is out of range");
    expect_error("[xmpp]\nport = 12ab\n",
                 "bad.conf:2: port: the value must be a whole number");
    expect_error("key = value\n",
                 "bad.conf:1: 'key' comes before any [section]");
    expect_error("[nope]\n", "bad.conf:1: unknown section [nope]");
    expect_error("[e2ee]\nenabled = yes\n",
                 "bad.conf:2: enabled: the value must be true or false");
    expect_error("[xmpp\n", "bad.conf:1: a section header must look like "
                            "[name]");
    expect_error("\n\n[xmpp]\nbogus = 1\n",
                 "bad.conf:4: unknown key 'bogus' in section [xmpp]");
    expect_error("[xmpp]\njust words\n",
                 "bad.conf:2: expected 'key = value', got 'just words'");
    expect_error("[xmpp]\nsecret = a\nsecret = b\n",
                 "bad.conf:3: 'secret' is set twice in [xmpp]");
    expect_error("[xmpp]\nsecret =\n", "bad.conf:2: secret: the value is empty");
    expect_error("[matrix]\nhomeserver_url = ftp://x\n",
                 "bad.conf:2: homeserver_url: the value must be an http:// or "
                 "https:// URL");
    expect_error("[log]\nlevel = loud\n",
                 "bad.conf:2: level: the level must be error, warn, info or "
                 "debug");
    expect_error("[xmpp]\ncomponent_jid = gw\n",
                 "bad.conf:2: missing required key 'secret' in section [xmpp]");
    expect_error("", "bad.conf:0: missing required key 'component_jid' in "
                     "section [xmpp]");
}

static void bot_must_lie_outside_the_ghosts(void **state)
{
    (void)state;
    char text[1024];
    /* The old default: a Matrix user inviting @_xmpp_bot would have
     * reached the XMPP address "bot". */
    snprintf(text, sizeof text, "%s[appservice]\nbot_localpart = _xmpp_bot\n",
             MINIMAL);
    expect_error(text, "bad.conf:9: bot_localpart '_xmpp_bot' lies inside "
                       "the ghosts' namespace (user_prefix '_xmpp_'): a "
                       "Matrix user inviting the bot would reach an XMPP "
                       "address instead; choose a bot_localpart that does "
                       "not start with '_xmpp_'");
    /* A prefix that swallows the default bot is blamed on its own line. */
    snprintf(text, sizeof text, "%s[appservice]\n# c\nuser_prefix = _\n",
             MINIMAL);
    expect_error(text, "bad.conf:10: bot_localpart '_xmpp' lies inside the "
                       "ghosts' namespace (user_prefix '_'): a Matrix user "
                       "inviting the bot would reach an XMPP address "
                       "instead; choose a bot_localpart that does not start "
                       "with '_'");
    /* The default bot and the default prefix agree; so does a bot that
     * merely shares the prefix's beginning. */
    struct config cfg;
    char *err = NULL;
    assert_int_equal(config_parse("t.conf", MINIMAL, &cfg, &err), 0);
    assert_string_equal(cfg.bot_localpart, "_xmpp");
    config_free(&cfg);
    snprintf(text, sizeof text,
             "%s[appservice]\nbot_localpart = _xmpp_\nuser_prefix = "
             "_xmpp_x\n", MINIMAL);
    assert_int_equal(config_parse("t.conf", text, &cfg, &err), 0);
    assert_int_equal(config_key_line(&cfg, "appservice", "user_prefix"), 10);
    /* A default points at the file's end. */
    assert_int_equal(config_key_line(&cfg, "xmpp", "port"), 10);
    config_free(&cfg);
}

static void admins_are_addresses(void **state)
{
    (void)state;
    char text[1024];
    snprintf(text, sizeof text, "%s[gateway]\nadmins = a@b.example, "
             "@ok:hs.example,\tbob@x.example/phone\n", MINIMAL);
    char *err = NULL;
    struct config cfg;
    assert_int_equal(config_parse("bad.conf", text, &cfg, &err), -1);
    assert_non_null(strstr(err, "bad.conf:9: admins: 'bob@x.example/phone' "
                                "is neither a bare JID nor a Matrix user id"));
    free(err);
    snprintf(text, sizeof text, "%s[gateway]\nadmins = @nobody\n", MINIMAL);
    assert_int_equal(config_parse("bad.conf", text, &cfg, &err), -1);
    assert_non_null(strstr(err, "'@nobody'"));
    free(err);
    snprintf(text, sizeof text, "%s[gateway]\nadmins = Alice@B.example, "
             "@ok:hs.example\n", MINIMAL);
    assert_int_equal(config_parse("t.conf", text, &cfg, &err), 0);
    assert_string_equal(cfg.admins, "Alice@B.example, @ok:hs.example");
    config_free(&cfg);
    /* Nobody by default. */
    assert_int_equal(config_parse("t.conf", MINIMAL, &cfg, &err), 0);
    assert_null(cfg.admins);
    config_free(&cfg);
}

static void load_reports_missing_file(void **state)
{
    (void)state;
    struct config cfg;
    char *err = NULL;
    assert_int_equal(config_load("/nonexistent/isthmus.conf", &cfg, &err), -1);
    assert_non_null(strstr(err, "/nonexistent/isthmus.conf:0: cannot open"));
    free(err);
}

static void load_reads_the_file(void **state)
{
    (void)state;
    char path[] = "/tmp/isthmus-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, MINIMAL, strlen(MINIMAL)), (ssize_t)strlen(MINIMAL));
    close(fd);
    struct config cfg;
    char *err = NULL;
    assert_int_equal(config_load(path, &cfg, &err), 0);
    assert_string_equal(cfg.server_name, "example.org");
    config_free(&cfg);
    unlink(path);
}

static void example_config_is_valid(void **state)
{
    (void)state;
    struct config cfg;
    char *err = NULL;
    const char *dir = getenv("srcdir") ? getenv("srcdir") : ".";
    char path[4096];
    snprintf(path, sizeof path, "%s/isthmus.example.conf", dir);
    if (config_load(path, &cfg, &err) != 0)
        fail_msg("%s", err);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(minimal_config_gets_defaults),
        cmocka_unit_test(comments_blank_lines_and_whitespace),
        cmocka_unit_test(errors_name_file_and_line),
        cmocka_unit_test(bot_must_lie_outside_the_ghosts),
        cmocka_unit_test(admins_are_addresses),
        cmocka_unit_test(load_reports_missing_file),
        cmocka_unit_test(load_reads_the_file),
        cmocka_unit_test(example_config_is_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
