/* The store's connection: opening and migrating it, the loop turn's one
 * transaction and its commit, and copying the log back (with
 * checkpointer.c). What each kind of data is stored as lives in its own
 * file (see store_internal.h). */
#include "store/store_internal.h"

#include "common/clock.h"
#include "common/log.h"
#include "common/mem.h"
#include "store/checkpointer.h"
#include "store/wal_vfs.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The thread copies the log back at STORE_LOG_PAGES, as SQLite's own
 * automatic checkpoint would. But the log starts again from its beginning
 * only when a write transaction begins with every frame already copied
 * back. Under a steady stream of commits the thread is always a little
 * behind, so that moment never comes and the log would grow without end.
 * At STORE_LOG_MAX_PAGES the loop itself copies back the rest: the thread
 * has done most of it, and nothing else writes meanwhile, so the next
 * transaction reuses the log. */
static int on_wal_commit(void *ud, sqlite3 *db, const char *name, int pages)
{
    struct store *st = ud;
    if (pages >= STORE_LOG_MAX_PAGES) {
        int log_frames, copied;
        /* SQLITE_BUSY while the thread is at it: the next commit retries. */
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
                                  &log_frames, &copied);
    } else if (pages >= STORE_LOG_PAGES) {
        checkpointer_poke(st->checkpointer);
    }
    return SQLITE_OK;
}

char *store_dup_col(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? xstrdup((const char *)t) : NULL;
}

void store_bind_text(sqlite3_stmt *s, int idx, const char *v)
{
    if (v)
        sqlite3_bind_text(s, idx, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, idx);
}

static int open_txn(struct store *st);

/* Every statement of a loop turn, reads included, runs in the turn's one
 * transaction: a read outside one would be a transaction of its own, each
 * taking and releasing the log's read lock (system calls) and looking the
 * log up again. Only this connection writes, so the snapshot a turn reads
 * from is never stale, and its first write upgrades it without waiting. */
sqlite3_stmt *store_stmt(struct store *st, enum stmt_id id)
{
    if (id > S_ROLLBACK && open_txn(st) < 0)
        log_warn("store: statement %d runs outside a transaction", (int)id);
    if (st->sees_deferred[id] && store_deferred_count(st))
        store_settle(st);
    sqlite3_stmt *s = st->stmt[id];
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

int store_report(struct store *st, const char *what)
{
    log_error("store: %s: %s", what, sqlite3_errmsg(st->db));
    return -1;
}

static int open_txn(struct store *st)
{
    if (st->in_txn)
        return 0;
    sqlite3_stmt *s = store_stmt(st, S_BEGIN);
    if (sqlite3_step(s) != SQLITE_DONE) {
        sqlite3_reset(s);
        return store_report(st, "begin");
    }
    sqlite3_reset(s);
    st->in_txn = true;
    return 0;
}

/* Every write goes through here so it lands in the turn's transaction. */
int store_ensure_txn(struct store *st)
{
    if (open_txn(st) < 0)
        return -1;
    st->dirty = true;
    if (st->lazy_depth == 0)
        st->urgent = true;
    else if (st->lazy_since_ms == 0)
        st->lazy_since_ms = clock_mono_ms();
    return 0;
}

/* Steps a write statement that returns no rows. */
int store_step_write(struct store *st, sqlite3_stmt *s, const char *what)
{
    st->writes++;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return store_report(st, what);
    return 0;
}

void store_may_wait_begin(struct store *st) { st->lazy_depth++; }

void store_may_wait_end(struct store *st) { st->lazy_depth--; }

long store_commit_due_ms(const struct store *st)
{
    if (!st->dirty)
        return -1;
    if (st->urgent)
        return 0;
    int64_t left = st->lazy_since_ms + STORE_MAY_WAIT_MS - clock_mono_ms();
    return left > 0 ? (long)left : 0;
}

int store_flush(struct store *st)
{
    st->urgent = false;
    st->lazy_since_ms = 0;
    if (!st->in_txn)
        return 0;
    store_settle(st);
    bool failed = st->settle_failed;
    st->settle_failed = false;
    int rc = SQLITE_DONE;
    if (!failed) {
        sqlite3_stmt *s = store_stmt(st, S_COMMIT);
        rc = sqlite3_step(s);
        sqlite3_reset(s);
    }
    if (rc != SQLITE_DONE || failed) {
        if (!failed)
            store_report(st, "commit");
        sqlite3_step(store_stmt(st, S_ROLLBACK));
        sqlite3_reset(st->stmt[S_ROLLBACK]);
        st->in_txn = st->dirty = false;
        return -1;
    }
    st->in_txn = st->dirty = false;
    return 0;
}

uint64_t store_write_count(const struct store *st) { return st->writes; }

bool store_in_txn(const struct store *st) { return st->dirty; }

int store_schema_latest(void) { return store_migration_count; }

int store_schema_version(struct store *st)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    return v;
}

static int migrate(struct store *st, int target, char **err)
{
    int current = store_schema_version(st);
    if (current < 0) {
        *err = xasprintf("cannot read schema version: %s",
                         sqlite3_errmsg(st->db));
        return -1;
    }
    if (current > store_migration_count) {
        *err = xasprintf("the database has schema version %d, newer than "
                         "this isthmus knows (%d); upgrade isthmus",
                         current, store_migration_count);
        return -1;
    }
    for (int v = current; v < target; v++) {
        /* Each step is atomic: a crash mid-migration leaves version v. */
        char *sql = xasprintf("BEGIN; %s PRAGMA user_version = %d; COMMIT;",
                              store_migrations[v], v + 1);
        char *msg = NULL;
        int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
        free(sql);
        if (rc != SQLITE_OK) {
            *err = xasprintf("migration to schema version %d failed: %s",
                             v + 1, msg ? msg : "unknown error");
            sqlite3_free(msg);
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        if (v + 1 > current)
            log_info("store: migrated to schema version %d", v + 1);
    }
    return 0;
}

int store_open_at_version(const char *path, int version, struct store **out,
                          char **err)
{
    if (wal_vfs_register() < 0) {
        *err = xstrdup("SQLite has no default VFS");
        return -1;
    }
    struct store *st = xcalloc(1, sizeof *st);
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        WAL_VFS_NAME) != SQLITE_OK) {
        *err = xasprintf("cannot open %s: %s", path,
                         st->db ? sqlite3_errmsg(st->db) : "out of memory");
        sqlite3_close(st->db);
        free(st);
        return -1;
    }
    /* WAL lets readers (an operator's sqlite3 shell, backups) run beside
     * the gateway; synchronous=NORMAL is durable across process crashes in
     * WAL mode, which is what the delivery guarantees need. */
    char *msg = NULL;
    if (sqlite3_exec(st->db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                     "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        *err = xasprintf("cannot set up %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        sqlite3_close(st->db);
        free(st);
        return -1;
    }
    if (migrate(st, version, err) < 0) {
        sqlite3_close(st->db);
        free(st);
        return -1;
    }
    st->checkpointer = checkpointer_start(path, err);
    if (!st->checkpointer) {
        sqlite3_close(st->db);
        free(st);
        return -1;
    }
    sqlite3_wal_autocheckpoint(st->db, 0);
    sqlite3_wal_hook(st->db, on_wal_commit, st);
    if (version == store_migration_count) {
        for (int i = 0; i < S_COUNT; i++) {
            if (sqlite3_prepare_v3(st->db, store_stmt_sql[i], -1,
                                   SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                                   NULL) != SQLITE_OK) {
                *err = xasprintf("cannot prepare statement %d: %s", i,
                                 sqlite3_errmsg(st->db));
                store_close(st);
                return -1;
            }
            st->sees_deferred[i] =
                store_stmt_sees_deferred((enum stmt_id)i, store_stmt_sql[i]);
        }
    }
    *out = st;
    return 0;
}

int store_open(const char *path, struct store **out, char **err)
{
    return store_open_at_version(path, store_migration_count, out, err);
}

void store_close(struct store *st)
{
    if (!st)
        return;
    if (st->stmt[S_COMMIT])
        store_flush(st);
    checkpointer_stop(st->checkpointer);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    store_deferred_free(st);
    sqlite3_close(st->db);
    free(st);
}
