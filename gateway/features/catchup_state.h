/* What catchup.c (the permission, the window, the waiting) and
 * catchup_archive.c (reading the archives, which catchup.c calls) share;
 * nothing else includes it. */
#ifndef ISTHMUS_GATEWAY_CATCHUP_STATE_H
#define ISTHMUS_GATEWAY_CATCHUP_STATE_H

#include "gateway/features/catchup.h"
#include "xep/privilege.h"

#include <stddef.h>

/* An archived message to take in, with the archive's stamp. */
struct catchup_found {
    xmpp_stanza_t *st;
    int64_t ts;
    size_t order; /* as the archives gave it, for equal stamps */
};

/* A stanza the gateway sent that the recipient's archive holds: its
 * recipient (bare) and its id. */
struct catchup_delivered {
    char *to;
    char *id;
};

struct catchup {
    catchup_take_in_fn *take_in;
    enum priv_iq_type mam;  /* what the last advertisement granted */
    bool advertised;        /* an advertisement came on this connection */
    char *server;           /* the domain that advertised: its users */
    unsigned epoch;         /* one per connection, for stale answers */
    bool told;              /* the start-up line was written */
    /* When the gateway was last known alive: read from the store once
     * (the previous run's mark), then kept by catchup_tick. */
    bool alive_read;
    int64_t previous_alive; /* the previous run's mark, 0 if none */
    int64_t alive_written;
    int64_t link_lost_at;   /* this run's last disconnection, 0 if none */
    /* A catch-up under way: the users whose archives are read, the
     * queries out, and what they found. */
    bool running;
    char **users;
    int nusers;
    int queries_out;
    int64_t window_start, window_end;
    struct catchup_found *found;
    size_t nfound, capfound;
    struct catchup_delivered *delivered;
    size_t ndelivered, capdelivered;
    xmpp_stanza_t **deferred; /* live messages that wait (copies) */
    size_t ndeferred, capdeferred;
    struct catchup_query *queries; /* catchup_archive.c's, out now */
};

/* catchup_archive.c: reads the archives of c->users over the window; calls
 * done once every query has ended (answered, failed or timed out), unless
 * the connection changed meanwhile (c->epoch). */
void catchup_archive_read(struct gateway *gw,
                          void (*done)(struct gateway *gw));
/* catchup_archive.c: a result message of one of its queries; true when
 * st was one. */
bool catchup_archive_result(struct gateway *gw, xmpp_stanza_t *st);
/* catchup_archive.c: calls fn for every stanza waiting in the outbox,
 * oldest first, with its recipient (bare) and its id (may be NULL). */
struct store_outbox_item;
typedef void catchup_waiting_fn(const struct store_outbox_item *it,
                                const char *to, const char *id, void *ud);
void catchup_waiting_stanzas(struct gateway *gw, catchup_waiting_fn *fn,
                             void *ud);
/* catchup_archive.c: drops the waiting stanzas to XMPP that the archives
 * showed delivered; returns how many. */
int catchup_archive_skip_delivered(struct gateway *gw);

#endif
