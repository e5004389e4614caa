/* Chat messages (RFC 6121 §5, XEP-0359 ids, XEP-0172 nick) as a plain C
 * struct, parsed from and built into libstrophe stanzas. */
#ifndef ISTHMUS_XEP_MESSAGE_H
#define ISTHMUS_XEP_MESSAGE_H

#include "xep/chatstates.h"
#include "xep/markers.h"
#include "xep/reactions.h"
#include "xep/retractions.h"

#include <stdbool.h>
#include <strophe.h>

#define NS_SID "urn:xmpp:sid:0"
#define NS_NICK "http://jabber.org/protocol/nick"
#define NS_CORRECT "urn:xmpp:message-correct:0"
#define NS_REPLY "urn:xmpp:reply:0"
#define NS_XHTML_IM "http://jabber.org/protocol/xhtml-im"
#define NS_XHTML "http://www.w3.org/1999/xhtml"
#define NS_REFERENCE "urn:xmpp:reference:0"
#define NS_STYLING "urn:xmpp:styling:0"

/* At most this many XEP-0372 references are read from or put into one
 * message. */
#define XMSG_MAX_REFS 32

/* A XEP-0372 mention: the body's code points [begin, end) name uri
 * ("xmpp:user@host"). */
struct xmsg_ref {
    char *uri;
    int begin, end;
};
#define NS_OOB "jabber:x:oob"

struct xmsg {
    char *from;      /* full JID as received */
    char *to;
    char *id;        /* stanza id attribute, may be NULL */
    char *type;      /* "chat", "normal", "groupchat", "headline", "error" */
    char *body;      /* NULL when the stanza has no <body/> */
    char *origin_id; /* XEP-0359, may be NULL */
    char *nick;      /* XEP-0172, may be NULL */
    char *replace_id;/* XEP-0308: the id of the message this corrects */
    char *reply_id;  /* XEP-0461: the id of the message this answers */
    char *reply_to;  /* XEP-0461: its author, may be NULL */
    /* XEP-0428: the part of the body that quotes for clients without
     * replies, in code points; end 0 when there is none. */
    int fallback_start, fallback_end;
    bool receipt_requested; /* XEP-0184 <request/> */
    /* XEP-0071: the content of the XHTML-IM <body/>, serialised; NULL
     * when the message has none. Untrusted: sanitise before use. */
    char *xhtml;
    struct xmsg_ref *refs; /* XEP-0372 mentions, n_refs of them */
    int n_refs;
    bool unstyled; /* XEP-0393 <unstyled/>: the body is not styled */
    char *oob_url;   /* XEP-0066 <x><url/>, may be NULL */
    char *oob_desc;  /* XEP-0066 <x><desc/>, may be NULL */

    /* Everything else a message can carry, read in the same parse: the
     * gateway's features take it from here and never read the stanza
     * again. Each part is read by its own XEP's module (xep/chatstates.c,
     * xep/markers.c, ...). */
    enum chatstate chatstate;   /* XEP-0085, CHATSTATE_NONE if none */
    enum marker_kind marker;    /* XEP-0333 marker or XEP-0184 receipt */
    char *marker_id;            /* the message marked, with marker */
    char *retract_id;           /* XEP-0424: the message retracted */
    /* XEP-0444, when there is no retraction: reactions.id is NULL when
     * the message has none; reactions_error is set (static) when they
     * are malformed. */
    struct xreactions reactions;
    const char *reactions_error;
    struct xmoderated moderated; /* XEP-0425 announcement; .id NULL if none */
    long long delay_ms;         /* XEP-0203 stamp, -1 when not delayed */
    char *subject;              /* a MUC's <subject/>, NULL if none */
    /* XEP-0359 stanza-id stamped by the sender's bare JID (a room stamps
     * what it relays), NULL if none. Anyone else's stamp is not trusted. */
    char *stanza_id;
    /* The end-to-end encryption scheme the message is in (static, see
     * xep/encrypted.h), NULL for a message in clear. */
    const char *encryption;
    /* The scheme the gateway decrypted the message from (its own mark,
     * xep/encrypted.h), NULL when it came in clear. */
    const char *decrypted_from;
};

/* Fills out from a <message/>; every string is a copy (xmsg_free). Returns
 * -1 with *why set if the stanza is not a usable message. */
int xmsg_parse(xmpp_stanza_t *st, struct xmsg *out, const char **why);
/* XEP-0359: the stanza-id st carries stamped by `by`, or NULL. Points
 * into the stanza. */
const char *xmsg_stanza_id_by(xmpp_stanza_t *st, const char *by);
/* XEP-0203: the delay stamp in ms, or -1 when st is not delayed. */
long long xmsg_delay_ms(xmpp_stanza_t *st);
/* Builds a <message/> from the struct. The stanza is the caller's
 * (xmpp_stanza_release). With origin_id set, XEP-0359 <origin-id/> is added. */
xmpp_stanza_t *xmsg_build(xmpp_ctx_t *ctx, const struct xmsg *m);
/* Serialises a stanza; caller frees with free(). */
char *xmsg_stanza_to_xml(xmpp_stanza_t *st);
void xmsg_free(struct xmsg *m);
/* Marks a built message as a XEP-0308 correction of message `id`. */
void xmsg_add_replace(xmpp_ctx_t *ctx, xmpp_stanza_t *st, const char *id);
/* Marks a built message as a XEP-0461 reply to message `id` (by `to`, may
 * be NULL) whose body starts with a fallback quote of fallback_len code
 * points (0 for none). */
void xmsg_add_reply(xmpp_ctx_t *ctx, xmpp_stanza_t *st, const char *id,
                    const char *to, int fallback_len);
/* Adds XEP-0066 out-of-band data (desc may be NULL) to a built message. */
void xmsg_add_oob(xmpp_ctx_t *ctx, xmpp_stanza_t *st, const char *url,
                  const char *desc);
/* The id a sender would reuse when resending: origin-id, else the stanza
 * id; NULL if neither. Points into m. */
const char *xmsg_dedupe_id(const struct xmsg *m);
/* Adds a XEP-0372 mention reference per entry of refs. */
void xmsg_add_refs(xmpp_ctx_t *ctx, xmpp_stanza_t *st,
                   const struct xmsg_ref *refs, int n);
/* A XEP-0184 delivery receipt for message `id`. Caller releases. */
xmpp_stanza_t *xmsg_receipt(xmpp_ctx_t *ctx, const char *from, const char *to,
                            const char *id);

#endif
