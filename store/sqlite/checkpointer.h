/* Copying the write-ahead log back into the database file (a WAL
 * checkpoint) in a thread of its own. SQLite otherwise does it inside the
 * commit that fills the log, which then takes tens of milliseconds of
 * disk writes and fsyncs while the event loop waits: that was the tail of
 * the gateway's latency. The thread only ever checkpoints, through its own
 * connection, in PASSIVE mode, so it never blocks the gateway's writes. */
#ifndef ISTHMUS_STORE_SQLITE_CHECKPOINTER_H
#define ISTHMUS_STORE_SQLITE_CHECKPOINTER_H

struct checkpointer;

/* Opens its own connection to the database at path and starts the thread.
 * Returns NULL with *err set (caller frees) on failure. */
struct checkpointer *checkpointer_start(const char *path, char **err);
/* Asks for a checkpoint soon. Cheap, never waits on the disk: callable
 * from the commit path. */
void checkpointer_poke(struct checkpointer *c);
/* Stops the thread (after any checkpoint under way) and frees c. */
void checkpointer_stop(struct checkpointer *c);

#endif
