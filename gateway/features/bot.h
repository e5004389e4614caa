/* The Matrix door to the gateway's commands (features/commands.h): the
 * bot (@_xmpp:server by default) joins the DMs Matrix users open with it
 * and answers each message there, a command, with an m.notice. The rooms
 * it joined so are remembered in the store's settings ("bot_dm <room>"),
 * apart from the bridged rooms, since nothing is bridged there. */
#ifndef ISTHMUS_GATEWAY_FEATURES_BOT_H
#define ISTHMUS_GATEWAY_FEATURES_BOT_H

#include "gateway/base/context.h"
#include "matrix/event.h"

#include <stdbool.h>

/* A member event about the bot or in one of its DMs: the bot joins a DM
 * it is invited to (and declines any other invite: it serves no group
 * room), and forgets a DM its user left. True when the event was the
 * bot's business (nothing else needs it). */
bool bot_matrix_member(struct gateway *gw, const struct mx_event *ev,
                       const struct mx_member *m);
/* An encrypted event: in one of the bot's DMs, the bot, which has no
 * device, says it cannot read it (true: nothing else needs it). */
bool bot_matrix_encrypted(struct gateway *gw, const struct mx_event *ev);
/* A message: true when it was in one of the bot's DMs (and answered). */
bool bot_matrix_message(struct gateway *gw, const struct mx_event *ev);

#endif
