/* Address mapping: every valid identifier round-trips, every invalid one is
 * refused with a reason, and no two inputs map to the same output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/core/ids.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ids IDS = { "_xmpp_", "_xmpp_", "hs.example",
                                "gw.xmpp.example", "_xmpp" };

static void expect_ghost(const char *jid, const char *mxid)
{
    char *out = NULL, *back = NULL;
    const char *why = NULL;
    if (ids_jid_to_ghost(&IDS, jid, &out, &why) != 0)
        fail_msg("%s refused: %s", jid, why);
    assert_string_equal(out, mxid);
    assert_true(ids_is_ghost(&IDS, out));
    if (ids_ghost_to_jid(&IDS, out, &back, &why) != 0)
        fail_msg("%s did not map back: %s", out, why);
    assert_string_equal(back, jid);
    free(out);
    free(back);
}

static void expect_puppet(const char *mxid, const char *jid,
                          enum ids_matrix_kind kind)
{
    char *out = NULL, *back = NULL;
    const char *why = NULL;
    enum ids_matrix_kind k;
    if (ids_matrix_to_jid(&IDS, mxid, &out, &why) != 0)
        fail_msg("%s refused: %s", mxid, why);
    assert_string_equal(out, jid);
    if (ids_jid_to_matrix(&IDS, out, &back, &k, &why) != 0)
        fail_msg("%s did not map back: %s", out, why);
    assert_string_equal(back, mxid);
    assert_int_equal(k, kind);
    free(out);
    free(back);
}

static void expect_jid_refused(const char *jid)
{
    char *out = NULL;
    const char *why = NULL;
    if (ids_jid_to_ghost(&IDS, jid, &out, &why) == 0)
        fail_msg("%s was accepted as %s", jid, out);
    assert_non_null(why);
    assert_null(out);
}

static void expect_ghost_refused(const char *mxid)
{
    char *out = NULL;
    const char *why = NULL;
    if (ids_ghost_to_jid(&IDS, mxid, &out, &why) == 0)
        fail_msg("%s was accepted as %s", mxid, out);
    assert_non_null(why);
}

static void expect_matrix_refused(const char *mxid)
{
    char *out = NULL;
    const char *why = NULL;
    if (ids_matrix_to_jid(&IDS, mxid, &out, &why) == 0)
        fail_msg("%s was accepted as %s", mxid, out);
    assert_non_null(why);
}

static void expect_puppet_jid_refused(const char *jid)
{
    char *out = NULL;
    const char *why = NULL;
    if (ids_jid_to_matrix(&IDS, jid, &out, NULL, &why) == 0)
        fail_msg("%s was accepted as %s", jid, out);
    assert_non_null(why);
}

/* ------------------------------------------------- XMPP users as ghosts -- */

static void ghost_basic(void **state)
{
    (void)state;
    expect_ghost("alice@xmpp.example", "@_xmpp_alice=40xmpp.example:hs.example");
    expect_ghost("a.b_c-d@x.org", "@_xmpp_a.b_c-d=40x.org:hs.example");
    expect_ghost("xmpp.example", "@_xmpp_xmpp.example:hs.example");
    expect_ghost("a=b@x.org", "@_xmpp_a=3db=40x.org:hs.example");
    expect_ghost("a+b!#$*~@x.org",
                 "@_xmpp_a=2bb=21=23=24=2a=7e=40x.org:hs.example");
    expect_ghost("back\\slash@x.org", "@_xmpp_back=5cslash=40x.org:hs.example");
}

static void ghost_unicode(void **state)
{
    (void)state;
    expect_ghost("jürgen@münchen.de",
                 "@_xmpp_j=c3=bcrgen=40m=c3=bcnchen.de:hs.example");
    expect_ghost("用户@例子.中国",
                 "@_xmpp_=e7=94=a8=e6=88=b7=40=e4=be=8b=e5=ad=90.=e4=b8=ad="
                 "e5=9b=bd:hs.example");
    expect_ghost("😀@emoji.example",
                 "@_xmpp_=f0=9f=98=80=40emoji.example:hs.example");
}

static void ghost_case_and_resource_folded(void **state)
{
    (void)state;
    char *out = NULL;
    const char *why;
    /* XMPP compares ASCII case-insensitively and the resource is not part of
     * the person, so these all name the same ghost. */
    assert_int_equal(ids_jid_to_ghost(&IDS, "Alice@XMPP.Example/Phone", &out,
                                      &why), 0);
    assert_string_equal(out, "@_xmpp_alice=40xmpp.example:hs.example");
    free(out);
}

static void ghost_refuses_invalid_jids(void **state)
{
    (void)state;
    expect_jid_refused("");
    expect_jid_refused("@x.org");
    expect_jid_refused("a@");
    expect_jid_refused("a b@x.org");
    expect_jid_refused("a\"b@x.org");
    expect_jid_refused("a<b@x.org");
    expect_jid_refused("a:b@x.org");
    expect_jid_refused("a@b@x.org");
    expect_jid_refused("a@.x.org");
    expect_jid_refused("a@x.org.");
    expect_jid_refused("a\x01@x.org");
    expect_jid_refused("a\xc3@x.org");         /* truncated UTF-8 */
    expect_jid_refused("a\xed\xa0\x80@x.org"); /* surrogate */
    expect_jid_refused("a\xc0\xaf@x.org");     /* overlong */
    /* The gateway's own users have no ghost: that would be a loop. */
    expect_jid_refused("bob%hs.example@gw.xmpp.example");
}

static void ghost_length_limits(void **state)
{
    (void)state;
    /* The ghost's Matrix ID may be 255 bytes: "@_xmpp_" + local + "=40" +
     * domain + ":hs.example" must fit. */
    size_t overhead = strlen("@_xmpp_=40x.org:hs.example");
    char jid[400];
    size_t local = 255 - overhead;
    memset(jid, 'a', local);
    strcpy(jid + local, "@x.org");
    char *out = NULL;
    const char *why;
    assert_int_equal(ids_jid_to_ghost(&IDS, jid, &out, &why), 0);
    assert_int_equal(strlen(out), 255);
    char *back = NULL;
    assert_int_equal(ids_ghost_to_jid(&IDS, out, &back, &why), 0);
    assert_string_equal(back, jid);
    free(out);
    free(back);
    memset(jid, 'a', local + 1);
    strcpy(jid + local + 1, "@x.org");
    expect_jid_refused(jid);
    /* 1024-byte localparts are invalid whatever the mapping. */
    char huge[1100];
    memset(huge, 'a', 1024);
    strcpy(huge + 1024, "@x.org");
    expect_jid_refused(huge);
}

static void ghost_refuses_non_canonical(void **state)
{
    (void)state;
    expect_ghost_refused("@_xmpp_alice=40xmpp.example:elsewhere.example");
    expect_ghost_refused("@someone:hs.example");
    expect_ghost_refused("@_xmpp_:hs.example");
    expect_ghost_refused("@_xmpp_Alice=40x.org:hs.example");  /* upper case */
    expect_ghost_refused("@_xmpp_alice=40X.org:hs.example");
    expect_ghost_refused("@_xmpp_a=3Db=40x.org:hs.example");  /* upper hex */
    expect_ghost_refused("@_xmpp_a=61=40x.org:hs.example");   /* 'a' escaped */
    expect_ghost_refused("@_xmpp_a=4=40x.org:hs.example");    /* short hex */
    expect_ghost_refused("@_xmpp_a=zz=40x.org:hs.example");
    expect_ghost_refused("@_xmpp_a=20b=40x.org:hs.example");  /* space */
    expect_ghost_refused("@_xmpp_a=40=40x.org:hs.example");   /* two @ */
    expect_ghost_refused("@_xmpp_=40x.org:hs.example");       /* empty local */
    expect_ghost_refused("@_xmpp_a=40gw.xmpp.example:hs.example");
    expect_ghost_refused("@_xmpp_a=c3=40x.org:hs.example");   /* bad UTF-8 */
    expect_ghost_refused("_xmpp_a=40x.org:hs.example");       /* no sigil */
}

/* -------------------------------------------- Matrix users on XMPP side -- */

static void puppet_basic(void **state)
{
    (void)state;
    expect_puppet("@bob:matrix.org", "bob%matrix.org@gw.xmpp.example",
                  IDS_MATRIX_USER);
    expect_puppet("@bob.smith_1-2=x/y:matrix.org",
                  "bob.smith_1-2=x\\2fy%matrix.org@gw.xmpp.example",
                  IDS_MATRIX_USER);
    expect_puppet("@bob:matrix.org:8448",
                  "bob%matrix.org\\3a8448@gw.xmpp.example", IDS_MATRIX_USER);
    expect_puppet("@bob:[::1]:8448",
                  "bob%[\\3a\\3a1]\\3a8448@gw.xmpp.example", IDS_MATRIX_USER);
    expect_puppet("@bob:1.2.3.4", "bob%1.2.3.4@gw.xmpp.example",
                  IDS_MATRIX_USER);
}

static void puppet_historical_ids(void **state)
{
    (void)state;
    /* Upper case survives the XMPP server's case folding as \hh. */
    expect_puppet("@Bob:matrix.org", "\\42ob%matrix.org@gw.xmpp.example",
                  IDS_MATRIX_USER);
    expect_puppet("@BOB:Matrix.ORG",
                  "\\42\\4f\\42%\\4datrix.\\4f\\52\\47@gw.xmpp.example",
                  IDS_MATRIX_USER);
    expect_puppet("@a+b=c/d:x.org", "a+b=c\\2fd%x.org@gw.xmpp.example",
                  IDS_MATRIX_USER);
    /* Characters a JID localpart forbids, XEP-0106 style. */
    expect_puppet("@a\"&'<>@b:x.org",
                  "a\\22\\26\\27\\3c\\3e\\40b%x.org@gw.xmpp.example",
                  IDS_MATRIX_USER);
    /* The escape characters themselves. */
    expect_puppet("@a\\b%c:x.org", "a\\5cb\\25c%x.org@gw.xmpp.example",
                  IDS_MATRIX_USER);
    /* A leading sigil would make it look like a room. */
    expect_puppet("@#notaroom:x.org", "\\23notaroom%x.org@gw.xmpp.example",
                  IDS_MATRIX_USER);
    expect_puppet("@!notaroom:x.org", "\\21notaroom%x.org@gw.xmpp.example",
                  IDS_MATRIX_USER);
    expect_puppet("@~!*()[]{}|^`?;,$:x.org",
                  "~!*()[]{}|^`?;,$%x.org@gw.xmpp.example", IDS_MATRIX_USER);
}

static void puppet_rooms_and_aliases(void **state)
{
    (void)state;
    expect_puppet("#room:matrix.org", "#room%matrix.org@gw.xmpp.example",
                  IDS_MATRIX_ALIAS);
    expect_puppet("#Room:matrix.org", "#\\52oom%matrix.org@gw.xmpp.example",
                  IDS_MATRIX_ALIAS);
    expect_puppet("#café:matrix.org", "#café%matrix.org@gw.xmpp.example",
                  IDS_MATRIX_ALIAS);
    expect_puppet("!abcDEF:matrix.org",
                  "!abc\\44\\45\\46%matrix.org@gw.xmpp.example",
                  IDS_MATRIX_ROOM);
    /* Room version 12 room ids have no server name. */
    expect_puppet("!opaque_hash-1", "!opaque_hash-1@gw.xmpp.example",
                  IDS_MATRIX_ROOM);
}

static void puppet_longest_id(void **state)
{
    (void)state;
    char mxid[256], expect[1100];
    /* 255 bytes, all upper case: the worst expansion (x3). */
    mxid[0] = '@';
    memset(mxid + 1, 'B', 254 - strlen(":x.org"));
    strcpy(mxid + 255 - strlen(":x.org"), ":x.org");
    assert_int_equal(strlen(mxid), 255);
    char *p = expect;
    for (size_t i = 1; i < 255 - strlen(":x.org"); i++)
        p += sprintf(p, "\\42");
    sprintf(p, "%%x.org@gw.xmpp.example");
    expect_puppet(mxid, expect, IDS_MATRIX_USER);
    char longer[300];
    longer[0] = '@';
    memset(longer + 1, 'b', 250);
    strcpy(longer + 251, ":x.org");
    assert_int_equal(strlen(longer), 257);
    expect_matrix_refused(longer);
}

static void puppet_refuses_invalid(void **state)
{
    (void)state;
    expect_matrix_refused("");
    expect_matrix_refused("bob:x.org");
    expect_matrix_refused("@:x.org");
    expect_matrix_refused("@bob");
    expect_matrix_refused("@bob:");
    expect_matrix_refused("@bo b:x.org");
    expect_matrix_refused("@böb:x.org");
    expect_matrix_refused("@bob:x_y.org");
    expect_matrix_refused("@bob:x.org:");
    expect_matrix_refused("@bob:x.org:123456");
    expect_matrix_refused("@bob:x.org:8a");
    expect_matrix_refused("@bob:[::1");
    expect_matrix_refused("@bob:[zz]");
    expect_matrix_refused("#:x.org");
    expect_matrix_refused("#ro om:x.org");
    expect_matrix_refused("!:x.org");
    /* A ghost is reached at the XMPP user's own JID. */
    expect_matrix_refused("@_xmpp_alice=40x.org:hs.example");
    /* Nor is the gateway's bot anyone's correspondent; its namesake on
     * another server is an ordinary user. */
    expect_matrix_refused("@_xmpp:hs.example");
    assert_true(ids_is_bot(&IDS, "@_xmpp:hs.example"));
    assert_false(ids_is_bot(&IDS, "@_xmpp:hs.example.org"));
    assert_false(ids_is_bot(&IDS, "@_xmppx:hs.example"));
    expect_puppet("@_xmpp:x.org", "_xmpp%x.org@gw.xmpp.example",
                  IDS_MATRIX_USER);
}

static void puppet_jid_refuses_non_canonical(void **state)
{
    (void)state;
    /* The gateway's own bot. */
    expect_puppet_jid_refused("_xmpp%hs.example@gw.xmpp.example");
    expect_puppet_jid_refused("bob@gw.xmpp.example");            /* no % */
    expect_puppet_jid_refused("bob%matrix.org@elsewhere.example");
    expect_puppet_jid_refused("gw.xmpp.example");
    expect_puppet_jid_refused("%matrix.org@gw.xmpp.example");
    expect_puppet_jid_refused("bob%@gw.xmpp.example");
    expect_puppet_jid_refused("b\\zzob%x.org@gw.xmpp.example");  /* bad \ */
    expect_puppet_jid_refused("bob\\@gw.xmpp.example");
    expect_puppet_jid_refused("b\\6fb%x.org@gw.xmpp.example");   /* 'o' */
    expect_puppet_jid_refused("bob%x.org\\3a@gw.xmpp.example");  /* bad port */
    expect_puppet_jid_refused("bob%x_y.org@gw.xmpp.example");
    expect_puppet_jid_refused("bob%localhost%x.org@gw.xmpp.example");
    /* \00 unescapes to NUL, which no Matrix identifier holds: refused in
     * either part, and for the reason the re-encoding gives. */
    const char *why = NULL;
    char *out = NULL;
    assert_int_equal(ids_jid_to_matrix(&IDS, "b\\00ob%x.org@gw.xmpp.example",
                                       &out, NULL, &why), -1);
    assert_string_equal(why, "the JID is not in the gateway's canonical form "
                             "(escape upper case and special characters as "
                             "\\hh)");
    expect_puppet_jid_refused("bob%x.org\\00@gw.xmpp.example");
    expect_puppet_jid_refused("!room\\00@gw.xmpp.example");
    expect_puppet_jid_refused("bob%x.org\\0@gw.xmpp.example"); /* short */
}

static void puppet_jid_case_folding(void **state)
{
    (void)state;
    /* A server or client that folds case must not change whom we reach. */
    char *out = NULL;
    const char *why;
    assert_int_equal(ids_jid_to_matrix(&IDS, "BOB%Matrix.Org@GW.xmpp.example",
                                       &out, NULL, &why), 0);
    assert_string_equal(out, "@bob:matrix.org");
    free(out);
    assert_int_equal(ids_jid_to_matrix(&IDS, "\\42ob%x.org@gw.xmpp.example/res",
                                       &out, NULL, &why), 0);
    assert_string_equal(out, "@Bob:x.org");
    free(out);
    /* Upper-case hex is folded to lower case by the server: same user. */
    assert_int_equal(ids_jid_to_matrix(&IDS, "\\4Aoe%x.org@gw.xmpp.example",
                                       &out, NULL, &why), 0);
    assert_string_equal(out, "@Joe:x.org");
    free(out);
}

/* ------------------------------------------------------- MUC aliases -- */

static void muc_aliases(void **state)
{
    (void)state;
    char *alias = NULL, *muc = NULL;
    const char *why;
    assert_int_equal(ids_muc_to_alias(&IDS, "room@conference.x.org", &alias,
                                      &why), 0);
    assert_string_equal(alias, "#_xmpp_room=40conference.x.org:hs.example");
    assert_int_equal(ids_alias_to_muc(&IDS, alias, &muc, &why), 0);
    assert_string_equal(muc, "room@conference.x.org");
    free(alias);
    free(muc);
    assert_int_equal(ids_muc_to_alias(&IDS, "conference.x.org", &alias, &why),
                     -1);
    assert_int_equal(ids_alias_to_muc(&IDS, "#_xmpp_conference.x.org:"
                                      "hs.example", &muc, &why), -1);
    assert_int_equal(ids_alias_to_muc(&IDS, "#other:hs.example", &muc, &why),
                     -1);
}

/* Occupants of anonymous rooms: the ghost names room@service/nick, can
 * never equal a bare JID's ghost, and maps back to no JID (nobody can
 * open a DM with an anonymous occupant). */
static void occupant_ghosts(void **state)
{
    (void)state;
    char *ghost = NULL, *bare = NULL, *jid = NULL;
    const char *why;
    assert_int_equal(ids_occupant_to_ghost(&IDS, "room@conference.x.org",
                                           "Ann B", &ghost, &why), 0);
    assert_string_equal(ghost,
                        "@_xmpp_room=40conference.x.org=2f=41nn=20=42:"
                        "hs.example");
    assert_int_equal(ids_jid_to_ghost(&IDS, "room@conference.x.org", &bare,
                                      &why), 0);
    assert_string_not_equal(ghost, bare);
    assert_true(ids_is_ghost(&IDS, ghost));
    assert_int_equal(ids_ghost_to_jid(&IDS, ghost, &jid, &why), -1);
    /* Mentions name the occupant back by its occupant JID. */
    assert_int_equal(ids_occupant_ghost_to_jid(&IDS, ghost, &jid, &why), 0);
    assert_string_equal(jid, "room@conference.x.org/Ann B");
    free(jid);
    assert_int_equal(ids_occupant_ghost_to_jid(&IDS, bare, &jid, &why), -1);
    assert_int_equal(ids_occupant_ghost_to_jid(
                         &IDS, "@_xmpp_room=40conference.x.org=2fAnn:"
                               "hs.example", &jid, &why), -1);
    free(ghost);
    free(bare);
    assert_int_equal(ids_occupant_to_ghost(&IDS, "room@conference.x.org", "",
                                           &ghost, &why), -1);
    assert_int_equal(ids_occupant_to_ghost(&IDS, "room@gw.xmpp.example",
                                           "n", &ghost, &why), -1);
    char nick[300];
    memset(nick, 'n', sizeof nick - 1);
    nick[sizeof nick - 1] = '\0';
    assert_int_equal(ids_occupant_to_ghost(&IDS, "room@conference.x.org",
                                           nick, &ghost, &why), -1);
}

/* ---------------------------------------------------- bijection sweep -- */

/* Every single byte in every position: the mapping never merges two inputs
 * and always round-trips what it accepts. */
static void sweep_single_bytes(void **state)
{
    (void)state;
    for (int c = 1; c < 256; c++) {
        char mxid[32], jid[32];
        snprintf(mxid, sizeof mxid, "@a%cb:x.org", c);
        char *out = NULL, *back = NULL;
        const char *why;
        if (ids_matrix_to_jid(&IDS, mxid, &out, &why) == 0) {
            assert_int_equal(ids_jid_to_matrix(&IDS, out, &back, NULL, &why),
                             0);
            assert_string_equal(back, mxid);
            free(back);
            free(out);
        }
        if (c == '/')
            continue; /* "a/b@x.org" is the domain "a" with a resource */
        snprintf(jid, sizeof jid, "a%cb@x.org", c);
        if (ids_jid_to_ghost(&IDS, jid, &out, &why) == 0) {
            assert_int_equal(ids_ghost_to_jid(&IDS, out, &back, &why), 0);
            /* Only ASCII case is folded on the way in. */
            char folded[32];
            snprintf(folded, sizeof folded, "a%cb@x.org",
                     c >= 'A' && c <= 'Z' ? c + 32 : c);
            assert_string_equal(back, folded);
            free(back);
            free(out);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ghost_basic),
        cmocka_unit_test(ghost_unicode),
        cmocka_unit_test(ghost_case_and_resource_folded),
        cmocka_unit_test(ghost_refuses_invalid_jids),
        cmocka_unit_test(ghost_length_limits),
        cmocka_unit_test(ghost_refuses_non_canonical),
        cmocka_unit_test(puppet_basic),
        cmocka_unit_test(puppet_historical_ids),
        cmocka_unit_test(puppet_rooms_and_aliases),
        cmocka_unit_test(puppet_longest_id),
        cmocka_unit_test(puppet_refuses_invalid),
        cmocka_unit_test(puppet_jid_refuses_non_canonical),
        cmocka_unit_test(puppet_jid_case_folding),
        cmocka_unit_test(muc_aliases),
        cmocka_unit_test(occupant_ghosts),
        cmocka_unit_test(sweep_single_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
