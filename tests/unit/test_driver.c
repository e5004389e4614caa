/* The store's driver API (store/driver.h), over the SQLite driver: values
 * go in and come back as bound, steps and errors are told apart, and the
 * turn's transaction, its durability and the inserts that wait for the
 * commit behave as the per-table files rely on. Written against the API
 * only, so that another driver can be run through the same checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/driver.h"
#include "store/store.h" /* STORE_MAY_WAIT_MS */
#include "tests/unit/store_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    char path[128];
    struct db *db;
};

static void open_db(struct fixture *f)
{
    char *err = NULL;
    if (db_open(f->path, db_schema_latest(), &f->db, &err) != 0)
        fail_msg("db_open: %s", err ? err : "?");
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f || test_tmpdir_make(f->dir, "driver") != 0)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    open_db(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    db_close(f->db);
    int rc = test_tmpdir_remove(f->dir);
    free(f);
    return rc;
}

/* Closes and opens again: only what was committed is left. */
static void reopen(struct fixture *f)
{
    db_rollback(f->db);
    db_close(f->db);
    open_db(f);
}

static void put_ghost(struct db *db, const char *mxid, const char *jid,
                      const char *name, int registered, int expect)
{
    assert_int_equal(db_will_write(db, DB_DURABLE_NOW), 0);
    struct db_stmt *s = db_stmt(db, S_GHOST_PUT);
    db_bind_text(s, 1, mxid);
    db_bind_text(s, 2, jid);
    db_bind_text(s, 3, name);
    db_bind_int(s, 4, registered);
    assert_int_equal(db_step(s), expect);
    db_reset(s);
}

/* Returns the step result of the lookup; on DB_ROW, *jid and *name get
 * copies (caller frees). */
static int get_ghost(struct db *db, const char *mxid, char **jid,
                     char **name, int *registered, bool *name_null)
{
    struct db_stmt *s = db_stmt(db, S_GHOST_GET);
    db_bind_text(s, 1, mxid);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *jid = db_column_dup(s, 1);
        *name = db_column_dup(s, 2);
        *name_null = db_column_is_null(s, 2);
        *registered = db_column_int(s, 3);
    }
    db_reset(s);
    return rc;
}

static void text_int_and_null_come_back_as_bound(void **state)
{
    struct fixture *f = *state;
    put_ghost(f->db, "@a:hs", "a@gw", NULL, 1, DB_DONE);
    put_ghost(f->db, "@b:hs", "b@gw", "Bé ✓", 0, DB_DONE);
    char *jid, *name;
    int reg;
    bool null;
    assert_int_equal(get_ghost(f->db, "@a:hs", &jid, &name, &reg, &null),
                     DB_ROW);
    assert_string_equal(jid, "a@gw");
    assert_null(name);
    assert_true(null);
    assert_int_equal(reg, 1);
    free(jid);
    assert_int_equal(get_ghost(f->db, "@b:hs", &jid, &name, &reg, &null),
                     DB_ROW);
    assert_string_equal(name, "Bé ✓");
    assert_false(null);
    assert_int_equal(reg, 0);
    free(jid);
    free(name);
    assert_int_equal(get_ghost(f->db, "@nobody:hs", &jid, &name, &reg,
                               &null),
                     DB_DONE);
}

/* A 64-bit value and a blob with zero bytes in it survive a commit and a
 * reopen. */
static void int64_and_blob_survive_a_commit(void **state)
{
    struct fixture *f = *state;
    static const unsigned char data[] = { 0x89, 'P', 0, 'G', 0, 0, 0xff };
    assert_int_equal(db_will_write(f->db, DB_DURABLE_NOW), 0);
    struct db_stmt *s = db_stmt(f->db, S_AVATAR_PUT);
    db_bind_text(s, 1, "mxc://hs/x");
    db_bind_text(s, 2, "00ff");
    db_bind_text(s, 3, "image/png");
    db_bind_blob(s, 4, data, sizeof data);
    assert_int_equal(db_step(s), DB_DONE);
    db_reset(s);
    assert_int_equal(db_will_write(f->db, DB_DURABLE_NOW), 0);
    s = db_stmt(f->db, S_TXN_MARK);
    db_bind_text(s, 1, "7");
    db_bind_int64(s, 2, INT64_C(1) << 42);
    db_bind_null(s, 3);
    assert_int_equal(db_step(s), DB_DONE);
    db_reset(s);
    assert_int_equal(db_commit(f->db), 0);
    reopen(f);

    s = db_stmt(f->db, S_AVATAR_GET);
    db_bind_text(s, 1, "mxc://hs/x");
    assert_int_equal(db_step(s), DB_ROW);
    assert_string_equal(db_column_text(s, 2), "image/png");
    size_t len = 0;
    const unsigned char *back = db_column_blob(s, 3, &len);
    assert_int_equal(len, sizeof data);
    assert_memory_equal(back, data, sizeof data);
    assert_int_equal(db_step(s), DB_DONE);
    db_reset(s);

    s = db_stmt(f->db, S_TXN_HIGHEST);
    assert_int_equal(db_step(s), DB_ROW);
    assert_int_equal(db_column_int64(s, 0), 7);
    db_reset(s);
}

/* A constraint broken is DB_ERROR, with the reason in db_errmsg; the
 * connection goes on working. */
static void errors_are_told_apart(void **state)
{
    struct fixture *f = *state;
    put_ghost(f->db, "@a:hs", NULL, NULL, 0, DB_ERROR); /* jid NOT NULL */
    assert_non_null(strstr(db_errmsg(f->db), "NOT NULL"));
    put_ghost(f->db, "@a:hs", "a@gw", NULL, 0, DB_DONE);
    assert_int_equal(db_commit(f->db), 0);
    assert_int_equal(db_schema_version(f->db), db_schema_latest());
}

static int advance(struct db *db, int64_t ts, int64_t seq)
{
    assert_int_equal(db_will_write(db, DB_DURABLE_NOW), 0);
    struct db_stmt *s = db_stmt(db, S_READ_ADVANCE);
    db_bind_text(s, 1, "!r:hs");
    db_bind_text(s, 2, "@a:hs");
    db_bind_text(s, 3, "$e");
    db_bind_int64(s, 4, ts);
    db_bind_int64(s, 5, seq);
    db_bind_int64(s, 6, 1);
    assert_int_equal(db_step(s), DB_DONE);
    db_reset(s);
    return (int)db_changes(db);
}

/* db_changes tells an upsert that changed the row from one whose
 * condition kept it. */
static void changes_count_rows_written(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(advance(f->db, 10, 1), 1);
    assert_int_equal(advance(f->db, 10, 2), 1);
    assert_int_equal(advance(f->db, 9, 5), 0);
}

/* Nothing written: no commit due. A write that must be durable: due now.
 * Writes that may wait: due within STORE_MAY_WAIT_MS, then now. */
static void commit_due_follows_durability(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(db_commit_due_ms(f->db), -1);
    assert_false(db_has_writes(f->db));
    /* A read opens the transaction but writes nothing. */
    char *jid, *name;
    int reg;
    bool null;
    get_ghost(f->db, "@a:hs", &jid, &name, &reg, &null);
    assert_int_equal(db_commit_due_ms(f->db), -1);

    assert_int_equal(db_will_write(f->db, DB_DURABLE_MAY_WAIT), 0);
    assert_true(db_has_writes(f->db));
    long due = db_commit_due_ms(f->db);
    assert_true(due > 0 && due <= STORE_MAY_WAIT_MS);
    assert_int_equal(db_will_write(f->db, DB_DURABLE_NOW), 0);
    assert_int_equal(db_commit_due_ms(f->db), 0);
    assert_int_equal(db_commit(f->db), 0);
    assert_int_equal(db_commit_due_ms(f->db), -1);

    assert_int_equal(db_will_write(f->db, DB_DURABLE_MAY_WAIT), 0);
    usleep((STORE_MAY_WAIT_MS + 20) * 1000);
    assert_int_equal(db_commit_due_ms(f->db), 0);
    assert_int_equal(db_commit(f->db), 0);
}

static void defer_outbox_row(struct db *db, int64_t id, const char *queue)
{
    assert_int_equal(db_will_write(db, DB_DURABLE_NOW), 0);
    struct db_row *r = db_defer(db, S_OUTBOX_ADD);
    db_defer_int(r, id);
    db_defer_text(db, r, queue);
    db_defer_int(r, OUTBOX_STANZA);
    db_defer_text(db, r, "<m/>");
    db_defer_int(r, 1);
}

static int outbox_count(struct db *db)
{
    struct db_stmt *s = db_stmt(db, S_OUTBOX_COUNT);
    assert_int_equal(db_step(s), DB_ROW);
    int n = db_column_int(s, 0);
    db_reset(s);
    return n;
}

/* A deferred insert is written before any statement that could read it,
 * and at the commit; a rollback drops it with the rest. */
static void deferred_rows_are_seen_committed_or_dropped(void **state)
{
    struct fixture *f = *state;
    defer_outbox_row(f->db, 1, "q");
    assert_int_equal(db_deferred_count(f->db), 1);
    assert_int_equal(outbox_count(f->db), 1);
    assert_int_equal(db_deferred_count(f->db), 0);
    defer_outbox_row(f->db, 2, "q");
    assert_int_equal(db_commit(f->db), 0);
    assert_int_equal(db_deferred_count(f->db), 0);

    defer_outbox_row(f->db, 3, "q");
    put_ghost(f->db, "@gone:hs", "gone@gw", NULL, 0, DB_DONE);
    db_rollback(f->db);
    assert_int_equal(db_deferred_count(f->db), 0);
    assert_false(db_has_writes(f->db));
    reopen(f);
    assert_int_equal(outbox_count(f->db), 2);
    char *jid, *name;
    int reg;
    bool null;
    assert_int_equal(get_ghost(f->db, "@gone:hs", &jid, &name, &reg, &null),
                     DB_DONE);
}

/* A deferred insert that fails fails the commit, which then takes nothing
 * of the transaction. */
static void a_failed_deferred_insert_fails_the_commit(void **state)
{
    struct fixture *f = *state;
    put_ghost(f->db, "@a:hs", "a@gw", NULL, 0, DB_DONE);
    defer_outbox_row(f->db, 1, NULL); /* queue NOT NULL */
    assert_int_equal(db_commit(f->db), -1);
    assert_false(db_has_writes(f->db));
    char *jid, *name;
    int reg;
    bool null;
    assert_int_equal(get_ghost(f->db, "@a:hs", &jid, &name, &reg, &null),
                     DB_DONE);
    assert_int_equal(outbox_count(f->db), 0);
    /* And the next transaction commits normally. */
    defer_outbox_row(f->db, 2, "q");
    assert_int_equal(db_commit(f->db), 0);
    reopen(f);
    assert_int_equal(outbox_count(f->db), 1);
}

static void open_fails_with_a_reason(void **state)
{
    (void)state;
    struct db *db = NULL;
    char *err = NULL;
    assert_int_equal(db_open("/nonexistent-dir/x/t.db", db_schema_latest(),
                             &db, &err),
                     -1);
    assert_non_null(err);
    assert_non_null(strstr(err, "/nonexistent-dir/x/t.db"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(text_int_and_null_come_back_as_bound,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(int64_and_blob_survive_a_commit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(errors_are_told_apart, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(changes_count_rows_written, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(commit_due_follows_durability, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            deferred_rows_are_seen_committed_or_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_failed_deferred_insert_fails_the_commit, setup, teardown),
        cmocka_unit_test(open_fails_with_a_reason),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
