#include "gateway/features/commands_xmpp.h"

#include "common/mem.h"
#include "gateway/features/commands.h"
#include "xep/adhoc.h"
#include "xep/stanza_error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Who sent iq, as a bare JID (caller frees), or NULL when it does not
 * say: the server stamps every stanza, so that is no one to answer. */
static char *sender_of(xmpp_stanza_t *iq)
{
    const char *from = xmpp_stanza_get_from(iq);
    return from && *from ? ids_jid_bare(from) : NULL;
}

static xmpp_stanza_t *no_sender(struct gateway *gw, xmpp_stanza_t *iq)
{
    return stanza_error_reply(gw->xmpp, iq, "modify", "bad-request",
                              "the request says not who sent it");
}

xmpp_stanza_t *commands_xmpp_items(struct gateway *gw, xmpp_stanza_t *iq)
{
    char *bare = sender_of(iq);
    if (!bare)
        return no_sender(gw, iq);
    struct cmd_caller caller = { CMD_FROM_XMPP, bare };
    size_t n, k = 0;
    const struct cmd_spec *all = commands_all(&n);
    struct adhoc_item *items = xcalloc(n, sizeof *items);
    /* Only what the asker may run, as XEP-0050 §2.2 advises. */
    for (size_t i = 0; i < n; i++)
        if (commands_may_run(gw, &all[i], &caller))
            items[k++] = (struct adhoc_item){ all[i].name, all[i].summary };
    xmpp_stanza_t *r = adhoc_items_result(gw->xmpp, iq, gw->ids.component,
                                          items, k);
    free(items);
    free(bare);
    return r;
}

/* A session id for the form's round trip. Nothing is kept under it: the
 * submitted form carries all a single-stage command needs. */
static char *new_session_id(void)
{
    unsigned char raw[8];
    char hex[sizeof raw * 2 + 1];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    return xstrdup(hex);
}

/* The form that asks for spec's argument. */
static xmpp_stanza_t *ask_argument(struct gateway *gw, xmpp_stanza_t *iq,
                                   const struct cmd_spec *spec)
{
    char *sid = new_session_id();
    struct xform_field field = { spec->arg->name, "text-single",
                                 spec->arg->label, NULL, true };
    struct adhoc_reply r = {
        .node = spec->name, .sessionid = sid, .status = "executing",
        .form_type = "form", .title = spec->summary,
        .instructions = spec->arg->label, .fields = &field, .nfields = 1,
    };
    xmpp_stanza_t *res = adhoc_reply_build(gw->xmpp, iq, &r);
    free(sid);
    return res;
}

/* A finished command: its text as a note (an error note when it did not
 * go through), its fields as a result form. */
static xmpp_stanza_t *completed(struct gateway *gw, xmpp_stanza_t *iq,
                                const struct cmd_spec *spec,
                                const char *sessionid,
                                const struct cmd_result *res)
{
    struct xform_field *fields = xcalloc(res->nfields + 1, sizeof *fields);
    for (size_t i = 0; i < res->nfields; i++) {
        fields[i].var = res->fields[i].label;
        fields[i].type = "text-single";
        fields[i].label = res->fields[i].label;
        fields[i].value = res->fields[i].value;
    }
    char *sid = sessionid ? NULL : new_session_id();
    struct adhoc_reply r = {
        .node = spec->name, .sessionid = sessionid ? sessionid : sid,
        .status = "completed", .note = res->text,
        .note_type = res->status == CMD_DONE ? "info" : "error",
        .form_type = res->nfields ? "result" : NULL, .title = spec->summary,
        .fields = fields, .nfields = res->nfields,
    };
    xmpp_stanza_t *st = adhoc_reply_build(gw->xmpp, iq, &r);
    free(fields);
    free(sid);
    return st;
}

xmpp_stanza_t *commands_xmpp_execute(struct gateway *gw, xmpp_stanza_t *iq)
{
    struct adhoc_request req;
    const char *why;
    if (adhoc_parse(iq, &req, &why) < 0)
        return stanza_error_reply(gw->xmpp, iq, "modify", "bad-request", why);
    const struct cmd_spec *spec = commands_find(req.node);
    if (!spec)
        return stanza_error_reply(gw->xmpp, iq, "cancel", "item-not-found",
                                  "the gateway has no such command; see "
                                  "the list (disco#items on the commands "
                                  "node)");
    char *bare = sender_of(iq);
    if (!bare)
        return no_sender(gw, iq);
    struct cmd_caller caller = { CMD_FROM_XMPP, bare };
    xmpp_stanza_t *out = NULL;
    if (strcmp(req.action, "cancel") == 0) {
        struct adhoc_reply r = { .node = spec->name,
                                 .sessionid = req.sessionid,
                                 .status = "canceled" };
        out = adhoc_reply_build(gw->xmpp, iq, &r);
        goto done;
    }
    struct cmd_result res;
    if (spec->arg && !req.form && commands_may_run(gw, spec, &caller)) {
        out = ask_argument(gw, iq, spec);
        goto done;
    }
    char *arg = spec->arg ? xform_value(req.form, spec->arg->name) : NULL;
    commands_run(gw, spec, &caller, arg, &res);
    free(arg);
    if (res.status == CMD_FORBIDDEN)
        out = stanza_error_reply(gw->xmpp, iq, "auth", "forbidden", res.text);
    else
        out = completed(gw, iq, spec, req.sessionid, &res);
    cmd_result_free(&res);
done:
    free(bare);
    return out;
}
