/* Stanza error replies (RFC 6120 §8.3). */
#ifndef ISTHMUS_XEP_STANZA_ERROR_H
#define ISTHMUS_XEP_STANZA_ERROR_H

#include <strophe.h>

/* Builds the error reply to `orig`: from and to swapped, same id and name,
 * type="error", with <error type=…><condition/><text>text</text></error>.
 * `type` is cancel, modify, auth or wait; `condition` a defined condition
 * such as "item-not-found". text may be NULL. Caller releases. */
xmpp_stanza_t *stanza_error_reply(xmpp_ctx_t *ctx, xmpp_stanza_t *orig,
                                  const char *type, const char *condition,
                                  const char *text);

/* The defined condition of an error stanza (e.g. "forbidden"), or
 * "undefined-condition" if it names none; borrowed from st. *text (caller
 * frees; may be NULL) gets its <text/>. */
const char *stanza_error_condition(xmpp_stanza_t *st, char **text);

#endif
