#include "xep/component_cause.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

/* By errno, then by stage; error 0 is what libstrophe passes when it did
 * not say. The first matching row wins. */
static const struct {
    int error;
    int stage; /* an enum component_stage, or -1 for any */
    const char *cause;
} causes[] = {
    /* libstrophe does not pass on the error of a failed connect. */
    { 0, COMPONENT_CONNECTING, "connection refused" },
    /* It gives up on a handshake without a reply, or with a reply that is
     * not <handshake/>, by closing the stream itself. */
    { 0, COMPONENT_HANDSHAKE, "handshake refused (wrong secret, or "
                              "component_jid not declared on the server?)" },
    { 0, COMPONENT_CONNECTED, "the stream was closed" },
    { ECONNREFUSED, -1, "connection refused" },
    { ETIMEDOUT, COMPONENT_CONNECTING, "timed out while connecting" },
    { ETIMEDOUT, -1, "timed out" },
    /* A read of 0 bytes: the server closed the socket. */
    { ECONNRESET, COMPONENT_HANDSHAKE,
      "connection closed by the server during the handshake (wrong "
      "secret, or component_jid not declared on the server?)" },
    { ECONNRESET, -1, "connection closed by the server" },
    { ECONNABORTED, -1, "a write to the server failed" },
    { EPIPE, -1, "a write to the server failed" },
    { EHOSTUNREACH, -1, "host unreachable" },
    { ENETUNREACH, -1, "network unreachable" },
};

const char *component_cause(int error, enum component_stage stage)
{
    for (size_t i = 0; i < sizeof causes / sizeof causes[0]; i++)
        if (causes[i].error == error &&
            (causes[i].stage < 0 || causes[i].stage == (int)stage))
            return causes[i].cause;
    return strerror(error);
}
