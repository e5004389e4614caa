#include "gateway/features/format_bridge.h"

#include "gateway/features/members.h"
#include "common/mem.h"
#include "common/utf8.h"
#include "gateway/base/context.h"
#include "matrix/event.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------- XMPP -> Matrix -- */

/* The member of gateway-mode room `muc` (which sender is in) who goes by
 * nick there, or NULL. Caller frees. */
static char *gateway_member(struct gateway *gw, const char *sender,
                            const char *muc, const char *nick)
{
    struct store_occupant o;
    if (!sender || members_occupant(gw, sender, muc, &o) != 1)
        return NULL;
    struct store_member *all;
    int n = store_members_in_room(gw->store, o.room_id, &all);
    char *mxid = NULL;
    for (int i = 0; i < n && !mxid; i++)
        if (all[i].nick && strcmp(all[i].nick, nick) == 0)
            mxid = xstrdup(all[i].mxid);
    if (n > 0)
        store_members_free(all, n);
    store_occupant_free(&o);
    return mxid;
}

/* The Matrix user an xmpp: URI names, or NULL: a Matrix user's JID on
 * the component, an XMPP user's bare JID (their ghost), or an occupant
 * JID in the room the message is for: in a portal room a Matrix user's
 * occupant, in a gateway-mode room any member. Caller frees. */
static char *mxid_of_uri(struct gateway *gw, const struct xmsg *m,
                         const char *uri, const char *conversation)
{
    char *jid = fmt_xmpp_uri_jid(uri);
    if (!jid)
        return NULL;
    char *mxid = NULL;
    const char *why;
    enum ids_matrix_kind kind;
    const char *nick = ids_jid_resource(jid);
    char *bare = ids_jid_bare(jid);
    struct store_portal_user u;
    if (ids_jid_to_matrix(&gw->ids, jid, &mxid, &kind, &why) == 0) {
        if (kind != IDS_MATRIX_USER) {
            free(mxid);
            mxid = nick ? gateway_member(gw, m->from, bare, nick) : NULL;
        }
    } else if (nick && conversation && strcmp(bare, conversation) == 0 &&
               store_portal_user_by_nick(gw->store, bare, nick, &u) == 1) {
        mxid = xstrdup(u.mxid);
        store_portal_user_free(&u);
    } else if (!nick && ids_jid_to_ghost(&gw->ids, jid, &mxid, &why) < 0) {
        mxid = NULL;
    }
    free(bare);
    free(jid);
    return mxid;
}

/* m's mentions as offsets into the text Matrix gets: without "/me " for
 * an emote, without the reply quote when it was cut. Returns how many;
 * *out (caller frees with fmt_mentions_free) may hold fewer than m has. */
static size_t resolve_mentions(struct gateway *gw, const struct xmsg *m,
                               const char *conversation, bool emote,
                               bool quote_cut, struct fmt_mention **out)
{
    *out = NULL;
    if (m->n_refs == 0)
        return 0;
    struct fmt_mention *list = xcalloc((size_t)m->n_refs, sizeof *list);
    size_t n = 0;
    int cut = m->fallback_end - m->fallback_start;
    for (int i = 0; i < m->n_refs; i++) {
        int b = m->refs[i].begin, e = m->refs[i].end;
        if (quote_cut && cut > 0) {
            if (b >= m->fallback_end)
                b -= cut, e -= cut;
            else if (e > m->fallback_start)
                continue; /* inside the quote Matrix does not get */
        }
        if (emote)
            b -= 4, e -= 4;
        if (b < 0)
            continue;
        char *mxid = mxid_of_uri(gw, m, m->refs[i].uri, conversation);
        if (!mxid)
            continue;
        list[n++] = (struct fmt_mention){ mxid, b, e };
    }
    *out = list;
    return n;
}

static json_t *user_ids(const struct fmt_mention *list, size_t n)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(list[k].mxid, list[i].mxid) == 0;
        if (!seen)
            json_array_append_new(ids, json_string(list[i].mxid));
    }
    return ids;
}

void format_to_matrix(struct gateway *gw, const struct xmsg *m,
                      const char *conversation, json_t *content)
{
    /* The content the gateway built (mx_message_content, mx_edit_content,
     * mx_content_set_reply): an edit's text is its new one. */
    struct mx_message parsed;
    const char *why;
    if (mx_message_content_parse("m.room.message", content, &parsed,
                                 &why) < 0 ||
        (!m->xhtml && m->unstyled && m->n_refs == 0))
        return;
    const char *text = parsed.body;
    json_t *target = parsed.shown;
    bool edited = parsed.replaces != NULL;
    bool emote = strcmp(parsed.msgtype, "m.emote") == 0;
    bool quote_cut = parsed.reply_to != NULL;
    struct fmt_mention *mentions;
    size_t n = resolve_mentions(gw, m, conversation, emote, quote_cut,
                                &mentions);
    /* XHTML-IM is what its sender meant to show; the body is the plain
     * fallback. */
    char *html = m->xhtml ? fmt_sanitize_html(m->xhtml) : NULL;
    if (!html && !m->unstyled)
        html = fmt_styled_to_html(text, mentions, n);
    else if (!html && n > 0)
        html = fmt_mentions_to_html(text, mentions, n);
    if (html) {
        mx_content_set_html(target, html);
        if (edited) {
            char *starred = xasprintf("* %s", html);
            mx_content_set_html(content, starred);
            free(starred);
        }
    }
    if (n > 0)
        json_object_set_new(target, "m.mentions",
                            json_pack("{s:o}", "user_ids",
                                      user_ids(mentions, n)));
    free(html);
    fmt_mentions_free(mentions, n);
}
