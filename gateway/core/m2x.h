/* A Matrix message on its way to XMPP, translated once: the one pure step
 * that direct chats, gateway-mode rooms, portals and the archive (MAM)
 * share. They differ only in addressing (who the stanza is from and to,
 * its type and ids), which they add to the result.
 *
 * Pure: what needs the gateway's state (which XMPP id an event crossed as,
 * the media proxy's signed URL) is asked through the lookups in struct
 * m2x_env, so this is unit-tested and fuzzed on its own. */
#ifndef ISTHMUS_GATEWAY_M2X_H
#define ISTHMUS_GATEWAY_M2X_H

#include "gateway/core/ids.h"
#include "matrix/event.h"
#include "xep/message.h"

#include <stdbool.h>
#include <stddef.h>

struct m2x_env {
    size_t max_body;           /* bytes of body the XMPP side accepts */
    long long media_max_bytes; /* larger files are refused */
    const struct ids *ids;     /* for mentions: Matrix ids to JIDs */
    /* The id the XMPP side knows event_id by: for a correction (XEP-0308)
     * the sender's own id, for a reply (XEP-0461) the stanza id; NULL if
     * it never crossed. Caller frees. When xmpp_id is NULL the event id
     * itself is that id (a gateway-mode room relays every event under its
     * event id). */
    char *(*xmpp_id)(void *ud, const char *event_id, bool correction);
    /* The URL an XMPP client fetches msg's file (its url, or its
     * encrypted content.file) from, saved as name; NULL with *why set
     * when it cannot be made. Caller frees. */
    char *(*media_url)(void *ud, const struct mx_message *msg,
                       const char *name, const char **why);
    void *ud;
};

/* Everything the message carries, in XMPP's terms. */
struct m2x_message {
    char *body;        /* never NULL on success */
    const char *type;  /* "chat" or "headline"... (static); rooms use
                        * groupchat instead */
    char *oob_url;     /* XEP-0066, for a file; or NULL */
    char *replace_id;  /* XEP-0308: corrects this id; or NULL */
    char *reply_id;    /* XEP-0461: answers this id; or NULL */
    int fallback_len;  /* code points of reply quote at the body's start */
    struct xmsg_ref *refs; /* XEP-0372 mentions */
    int n_refs;
};

/* Translates msg. Returns 0, or -1 with *why (static) set when the message
 * cannot cross (no body, too large, a file too large or unreachable): the
 * caller tells its sender. Release out with m2x_message_free. */
int m2x_translate(const struct mx_message *msg, const struct m2x_env *env,
                  struct m2x_message *out, const char **why);
void m2x_message_free(struct m2x_message *m);

/* Whether msg is a file (which a caller may word its refusal by). */
bool m2x_is_file(const struct mx_message *msg);

/* The content fields of m set into x (which keeps pointers into m: free
 * m after x is built); addressing (from, to, id, type...) is the
 * caller's. */
void m2x_fill_xmsg(const struct m2x_message *m, struct xmsg *x);

#endif
