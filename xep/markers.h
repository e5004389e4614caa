/* XEP-0333 chat markers and XEP-0184 delivery receipts: which message a
 * bodiless message says was displayed or received. */
#ifndef ISTHMUS_XEP_MARKERS_H
#define ISTHMUS_XEP_MARKERS_H

#include <strophe.h>

#define NS_CHAT_MARKERS "urn:xmpp:chat-markers:0"
#define NS_RECEIPTS "urn:xmpp:receipts" /* XEP-0184 */

enum marker_kind {
    MARKER_NONE = 0,
    MARKER_RECEIVED,  /* XEP-0333 <received/> or XEP-0184 <received/> */
    MARKER_DISPLAYED, /* XEP-0333 <displayed/> */
    MARKER_ACKNOWLEDGED,
};

/* The marker a message carries and the id it names (points into msg;
 * NULL when there is none or it has no id). A displayed marker wins over
 * a receipt in the same message. */
enum marker_kind marker_of(xmpp_stanza_t *msg, const char **id);
/* A bodiless message of type `type` saying message `id` was displayed.
 * Caller releases. */
xmpp_stanza_t *marker_displayed(xmpp_ctx_t *ctx, const char *from,
                                const char *to, const char *type,
                                const char *id);

#endif
