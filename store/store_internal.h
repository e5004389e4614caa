/* What the store's files share; callers use store.h only. store.c holds
 * the store's side of the connection, and one file per kind of data the
 * functions of store.h, each over the driver API (store/driver.h). */
#ifndef ISTHMUS_STORE_INTERNAL_H
#define ISTHMUS_STORE_INTERNAL_H

#include "store/driver.h"
#include "store/store.h"

#include <stdbool.h>
#include <stdint.h>

struct store {
    struct db *db;
    int may_wait_depth; /* inside store_may_wait_begin/end */
    uint64_t writes;
    /* The id the next outbox row gets, once read (0 before): outbox ids
     * are handed out before their rows are written. */
    int64_t next_outbox_id;
    /* Outbox payloads are sealed with it (seal.c); none: the outbox takes
     * no writes, rather than keep message text in clear. */
    struct seal *seal;
};

/* Every write calls this first, so that it lands in the turn's
 * transaction and the commit knows how soon it is due. 0 or -1. */
int store_ensure_txn(struct store *st);
/* Steps a write statement that returns no rows; 0, or -1 (logged with
 * what). */
int store_step_write(struct store *st, struct db_stmt *s, const char *what);
/* An insert that may wait for the commit (db_defer), counted as a write.
 * The row belongs to the connection; fill it before the next store call.
 */
struct db_row *store_defer_begin(struct store *st, enum stmt_id stmt);
/* How many such inserts wait (for tests). */
size_t store_deferred_count(const struct store *st);

/* Reads the first column of every row s gives, as strings (NULLs
 * skipped), into *out (store_strings_free); resets s. Returns how many,
 * or -1 (logged with what). */
int store_read_strings(struct store *st, struct db_stmt *s, char ***out,
                       const char *what);

/* Logs the driver's last error with what; returns -1. */
int store_report(struct store *st, const char *what);

#endif
