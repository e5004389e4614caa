/* The XMPP door to the gateway's commands (features/commands.h): ad-hoc
 * commands (XEP-0050) on the component's own address. Each command is
 * one stage: executing it shows a form for its argument (or runs at once
 * when it takes none), submitting the form runs it, and the answer is a
 * note with the result as a form of type result. */
#ifndef ISTHMUS_GATEWAY_FEATURES_COMMANDS_XMPP_H
#define ISTHMUS_GATEWAY_FEATURES_COMMANDS_XMPP_H

#include "gateway/base/context.h"

#include <strophe.h>

/* The answer to disco#items on the commands node: the commands the
 * sender of iq may run. Caller releases. */
xmpp_stanza_t *commands_xmpp_items(struct gateway *gw, xmpp_stanza_t *iq);
/* The answer to a <command/> iq set (a result or an error). Caller
 * releases. */
xmpp_stanza_t *commands_xmpp_execute(struct gateway *gw, xmpp_stanza_t *iq);

#endif
