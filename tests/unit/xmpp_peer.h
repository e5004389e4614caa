/* The XMPP server's side of a XEP-0114 component connection, played by a
 * unit test over a loopback socket, for the suites that test what the
 * component connection writes. Failures end the test (cmocka). */
#ifndef ISTHMUS_TESTS_XMPP_PEER_H
#define ISTHMUS_TESTS_XMPP_PEER_H

#include "common/strbuf.h"
#include "xep/component.h"

#include <stdbool.h>

#define XMPP_PEER_WAIT_MS 5000

struct xmpp_peer {
    int listener;
    int conn;          /* -1 until the component connects */
    unsigned short port;
    struct strbuf got; /* everything read from the component */
};

/* Listens on a loopback port, with a small receive buffer so that a test
 * can fill it. */
void xmpp_peer_listen(struct xmpp_peer *p);
/* Closes both sockets and frees what was read. */
void xmpp_peer_close(struct xmpp_peer *p);
/* Reads what is there now; false once the component has closed. */
bool xmpp_peer_read(struct xmpp_peer *p);
/* Waits (without running the component) until something can be read, and
 * reads it. */
void xmpp_peer_wait_read(struct xmpp_peer *p);
void xmpp_peer_write(struct xmpp_peer *p, const char *text);
/* Runs the component and reads until what was read contains want. */
void xmpp_peer_pump_until(struct xmpp_peer *p, struct component *c,
                          const char *want);
/* Accepts the component's connection and plays the handshake (the secret
 * is not checked), running the component until it is connected. Then
 * forgets what was read. */
void xmpp_peer_handshake(struct xmpp_peer *p, struct component *c);
/* Closes the server's side of the connection, running the component until
 * it has noticed that it is disconnected. */
void xmpp_peer_hang_up(struct xmpp_peer *p, struct component *c);
/* For the connection callbacks a test does not need: the tests ask
 * component_is_connected() instead. */
void xmpp_peer_no_event(void *ud);

#endif
