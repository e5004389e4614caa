/* Presence updates waiting to be coalesced, per direction: what the
 * presence feature (presence.c) flushes each turn, and what others mark
 * when something a person's presence carries changed (avatars.c). Kept
 * apart from presence.c so that avatars, which presence reads hashes
 * from, can mark a person without calling into presence. */
#ifndef ISTHMUS_GATEWAY_PRESENCE_PENDING_H
#define ISTHMUS_GATEWAY_PRESENCE_PENDING_H

#include <stdint.h>

struct coalesce;
struct gateway;

#define PRESENCE_WINDOW_MS 1000

struct presence {
    struct coalesce *to_matrix; /* keys: "ghost person" */
    struct coalesce *to_xmpp;   /* keys: Matrix IDs */
    int64_t next_refresh;
    double to_xmpp_tokens;      /* people that may go out now */
    int64_t to_xmpp_filled_ms;  /* when the tokens were last topped up */
};

/* Caller frees with presence_pending_free. */
struct presence *presence_pending_new(void);
void presence_pending_free(struct presence *p);

/* Something a Matrix user's presences carry changed (their avatar): their
 * watchers get a presence again. */
void presence_matrix_touch(struct gateway *gw, const char *mxid);

#endif
