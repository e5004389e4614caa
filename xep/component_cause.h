/* Why the component link went down, in words: libstrophe reports a bare
 * errno, or 0 when it kept the reason to itself (a refused connect, a
 * handshake it gave up on), and only the caller knows how far the
 * attempt got. */
#ifndef ISTHMUS_COMPONENT_CAUSE_H
#define ISTHMUS_COMPONENT_CAUSE_H

#include <stdbool.h>

/* How far a connection got before it failed. */
enum component_stage {
    COMPONENT_CONNECTING, /* no TCP connection yet */
    COMPONENT_HANDSHAKE,  /* TCP up, handshake not accepted yet */
    COMPONENT_CONNECTED,  /* the server had accepted the handshake */
};

/* A phrase for the log ("connection refused", "handshake refused (wrong
 * secret?)", ...), static or strerror's. */
const char *component_cause(int error, enum component_stage stage);

#endif
