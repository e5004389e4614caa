/* Small named numbers the gateway keeps between runs (the settings
 * table), such as when it was last alive. */
#include "store/store_internal.h"

int store_setting_get(struct store *st, const char *name, int64_t *value)
{
    struct db_stmt *s = db_stmt(st->db, S_SETTING_GET);
    db_bind_text(s, 1, name);
    int rc = db_step(s);
    if (rc == DB_ROW)
        *value = db_column_int64(s, 0);
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    if (rc == DB_DONE)
        return 0;
    return store_report(st, "setting lookup");
}

int store_setting_put(struct store *st, const char *name, int64_t value)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_SETTING_PUT);
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, value);
    return store_step_write(st, s, "setting");
}
