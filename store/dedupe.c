/* What was already received, so that nothing is applied twice: the
 * homeserver's transactions (Synapse sends one again after a timeout or a
 * restart) and the ids of XMPP stanzas (a client resends an unconfirmed
 * message). */
#include "store/store_internal.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- txns -- */

int store_txn_seen(struct store *st, const char *txn_id, const char *digest)
{
    struct db_stmt *s = db_stmt(st->db, S_TXN_SEEN);
    db_bind_text(s, 1, txn_id);
    db_bind_text(s, 2, digest);
    int rc = db_step(s);
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    if (rc == DB_DONE)
        return 0;
    return store_report(st, "txn lookup");
}

int store_txn_mark(struct store *st, const char *txn_id, const char *digest,
                   int64_t now_ms)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_TXN_MARK);
    db_bind_text(s, 1, txn_id);
    db_bind_int64(s, 2, now_ms);
    db_bind_text(s, 3, digest);
    return store_step_write(st, s, "txn mark");
}

int store_txn_highest(struct store *st, int64_t *out)
{
    struct db_stmt *s = db_stmt(st->db, S_TXN_HIGHEST);
    int rc = db_step(s);
    int found = 0;
    if (rc == DB_ROW && !db_column_is_null(s, 0)) {
        *out = db_column_int64(s, 0);
        found = 1;
    }
    db_reset(s);
    if (rc != DB_ROW && rc != DB_DONE)
        return store_report(st, "highest txn");
    return found;
}

int store_txn_prune(struct store *st, int64_t older_than_ms)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_TXN_PRUNE);
    db_bind_int64(s, 1, older_than_ms);
    return store_step_write(st, s, "txn prune");
}

/* ---------------------------------------------------------- inbound -- */

int store_inbound_get(struct store *st, const char *xmpp_jid,
                      const char *peer, const char *stanza_id,
                      char **event_id)
{
    if (event_id)
        *event_id = NULL;
    struct db_stmt *s = db_stmt(st->db, S_INBOUND_GET);
    db_bind_text(s, 1, xmpp_jid);
    db_bind_text(s, 2, peer);
    db_bind_text(s, 3, stanza_id);
    int rc = db_step(s);
    if (rc == DB_ROW && event_id)
        *event_id = db_column_dup(s, 0);
    db_reset(s);
    if (rc == DB_ROW)
        return 1;
    return rc == DB_DONE ? 0 : store_report(st, "inbound lookup");
}

int store_inbound_add(struct store *st, const char *xmpp_jid,
                      const char *peer, const char *stanza_id, int64_t now_ms)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_INBOUND_ADD);
    db_bind_text(s, 1, xmpp_jid);
    db_bind_text(s, 2, peer);
    db_bind_text(s, 3, stanza_id);
    db_bind_int64(s, 4, now_ms);
    return store_step_write(st, s, "inbound add");
}

int store_inbound_delivered(struct store *st, const char *xmpp_jid,
                            const char *peer, const char *stanza_id,
                            const char *event_id)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_INBOUND_DONE);
    db_bind_text(s, 1, xmpp_jid);
    db_bind_text(s, 2, peer);
    db_bind_text(s, 3, stanza_id);
    db_bind_text(s, 4, event_id);
    return store_step_write(st, s, "inbound delivered");
}

int store_inbound_prune(struct store *st, int64_t older_than_ms)
{
    if (store_ensure_txn(st) < 0)
        return -1;
    struct db_stmt *s = db_stmt(st->db, S_INBOUND_PRUNE);
    db_bind_int64(s, 1, older_than_ms);
    return store_step_write(st, s, "inbound prune");
}

int store_inbound_senders(struct store *st, int64_t since_ms, char ***out)
{
    struct db_stmt *s = db_stmt(st->db, S_INBOUND_SENDERS);
    db_bind_int64(s, 1, since_ms);
    return store_read_strings(st, s, out, "inbound senders");
}
