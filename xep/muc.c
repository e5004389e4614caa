#include "xep/muc.h"

#include "xep/encrypted.h"
#include "xep/message.h"
#include "xep/xml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

xmpp_stanza_t *muc_presence(xmpp_ctx_t *ctx, const char *from, const char *to,
                            const char *type, const struct muc_item *item,
                            const int *codes)
{
    xmpp_stanza_t *p = xmpp_presence_new(ctx);
    xmpp_stanza_set_from(p, from);
    xmpp_stanza_set_to(p, to);
    if (type)
        xmpp_stanza_set_type(p, type);
    xmpp_stanza_t *x = xml_add_child(ctx, p, "x", NS_MUC_USER);
    xmpp_stanza_t *it = xml_add_child(ctx, x, "item", NULL);
    xmpp_stanza_set_attribute(it, "affiliation", item->affiliation);
    xmpp_stanza_set_attribute(it, "role", item->role);
    if (item->jid)
        xmpp_stanza_set_attribute(it, "jid", item->jid);
    if (item->nick)
        xmpp_stanza_set_attribute(it, "nick", item->nick);
    for (; codes && *codes; codes++) {
        char code[8];
        snprintf(code, sizeof code, "%d", *codes);
        xmpp_stanza_t *status = xml_add_child(ctx, x, "status", NULL);
        xmpp_stanza_set_attribute(status, "code", code);
    }
    return p;
}

xmpp_stanza_t *muc_subject(xmpp_ctx_t *ctx, const char *room, const char *to,
                           const char *subject)
{
    xmpp_stanza_t *m = xmpp_message_new(ctx, "groupchat", to, NULL);
    xmpp_stanza_set_from(m, room);
    xmpp_stanza_t *s = xml_add_child(ctx, m, "subject", NULL);
    if (*subject) {
        xmpp_stanza_t *t = xmpp_stanza_new(ctx);
        xmpp_stanza_set_text(t, subject);
        xmpp_stanza_add_child(s, t);
        xmpp_stanza_release(t);
    }
    return m;
}

xmpp_stanza_t *muc_groupchat(xmpp_ctx_t *ctx, const char *from, const char *to,
                             const char *id, const char *origin_id,
                             const char *body, const char *stanza_id,
                             const char *room)
{
    struct xmsg m = { .from = (char *)from, .to = (char *)to, .id = (char *)id,
                      .type = "groupchat", .body = (char *)body,
                      .origin_id = (char *)origin_id };
    xmpp_stanza_t *st = xmsg_build(ctx, &m);
    muc_add_stanza_id(ctx, st, stanza_id, room);
    return st;
}

void muc_add_stanza_id(xmpp_ctx_t *ctx, xmpp_stanza_t *st, const char *id,
                       const char *by)
{
    xmpp_stanza_t *sid = xml_add_child(ctx, st, "stanza-id", NS_SID);
    xmpp_stanza_set_attribute(sid, "id", id);
    xmpp_stanza_set_attribute(sid, "by", by);
}

/* A client cannot give its message the room's stanza-id (XEP-0359 §5):
 * any it sent is dropped, as is the gateway's own mark. */
static bool not_passed_on(xmpp_stanza_t *child, void *ud)
{
    (void)ud;
    const char *name = xmpp_stanza_get_name(child);
    const char *ns = xmpp_stanza_get_ns(child);
    return xencrypted_is_mark(child) ||
           (name && ns && strcmp(name, "stanza-id") == 0 &&
            strcmp(ns, NS_SID) == 0);
}

xmpp_stanza_t *muc_pass_on(xmpp_ctx_t *ctx, xmpp_stanza_t *sent,
                           const char *from, const char *to,
                           const char *fallback_id, const char *stanza_id,
                           const char *room)
{
    xmpp_stanza_t *st = xml_copy_without(ctx, sent, not_passed_on, NULL);
    xmpp_stanza_set_from(st, from);
    xmpp_stanza_set_to(st, to);
    xmpp_stanza_set_type(st, "groupchat");
    if (!xmpp_stanza_get_id(st) && fallback_id)
        xmpp_stanza_set_id(st, fallback_id);
    if (stanza_id)
        muc_add_stanza_id(ctx, st, stanza_id, room);
    return st;
}

void muc_add_delay(xmpp_ctx_t *ctx, xmpp_stanza_t *msg, const char *room,
                   long long ts_ms)
{
    time_t secs = (time_t)(ts_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char stamp[40];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(stamp + strlen(stamp), sizeof stamp - strlen(stamp), ".%03dZ",
             (int)(ts_ms % 1000));
    xmpp_stanza_t *d = xml_add_child(ctx, msg, "delay", "urn:xmpp:delay");
    xmpp_stanza_set_attribute(d, "from", room);
    xmpp_stanza_set_attribute(d, "stamp", stamp);
}

xmpp_stanza_t *muc_direct_invite(xmpp_ctx_t *ctx, const char *inviter,
                                 const char *invitee, const char *room,
                                 const char *reason)
{
    xmpp_stanza_t *m = xmpp_message_new(ctx, "normal", invitee, NULL);
    xmpp_stanza_set_from(m, inviter);
    xmpp_stanza_t *x = xml_add_child(ctx, m, "x", "jabber:x:conference");
    xmpp_stanza_set_attribute(x, "jid", room);
    if (reason && *reason)
        xmpp_stanza_set_attribute(x, "reason", reason);
    return m;
}

void muc_history_request(xmpp_stanza_t *join, int default_max, int *max,
                         long long *since_ms, long long now_ms)
{
    *max = default_max;
    *since_ms = 0;
    xmpp_stanza_t *x = xmpp_stanza_get_child_by_name_and_ns(join, "x", NS_MUC);
    xmpp_stanza_t *h = x ? xmpp_stanza_get_child_by_name(x, "history") : NULL;
    if (!h)
        return;
    const char *v;
    if ((v = xmpp_stanza_get_attribute(h, "maxstanzas")) && atoi(v) < *max)
        *max = atoi(v) < 0 ? 0 : atoi(v);
    if ((v = xmpp_stanza_get_attribute(h, "maxchars")) && atoi(v) == 0)
        *max = 0; /* "no history": the only maxchars that means much */
    if ((v = xmpp_stanza_get_attribute(h, "seconds")))
        *since_ms = now_ms - (long long)atol(v) * 1000;
    if ((v = xmpp_stanza_get_attribute(h, "since"))) {
        long long t = xml_datetime_ms(v);
        if (t > *since_ms)
            *since_ms = t;
    }
}

/* --------------------------------------------------- the client side -- */

static void format_stamp(long long ts_ms, char *out, size_t n)
{
    time_t secs = (time_t)(ts_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

xmpp_stanza_t *muc_join(xmpp_ctx_t *ctx, const char *from,
                        const char *room_nick, long long history_since_ms)
{
    xmpp_stanza_t *p = xmpp_presence_new(ctx);
    xmpp_stanza_set_from(p, from);
    xmpp_stanza_set_to(p, room_nick);
    xmpp_stanza_t *x = xml_add_child(ctx, p, "x", NS_MUC);
    xmpp_stanza_t *h = xml_add_child(ctx, x, "history", NULL);
    if (history_since_ms < 0) {
        xmpp_stanza_set_attribute(h, "maxstanzas", "0");
    } else {
        char stamp[40];
        format_stamp(history_since_ms, stamp, sizeof stamp);
        xmpp_stanza_set_attribute(h, "since", stamp);
    }
    return p;
}

bool muc_user_info_parse(xmpp_stanza_t *presence, struct muc_user_info *out)
{
    memset(out, 0, sizeof *out);
    xmpp_stanza_t *x = xmpp_stanza_get_child_by_name_and_ns(presence, "x",
                                                            NS_MUC_USER);
    if (!x)
        return false;
    size_t n = 0;
    for (xmpp_stanza_t *c = xmpp_stanza_get_children(x); c;
         c = xmpp_stanza_get_next(c)) {
        const char *name = xmpp_stanza_get_name(c);
        if (!name)
            continue;
        if (strcmp(name, "item") == 0) {
            out->item.affiliation = xmpp_stanza_get_attribute(c, "affiliation");
            out->item.role = xmpp_stanza_get_attribute(c, "role");
            out->item.jid = xmpp_stanza_get_attribute(c, "jid");
            out->item.nick = xmpp_stanza_get_attribute(c, "nick");
            xmpp_stanza_t *r = xmpp_stanza_get_child_by_name(c, "reason");
            if (r) {
                xmpp_stanza_t *t = xmpp_stanza_get_children(r);
                out->reason = t ? xmpp_stanza_get_text_ptr(t) : NULL;
            }
        } else if (strcmp(name, "status") == 0 &&
                   n + 1 < sizeof out->codes / sizeof out->codes[0]) {
            const char *code = xmpp_stanza_get_attribute(c, "code");
            if (code && atoi(code) > 0)
                out->codes[n++] = atoi(code);
        }
    }
    return true;
}

bool muc_has_code(const struct muc_user_info *info, int code)
{
    for (const int *c = info->codes; *c; c++)
        if (*c == code)
            return true;
    return false;
}

const char *muc_invite_room(xmpp_stanza_t *msg, const char **inviter)
{
    *inviter = NULL;
    xmpp_stanza_t *x = xmpp_stanza_get_child_by_name_and_ns(
        msg, "x", "jabber:x:conference");
    if (x) {
        *inviter = xmpp_stanza_get_from(msg);
        return xmpp_stanza_get_attribute(x, "jid");
    }
    x = xmpp_stanza_get_child_by_name_and_ns(msg, "x", NS_MUC_USER);
    xmpp_stanza_t *inv = x ? xmpp_stanza_get_child_by_name(x, "invite") : NULL;
    if (!inv)
        return NULL;
    *inviter = xmpp_stanza_get_attribute(inv, "from");
    return xmpp_stanza_get_from(msg); /* mediated: the room itself sends */
}

const char *muc_admin_list_request(xmpp_stanza_t *iq)
{
    xmpp_stanza_t *q = xmpp_stanza_get_child_by_name_and_ns(iq, "query",
                                                            NS_MUC_ADMIN);
    xmpp_stanza_t *item = q ? xmpp_stanza_get_child_by_name(q, "item")
                            : NULL;
    return item ? xmpp_stanza_get_attribute(item, "affiliation") : NULL;
}

xmpp_stanza_t *muc_admin_list_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                     const struct muc_item *items, int n)
{
    xmpp_stanza_t *r = xmpp_iq_new(ctx, "result", xmpp_stanza_get_id(iq));
    if (xmpp_stanza_get_from(iq))
        xmpp_stanza_set_to(r, xmpp_stanza_get_from(iq));
    if (xmpp_stanza_get_to(iq))
        xmpp_stanza_set_from(r, xmpp_stanza_get_to(iq));
    xmpp_stanza_t *q = xml_add_child(ctx, r, "query", NS_MUC_ADMIN);
    for (int i = 0; i < n; i++) {
        xmpp_stanza_t *it = xml_add_child(ctx, q, "item", NULL);
        xmpp_stanza_set_attribute(it, "affiliation", items[i].affiliation);
        if (items[i].jid)
            xmpp_stanza_set_attribute(it, "jid", items[i].jid);
        if (items[i].nick)
            xmpp_stanza_set_attribute(it, "nick", items[i].nick);
        if (items[i].role)
            xmpp_stanza_set_attribute(it, "role", items[i].role);
    }
    return r;
}
