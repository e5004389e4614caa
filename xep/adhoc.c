#include "xep/adhoc.h"

#include "common/mem.h"
#include "xep/disco.h"
#include "xep/xml.h"

#include <stdlib.h>
#include <string.h>

/* The actions XEP-0050 defines: a single-stage command only ever sees
 * execute, complete (a client's submit) and cancel, but prev and next
 * are no reason to call the request malformed. */
static const char *const actions[] = { "execute", "complete", "cancel",
                                       "next", "prev", NULL };

static bool known_action(const char *a)
{
    for (const char *const *p = actions; *p; p++)
        if (strcmp(*p, a) == 0)
            return true;
    return false;
}

int adhoc_parse(xmpp_stanza_t *iq, struct adhoc_request *out,
                const char **why)
{
    memset(out, 0, sizeof *out);
    xmpp_stanza_t *cmd =
        xmpp_stanza_get_child_by_name_and_ns(iq, "command", NS_COMMANDS);
    if (!cmd) {
        *why = "the iq carries no <command/>";
        return -1;
    }
    out->node = xmpp_stanza_get_attribute(cmd, "node");
    if (!out->node || !*out->node) {
        *why = "the command names no node";
        return -1;
    }
    out->sessionid = xmpp_stanza_get_attribute(cmd, "sessionid");
    out->action = xmpp_stanza_get_attribute(cmd, "action");
    if (!out->action)
        out->action = "execute";
    if (!known_action(out->action)) {
        *why = "the command's action is not one XEP-0050 defines";
        return -1;
    }
    xmpp_stanza_t *x =
        xmpp_stanza_get_child_by_name_and_ns(cmd, "x", NS_DATA_FORMS);
    const char *type = x ? xmpp_stanza_get_type(x) : NULL;
    if (type && strcmp(type, "submit") == 0)
        out->form = x;
    return 0;
}

char *xform_value(xmpp_stanza_t *form, const char *var)
{
    for (xmpp_stanza_t *f = form ? xmpp_stanza_get_children(form) : NULL; f;
         f = xmpp_stanza_get_next(f)) {
        const char *name = xmpp_stanza_get_name(f);
        const char *v = xmpp_stanza_get_attribute(f, "var");
        if (!name || strcmp(name, "field") != 0 || !v || strcmp(v, var) != 0)
            continue;
        char *value = xml_child_text(f, "value", NULL);
        return value ? value : xstrdup("");
    }
    return NULL;
}

xmpp_stanza_t *adhoc_items_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                  const char *jid,
                                  const struct adhoc_item *items, size_t n)
{
    xmpp_stanza_t *r = empty_result(ctx, iq);
    xmpp_stanza_t *q = xml_add_child(ctx, r, "query", NS_DISCO_ITEMS);
    xmpp_stanza_set_attribute(q, "node", NS_COMMANDS);
    for (size_t i = 0; i < n; i++) {
        xmpp_stanza_t *it = xml_add_child(ctx, q, "item", NULL);
        xmpp_stanza_set_attribute(it, "jid", jid);
        xmpp_stanza_set_attribute(it, "node", items[i].node);
        xmpp_stanza_set_attribute(it, "name", items[i].name);
    }
    return r;
}

static void add_field(xmpp_ctx_t *ctx, xmpp_stanza_t *x,
                      const struct xform_field *f)
{
    xmpp_stanza_t *el = xml_add_child(ctx, x, "field", NULL);
    if (f->var)
        xmpp_stanza_set_attribute(el, "var", f->var);
    xmpp_stanza_set_attribute(el, "type", f->type ? f->type : "text-single");
    if (f->label)
        xmpp_stanza_set_attribute(el, "label", f->label);
    if (f->required)
        xml_add_child(ctx, el, "required", NULL);
    if (f->value)
        xml_add_text_child(ctx, el, "value", NULL, f->value);
}

xmpp_stanza_t *adhoc_reply_build(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                 const struct adhoc_reply *r)
{
    xmpp_stanza_t *res = empty_result(ctx, iq);
    xmpp_stanza_t *cmd = xml_add_child(ctx, res, "command", NS_COMMANDS);
    xmpp_stanza_set_attribute(cmd, "node", r->node);
    if (r->sessionid)
        xmpp_stanza_set_attribute(cmd, "sessionid", r->sessionid);
    xmpp_stanza_set_attribute(cmd, "status", r->status);
    /* A form to fill is submitted with "complete": single stage. */
    if (strcmp(r->status, "executing") == 0) {
        xmpp_stanza_t *acts = xml_add_child(ctx, cmd, "actions", NULL);
        xmpp_stanza_set_attribute(acts, "execute", "complete");
        xml_add_child(ctx, acts, "complete", NULL);
    }
    if (r->note) {
        xmpp_stanza_t *note = xml_add_text_child(ctx, cmd, "note", NULL,
                                                 r->note);
        xmpp_stanza_set_attribute(note, "type",
                                  r->note_type ? r->note_type : "info");
    }
    if (r->form_type) {
        xmpp_stanza_t *x = xml_add_child(ctx, cmd, "x", NS_DATA_FORMS);
        xmpp_stanza_set_type(x, r->form_type);
        if (r->title)
            xml_add_text_child(ctx, x, "title", NULL, r->title);
        if (r->instructions)
            xml_add_text_child(ctx, x, "instructions", NULL, r->instructions);
        for (size_t i = 0; i < r->nfields; i++)
            add_field(ctx, x, &r->fields[i]);
    }
    return res;
}
