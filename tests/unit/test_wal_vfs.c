/* The log-writing VFS (store/sqlite/wal_vfs.c): what a commit wrote is in the
 * file once the commit returns, for another connection and after a crash,
 * whatever the size of the transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/sqlite/wal_vfs.h"
#include "tests/unit/store_fixture.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (test_tmpdir_make(f->dir, "walvfs") != 0 || wal_vfs_register() != 0)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    int rc = test_tmpdir_remove(f->dir);
    free(f);
    return rc;
}

/* Opened as the store opens its connection. */
static sqlite3 *open_buffered(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db,
                                     SQLITE_OPEN_READWRITE |
                                         SQLITE_OPEN_CREATE,
                                     WAL_VFS_NAME),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL;"
                                      "PRAGMA synchronous = NORMAL;"
                                      "CREATE TABLE IF NOT EXISTS t("
                                      "  k INTEGER PRIMARY KEY, v BLOB);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    return db;
}

/* Commits one transaction of n rows of size bytes each, keys from first. */
static void commit_rows(sqlite3 *db, int first, int n, int size)
{
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t VALUES (?1, "
                                            "randomblob(?2))",
                                        -1, &s, NULL),
                     SQLITE_OK);
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int(s, 1, first + i);
        sqlite3_bind_int(s, 2, size);
        assert_int_equal(sqlite3_step(s), SQLITE_DONE);
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL),
                     SQLITE_OK);
}

/* What another connection, through the default VFS, finds: the number of
 * rows, after an integrity check of every page it reads. */
static int rows_seen_elsewhere(const char *path)
{
    sqlite3 *other;
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(other, "PRAGMA integrity_check", -1,
                                        &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(other, "SELECT COUNT(*) FROM t", -1,
                                        &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(other);
    return n;
}

static void commits_are_seen_at_once(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = open_buffered(f->path);
    /* Small transactions, as the gateway makes them, one after another:
     * each is there as soon as its commit returns. */
    for (int i = 0; i < 50; i++) {
        commit_rows(db, i * 3, 3, 100);
        assert_int_equal(rows_seen_elsewhere(f->path), (i + 1) * 3);
    }
    sqlite3_close(db);
}

/* Past the buffer's 4 MiB and past the 128 KiB the unix VFS writes in one
 * call (a longer write once failed as "disk full"). */
static void large_transactions(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = open_buffered(f->path);
    commit_rows(db, 0, 64, 2000);        /* about 128 KiB of pages */
    assert_int_equal(rows_seen_elsewhere(f->path), 64);
    commit_rows(db, 64, 3000, 2000);     /* about 6 MiB */
    assert_int_equal(rows_seen_elsewhere(f->path), 3064);
    sqlite3_close(db);
}

/* A process killed right after its commits returned loses none of them;
 * the transaction it had not committed is gone. */
static void commits_survive_a_kill(void **state)
{
    struct fixture *f = *state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        sqlite3 *db = open_buffered(f->path);
        for (int i = 0; i < 20; i++)
            commit_rows(db, i * 10, 10, 300);
        sqlite3_exec(db, "BEGIN; INSERT INTO t VALUES (100000, 'x');", NULL,
                     NULL, NULL);
        raise(SIGKILL);
        _exit(1);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    assert_int_equal(rows_seen_elsewhere(f->path), 200);
}

/* A commit that fails to write its frames (here the file-size limit; on
 * a server, a full disk) is rolled back. Its frames must not reach the log
 * later either: written after the rollback, and found there after a crash,
 * they would make the transaction committed after all. */
static void a_failed_commit_stays_undone(void **state)
{
    struct fixture *f = *state;
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        sqlite3 *db = open_buffered(f->path);
        commit_rows(db, 0, 10, 300);
        char wal[160];
        snprintf(wal, sizeof wal, "%s-wal", f->path);
        struct stat sb;
        struct rlimit old, lim;
        if (stat(wal, &sb) != 0 || getrlimit(RLIMIT_FSIZE, &old) != 0)
            _exit(2);
        signal(SIGXFSZ, SIG_IGN);
        lim = old;
        lim.rlim_cur = (rlim_t)sb.st_size;
        setrlimit(RLIMIT_FSIZE, &lim);
        sqlite3_exec(db, "BEGIN; INSERT INTO t VALUES (1000, "
                         "randomblob(3000));", NULL, NULL, NULL);
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
            _exit(3); /* the commit was meant to fail */
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        setrlimit(RLIMIT_FSIZE, &old);
        /* The next use of the log, then a crash. */
        sqlite3_exec(db, "PRAGMA wal_checkpoint(PASSIVE)", NULL, NULL, NULL);
        raise(SIGKILL);
        _exit(1);
    }
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);
    if (WIFEXITED(status))
        fail_msg("the child stopped early with %d", WEXITSTATUS(status));
    assert_int_equal(rows_seen_elsewhere(f->path), 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(commits_are_seen_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(large_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(commits_survive_a_kill, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_failed_commit_stays_undone, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
