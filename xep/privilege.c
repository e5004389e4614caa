/* XEP-0356 advertisement parsing and <privileged_iq/> wrapping. */
#include "xep/privilege.h"

#include "xep/xml.h"

#include <string.h>

#define XMLNS_FORWARD "urn:xmpp:forward:0"

static xmpp_stanza_t *privilege_child(xmpp_stanza_t *st)
{
    return st ? xmpp_stanza_get_child_by_name_and_ns(st, "privilege",
                                                     XMLNS_PRIVILEGE)
              : NULL;
}

bool privilege_is_advertisement(xmpp_stanza_t *message)
{
    xmpp_stanza_t *priv = privilege_child(message);
    if (!priv)
        return false;
    /* A privileged message (server to entity) carries <forwarded/>; an
     * advertisement carries permissions. */
    if (xmpp_stanza_get_child_by_name_and_ns(priv, "forwarded",
                                             XMLNS_FORWARD))
        return false;
    return true;
}

xmpp_stanza_t *privilege_forwarded_message(xmpp_stanza_t *message)
{
    xmpp_stanza_t *priv = privilege_child(message);
    xmpp_stanza_t *fwd = priv ? xmpp_stanza_get_child_by_name_and_ns(
                                    priv, "forwarded", XMLNS_FORWARD)
                              : NULL;
    return fwd ? xmpp_stanza_get_child_by_name(fwd, "message") : NULL;
}

static enum priv_iq_type parse_type(const char *t)
{
    if (!t)
        return PRIV_IQ_NONE;
    if (strcmp(t, "both") == 0)
        return PRIV_IQ_BOTH;
    if (strcmp(t, "get") == 0)
        return PRIV_IQ_GET;
    if (strcmp(t, "set") == 0)
        return PRIV_IQ_SET;
    return PRIV_IQ_NONE;
}

enum priv_iq_type privilege_iq_permission(xmpp_stanza_t *message,
                                          const char *ns)
{
    if (!privilege_is_advertisement(message) || !ns)
        return PRIV_IQ_NONE;
    int granted = PRIV_IQ_NONE;
    xmpp_stanza_t *priv = privilege_child(message);
    for (xmpp_stanza_t *perm = xmpp_stanza_get_children(priv); perm;
         perm = xmpp_stanza_get_next(perm)) {
        const char *name = xmpp_stanza_get_name(perm);
        const char *access = xmpp_stanza_get_attribute(perm, "access");
        if (!name || strcmp(name, "perm") != 0 || !access ||
            strcmp(access, "iq") != 0)
            continue;
        for (xmpp_stanza_t *n = xmpp_stanza_get_children(perm); n;
             n = xmpp_stanza_get_next(n)) {
            const char *nname = xmpp_stanza_get_name(n);
            const char *nns = xmpp_stanza_get_attribute(n, "ns");
            if (nname && strcmp(nname, "namespace") == 0 && nns &&
                strcmp(nns, ns) == 0)
                /* Several entries for one namespace add up. */
                granted |= parse_type(xmpp_stanza_get_attribute(n, "type"));
        }
    }
    return (enum priv_iq_type)granted;
}

bool privilege_allows(enum priv_iq_type perm, const char *iq_type)
{
    if (!iq_type)
        return false;
    if (strcmp(iq_type, "get") == 0)
        return (perm & PRIV_IQ_GET) != 0;
    if (strcmp(iq_type, "set") == 0)
        return (perm & PRIV_IQ_SET) != 0;
    return false;
}

xmpp_stanza_t *privilege_wrap_iq(xmpp_ctx_t *ctx, const char *user_bare_jid,
                                 const char *iq_type, const char *inner_id,
                                 xmpp_stanza_t *payload)
{
    xmpp_stanza_t *wrap = xmpp_stanza_new(ctx);
    xmpp_stanza_set_name(wrap, "privileged_iq");
    xmpp_stanza_set_ns(wrap, XMLNS_PRIVILEGE);
    /* The inner iq must say jabber:client explicitly (mod_privilege
     * refuses it otherwise), come from the user and have the outer iq's
     * type and an id. */
    xmpp_stanza_t *iq = xml_add_child(ctx, wrap, "iq", "jabber:client");
    xmpp_stanza_set_type(iq, iq_type);
    xmpp_stanza_set_id(iq, inner_id);
    xmpp_stanza_set_from(iq, user_bare_jid);
    xmpp_stanza_set_to(iq, user_bare_jid);
    xmpp_stanza_t *copy = xmpp_stanza_copy(payload);
    xmpp_stanza_add_child(iq, copy);
    xmpp_stanza_release(copy);
    return wrap;
}

xmpp_stanza_t *privilege_unwrap_result(xmpp_stanza_t *result,
                                       const char **why)
{
    if (!result) {
        *why = "no answer (timeout or disconnection)";
        return NULL;
    }
    const char *type = xmpp_stanza_get_type(result);
    if (!type || strcmp(type, "result") != 0) {
        *why = "the server refused the privileged iq";
        return NULL;
    }
    xmpp_stanza_t *priv = privilege_child(result);
    xmpp_stanza_t *fwd = priv ? xmpp_stanza_get_child_by_name_and_ns(
                                    priv, "forwarded", XMLNS_FORWARD)
                              : NULL;
    xmpp_stanza_t *inner =
        fwd ? xmpp_stanza_get_child_by_name(fwd, "iq") : NULL;
    if (!inner) {
        *why = "the answer carries no forwarded iq";
        return NULL;
    }
    const char *itype = xmpp_stanza_get_type(inner);
    if (!itype || strcmp(itype, "result") != 0) {
        *why = "the user's server answered the wrapped iq with an error";
        return NULL;
    }
    return inner;
}
