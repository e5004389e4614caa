/* Ad-hoc commands (XEP-0050) and the data forms (XEP-0004) they carry:
 * reading a request and building its answer. Only XML here; which
 * commands exist and what they do is gateway/features/commands.c's. */
#ifndef ISTHMUS_XEP_ADHOC_H
#define ISTHMUS_XEP_ADHOC_H

#include <stdbool.h>
#include <stddef.h>
#include <strophe.h>

#define NS_COMMANDS "http://jabber.org/protocol/commands"
#define NS_DATA_FORMS "jabber:x:data"

/* What an ad-hoc command request asks. The strings and the form are
 * borrowed from the request stanza. */
struct adhoc_request {
    const char *node;
    const char *sessionid; /* NULL on the first request of a session */
    const char *action;    /* "execute" when the request names none */
    xmpp_stanza_t *form;   /* a submitted <x type='submit'/>, or NULL */
};

/* Reads the <command/> of an iq set. -1 with *why (static) when there is
 * none, it names no node, or its action is not one XEP-0050 defines. */
int adhoc_parse(xmpp_stanza_t *iq, struct adhoc_request *out,
                const char **why);

/* One field of a data form. For a form to fill, value is the default (may
 * be NULL); for a result, the value shown. */
struct xform_field {
    const char *var;
    const char *type;  /* "text-single", "fixed"...; NULL: text-single */
    const char *label; /* may be NULL */
    const char *value; /* may be NULL */
    bool required;
};

/* The value of field var in a form (the first <value/>): "" when the field
 * is there with no value, NULL when it is not there. Caller frees. */
char *xform_value(xmpp_stanza_t *form, const char *var);

/* One entry of the command list (disco#items on the commands node). */
struct adhoc_item {
    const char *node;
    const char *name;
};

/* The disco#items result listing commands of `jid`, in reply to iq.
 * Caller releases. */
xmpp_stanza_t *adhoc_items_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                  const char *jid,
                                  const struct adhoc_item *items, size_t n);

/* The answer to a command request. */
struct adhoc_reply {
    const char *node;
    const char *sessionid;
    const char *status;    /* "executing", "completed" or "canceled" */
    const char *note;      /* may be NULL */
    const char *note_type; /* "info", "warn" or "error"; NULL: info */
    /* A form: "form" (to fill: "executing" with a complete action) or
     * "result" (what a completed command found); NULL: no form. */
    const char *form_type;
    const char *title;        /* may be NULL */
    const char *instructions; /* may be NULL */
    const struct xform_field *fields;
    size_t nfields;
};

/* The iq result carrying <command/> for r, in reply to iq. Caller
 * releases. */
xmpp_stanza_t *adhoc_reply_build(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                 const struct adhoc_reply *r);

#endif
