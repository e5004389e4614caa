/* No message text at rest: the outbox seals its payloads (store/seal.c)
 * under the operator's key file (gateway/store_key.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/base/store_key.h"
#include "store/seal.h"
#include "tests/unit/store_fixture.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char key_a[SEAL_KEY_BYTES] = { 0xa };
static const unsigned char key_b[SEAL_KEY_BYTES] = { 0xb };

static void sealed_text_opens_and_hides_the_plain_text(void **state)
{
    (void)state;
    struct seal *s = seal_new(key_a);
    const char *plain = "<message><body>meet me at noon ☃</body></message>";
    char *sealed = seal_text(s, plain);
    assert_true(seal_is_sealed(sealed));
    assert_null(strstr(sealed, "noon"));
    char *again = seal_text(s, plain);
    assert_string_not_equal(sealed, again); /* a fresh nonce each time */

    char *opened = NULL;
    const char *why = NULL;
    assert_int_equal(seal_open(s, sealed, &opened, &why), 0);
    assert_string_equal(opened, plain);
    free(opened);
    free(again);
    free(sealed);
    seal_free(s);
}

static void the_empty_string_round_trips(void **state)
{
    (void)state;
    struct seal *s = seal_new(key_a);
    char *sealed = seal_text(s, "");
    char *opened = NULL;
    const char *why = NULL;
    assert_int_equal(seal_open(s, sealed, &opened, &why), 0);
    assert_string_equal(opened, "");
    free(opened);
    free(sealed);
    seal_free(s);
}

static void another_key_or_an_altered_value_does_not_open(void **state)
{
    (void)state;
    struct seal *a = seal_new(key_a), *b = seal_new(key_b);
    char *sealed = seal_text(a, "{\"op\":\"say\",\"body\":\"secret\"}");
    char *opened = NULL;
    const char *why = NULL;
    assert_int_equal(seal_open(b, sealed, &opened, &why), -1);
    assert_null(opened);
    assert_non_null(strstr(why, "another key_file"));

    /* One character changed in the box. */
    size_t n = strlen(sealed);
    sealed[n - 5] = sealed[n - 5] == 'A' ? 'B' : 'A';
    why = NULL;
    assert_int_equal(seal_open(a, sealed, &opened, &why), -1);
    assert_non_null(why);

    why = NULL;
    assert_int_equal(seal_open(a, "sealed1:!!not base64!!", &opened, &why),
                     -1);
    assert_non_null(strstr(why, "malformed"));
    why = NULL;
    assert_int_equal(seal_open(a, "sealed1:", &opened, &why), -1);
    assert_non_null(why);
    free(sealed);
    seal_free(a);
    seal_free(b);
}

static void values_from_before_sealing_are_read_as_they_are(void **state)
{
    (void)state;
    struct seal *s = seal_new(key_a);
    char *opened = NULL;
    const char *why = NULL;
    assert_int_equal(seal_open(s, "<message to='a@b'/>", &opened, &why), 0);
    assert_string_equal(opened, "<message to='a@b'/>");
    free(opened);
    seal_free(s);
}

/* The raw bytes of every file in dir whose name starts with prefix
 * contain needle. */
static int dir_contains(const char *dir, const char *needle)
{
    static const char *const suffixes[] = { "", "-wal", "-shm", "-journal",
                                            "-log" };
    int found = 0;
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/t.db%s", dir, suffixes[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long len = ftell(f);
        fseek(f, 0, SEEK_SET);
        char *buf = malloc((size_t)len + 1);
        size_t got = fread(buf, 1, (size_t)len, f);
        fclose(f);
        if (memmem(buf, got, needle, strlen(needle)))
            found = 1;
        free(buf);
    }
    return found;
}

static void outbox_rows_are_sealed_on_disk(void **state)
{
    (void)state;
    struct store_fixture f;
    assert_int_equal(store_fixture_open(&f, "seal"), 0);
    const char *body = "<message><body>plaintext-canary-42</body></message>";
    int64_t id = store_outbox_add(f.st, "q", OUTBOX_STANZA, body, 1);
    assert_true(id > 0);
    assert_int_equal(store_flush(f.st), 0);
    store_fixture_reopen(&f);
    assert_false(dir_contains(f.dir, "plaintext-canary-42"));

    struct store_outbox_item it;
    assert_int_equal(store_outbox_head(f.st, "q", &it), 1);
    assert_int_equal(it.id, id);
    assert_string_equal(it.payload, body);
    store_outbox_item_free(&it);

    /* Opened with another key (a replaced key_file): the item is still
     * there, with an empty payload its queue drops as malformed. */
    store_set_seal_key(f.st, key_b);
    assert_int_equal(store_outbox_head(f.st, "q", &it), 1);
    assert_string_equal(it.payload, "");
    store_outbox_item_free(&it);
    assert_int_equal(store_fixture_close(&f), 0);
}

/* The encryption state: every pickle and seed sealed on disk, read back
 * whole; a message index taken by one event only; waiting events by
 * session and by age, in arrival order. */
static void encryption_state_is_sealed_and_read_back(void **state)
{
    (void)state;
    struct store_fixture f;
    assert_int_equal(store_fixture_open(&f, "seal-crypto"), 0);
    struct store_crypto_device d = { "@_xmpp_a:hs", "DEVA",
                                     "account-pickle-canary",
                                     "xsign-seed-canary", 1 };
    assert_int_equal(store_crypto_device_put(f.st, &d), 0);
    assert_int_equal(store_olm_session_put(f.st, "@_xmpp_a:hs", "curveB",
                                           "s1", "olm-pickle-canary", 10),
                     0);
    assert_int_equal(store_olm_session_put(f.st, "@_xmpp_a:hs", "curveB",
                                           "s2", "olm-pickle-newer", 20),
                     0);
    struct store_megolm_in m = { "!r:hs", "sess", "curveB", "edB",
                                 "megolm-pickle-canary" };
    assert_int_equal(store_megolm_in_put(f.st, &m, 5), 0);
    assert_int_equal(store_megolm_wait_add(f.st, "!r:hs", "sess",
                                           "{\"event_id\":\"$1\"}", 100),
                     0);
    assert_int_equal(store_megolm_wait_add(f.st, "!r:hs", "other",
                                           "{\"event_id\":\"$2\"}", 200),
                     0);
    assert_int_equal(store_megolm_wait_add(f.st, "!r:hs", "sess",
                                           "{\"event_id\":\"$3\"}", 300),
                     0);
    assert_int_equal(store_flush(f.st), 0);
    store_fixture_reopen(&f);
    assert_false(dir_contains(f.dir, "canary"));

    struct store_crypto_device got;
    assert_int_equal(store_crypto_device_get(f.st, "@_xmpp_a:hs", &got), 1);
    assert_string_equal(got.device_id, "DEVA");
    assert_string_equal(got.account, "account-pickle-canary");
    assert_string_equal(got.cross_signing, "xsign-seed-canary");
    assert_int_equal(got.ready, 1);
    store_crypto_device_free(&got);
    assert_int_equal(store_crypto_device_get(f.st, "@nobody:hs", &got), 0);

    char **pickles;
    assert_int_equal(store_olm_sessions(f.st, "@_xmpp_a:hs", "curveB",
                                        &pickles), 2);
    assert_string_equal(pickles[0], "olm-pickle-newer"); /* latest first */
    store_strings_free(pickles, 2);

    struct store_megolm_in mi;
    assert_int_equal(store_megolm_in_get(f.st, "!r:hs", "sess", &mi), 1);
    assert_string_equal(mi.pickle, "megolm-pickle-canary");
    assert_string_equal(mi.sender_key, "curveB");
    store_megolm_in_free(&mi);
    assert_int_equal(store_megolm_in_get(f.st, "!other:hs", "sess", &mi), 0);

    assert_int_equal(store_megolm_index_claim(f.st, "!r:hs", "sess", 7, "$a"),
                     1);
    assert_int_equal(store_megolm_index_claim(f.st, "!r:hs", "sess", 7, "$a"),
                     1); /* the same event again: a retry */
    assert_int_equal(store_megolm_index_claim(f.st, "!r:hs", "sess", 7, "$b"),
                     0); /* another event: a replay */

    struct store_megolm_wait *w;
    int n = store_megolm_waiting(f.st, "!r:hs", "sess", 0, 10, &w);
    assert_int_equal(n, 2);
    assert_string_equal(w[0].event, "{\"event_id\":\"$1\"}");
    assert_string_equal(w[1].event, "{\"event_id\":\"$3\"}");
    assert_int_equal(store_megolm_wait_done(f.st, w[0].seq), 0);
    store_megolm_waits_free(w, n);
    n = store_megolm_waiting(f.st, NULL, NULL, 250, 10, &w);
    assert_int_equal(n, 1); /* $1 is done, $3 is newer */
    assert_string_equal(w[0].event, "{\"event_id\":\"$2\"}");
    store_megolm_waits_free(w, n);
    assert_int_equal(store_megolm_wait_count(f.st), 2);

    /* With another key the state does not open: an error, never garbage
     * handed to libolm. */
    store_set_seal_key(f.st, key_b);
    assert_int_equal(store_crypto_device_get(f.st, "@_xmpp_a:hs", &got), -1);
    assert_int_equal(store_fixture_close(&f), 0);
}

static void a_store_without_a_key_takes_no_outbox_rows(void **state)
{
    (void)state;
    char dir[64], path[128];
    assert_int_equal(test_tmpdir_make(dir, "seal-nokey"), 0);
    snprintf(path, sizeof path, "%s/t.db", dir);
    struct store *st;
    char *err = NULL;
    assert_int_equal(store_open(path, &st, &err), 0);
    assert_true(store_outbox_add(st, "q", OUTBOX_STANZA, "<m/>", 1) < 0);
    assert_int_equal(store_outbox_count(st), 0);
    store_close(st);
    assert_int_equal(test_tmpdir_remove(dir), 0);
}

static void key_file_is_made_private_and_read_back(void **state)
{
    (void)state;
    char dir[64], path[128];
    assert_int_equal(test_tmpdir_make(dir, "storekey"), 0);
    snprintf(path, sizeof path, "%s/store.key", dir);
    char *err = NULL;
    assert_int_equal(store_key_create(path, &err), 1);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);

    unsigned char k1[STORE_KEY_BYTES], k2[STORE_KEY_BYTES];
    assert_int_equal(store_key_read(path, k1, &err), 0);
    /* A second create keeps the key that is there. */
    assert_int_equal(store_key_create(path, &err), 0);
    assert_int_equal(store_key_read(path, k2, &err), 0);
    assert_memory_equal(k1, k2, STORE_KEY_BYTES);

    chmod(path, 0644);
    assert_int_equal(store_key_read(path, k2, &err), -1);
    assert_non_null(strstr(err, "chmod 600"));
    free(err);
    err = NULL;

    chmod(path, 0600);
    FILE *f = fopen(path, "w");
    fputs("abcd\n", f);
    fclose(f);
    assert_int_equal(store_key_read(path, k2, &err), -1);
    assert_non_null(strstr(err, "64 hex digits"));
    free(err);
    err = NULL;

    unlink(path);
    assert_int_equal(store_key_read(path, k2, &err), -1);
    assert_non_null(strstr(err, "cannot read"));
    free(err);
    assert_int_equal(test_tmpdir_remove(dir), 0);
}

static void key_path_defaults_to_beside_the_database(void **state)
{
    (void)state;
    char *p = store_key_path(NULL, "/var/lib/isthmus/isthmus.db");
    assert_string_equal(p, "/var/lib/isthmus/isthmus.db.key");
    free(p);
    p = store_key_path("/etc/isthmus/store.key", "x.db");
    assert_string_equal(p, "/etc/isthmus/store.key");
    free(p);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sealed_text_opens_and_hides_the_plain_text),
        cmocka_unit_test(the_empty_string_round_trips),
        cmocka_unit_test(another_key_or_an_altered_value_does_not_open),
        cmocka_unit_test(values_from_before_sealing_are_read_as_they_are),
        cmocka_unit_test(outbox_rows_are_sealed_on_disk),
        cmocka_unit_test(encryption_state_is_sealed_and_read_back),
        cmocka_unit_test(a_store_without_a_key_takes_no_outbox_rows),
        cmocka_unit_test(key_file_is_made_private_and_read_back),
        cmocka_unit_test(key_path_defaults_to_beside_the_database),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
