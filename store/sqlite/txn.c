/* The loop turn's one transaction, and when it is committed.
 *
 * A commit is SQLite's one costly step: it writes the log and syncs it.
 * So a turn's statements share one transaction (opened by its first
 * statement), and a write that may wait (DB_DURABLE_MAY_WAIT: the marks
 * that a piece of work is finished, whose loss in a crash only makes that
 * work run again with the same ids) does not ask for a commit of its own
 * for up to STORE_MAY_WAIT_MS. Most of them then ride on a commit made for
 * something else, so a message costs one commit instead of two. */
#include "store/sqlite/sqlite_db.h"

#include "common/clock.h"
#include "store/store.h"

#include <sqlite3.h>

int db_begin(struct db *db)
{
    if (db->in_txn)
        return 0;
    if (sqlite3_step(db->begin) != SQLITE_DONE) {
        sqlite3_reset(db->begin);
        return sqldb_report(db, "begin");
    }
    sqlite3_reset(db->begin);
    db->in_txn = true;
    return 0;
}

int db_will_write(struct db *db, enum db_durability d)
{
    if (db_begin(db) < 0)
        return -1;
    db->dirty = true;
    if (d == DB_DURABLE_NOW)
        db->urgent = true;
    else if (db->may_wait_since_ms == 0)
        db->may_wait_since_ms = clock_mono_ms();
    return 0;
}

bool db_has_writes(const struct db *db) { return db->dirty; }

long db_commit_due_ms(const struct db *db)
{
    if (!db->dirty)
        return -1;
    if (db->urgent)
        return 0;
    int64_t left = db->may_wait_since_ms + STORE_MAY_WAIT_MS - clock_mono_ms();
    return left > 0 ? (long)left : 0;
}

void db_rollback(struct db *db)
{
    /* The waiting inserts belong to the transaction: they go with it. */
    sqldb_deferred_drop(db);
    if (db->in_txn) {
        sqlite3_step(db->rollback);
        sqlite3_reset(db->rollback);
    }
    db->in_txn = db->dirty = db->urgent = false;
    db->may_wait_since_ms = 0;
}

int db_commit(struct db *db)
{
    db->urgent = false;
    db->may_wait_since_ms = 0;
    if (!db->in_txn)
        return 0;
    sqldb_settle(db);
    bool failed = db->settle_failed;
    db->settle_failed = false;
    int rc = SQLITE_DONE;
    if (!failed) {
        rc = sqlite3_step(db->commit);
        sqlite3_reset(db->commit);
    }
    if (rc != SQLITE_DONE || failed) {
        if (!failed)
            sqldb_report(db, "commit");
        sqlite3_step(db->rollback);
        sqlite3_reset(db->rollback);
        db->in_txn = db->dirty = false;
        return -1;
    }
    db->in_txn = db->dirty = false;
    return 0;
}
