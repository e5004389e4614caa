#include "gateway/core/x2m.h"

#include "common/mem.h"
#include "gateway/core/formatting.h"
#include "gateway/core/translate.h"
#include "matrix/event.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------- relations -- */

/* The content for the text t: an edit of the original when m corrects a
 * bridged message, a reply without the fallback quote when it answers
 * one, else plain. A correction or reply to something that never crossed
 * goes as a plain message. */
static json_t *content_for(const struct xmsg *m, const struct x2m_env *env,
                           const struct translated_text *t, char **replaces)
{
    *replaces = NULL;
    if (m->replace_id) {
        *replaces = env->edit_target(env->ud, m->replace_id);
        return *replaces ? mx_edit_content(t->msgtype, t->body, *replaces)
                         : mx_message_content(t->msgtype, t->body);
    }
    char *target = m->reply_id ? env->event_for(env->ud, m->reply_id) : NULL;
    if (!target)
        return mx_message_content(t->msgtype, t->body);
    /* Matrix clients show the quoted message themselves, so the XMPP
     * fallback quote goes. */
    char *text = m->fallback_end > 0
                     ? translate_strip_fallback(t->body, m->fallback_start,
                                                m->fallback_end)
                     : xstrdup(t->body);
    json_t *content = mx_message_content(t->msgtype, text);
    mx_content_set_reply(content, target);
    free(text);
    free(target);
    return content;
}

/* ----------------------------------------------------------- mentions -- */

/* m's mentions as offsets into the text Matrix gets: without "/me " for
 * an emote, without the reply quote when it was cut. Returns how many;
 * *out (caller frees with fmt_mentions_free) may hold fewer than m has. */
static size_t resolve_mentions(const struct xmsg *m, const struct x2m_env *env,
                               bool emote, bool quote_cut,
                               struct fmt_mention **out)
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
        char *mxid = env->mxid_of_uri(env->ud, m->refs[i].uri);
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

/* --------------------------------------------------------- formatting -- */

/* Gives content (for an edit, its m.new_content too) a formatted_body: m's
 * XHTML-IM sanitised when it has one, else its XEP-0393 styling, with
 * mentions of people the gateway can name as pills and in m.mentions.
 * Leaves content alone when the message has no formatting. */
static void add_formatting(const struct xmsg *m, const struct x2m_env *env,
                           json_t *content)
{
    /* The content just built: an edit's text is its new one. */
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
    size_t n = resolve_mentions(m, env, emote, quote_cut, &mentions);
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

/* -------------------------------------------------------------- whole -- */

json_t *x2m_translate(const struct xmsg *m, const struct x2m_env *env,
                      char **replaces, const char **why)
{
    *replaces = NULL;
    struct translated_text t;
    if (translate_to_matrix(m, env->max_body, &t, why) < 0)
        return NULL;
    json_t *content = content_for(m, env, &t, replaces);
    /* Formatting follows the text as sent: without a cut reply quote, and
     * in an edit's m.new_content. */
    add_formatting(m, env, content);
    if (m->decrypted_from)
        mx_content_set_xmpp_e2ee(content, m->decrypted_from);
    free(t.body);
    return content;
}
