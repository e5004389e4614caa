/* Deleting messages: retraction of one's own message (XEP-0424) and its
 * removal by a room moderator (XEP-0425). */
#ifndef ISTHMUS_XEP_RETRACTIONS_H
#define ISTHMUS_XEP_RETRACTIONS_H

#include <stdbool.h>
#include <strophe.h>

#define NS_RETRACT "urn:xmpp:message-retract:1"
#define NS_MODERATE "urn:xmpp:message-moderate:1"
/* The form before 2023 (XEP-0424 0.3, XEP-0422 fastening), which some
 * clients still send. */
#define NS_RETRACT_LEGACY "urn:xmpp:message-retract:0"
#define NS_FASTEN "urn:xmpp:fasten:0"
/* XEP-0425 before 2023 (version 0.2): requests and announcements are
 * fastened (<apply-to/>) to the message. Prosody's mod_muc_moderation
 * spoke only this until 2023, and Debian 12's prosody-modules has that. */
#define NS_MODERATE_LEGACY "urn:xmpp:message-moderate:0"

/* The id of the message that message `msg` retracts, in either form, or
 * NULL. Caller frees. */
char *xretract_target(xmpp_stanza_t *msg);
/* Whether message `msg` is a retraction. */
bool xretract_present(xmpp_stanza_t *msg);
/* Makes message st the retraction of message `id`: the <retract/>, a body
 * for clients that do not know XEP-0424 (marked as a fallback), and a
 * <store/> hint. With moderated_by set (a room occupant JID) it is a
 * moderator's removal (XEP-0425), with an optional reason, in both the
 * current form and the one before 2023. */
void xretract_add(xmpp_ctx_t *ctx, xmpp_stanza_t *st, const char *id,
                  const char *moderated_by, const char *reason);
/* A moderation request (<iq type=set><moderate id=…><retract/>…, or the
 * form before 2023, <apply-to id=…><moderate><retract/>…): returns 1 with
 * *id and *reason (may be NULL) set (caller frees both), 0 if the iq is
 * not one, -1 with *why if it is malformed. */
int xmoderate_parse(xmpp_stanza_t *iq, char **id, char **reason,
                    const char **why);
/* The payload of the request (an iq set, addressed to the room) to
 * remove message `id` (the room's stanza-id), with an optional reason:
 * the current form (<moderate id=…/>, moderate:1) or, with legacy, the
 * form before 2023 (<apply-to id=…><moderate/>, moderate:0). The caller
 * releases it (xmpp_stanza_release). */
xmpp_stanza_t *xmoderate_request(xmpp_ctx_t *ctx, const char *id,
                                 const char *reason, bool legacy);

/* A moderator's removal of a message, as the room announces it. */
struct xmoderated {
    char *id;     /* the room's stanza-id of the removed message */
    char *by;     /* the moderator's occupant JID, or NULL */
    char *reason; /* or NULL */
};
/* Whether message msg announces a moderation, in the current form
 * (<retract id=…><moderated by=…/><reason/></retract>) or the one before
 * 2023 (<apply-to id=…><moderated by=…><retract/><reason/></moderated>).
 * Returns 1 with *out filled (release with xmoderated_free), else 0. It
 * does not look at who sent msg: only the room itself may (its bare JID),
 * and that is the caller's to check. */
int xmoderated_parse(xmpp_stanza_t *msg, struct xmoderated *out);
void xmoderated_free(struct xmoderated *m);

#endif
