/* The command table without either door: who may run what, arguments
 * missing or wrong, and the answers that need only the address mapping
 * (whois, join), as the bot and the ad-hoc commands both get them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/features/commands.h"

#include <stdlib.h>
#include <string.h>

static struct gateway gw;

static const char *field(const struct cmd_result *r, const char *label)
{
    for (size_t i = 0; i < r->nfields; i++)
        if (strcmp(r->fields[i].label, label) == 0)
            return r->fields[i].value;
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    memset(&gw, 0, sizeof gw);
    gw.ids = (struct ids){ "_xmpp_", "_xmpp_", "hs.example", "gw.example",
                           "_xmpp" };
    gw.cfg.admins = strdup("Root@XMPP.example, @boss:hs.example");
    gw.bot_mxid = strdup("@_xmpp:hs.example");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(gw.cfg.admins);
    free(gw.bot_mxid);
    return 0;
}

static void admins_are_recognised(void **state)
{
    (void)state;
    struct cmd_caller x = { CMD_FROM_XMPP, "root@xmpp.example" };
    struct cmd_caller m = { CMD_FROM_MATRIX, "@boss:hs.example" };
    struct cmd_caller other = { CMD_FROM_MATRIX, "@Boss:hs.example" };
    struct cmd_caller not_m = { CMD_FROM_XMPP, "@boss:hs.example" };
    assert_true(commands_is_admin(&gw, &x)); /* JIDs without case */
    assert_true(commands_is_admin(&gw, &m));
    assert_false(commands_is_admin(&gw, &other)); /* Matrix ids with it */
    assert_false(commands_is_admin(&gw, &not_m));
    const struct cmd_spec *stats = commands_find("STATS");
    assert_non_null(stats);
    assert_true(commands_may_run(&gw, stats, &x));
    assert_false(commands_may_run(&gw, stats, &other));
    assert_true(commands_may_run(&gw, commands_find("help"), &other));
}

static void non_admins_are_refused(void **state)
{
    (void)state;
    struct cmd_caller c = { CMD_FROM_MATRIX, "@bob:hs.example" };
    struct cmd_result r;
    commands_run_line(&gw, &c, "reconnect", &r);
    assert_int_equal(r.status, CMD_FORBIDDEN);
    assert_non_null(strstr(r.text, "admins only"));
    cmd_result_free(&r);
}

static void lines_are_read(void **state)
{
    (void)state;
    struct cmd_caller c = { CMD_FROM_MATRIX, "@bob:hs.example" };
    struct cmd_result r;
    commands_run_line(&gw, &c, "  !Whois   alice@xmpp.example \n", &r);
    assert_int_equal(r.status, CMD_DONE);
    assert_string_equal(field(&r, "Matrix id"),
                        "@_xmpp_alice=40xmpp.example:hs.example");
    cmd_result_free(&r);

    commands_run_line(&gw, &c, "whois", &r);
    assert_int_equal(r.status, CMD_BAD_ARGUMENT);
    assert_non_null(strstr(r.text, "needs an argument"));
    cmd_result_free(&r);

    commands_run_line(&gw, &c, "launch rockets", &r);
    assert_int_equal(r.status, CMD_BAD_ARGUMENT);
    assert_non_null(strstr(r.text, "Unknown command \"launch\""));
    cmd_result_free(&r);

    commands_run_line(&gw, &c, "help", &r);
    assert_int_equal(r.status, CMD_DONE);
    assert_non_null(field(&r, "whois <address>"));
    assert_non_null(strstr(field(&r, "stats"), "not you"));
    char *text = commands_render_text(&r);
    assert_non_null(strstr(text, "\nrooms: "));
    free(text);
    cmd_result_free(&r);
}

static void whois_maps_both_ways(void **state)
{
    (void)state;
    struct cmd_caller c = { CMD_FROM_XMPP, "alice@xmpp.example" };
    struct { const char *arg, *label, *want; } cases[] = {
        { "@Bob/x=1:hs.example", "XMPP address",
          "\\42ob\\2fx=1%hs.example@gw.example" },
        { "\\42ob\\2fx=1%hs.example@gw.example", "Matrix id",
          "@Bob/x=1:hs.example" },
        { "@_xmpp_alice=40xmpp.example:hs.example", "XMPP address",
          "alice@xmpp.example" },
        { "#_xmpp_room=40muc.example:hs.example", "XMPP address",
          "room@muc.example" },
        { "@_xmpp:hs.example", "XMPP address", "gw.example" },
        /* A room's JID starts with its sigil, and is still a JID. */
        { "#lobby%matrix.org@gw.example", "Matrix id", "#lobby:matrix.org" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cmd_result r;
        commands_run(&gw, commands_find("whois"), &c, cases[i].arg, &r);
        assert_int_equal(r.status, CMD_DONE);
        assert_string_equal(field(&r, cases[i].label), cases[i].want);
        cmd_result_free(&r);
    }
    const char *bad[] = { "@nobody", "not a jid", "#:" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct cmd_result r;
        commands_run(&gw, commands_find("whois"), &c, bad[i], &r);
        assert_int_equal(r.status, CMD_BAD_ARGUMENT);
        assert_int_equal(r.nfields, 0);
        cmd_result_free(&r);
    }
}

static void join_answers_the_other_side(void **state)
{
    (void)state;
    struct cmd_caller c = { CMD_FROM_XMPP, "alice@xmpp.example" };
    struct cmd_result r;
    commands_run(&gw, commands_find("join"), &c, "#lobby:matrix.org", &r);
    assert_string_equal(field(&r, "MUC address"),
                        "#lobby%matrix.org@gw.example");
    cmd_result_free(&r);
    commands_run(&gw, commands_find("join"), &c, "room@muc.example", &r);
    assert_string_equal(field(&r, "Matrix room"),
                        "#_xmpp_room=40muc.example:hs.example");
    cmd_result_free(&r);
    commands_run(&gw, commands_find("join"), &c,
                 "#lobby%matrix.org@gw.example", &r);
    assert_string_equal(field(&r, "Matrix room"), "#lobby:matrix.org");
    cmd_result_free(&r);
    const char *bad[] = { "@bob:hs.example", "nowhere",
                          "bob%hs.example@gw.example" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        commands_run(&gw, commands_find("join"), &c, bad[i], &r);
        assert_int_equal(r.status, CMD_BAD_ARGUMENT);
        cmd_result_free(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(admins_are_recognised),
        cmocka_unit_test(non_admins_are_refused),
        cmocka_unit_test(lines_are_read),
        cmocka_unit_test(whois_maps_both_ways),
        cmocka_unit_test(join_answers_the_other_side),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
