#include "xep/retractions.h"

#include "common/mem.h"
#include "xep/reactions.h"
#include "xep/xml.h"

#include <stdlib.h>
#include <string.h>

static char *nonempty_attr(xmpp_stanza_t *el, const char *name)
{
    const char *v = el ? xmpp_stanza_get_attribute(el, name) : NULL;
    return v && *v ? xstrdup(v) : NULL;
}

char *xretract_target(xmpp_stanza_t *msg)
{
    xmpp_stanza_t *r = xmpp_stanza_get_child_by_name_and_ns(msg, "retract",
                                                            NS_RETRACT);
    if (r)
        return nonempty_attr(r, "id");
    xmpp_stanza_t *apply = xmpp_stanza_get_child_by_name_and_ns(
        msg, "apply-to", NS_FASTEN);
    if (apply && xmpp_stanza_get_child_by_name_and_ns(apply, "retract",
                                                      NS_RETRACT_LEGACY))
        return nonempty_attr(apply, "id");
    return NULL;
}

bool xretract_present(xmpp_stanza_t *msg)
{
    char *id = xretract_target(msg);
    bool present = id != NULL;
    free(id);
    return present;
}

void xretract_add(xmpp_ctx_t *ctx, xmpp_stanza_t *st, const char *id,
                  const char *moderated_by, const char *reason)
{
    xmpp_stanza_t *r = xml_add_child(ctx, st, "retract", NS_RETRACT);
    xmpp_stanza_set_attribute(r, "id", id);
    if (moderated_by) {
        xmpp_stanza_t *m = xml_add_child(ctx, r, "moderated", NS_MODERATE);
        xmpp_stanza_set_attribute(m, "by", moderated_by);
    }
    if (reason && *reason)
        xml_add_text_child(ctx, r, "reason", NULL, reason);
    if (moderated_by) {
        /* The same removal in the form before 2023, for clients that only
         * know that one (as MUC services do for them too); a client that
         * knows both removes the message once either way. */
        xmpp_stanza_t *a = xml_add_child(ctx, st, "apply-to", NS_FASTEN);
        xmpp_stanza_set_attribute(a, "id", id);
        xmpp_stanza_t *lm = xml_add_child(ctx, a, "moderated",
                                          NS_MODERATE_LEGACY);
        xmpp_stanza_set_attribute(lm, "by", moderated_by);
        xml_add_child(ctx, lm, "retract", NS_RETRACT_LEGACY);
        if (reason && *reason)
            xml_add_text_child(ctx, lm, "reason", NULL, reason);
    }
    xmpp_stanza_t *f = xml_add_child(ctx, st, "fallback", NS_FALLBACK);
    xmpp_stanza_set_attribute(f, "for", NS_RETRACT);
    xml_add_text_child(ctx, st, "body", NULL,
                       moderated_by ? "A moderator removed a message, but "
                                      "your client does not support that."
                                    : "The sender deleted a message, but "
                                      "your client does not support that.");
    xml_add_child(ctx, st, "store", NS_HINTS);
}

int xmoderate_parse(xmpp_stanza_t *iq, char **id, char **reason,
                    const char **why)
{
    *id = *reason = NULL;
    xmpp_stanza_t *m = xmpp_stanza_get_child_by_name_and_ns(iq, "moderate",
                                                            NS_MODERATE);
    /* The form before 2023: <apply-to id=…><moderate><retract/>…. */
    xmpp_stanza_t *a = m ? NULL
                         : xmpp_stanza_get_child_by_name_and_ns(
                               iq, "apply-to", NS_FASTEN);
    if (a)
        m = xmpp_stanza_get_child_by_name_and_ns(a, "moderate",
                                                 NS_MODERATE_LEGACY);
    if (!m)
        return 0;
    if (!xmpp_stanza_get_child_by_name_and_ns(
            m, "retract", a ? NS_RETRACT_LEGACY : NS_RETRACT)) {
        *why = "only retraction is supported as moderation";
        return -1;
    }
    *id = nonempty_attr(a ? a : m, "id");
    if (!*id) {
        *why = "the moderation request names no message (id)";
        return -1;
    }
    *reason = xml_child_text(m, "reason", NULL);
    return 1;
}

xmpp_stanza_t *xmoderate_request(xmpp_ctx_t *ctx, const char *id,
                                 const char *reason, bool legacy)
{
    xmpp_stanza_t *top = xmpp_stanza_new(ctx);
    xmpp_stanza_t *m = top;
    if (legacy) {
        xmpp_stanza_set_name(top, "apply-to");
        xmpp_stanza_set_ns(top, NS_FASTEN);
        xmpp_stanza_set_attribute(top, "id", id);
        m = xml_add_child(ctx, top, "moderate", NS_MODERATE_LEGACY);
    } else {
        xmpp_stanza_set_name(top, "moderate");
        xmpp_stanza_set_ns(top, NS_MODERATE);
        xmpp_stanza_set_attribute(top, "id", id);
    }
    xml_add_child(ctx, m, "retract", legacy ? NS_RETRACT_LEGACY : NS_RETRACT);
    /* No xmlns: <reason/> is in the namespace of <moderate/>, where both
     * versions (and Prosody's get_child_text("reason")) look for it. */
    if (reason && *reason)
        xml_add_text_child(ctx, m, "reason", NULL, reason);
    return top;
}

/* parent's child name in ns, or NULL (also when parent is NULL). */
static xmpp_stanza_t *child_of(xmpp_stanza_t *parent, const char *name,
                               const char *ns)
{
    return parent ? xmpp_stanza_get_child_by_name_and_ns(parent, name, ns)
                  : NULL;
}

/* A removal the room announced: the message's id on `target`, the
 * moderator on `moderated`, the reason under `reason_in`. 0 without an
 * id. */
static int moderated_found(struct xmoderated *out, xmpp_stanza_t *target,
                           xmpp_stanza_t *moderated, xmpp_stanza_t *reason_in)
{
    char *id = nonempty_attr(target, "id");
    if (!id)
        return 0;
    out->id = id;
    out->by = nonempty_attr(moderated, "by");
    out->reason = xml_child_text(reason_in, "reason", NULL);
    return 1;
}

/* <retract id=…><moderated by=…/><reason/></retract> (XEP-0425 0.3+). */
static int moderated_current(xmpp_stanza_t *msg, struct xmoderated *out)
{
    xmpp_stanza_t *r = child_of(msg, "retract", NS_RETRACT);
    xmpp_stanza_t *m = child_of(r, "moderated", NS_MODERATE);
    return m ? moderated_found(out, r, m, r) : 0;
}

/* <apply-to id=…><moderated by=…><retract/><reason/></moderated>
 * </apply-to> (XEP-0425 0.2, moderate:0). */
static int moderated_legacy(xmpp_stanza_t *msg, struct xmoderated *out)
{
    xmpp_stanza_t *a = child_of(msg, "apply-to", NS_FASTEN);
    xmpp_stanza_t *m = child_of(a, "moderated", NS_MODERATE_LEGACY);
    /* Only a removal: the old protocol also allowed a moderation that
     * leaves the message in place, which Matrix has no word for. */
    if (!child_of(m, "retract", NS_RETRACT_LEGACY))
        return 0;
    return moderated_found(out, a, m, m);
}

int xmoderated_parse(xmpp_stanza_t *msg, struct xmoderated *out)
{
    memset(out, 0, sizeof *out);
    /* A room that speaks both versions may announce in both at once; the
     * current form wins and the two are one removal. */
    return moderated_current(msg, out) || moderated_legacy(msg, out);
}

void xmoderated_free(struct xmoderated *m)
{
    free(m->id);
    free(m->by);
    free(m->reason);
    memset(m, 0, sizeof *m);
}
