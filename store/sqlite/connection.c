/* The SQLite connection: opening and migrating it, closing it, and copying
 * the write-ahead log back (with checkpointer.c). */
#include "store/sqlite/sqlite_db.h"

#include "common/log.h"
#include "common/mem.h"
#include "store/sqlite/checkpointer.h"
#include "store/sqlite/wal_vfs.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* The thread copies the log back at WAL_CHECKPOINT_PAGES, as SQLite's own
 * automatic checkpoint would. But the log starts again from its beginning
 * only when a write transaction begins with every frame already copied
 * back. Under a steady stream of commits the thread is always a little
 * behind, so that moment never comes and the log would grow without end.
 * At WAL_MAX_PAGES the loop itself copies back the rest: the thread has
 * done most of it, and nothing else writes meanwhile, so the next
 * transaction reuses the log. */
static int on_wal_commit(void *ud, sqlite3 *conn, const char *name, int pages)
{
    struct db *db = ud;
    if (pages >= WAL_MAX_PAGES) {
        int log_frames, copied;
        /* SQLITE_BUSY while the thread is at it: the next commit retries. */
        sqlite3_wal_checkpoint_v2(conn, name, SQLITE_CHECKPOINT_PASSIVE,
                                  &log_frames, &copied);
    } else if (pages >= WAL_CHECKPOINT_PAGES) {
        checkpointer_poke(db->checkpointer);
    }
    return SQLITE_OK;
}

int sqldb_report(struct db *db, const char *what)
{
    log_error("store: %s: %s", what, sqlite3_errmsg(db->conn));
    return -1;
}

const char *db_errmsg(struct db *db) { return sqlite3_errmsg(db->conn); }

int64_t db_changes(struct db *db) { return sqlite3_changes(db->conn); }

int db_schema_latest(void) { return sqldb_migration_count; }

int db_schema_version(struct db *db)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(db->conn, "PRAGMA user_version", -1, &s, NULL) ==
        SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    return v;
}

static int migrate(struct db *db, int target, char **err)
{
    int current = db_schema_version(db);
    if (current < 0) {
        *err = xasprintf("cannot read schema version: %s",
                         sqlite3_errmsg(db->conn));
        return -1;
    }
    if (current > sqldb_migration_count) {
        *err = xasprintf("the database has schema version %d, newer than "
                         "this isthmus knows (%d); upgrade isthmus",
                         current, sqldb_migration_count);
        return -1;
    }
    for (int v = current; v < target; v++) {
        /* Each step is atomic: a crash mid-migration leaves version v. */
        char *sql = xasprintf("BEGIN; %s PRAGMA user_version = %d; COMMIT;",
                              sqldb_migrations[v], v + 1);
        char *msg = NULL;
        int rc = sqlite3_exec(db->conn, sql, NULL, NULL, &msg);
        free(sql);
        if (rc != SQLITE_OK) {
            *err = xasprintf("migration to schema version %d failed: %s",
                             v + 1, msg ? msg : "unknown error");
            sqlite3_free(msg);
            sqlite3_exec(db->conn, "ROLLBACK", NULL, NULL, NULL);
            return -1;
        }
        if (v + 1 > current)
            log_info("store: migrated to schema version %d", v + 1);
    }
    return 0;
}

static int prepare(struct db *db, const char *sql, sqlite3_stmt **out,
                   char **err)
{
    if (sqlite3_prepare_v3(db->conn, sql, -1, SQLITE_PREPARE_PERSISTENT, out,
                           NULL) == SQLITE_OK)
        return 0;
    *err = xasprintf("cannot prepare \"%s\": %s", sql,
                     sqlite3_errmsg(db->conn));
    return -1;
}

/* The catalogue, prepared once: every statement is then a lookup. */
static int prepare_all(struct db *db, char **err)
{
    if (prepare(db, "BEGIN", &db->begin, err) < 0 ||
        prepare(db, "COMMIT", &db->commit, err) < 0 ||
        prepare(db, "ROLLBACK", &db->rollback, err) < 0)
        return -1;
    for (int i = 0; i < S_COUNT; i++) {
        if (sqlite3_prepare_v3(db->conn, sqldb_stmt_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &db->stmt[i],
                               NULL) != SQLITE_OK) {
            *err = xasprintf("cannot prepare statement %d: %s", i,
                             sqlite3_errmsg(db->conn));
            return -1;
        }
        db->sees_deferred[i] =
            sqldb_sees_deferred((enum stmt_id)i, sqldb_stmt_sql[i]);
    }
    return 0;
}

static void close_conn(struct db *db)
{
    sqlite3_close(db->conn);
    free(db);
}

int db_open(const char *path, int version, struct db **out, char **err)
{
    if (wal_vfs_register() < 0) {
        *err = xstrdup("SQLite has no default VFS");
        return -1;
    }
    struct db *db = xcalloc(1, sizeof *db);
    if (sqlite3_open_v2(path, &db->conn,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        WAL_VFS_NAME) != SQLITE_OK) {
        *err = xasprintf("cannot open %s: %s", path,
                         db->conn ? sqlite3_errmsg(db->conn)
                                  : "out of memory");
        close_conn(db);
        return -1;
    }
    /* WAL lets readers (an operator's sqlite3 shell, backups) run beside
     * the gateway; synchronous=NORMAL is durable across process crashes in
     * WAL mode, which is what the delivery guarantees need. */
    char *msg = NULL;
    if (sqlite3_exec(db->conn,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                     "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        *err = xasprintf("cannot set up %s: %s", path, msg ? msg : "?");
        sqlite3_free(msg);
        close_conn(db);
        return -1;
    }
    if (migrate(db, version, err) < 0) {
        close_conn(db);
        return -1;
    }
    db->checkpointer = checkpointer_start(path, err);
    if (!db->checkpointer) {
        close_conn(db);
        return -1;
    }
    sqlite3_wal_autocheckpoint(db->conn, 0);
    sqlite3_wal_hook(db->conn, on_wal_commit, db);
    /* Below the latest schema the statements may name what does not exist
     * yet: such a connection only serves migration tests. */
    if (version == sqldb_migration_count && prepare_all(db, err) < 0) {
        db_close(db);
        return -1;
    }
    *out = db;
    return 0;
}

void db_close(struct db *db)
{
    if (!db)
        return;
    if (db->commit)
        db_commit(db);
    checkpointer_stop(db->checkpointer);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(db->stmt[i]);
    sqlite3_finalize(db->begin);
    sqlite3_finalize(db->commit);
    sqlite3_finalize(db->rollback);
    sqldb_deferred_free(db);
    close_conn(db);
}
