/* The store: each question answered, data surviving reopen, migrations from
 * every older schema version, transactions committed by store_flush. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store/store.h"
#include "store/sqlite/sqlite_db.h" /* WAL_MAX_PAGES */
#include "store/store_internal.h" /* store_deferred_count */
#include "tests/unit/store_fixture.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
    struct store_fixture *f = calloc(1, sizeof *f);
    if (store_fixture_open(f, "store") != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct store_fixture *f = *state;
    int rc = store_fixture_close(f);
    free(f);
    return rc;
}

static long file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (long)sb.st_size : -1;
}

static void put_messages_one_by_one(struct store *st, const char *prefix,
                                    int n)
{
    char event_id[64], stanza_id[64];
    for (int i = 0; i < n; i++) {
        snprintf(event_id, sizeof event_id, "$%s%d", prefix, i);
        snprintf(stanza_id, sizeof stanza_id, "%s%d", prefix, i);
        struct store_message m = {
            .event_id = event_id, .room_id = "!room:hs",
            .xmpp_jid = "alice@xmpp", .stanza_id = stanza_id,
            .direction = DIR_XMPP_TO_MATRIX, .ts = i,
        };
        assert_int_equal(store_message_put(st, &m), 0);
        assert_int_equal(store_flush(st), 0);
    }
}

/* Marks that work is finished may wait for a later commit, up to
 * STORE_MAY_WAIT_MS; anything else, and new outbox work in particular, is due
 * at once; and a commit made for any reason takes the waiting ones too. */
static void lazy_writes_wait_for_a_later_commit(void **state)
{
    struct store_fixture *f = *state;
    struct store *st = f->st;
    assert_int_equal(store_commit_due_ms(st), -1);

    int64_t item = store_outbox_add(st, "q", OUTBOX_XMPP_INBOUND, "<m/>", 1);
    assert_true(item > 0);
    assert_int_equal(store_commit_due_ms(st), 0);
    assert_int_equal(store_flush(st), 0);
    assert_int_equal(store_commit_due_ms(st), -1);

    store_may_wait_begin(st);
    assert_int_equal(store_outbox_delete(st, item), 0);
    store_may_wait_end(st);
    long due = store_commit_due_ms(st);
    assert_true(due > 0 && due <= STORE_MAY_WAIT_MS);

    /* Once due, it is due now. */
    usleep((STORE_MAY_WAIT_MS + 20) * 1000);
    assert_int_equal(store_commit_due_ms(st), 0);

    /* New work inside a lazy scope is still due at once. */
    store_may_wait_begin(st);
    int64_t other = store_outbox_add(st, "q", OUTBOX_XMPP_INBOUND, "<n/>", 2);
    store_may_wait_end(st);
    assert_true(other > item);
    assert_int_equal(store_commit_due_ms(st), 0);
    assert_int_equal(store_flush(st), 0);
    assert_int_equal(store_commit_due_ms(st), -1);

    /* The lazy removal went out with that commit: after a reopen (as
     * after a crash) only the second item is left. */
    store_fixture_reopen(f);
    struct store_outbox_item it;
    assert_int_equal(store_outbox_head(f->st, "q", &it), 1);
    assert_int_equal(it.id, other);
    store_outbox_item_free(&it);
}

/* The log is copied back into the database file, and then reused instead
 * of growing for ever. (The checkpointer's connection once never learnt
 * that the database was in WAL mode, and every checkpoint silently did
 * nothing; and under steady commits the thread never quite caught up, so
 * the log was never started again.) */
static void log_is_copied_back(void **state)
{
    struct store_fixture *f = *state;
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    long db_before = file_size(f->path);
    /* One commit per message, each touching a few pages: well past the
     * thread's threshold. */
    put_messages_one_by_one(f->st, "a", 1500);
    /* Bounded wait: the thread checkpoints in the background. */
    long db_after = db_before;
    for (int tries = 0; tries < 500 && db_after <= db_before; tries++) {
        usleep(10 * 1000);
        db_after = file_size(f->path);
    }
    assert_true(db_after > db_before);
    /* These commits write about 60,000 frames. Reused, the log stays near
     * WAL_MAX_PAGES frames, past it by what is committed while the
     * thread finishes a checkpoint (the loop does not wait for it): on a
     * loaded machine, up to 7,300 frames in all were seen. */
    put_messages_one_by_one(f->st, "b", 12000);
    long frame = 24 + 4096; /* header + page */
    long bound = 32 + 3L * WAL_MAX_PAGES * frame;
    long wal_size = file_size(wal);
    if (wal_size > bound)
        fail_msg("the log is %ld bytes, more than %ld: not reused",
                 wal_size, bound);
}

static void txns_are_remembered(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(store_txn_seen(f->st, "1", "d1"), 0);
    assert_int_equal(store_txn_mark(f->st, "1", "d1", 100), 0);
    assert_int_equal(store_txn_seen(f->st, "1", "d1"), 1);
    assert_int_equal(store_txn_mark(f->st, "1", "d1", 200), 0);
    assert_int_equal(store_flush(f->st), 0);
    store_fixture_reopen(f);
    assert_int_equal(store_txn_seen(f->st, "1", "d1"), 1);
    assert_int_equal(store_txn_seen(f->st, "2", "d1"), 0);
    /* The same id with other contents is a new transaction (the homeserver
     * restarted its numbering); once applied, it replaces the old one. */
    assert_int_equal(store_txn_seen(f->st, "1", "d2"), 0);
    assert_int_equal(store_txn_mark(f->st, "1", "d2", 300), 0);
    assert_int_equal(store_txn_seen(f->st, "1", "d2"), 1);
    assert_int_equal(store_txn_seen(f->st, "1", "d1"), 0);
}

static void highest_numeric_txn(void **state)
{
    struct store_fixture *f = *state;
    int64_t h = -1;
    assert_int_equal(store_txn_highest(f->st, &h), 0);
    store_txn_mark(f->st, "9", "a", 1);
    store_txn_mark(f->st, "10", "b", 1);   /* numerically, not as text */
    store_txn_mark(f->st, "dup-1", "c", 1);
    store_txn_mark(f->st, "12abc", "d", 1);
    assert_int_equal(store_txn_highest(f->st, &h), 1);
    assert_int_equal(h, 10);
    /* Pruning keeps the latest numeric id whatever its age. */
    assert_int_equal(store_txn_prune(f->st, 2), 0);
    assert_int_equal(store_txn_highest(f->st, &h), 1);
    assert_int_equal(h, 10);
    assert_int_equal(store_txn_seen(f->st, "9", "a"), 0);
    assert_int_equal(store_txn_seen(f->st, "dup-1", "c"), 0);
    /* After the homeserver restarts its numbering, the latest counts. */
    store_txn_mark(f->st, "2", "e", 5);
    assert_int_equal(store_txn_highest(f->st, &h), 1);
    assert_int_equal(h, 2);
}

static void unflushed_writes_are_lost_on_crash(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(store_txn_mark(f->st, "committed", NULL, 1), 0);
    assert_int_equal(store_flush(f->st), 0);
    assert_int_equal(store_txn_mark(f->st, "pending", NULL, 1), 0);
    /* A second connection sees only what was committed: the appservice's
     * 200 must therefore wait for store_flush. */
    sqlite3 *other;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(other, "SELECT txn_id FROM txns "
                                        "ORDER BY txn_id", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "committed");
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(other);
}

static void ghosts(void **state)
{
    struct store_fixture *f = *state;
    struct store_ghost g;
    assert_int_equal(store_ghost_get(f->st, "@_xmpp_a:hs", &g), 0);
    struct store_ghost in = { "@_xmpp_a:hs", "a@x", "Alice", 1 };
    assert_int_equal(store_ghost_put(f->st, &in), 0);
    assert_int_equal(store_ghost_get(f->st, "@_xmpp_a:hs", &g), 1);
    assert_string_equal(g.jid, "a@x");
    assert_string_equal(g.displayname, "Alice");
    assert_int_equal(g.registered, 1);
    store_ghost_free(&g);
    struct store_ghost renamed = { "@_xmpp_a:hs", "a@x", NULL, 1 };
    assert_int_equal(store_ghost_put(f->st, &renamed), 0);
    assert_int_equal(store_ghost_get(f->st, "@_xmpp_a:hs", &g), 1);
    assert_null(g.displayname);
    store_ghost_free(&g);
}

static void dm_rooms(void **state)
{
    struct store_fixture *f = *state;
    struct store_room r;
    assert_int_equal(store_room_find_dm(f->st, "a@x", "@b:hs", &r), 0);
    struct store_room old = { "!old:hs", ROOM_DM, "a@x", "@b:hs" };
    struct store_room newer = { "!new:hs", ROOM_DM, "a@x", "@b:hs" };
    struct store_room other = { "!other:hs", ROOM_DM, "a@x", "@c:hs" };
    assert_int_equal(store_room_put(f->st, &old, 100), 0);
    assert_int_equal(store_room_put(f->st, &newer, 200), 0);
    assert_int_equal(store_room_put(f->st, &other, 300), 0);
    assert_int_equal(store_flush(f->st), 0);
    store_fixture_reopen(f);
    /* The newest DM between two people wins. */
    assert_int_equal(store_room_find_dm(f->st, "a@x", "@b:hs", &r), 1);
    assert_string_equal(r.room_id, "!new:hs");
    store_room_free(&r);
    assert_int_equal(store_room_get(f->st, "!other:hs", &r), 1);
    assert_string_equal(r.matrix_user, "@c:hs");
    assert_int_equal(r.mode, ROOM_DM);
    store_room_free(&r);
    assert_int_equal(store_room_delete(f->st, "!new:hs"), 0);
    assert_int_equal(store_room_find_dm(f->st, "a@x", "@b:hs", &r), 1);
    assert_string_equal(r.room_id, "!old:hs");
    store_room_free(&r);
}

static void portals(void **state)
{
    struct store_fixture *f = *state;
    struct store_room r;
    assert_int_equal(store_room_find_portal(f->st, "room@muc.x", &r), 0);
    struct store_room portal = { "!p:hs", ROOM_PORTAL, "room@muc.x", NULL };
    assert_int_equal(store_room_put(f->st, &portal, 100), 0);
    assert_int_equal(store_room_subject_set(f->st, "!p:hs", "Hello"), 0);
    struct store_portal_user u = { "!p:hs", "@b:hs", "room@muc.x",
                                   "Bob (Matrix)", "Bob", 1, 0 };
    assert_int_equal(store_portal_user_put(f->st, &u), 0);
    struct store_message m = { "$e", "!p:hs", "room@muc.x", "sid", NULL,
                               DIR_XMPP_TO_MATRIX, 4242, NULL, NULL };
    assert_int_equal(store_message_put(f->st, &m), 0);
    assert_int_equal(store_flush(f->st), 0);
    store_fixture_reopen(f);
    assert_int_equal(store_room_find_portal(f->st, "room@muc.x", &r), 1);
    assert_string_equal(r.room_id, "!p:hs");
    assert_int_equal(r.mode, ROOM_PORTAL);
    store_room_free(&r);
    char *subject = NULL;
    assert_int_equal(store_room_subject_get(f->st, "!p:hs", &subject), 1);
    assert_string_equal(subject, "Hello");
    free(subject);
    int64_t ts = 0;
    assert_int_equal(store_room_last_ts(f->st, "!p:hs", &ts), 1);
    assert_int_equal(ts, 4242);
    assert_int_equal(store_room_last_ts(f->st, "!none:hs", &ts), 0);

    struct store_portal_user got;
    assert_int_equal(store_portal_user_get(f->st, "room@muc.x", "@b:hs",
                                           &got), 1);
    assert_string_equal(got.nick, "Bob (Matrix)");
    assert_string_equal(got.base_nick, "Bob");
    assert_int_equal(got.attempt, 1);
    assert_int_equal(got.joined, 0);
    store_portal_user_free(&got);
    assert_int_equal(store_portal_user_by_nick(f->st, "room@muc.x",
                                               "Bob (Matrix)", &got), 1);
    assert_string_equal(got.mxid, "@b:hs");
    store_portal_user_free(&got);
    assert_int_equal(store_portal_user_by_nick(f->st, "room@muc.x", "Bob",
                                               &got), 0);
    struct store_portal_user *all;
    assert_int_equal(store_portal_users_all(f->st, &all), 1);
    store_portal_users_free(all, 1);
    assert_int_equal(store_portal_user_delete(f->st, "!p:hs", "@b:hs"), 0);
    assert_int_equal(store_portal_user_get(f->st, "room@muc.x", "@b:hs",
                                           &got), 0);
}

static void messages_both_ways(void **state)
{
    struct store_fixture *f = *state;
    struct store_message m = { "$ev1", "!r:hs", "a@x", "stanza-1", "origin-1",
                               DIR_XMPP_TO_MATRIX, 1234, NULL, NULL };
    assert_int_equal(store_message_put(f->st, &m), 0);
    assert_int_equal(store_message_put(f->st, &m), 0); /* replays are fine */
    struct store_message out;
    assert_int_equal(store_message_by_event(f->st, "$ev1", &out), 1);
    assert_string_equal(out.stanza_id, "stanza-1");
    assert_int_equal(out.direction, DIR_XMPP_TO_MATRIX);
    assert_int_equal(out.ts, 1234);
    store_message_free(&out);
    assert_int_equal(store_message_by_stanza(f->st, "a@x", "origin-1", &out), 1);
    assert_string_equal(out.event_id, "$ev1");
    store_message_free(&out);
    assert_int_equal(store_message_by_stanza(f->st, "a@x", "stanza-1", &out), 1);
    store_message_free(&out);
    /* Ids are only unique per sender. */
    assert_int_equal(store_message_by_stanza(f->st, "z@x", "stanza-1", &out), 0);
    assert_int_equal(store_message_by_event(f->st, "$nope", &out), 0);

    /* The same id as stanza id and origin id is stored once, and still
     * found and read back as both. */
    struct store_message same = { "$ev2", "!r:hs", "a@x", "$ev2", "$ev2",
                                  DIR_MATRIX_TO_XMPP, 1235, NULL, NULL };
    assert_int_equal(store_message_put(f->st, &same), 0);
    assert_int_equal(store_message_by_stanza(f->st, "a@x", "$ev2", &out), 1);
    assert_string_equal(out.event_id, "$ev2");
    assert_string_equal(out.stanza_id, "$ev2");
    assert_string_equal(out.origin_id, "$ev2");
    store_message_free(&out);
    /* Found through its event id, yet still only under its own JID. */
    assert_int_equal(store_message_by_stanza(f->st, "z@x", "$ev2", &out), 0);
    /* A MUC's stanza-id, learnt later, leaves the origin id as it was. */
    assert_int_equal(store_message_set_stanza_id(f->st, "$ev2", "muc-9"), 0);
    assert_int_equal(store_message_by_event(f->st, "$ev2", &out), 1);
    assert_string_equal(out.stanza_id, "muc-9");
    assert_string_equal(out.origin_id, "$ev2");
    store_message_free(&out);
    assert_int_equal(store_message_by_stanza(f->st, "a@x", "$ev2", &out), 1);
    store_message_free(&out);
    /* A message without an origin-id: its id is the sender's own. */
    struct store_message bare = { "$ev3", "!r:hs", "a@x", "s-3", NULL,
                                  DIR_XMPP_TO_MATRIX, 1236, NULL, NULL };
    assert_int_equal(store_message_put(f->st, &bare), 0);
    assert_int_equal(store_message_by_event(f->st, "$ev3", &out), 1);
    assert_string_equal(out.origin_id, "s-3");
    store_message_free(&out);
}

static void put_msg(struct store *st, const char *event_id, const char *room,
                    const char *jid, const char *sid, int dir, int64_t ts)
{
    struct store_message m = { (char *)event_id, (char *)room, (char *)jid,
                               (char *)sid, NULL, dir, ts, NULL, NULL };
    assert_int_equal(store_message_put(st, &m), 0);
}

/* A message's place is its timestamp, ties broken by storage order; the
 * newest XMPP message at or before a place is what a Matrix read marks. */
static void message_order_and_last_from_xmpp(void **state)
{
    struct store_fixture *f = *state;
    put_msg(f->st, "$x1", "!r:hs", "a@x", "s1", DIR_XMPP_TO_MATRIX, 100);
    put_msg(f->st, "$m1", "!r:hs", "a@x", "$m1", DIR_MATRIX_TO_XMPP, 200);
    put_msg(f->st, "$x2", "!r:hs", "a@x", "s2", DIR_XMPP_TO_MATRIX, 200);
    put_msg(f->st, "$m2", "!r:hs", "a@x", "$m2", DIR_MATRIX_TO_XMPP, 300);
    put_msg(f->st, "$y1", "!other:hs", "b@x", "t1", DIR_XMPP_TO_MATRIX, 250);
    struct store_order m1, x2, m2, got;
    assert_int_equal(store_message_order(f->st, "$m1", &m1), 1);
    assert_int_equal(store_message_order(f->st, "$x2", &x2), 1);
    assert_int_equal(store_message_order(f->st, "$m2", &m2), 1);
    assert_int_equal(m1.ts, 200);
    assert_true(x2.ts == m1.ts && x2.seq > m1.seq);
    assert_int_equal(store_message_order(f->st, "$nope", &got), 0);

    struct store_message out;
    /* Same timestamp, stored earlier: $x2 is after $m1. */
    assert_int_equal(store_message_last_from_xmpp(f->st, "!r:hs", &m1, &out,
                                                  &got), 1);
    assert_string_equal(out.event_id, "$x1");
    assert_string_equal(out.stanza_id, "s1");
    assert_int_equal(got.ts, 100);
    store_message_free(&out);
    assert_int_equal(store_message_last_from_xmpp(f->st, "!r:hs", &m2, &out,
                                                  &got), 1);
    assert_string_equal(out.event_id, "$x2"); /* not the other room's */
    assert_true(got.ts == x2.ts && got.seq == x2.seq);
    store_message_free(&out);
    struct store_order early = { 50, 0 };
    assert_int_equal(store_message_last_from_xmpp(f->st, "!r:hs", &early,
                                                  &out, &got), 0);
}

/* One position per person per room, moving forward only, and kept. */
static void read_positions_only_move_forward(void **state)
{
    struct store_fixture *f = *state;
    struct store_order p1 = { 100, 1 }, p2 = { 200, 2 }, p2b = { 200, 3 };
    char *ev = NULL;
    struct store_order at;
    assert_int_equal(store_read_get(f->st, "!r:hs", "@bob:hs", &ev, &at), 0);
    assert_int_equal(store_read_advance(f->st, "!r:hs", "@bob:hs", "$2", &p2,
                                        10), 1);
    /* The same position again, or an older one: no move. */
    assert_int_equal(store_read_advance(f->st, "!r:hs", "@bob:hs", "$2", &p2,
                                        11), 0);
    assert_int_equal(store_read_advance(f->st, "!r:hs", "@bob:hs", "$1", &p1,
                                        12), 0);
    assert_int_equal(store_read_get(f->st, "!r:hs", "@bob:hs", &ev, &at), 1);
    assert_string_equal(ev, "$2");
    assert_int_equal(at.ts, 200);
    free(ev);
    /* Another person, and another room, have their own positions. */
    assert_int_equal(store_read_advance(f->st, "!r:hs", "@carol:hs", "$1",
                                        &p1, 13), 1);
    assert_int_equal(store_read_advance(f->st, "!s:hs", "@bob:hs", "$1", &p1,
                                        14), 1);
    /* A tie on the timestamp is broken by the storage order. */
    assert_int_equal(store_read_advance(f->st, "!r:hs", "@bob:hs", "$2b",
                                        &p2b, 15), 1);
    assert_int_equal(store_flush(f->st), 0);
    store_fixture_reopen(f);
    assert_int_equal(store_read_advance(f->st, "!r:hs", "@bob:hs", "$2", &p2,
                                        16), 0);
    assert_int_equal(store_read_get(f->st, "!r:hs", "@bob:hs", &ev, &at), 1);
    assert_string_equal(ev, "$2b");
    assert_int_equal(at.seq, 3);
    free(ev);
    assert_int_equal(store_read_get(f->st, "!r:hs", "@carol:hs", &ev, &at), 1);
    assert_string_equal(ev, "$1");
    free(ev);
}

struct seen {
    int n;
    int64_t ids[8];
};

static void collect(const struct store_outbox_item *it, void *ud)
{
    struct seen *s = ud;
    s->ids[s->n++] = it->id;
}

static void outbox_keeps_order_per_queue(void **state)
{
    struct store_fixture *f = *state;
    int64_t a1 = store_outbox_add(f->st, "qa", OUTBOX_STANZA, "<a1/>", 1);
    int64_t b1 = store_outbox_add(f->st, "qb", OUTBOX_XMPP_INBOUND, "<b1/>", 2);
    int64_t a2 = store_outbox_add(f->st, "qa", OUTBOX_STANZA, "<a2/>", 3);
    assert_true(a1 > 0 && b1 > a1 && a2 > b1);
    assert_int_equal(store_flush(f->st), 0);
    store_fixture_reopen(f); /* survives a restart */
    assert_int_equal(store_outbox_count(f->st), 3);
    struct store_outbox_item it;
    assert_int_equal(store_outbox_head(f->st, "qa", &it), 1);
    assert_int_equal(it.id, a1);
    assert_string_equal(it.payload, "<a1/>");
    assert_int_equal(it.created_ts, 1);
    store_outbox_item_free(&it);
    struct seen s = { 0 };
    assert_int_equal(store_outbox_scan(f->st, OUTBOX_STANZA, 0, 10, collect,
                                       &s), 2);
    assert_int_equal(s.ids[0], a1);
    assert_int_equal(s.ids[1], a2);
    s.n = 0;
    assert_int_equal(store_outbox_scan(f->st, OUTBOX_STANZA, a1, 10, collect,
                                       &s), 1);
    assert_int_equal(store_outbox_delete(f->st, a1), 0);
    assert_int_equal(store_outbox_head(f->st, "qa", &it), 1);
    assert_int_equal(it.id, a2);
    store_outbox_item_free(&it);
    assert_int_equal(store_outbox_head(f->st, "qc", &it), 0);
    /* Ids are never reused, so derived txnIds never collide. */
    assert_int_equal(store_outbox_delete(f->st, a2), 0);
    assert_int_equal(store_outbox_delete(f->st, b1), 0);
    int64_t again = store_outbox_add(f->st, "qa", OUTBOX_STANZA, "<x/>", 4);
    assert_true(again > a2);

    /* A range goes at once, and only its kind. */
    int64_t c1 = store_outbox_add(f->st, "qa", OUTBOX_STANZA, "<c1/>", 5);
    int64_t d1 = store_outbox_add(f->st, "qd", OUTBOX_XMPP_INBOUND, "<d/>", 6);
    int64_t c2 = store_outbox_add(f->st, "qa", OUTBOX_STANZA, "<c2/>", 7);
    assert_int_equal(store_outbox_delete_range(f->st, OUTBOX_STANZA, again,
                                               c2), 0);
    assert_int_equal(store_outbox_count(f->st), 1);
    assert_int_equal(store_outbox_head(f->st, "qd", &it), 1);
    assert_int_equal(it.id, d1);
    store_outbox_item_free(&it);
    assert_true(c1 > again && c2 > d1);
}

/* Messages and outbox rows wait for the commit (store/sqlite/deferred.c), so that
 * a transaction's stanzas are not held up by the rows of those before
 * them; but nothing reads past a waiting row. */
static void deferred_inserts_are_seen_and_committed(void **state)
{
    struct store_fixture *f = *state;
    struct store_room room = { "!r:hs", ROOM_DM, "alice@xmpp", "@bob:hs" };
    assert_int_equal(store_room_put(f->st, &room, 1), 0);
    struct store_message m = {
        .event_id = "$e1", .room_id = "!r:hs", .xmpp_jid = "alice@xmpp",
        .stanza_id = "$e1", .origin_id = "$e1",
        .direction = DIR_MATRIX_TO_XMPP, .ts = 5, .sender = "@bob:hs",
    };
    assert_int_equal(store_message_put(f->st, &m), 0);
    int64_t id = store_outbox_add(f->st, "q", OUTBOX_STANZA, "<a/>", 1);
    assert_true(id > 0);
    assert_int_equal(store_deferred_count(f->st), 2);

    /* A read of another table leaves them waiting... */
    struct store_room got;
    assert_int_equal(store_room_get(f->st, "!r:hs", &got), 1);
    store_room_free(&got);
    assert_int_equal(store_deferred_count(f->st), 2);
    /* ...and one that could see them writes them first. */
    struct store_message back;
    assert_int_equal(store_message_by_event(f->st, "$e1", &back), 1);
    assert_string_equal(back.sender, "@bob:hs");
    store_message_free(&back);
    assert_int_equal(store_deferred_count(f->st), 0);
    struct store_outbox_item it;
    assert_int_equal(store_outbox_head(f->st, "q", &it), 1);
    assert_int_equal(it.id, id);
    store_outbox_item_free(&it);

    /* Rows still waiting at the commit are in it. */
    struct store_message m2 = m;
    m2.event_id = m2.stanza_id = m2.origin_id = "$e2";
    assert_int_equal(store_message_put(f->st, &m2), 0);
    int64_t id2 = store_outbox_add(f->st, "q", OUTBOX_STANZA, "<b/>", 2);
    assert_int_equal(store_deferred_count(f->st), 2);
    assert_int_equal(store_flush(f->st), 0);
    store_fixture_reopen(f);
    assert_int_equal(store_message_by_event(f->st, "$e2", &back), 1);
    assert_string_equal(back.xmpp_jid, "alice@xmpp");
    assert_int_equal(back.ts, 5);
    store_message_free(&back);
    assert_int_equal(store_outbox_count(f->st), 2);
    assert_int_equal(store_outbox_delete(f->st, id), 0);
    assert_int_equal(store_outbox_head(f->st, "q", &it), 1);
    assert_int_equal(it.id, id2);
    assert_string_equal(it.payload, "<b/>");
    assert_int_equal(it.created_ts, 2);
    store_outbox_item_free(&it);
}

/* Makes the next outbox row's insert fail when it runs: its id is one
 * already taken (a damaged store, or a bug, could do that). */
static int64_t add_doomed_outbox_row(struct store *st, int64_t taken_id)
{
    int64_t next = st->next_outbox_id;
    st->next_outbox_id = taken_id;
    assert_int_equal(store_outbox_add(st, "q", OUTBOX_STANZA, "<x/>", 9),
                     taken_id); /* waits */
    st->next_outbox_id = next;
    return taken_id;
}

/* A waiting insert that fails fails the commit, and the turn's other
 * writes go with it, as when the commit itself fails. */
static void a_failed_deferred_insert_fails_the_commit(void **state)
{
    struct store_fixture *f = *state;
    int64_t first = store_outbox_add(f->st, "q", OUTBOX_STANZA, "<a/>", 1);
    assert_int_equal(store_flush(f->st), 0);
    struct store_room room = { "!r:hs", ROOM_DM, "alice@xmpp", "@bob:hs" };
    assert_int_equal(store_room_put(f->st, &room, 1), 0);
    struct store_message m = {
        .event_id = "$bad", .room_id = "!r:hs", .xmpp_jid = "alice@xmpp",
        .direction = DIR_MATRIX_TO_XMPP, .ts = 1,
    };
    assert_int_equal(store_message_put(f->st, &m), 0);
    add_doomed_outbox_row(f->st, first);
    assert_int_equal(store_flush(f->st), -1);
    store_fixture_reopen(f);
    struct store_room got;
    assert_int_equal(store_room_get(f->st, "!r:hs", &got), 0);
    struct store_message back;
    assert_int_equal(store_message_by_event(f->st, "$bad", &back), 0);
    /* The next turn commits as usual. */
    assert_int_equal(store_room_put(f->st, &room, 1), 0);
    assert_int_equal(store_flush(f->st), 0);
}

/* An outbox id may be sent (as a request's transaction id, or covered by
 * a stanza confirmation) before its row is committed: one from a turn
 * that was rolled back is never given again, nor one from before a
 * restart. */
static void outbox_ids_outlive_a_rolled_back_commit(void **state)
{
    struct store_fixture *f = *state;
    int64_t a = store_outbox_add(f->st, "q", OUTBOX_STANZA, "<a/>", 1);
    assert_int_equal(store_flush(f->st), 0);
    int64_t b = store_outbox_add(f->st, "q", OUTBOX_STANZA, "<b/>", 2);
    add_doomed_outbox_row(f->st, a);
    assert_int_equal(store_flush(f->st), -1);
    int64_t c = store_outbox_add(f->st, "q", OUTBOX_STANZA, "<c/>", 3);
    assert_true(b > a && c > b);
    assert_int_equal(store_flush(f->st), 0);
    store_fixture_reopen(f);
    assert_int_equal(store_outbox_delete(f->st, a), 0);
    assert_int_equal(store_outbox_delete(f->st, c), 0);
    assert_int_equal(store_flush(f->st), 0);
    store_fixture_reopen(f);
    int64_t d = store_outbox_add(f->st, "q", OUTBOX_STANZA, "<d/>", 4);
    assert_true(d > c);
    assert_int_equal(store_outbox_count(f->st), 1);
}

static void inbound_ids_deduplicate(void **state)
{
    struct store_fixture *f = *state;
    char *ev = NULL;
    assert_int_equal(store_inbound_get(f->st, "a@x", "b%h@gw", "m1", &ev), 0);
    assert_int_equal(store_inbound_add(f->st, "a@x", "b%h@gw", "m1", 1000), 0);
    assert_int_equal(store_inbound_add(f->st, "a@x", "b%h@gw", "m1", 2000), 0);
    assert_int_equal(store_inbound_get(f->st, "a@x", "b%h@gw", "m1", &ev), 1);
    assert_null(ev); /* taken in, not yet delivered */
    assert_int_equal(store_inbound_get(f->st, "b@x", "b%h@gw", "m1", &ev), 0);
    /* The same id from the same sender to someone else is a new message
     * (clients that number their messages reuse ids across contacts). */
    assert_int_equal(store_inbound_get(f->st, "a@x", "c%h@gw", "m1", &ev), 0);
    assert_int_equal(store_inbound_add(f->st, "a@x", "c%h@gw", "m1", 1000), 0);
    assert_int_equal(
        store_inbound_delivered(f->st, "a@x", "b%h@gw", "m1", "$e1"), 0);
    assert_int_equal(store_flush(f->st), 0);
    store_fixture_reopen(f);
    assert_int_equal(store_inbound_get(f->st, "a@x", "b%h@gw", "m1", &ev), 1);
    assert_string_equal(ev, "$e1");
    free(ev);
    assert_int_equal(store_inbound_get(f->st, "a@x", "c%h@gw", "m1", &ev), 1);
    assert_null(ev); /* the other conversation's copy is not delivered */
    assert_int_equal(store_inbound_prune(f->st, 1500), 0);
    assert_int_equal(store_inbound_get(f->st, "a@x", "b%h@gw", "m1", &ev), 0);
}

/* What the catch-up reads: who sent something lately, and the "alive"
 * mark kept across a reopen. */
static void recent_senders_and_settings(void **state)
{
    struct store_fixture *f = *state;
    assert_int_equal(store_inbound_add(f->st, "b@x", "p@gw", "m1", 1000), 0);
    assert_int_equal(store_inbound_add(f->st, "a@x", "p@gw", "m2", 3000), 0);
    assert_int_equal(store_inbound_add(f->st, "a@x", "q@gw", "m3", 4000), 0);
    assert_int_equal(store_inbound_add(f->st, "c@x", "p@gw", "m4", 5000), 0);
    char **who;
    int n = store_inbound_senders(f->st, 2000, &who);
    assert_int_equal(n, 2);
    assert_string_equal(who[0], "a@x"); /* once, sorted */
    assert_string_equal(who[1], "c@x");
    store_strings_free(who, n);

    int64_t v = 0;
    assert_int_equal(store_setting_get(f->st, "alive_at", &v), 0);
    assert_int_equal(store_setting_put(f->st, "alive_at", 42), 0);
    assert_int_equal(store_setting_put(f->st, "alive_at", 43), 0);
    assert_int_equal(store_flush(f->st), 0);
    store_fixture_reopen(f);
    assert_int_equal(store_setting_get(f->st, "alive_at", &v), 1);
    assert_int_equal(v, 43);
}

static void migrations_from_every_older_version(void **state)
{
    (void)state;
    for (int v = 0; v < store_schema_latest(); v++) {
        char dir[64];
        assert_int_equal(test_tmpdir_make(dir, "mig"), 0);
        char path[128];
        snprintf(path, sizeof path, "%s/m.db", dir);
        struct store *st;
        char *err = NULL;
        assert_int_equal(store_open_at_version(path, v, &st, &err), 0);
        assert_int_equal(store_schema_version(st), v);
        store_close(st);
        assert_int_equal(store_open(path, &st, &err), 0);
        assert_int_equal(store_schema_version(st), store_schema_latest());
        assert_int_equal(store_txn_mark(st, "x", "d", 1), 0);
        assert_int_equal(store_flush(st), 0);
        store_close(st);
        assert_int_equal(test_tmpdir_remove(dir), 0);
    }
}

/* Rows written before schemas 10 and 11 are still found: transactions
 * copied into their new table, messages through the new partial indexes
 * (or, for ids equal to the event id, through the primary key). */
static void rows_survive_the_index_migrations(void **state)
{
    /* A store of its own in the fixture's directory, which teardown
     * removes. */
    struct store_fixture *f = *state;
    char path[160];
    snprintf(path, sizeof path, "%s/old.db", f->dir);
    struct store *st;
    char *err = NULL;
    assert_int_equal(store_open_at_version(path, 9, &st, &err), 0);
    store_close(st);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
        "INSERT INTO txns(txn_id, received_ts, digest) VALUES "
        "('41', 1, 'd41'), ('42', 2, 'd42');"
        "INSERT INTO messages(event_id, room_id, xmpp_jid, stanza_id, "
        "origin_id, direction, ts) VALUES "
        "('$a', '!r', 'a@x', '$a', '$a', 2, 1),"
        "('$b', '!r', 'a@x', 'xmpp-b', 'origin-b', 1, 2),"
        "('$c', '!r', 'a@x', 'xmpp-c', NULL, 1, 3);",
        NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);

    assert_int_equal(store_open(path, &st, &err), 0);
    assert_int_equal(store_schema_version(st), store_schema_latest());
    assert_int_equal(store_txn_seen(st, "41", "d41"), 1);
    assert_int_equal(store_txn_seen(st, "42", "other"), 0);
    int64_t highest = 0;
    assert_int_equal(store_txn_highest(st, &highest), 1);
    assert_int_equal(highest, 42);
    const char *lookups[][2] = { { "$a", "$a" }, { "xmpp-b", "$b" },
                                 { "origin-b", "$b" }, { "xmpp-c", "$c" } };
    for (size_t i = 0; i < sizeof lookups / sizeof lookups[0]; i++) {
        struct store_message out;
        assert_int_equal(store_message_by_stanza(st, "a@x", lookups[i][0],
                                                 &out), 1);
        assert_string_equal(out.event_id, lookups[i][1]);
        store_message_free(&out);
    }
    store_close(st);
}

/* One row per person, message and key; found again by the reaction's own
 * event (what a redaction names); senders kept apart. */
static void reactions_per_person(void **state)
{
    struct store *st = ((struct store_fixture *)*state)->st;
    struct store_reaction rows[] = {
        { "$msg", "@bob:hs", "🎉", "$r2", "!room" },
        { "$msg", "@bob:hs", "👍", "$r1", "!room" },
        { "$msg", "@carol:hs", "👍", "$r3", "!room" },
    };
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(store_reaction_put(st, &rows[i]), 0);
    struct store_reaction *list;
    int n = store_reactions_of(st, "$msg", "@bob:hs", &list);
    assert_int_equal(n, 2);
    /* Sorted by key, so XMPP gets a stable order. */
    assert_true(strcmp(list[0].key, list[1].key) < 0);
    assert_string_equal(list[0].event_id, strcmp(list[0].key, "👍") == 0
                                              ? "$r1" : "$r2");
    store_reactions_free(list, n);

    struct store_reaction r;
    assert_int_equal(store_reaction_by_event(st, "$r3", &r), 1);
    assert_string_equal(r.sender, "@carol:hs");
    assert_string_equal(r.target_event_id, "$msg");
    assert_string_equal(r.key, "👍");
    assert_string_equal(r.room_id, "!room");
    store_reaction_free(&r);

    assert_int_equal(store_reaction_delete(st, "$r1"), 0);
    assert_int_equal(store_reaction_by_event(st, "$r1", &r), 0);
    n = store_reactions_of(st, "$msg", "@bob:hs", &list);
    assert_int_equal(n, 1);
    assert_string_equal(list[0].key, "🎉");
    store_reactions_free(list, n);
    assert_int_equal(store_reactions_of(st, "$other", "@bob:hs", &list), 0);
    store_reactions_free(list, 0);
}

/* Schema 7 keeps who sent each message. */
static void messages_keep_their_sender(void **state)
{
    struct store *st = ((struct store_fixture *)*state)->st;
    struct store_message m = { .event_id = "$e", .room_id = "!r",
                               .xmpp_jid = "a@b", .stanza_id = "s1",
                               .direction = DIR_XMPP_TO_MATRIX, .ts = 5,
                               .sender = "@_xmpp_a=40b:hs" };
    assert_int_equal(store_message_put(st, &m), 0);
    struct store_message out;
    assert_int_equal(store_message_by_stanza(st, "a@b", "s1", &out), 1);
    assert_string_equal(out.sender, "@_xmpp_a=40b:hs");
    store_message_free(&out);
}

static void newer_schema_is_refused(void **state)
{
    struct store_fixture *f = *state;
    store_close(f->st);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL,
                                  NULL), SQLITE_OK);
    sqlite3_close(db);
    char *err = NULL;
    assert_int_equal(store_open(f->path, &f->st, &err), -1);
    assert_non_null(strstr(err, "newer than this isthmus knows"));
    free(err);
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    char *sql = sqlite3_mprintf("PRAGMA user_version = %d",
                                store_schema_latest());
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_free(sql);
    sqlite3_close(db);
    assert_int_equal(store_open(f->path, &f->st, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(txns_are_remembered, setup, teardown),
        cmocka_unit_test_setup_teardown(highest_numeric_txn, setup, teardown),
        cmocka_unit_test_setup_teardown(unflushed_writes_are_lost_on_crash,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(ghosts, setup, teardown),
        cmocka_unit_test_setup_teardown(dm_rooms, setup, teardown),
        cmocka_unit_test_setup_teardown(messages_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(portals, setup, teardown),
        cmocka_unit_test_setup_teardown(message_order_and_last_from_xmpp,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(read_positions_only_move_forward,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(deferred_inserts_are_seen_and_committed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_failed_deferred_insert_fails_the_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(
            outbox_ids_outlive_a_rolled_back_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(outbox_keeps_order_per_queue, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(recent_senders_and_settings, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(inbound_ids_deduplicate, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(reactions_per_person, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(messages_keep_their_sender, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(lazy_writes_wait_for_a_later_commit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(log_is_copied_back, setup, teardown),
        cmocka_unit_test(migrations_from_every_older_version),
        cmocka_unit_test_setup_teardown(rows_survive_the_index_migrations,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(newer_schema_is_refused, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
