/* An XMPP message on its way to Matrix, translated once: the one pure step
 * that direct chats, gateway-mode rooms and portals share (they differ in
 * which room and ghost the event goes from, which they add).
 *
 * Pure: which event an XMPP id names and which Matrix user an xmpp: URI
 * names are asked through the lookups in struct x2m_env, so this is
 * unit-tested and fuzzed on its own. Files (XEP-0066/0363 shares) are not
 * here: they are fetched and uploaded first (gateway/features/media.c), and
 * their content replaces what this makes. */
#ifndef ISTHMUS_GATEWAY_X2M_H
#define ISTHMUS_GATEWAY_X2M_H

#include "xep/message.h"

#include <jansson.h>
#include <stddef.h>

struct x2m_env {
    size_t max_body; /* bytes of body one Matrix event carries */
    /* The event an XMPP id (a reply's target) names in this conversation,
     * or NULL if none crossed. Caller frees. */
    char *(*event_for)(void *ud, const char *xmpp_id);
    /* The event a correction of xmpp_id edits: the first of its edits
     * (Matrix edits always name the original), or NULL if the corrected
     * message never crossed. Caller frees. */
    char *(*edit_target)(void *ud, const char *xmpp_id);
    /* The Matrix user an xmpp: URI (a XEP-0372 mention) names, or NULL.
     * Caller frees. */
    char *(*mxid_of_uri)(void *ud, const char *uri);
    void *ud;
};

/* The event content for m: text and emotes, a correction as an m.replace
 * edit of the original (*replaces, caller frees, gets its event id; NULL
 * otherwise), a reply without the XMPP fallback quote, and the formatting
 * (XHTML-IM sanitised, else XEP-0393 styling) with mentions as pills and
 * m.mentions. Returns a new reference, or NULL with *why (static) when the
 * message cannot cross (no body, too large). */
json_t *x2m_translate(const struct xmsg *m, const struct x2m_env *env,
                      char **replaces, const char **why);

#endif
