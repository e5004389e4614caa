/* The gateway: the only place that knows both sides (DESIGN.md §1). It owns
 * every part and the one-thread event loop that drives them. The parts
 * themselves are in struct gateway (gateway/base/context.h), which the
 * features below use without this header. */
#ifndef ISTHMUS_GATEWAY_H
#define ISTHMUS_GATEWAY_H

#include "gateway/base/context.h"
#include "gateway/core/config.h"

/* Builds every part from a loaded config (which the gateway takes over).
 * On failure returns -1 with *err set (caller frees). */
int gateway_init(struct gateway *gw, struct config *cfg, char **err);
/* Runs the event loop until gw->stop is set. */
void gateway_run(struct gateway *gw);
/* Ends gateway_run: its turn finishes and it does not sleep again.
 * Async-signal-safe, for the signal handlers. */
void gateway_request_stop(struct gateway *gw);
void gateway_free(struct gateway *gw);

#endif
