/* The XEP-0114 component connection to the XMPP server, with reconnection
 * and tracked iq requests. Driven by the gateway's one-thread loop: the loop
 * polls component_fd() and calls component_run() every turn. */
#ifndef ISTHMUS_XEP_COMPONENT_H
#define ISTHMUS_XEP_COMPONENT_H

#include <stdbool.h>
#include <stdint.h>
#include <strophe.h>

struct component;

struct component_callbacks {
    /* Every stanza that is not the answer to a tracked iq. */
    void (*on_stanza)(xmpp_stanza_t *st, void *ud);
    void (*on_connected)(void *ud);
    void (*on_disconnected)(void *ud);
};

/* The result is NULL on timeout or disconnection. */
typedef void (*component_iq_cb)(xmpp_stanza_t *result, void *ud);

/* Creates the component and starts connecting. Strings are copied. The
 * returned object is freed with component_free(). */
struct component *component_new(xmpp_ctx_t *ctx, const char *jid,
                                const char *secret, const char *host,
                                unsigned short port,
                                const struct component_callbacks *cb,
                                void *ud);
void component_free(struct component *c);

/* One non-blocking round of libstrophe I/O plus reconnection timing.
 * (It runs every turn: libstrophe's send queue does not count a stanza it
 * has started to write, so "is there output?" cannot be asked safely.) */
void component_run(struct component *c);
/* Milliseconds until component_run has timed work (an iq's timeout, the
 * next connection attempt), 0 for now, or -1 for none. While a connection
 * is being set up, libstrophe's own timers are hidden: a short interval. */
long component_next_timeout_ms(const struct component *c);
/* The socket to poll, or -1 while there is none. */
int component_fd(const struct component *c);
bool component_is_connected(const struct component *c);
/* Sending only appends to the connection's output; component_flush()
 * writes it. Returns -1, sending nothing, while disconnected. The stanza
 * is not consumed: the caller still releases it. */
int component_send(struct component *c, xmpp_stanza_t *st);
/* The same for one stanza already serialised by xml_serialize (the stanza
 * outbox keeps them so); the text is copied. */
int component_send_xml(struct component *c, const char *xml, size_t len);
/* Sends an iq get/set and calls cb once with its answer, or with NULL after
 * timeout_ms or a disconnection. The iq must carry an id. */
int component_send_iq(struct component *c, xmpp_stanza_t *iq, int timeout_ms,
                      component_iq_cb cb, void *ud);
/* An iq request, for component_query. */
struct component_query {
    const char *type;  /* "get" when NULL, or "set" */
    const char *from;  /* the component's own address when NULL; an
                        * occupant or puppet JID when asking as one */
    const char *to;
    /* The request's one child: payload when set (copied: the caller still
     * releases it), else an empty <name xmlns='ns'/>. */
    xmpp_stanza_t *payload;
    const char *name;
    const char *ns;
};
/* Builds the iq (with a fresh id) and sends it as component_send_iq does:
 * cb runs once, with the answer, or with NULL after timeout_ms or a
 * disconnection. -1, sending nothing and never calling cb, while
 * disconnected. */
int component_query(struct component *c, const struct component_query *q,
                    int timeout_ms, component_iq_cb cb, void *ud);
/* Writes as much of the output as the socket takes now, without waiting.
 * The gateway calls it whenever it wants what it sent so far on its way,
 * even in the middle of its work, and at the end of every turn. */
void component_flush(struct component *c);
/* Output is left that the socket did not take: poll it for POLLOUT. */
bool component_wants_write(const struct component *c);
/* Returns a fresh stanza id; caller frees. */
char *component_new_id(struct component *c);
const char *component_jid(const struct component *c);
/* Ends every iq still waiting for its answer: each callback gets NULL, as
 * on a timeout (used on shutdown). */
void component_cancel_pending(struct component *c);
/* Drops the connection on purpose (used on shutdown). */
void component_disconnect(struct component *c);
/* Drops the connection and connects again at once (an operator's
 * command). The drop happens at the next component_run, after what was
 * sent so far (the command's answer) is written. */
void component_reconnect(struct component *c);

#endif
