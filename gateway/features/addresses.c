#include "gateway/features/addresses.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/effects.h"
#include "xep/iq_gateway.h"
#include "xep/stanza_error.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------- XEP-0100 prompt -- */

/* A Matrix user id as people type it: with or without the leading @
 * (XMPP clients that know XEP-0100 often strip nothing, people often
 * do). Caller frees. */
static char *as_matrix_id(const char *typed)
{
    return typed[0] == '@' || typed[0] == '#' || typed[0] == '!'
               ? xstrdup(typed)
               : xasprintf("@%s", typed);
}

xmpp_stanza_t *addresses_iq_gateway(struct gateway *gw, xmpp_stanza_t *iq)
{
    const char *type = xmpp_stanza_get_type(iq);
    if (type && strcmp(type, "get") == 0)
        return iq_gateway_prompt_result(
            gw->xmpp, iq,
            "Enter the Matrix user ID of the person you want to reach; the "
            "gateway gives back the XMPP address to add to your contacts.",
            "Matrix user ID, like @alice:example.org");
    char *typed = iq_gateway_prompt_of(iq);
    if (!typed)
        return stanza_error_reply(gw->xmpp, iq, "modify", "bad-request",
                                  "the request has no <prompt/> with a "
                                  "Matrix user ID in it");
    char *mxid = as_matrix_id(typed), *jid = NULL;
    const char *why;
    xmpp_stanza_t *r;
    /* An XMPP user's ghost stands for their own JID. */
    if (ids_is_ghost(&gw->ids, mxid) &&
        ids_ghost_to_jid(&gw->ids, mxid, &jid, &why) == 0)
        r = iq_gateway_jid_result(gw->xmpp, iq, jid);
    else if (ids_matrix_to_jid(&gw->ids, mxid, &jid, &why) == 0)
        r = iq_gateway_jid_result(gw->xmpp, iq, jid);
    else {
        char *text = xasprintf("\"%s\" is not a Matrix user ID the gateway "
                               "can address (like @alice:example.org): %s",
                               typed, why);
        r = stanza_error_reply(gw->xmpp, iq, "modify", "not-acceptable",
                               text);
        free(text);
    }
    free(jid);
    free(mxid);
    free(typed);
    return r;
}

/* ------------------------------------------------ friendlier errors -- */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The localpart with any XEP-0106 escapes (\40 for @, \3a for :...)
 * undone: clients that escape what their user typed turn "@bob:hs" into
 * "\40bob\3ahs". Caller frees. */
static char *unescape_local(const char *s, size_t n)
{
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
        int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
        if (s[i] == '\\' && hi >= 0 && lo >= 0 && (hi || lo)) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

char *addresses_explain(const struct gateway *gw, const char *jid,
                        const char *why)
{
    char *bare = ids_jid_bare(jid);
    const char *at = strrchr(bare, '@');
    char *candidate = NULL, *fixed = NULL, *text;
    if (at && at > bare) {
        char *local = unescape_local(bare, (size_t)(at - bare));
        if (local[0] == '@' || strchr(local, ':'))
            candidate = as_matrix_id(local);
        else if (!strchr(local, '%'))
            /* A Matrix localpart alone: someone on the homeserver. */
            candidate = xasprintf("@%s:%s", local, gw->ids.hs_domain);
        free(local);
    }
    if (candidate && ids_matrix_to_jid(&gw->ids, candidate, &fixed, NULL) == 0 &&
        strcmp(fixed, bare) != 0)
        text = xasprintf("%s. If you meant the Matrix user %s, their "
                         "address on this gateway is %s (the gateway can "
                         "also translate an ID for you: jabber:iq:gateway, "
                         "or the whois command).", why, candidate, fixed);
    else
        text = xstrdup(why);
    free(candidate);
    free(fixed);
    free(bare);
    return text;
}

/* ------------------------------------------ disco#info on a Matrix user -- */

struct exists_job {
    struct gateway *gw;
    xmpp_stanza_t *iq;
    xmpp_stanza_t *result;
};

static void on_profile(const struct mx_response *r,
                       const struct mx_profile *res, void *ud)
{
    (void)res;
    struct exists_job *j = ud;
    xmpp_stanza_t *answer = j->result;
    /* Only a clear "no such user" hides the entity: a homeserver that
     * does not answer must not make everyone disappear. */
    if (r->status == 404) {
        answer = stanza_error_reply(j->gw->xmpp, j->iq, "cancel",
                                    "item-not-found",
                                    "there is no such user on Matrix");
        xmpp_stanza_release(j->result);
    } else if (r->status != 200) {
        log_debug("xmpp: profile lookup for disco#info failed (%s); "
                  "answering anyway", r->error ? r->error : "no answer");
    }
    gateway_send_now(j->gw, answer);
    xmpp_stanza_release(answer);
    xmpp_stanza_release(j->iq);
    free(j);
}

void addresses_answer_if_user_exists(struct gateway *gw, xmpp_stanza_t *iq,
                                     const char *mxid, xmpp_stanza_t *result)
{
    struct exists_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->iq = xmpp_stanza_copy(iq);
    j->result = result;
    mx_profile_get(gw->mx, mxid, 2, on_profile, j);
}
