#include "gateway/core/m2x.h"

#include "common/mem.h"
#include "common/utf8.h"
#include "gateway/core/formatting.h"
#include "gateway/core/translate.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- files -- */

static const char *const media_msgtypes[] = {
    "m.image", "m.file", "m.video", "m.audio", "m.sticker",
};

static bool is_media(const char *msgtype)
{
    for (size_t i = 0; msgtype && i < sizeof media_msgtypes /
                                           sizeof media_msgtypes[0]; i++)
        if (strcmp(msgtype, media_msgtypes[i]) == 0)
            return true;
    return false;
}

/* A sticker's body describes it ("a waving cat"); the file gets a name of
 * its own, with the extension XMPP clients choose a viewer by. */
static const struct {
    const char *mimetype, *name;
} sticker_names[] = {
    { "image/png", "sticker.png" },
    { "image/webp", "sticker.webp" },
    { "image/gif", "sticker.gif" },
    { "image/jpeg", "sticker.jpg" },
};

static const char *sticker_filename(const char *mimetype)
{
    for (size_t i = 0; mimetype && i < sizeof sticker_names /
                                            sizeof sticker_names[0]; i++)
        if (strcmp(mimetype, sticker_names[i].mimetype) == 0)
            return sticker_names[i].name;
    return "sticker";
}

bool m2x_is_file(const struct mx_message *msg)
{
    return is_media(msg->msgtype) && (msg->url || msg->file);
}

/* A file: the body becomes the URL (after the caption, if any), which
 * XEP-0066 also carries. 0 when msg is no file, 1 when it is, -1 when it
 * cannot cross. */
static int add_file(const struct mx_message *msg, const struct m2x_env *env,
                    struct m2x_message *out, const char **why)
{
    if (!m2x_is_file(msg))
        return 0;
    if (msg->size > env->media_max_bytes) {
        *why = "the file is larger than the gateway's media size limit";
        return -1;
    }
    /* Since Matrix 1.10, a filename that differs from body makes body a
     * caption. */
    bool sticker = strcmp(msg->msgtype, "m.sticker") == 0;
    bool caption = sticker || (msg->filename && msg->body &&
                               strcmp(msg->filename, msg->body) != 0);
    const char *name = sticker   ? sticker_filename(msg->mimetype)
                       : caption ? msg->filename
                                 : msg->body;
    char *url = env->media_url(env->ud, msg, name, why);
    if (!url)
        return -1;
    char *shown = caption && *out->body ? xasprintf("%s\n%s", out->body, url)
                                        : xstrdup(url);
    free(out->body);
    out->body = shown;
    out->oob_url = url;
    return 1;
}

/* ---------------------------------------------------------- relations -- */

static char *xmpp_id_of(const struct m2x_env *env, const char *event_id,
                        bool correction)
{
    if (!event_id)
        return NULL;
    return env->xmpp_id ? env->xmpp_id(env->ud, event_id, correction)
                        : xstrdup(event_id);
}

/* An edit corrects the message the original crossed as; a reply to one
 * that crossed quotes it the XMPP way (XEP-0461 marks the quote). */
static void add_relations(const struct mx_message *msg,
                          const struct m2x_env *env, struct m2x_message *out)
{
    if (msg->replaces) {
        out->replace_id = xmpp_id_of(env, msg->replaces, true);
        return;
    }
    out->reply_id = xmpp_id_of(env, msg->reply_to, false);
    if (out->reply_id) {
        char *with_quote = translate_reply_to_xmpp(out->body,
                                                   &out->fallback_len);
        free(out->body);
        out->body = with_quote;
    }
}

/* ----------------------------------------------------------- mentions -- */

/* A Matrix user's JID: a Matrix user's own, an XMPP user's (their ghost),
 * or a MUC occupant's (an occupant ghost). */
static char *jid_of(const struct ids *ids, const char *mxid)
{
    char *jid = NULL;
    const char *why;
    int ok = !ids_is_ghost(ids, mxid)
                 ? ids_matrix_to_jid(ids, mxid, &jid, &why)
             : ids_ghost_to_jid(ids, mxid, &jid, &why) == 0
                 ? 0
                 : ids_occupant_ghost_to_jid(ids, mxid, &jid, &why);
    if (ok < 0) {
        free(jid);
        return NULL;
    }
    return jid;
}

/* Pills become XEP-0372 references, moved by shift code points (the
 * quote a reply put before them, the URL a file put after a caption). */
static void add_refs(const struct m2x_env *env,
                     const struct fmt_mention *mentions, size_t n, int shift,
                     struct m2x_message *out)
{
    if (n == 0)
        return;
    out->refs = xcalloc(n, sizeof *out->refs);
    for (size_t i = 0; i < n && out->n_refs < XMSG_MAX_REFS; i++) {
        if (mentions[i].begin + shift < 0)
            continue;
        char *jid = jid_of(env->ids, mentions[i].mxid);
        if (!jid)
            continue;
        out->refs[out->n_refs++] = (struct xmsg_ref){
            fmt_xmpp_uri(jid), mentions[i].begin + shift,
            mentions[i].end + shift };
        free(jid);
    }
}

/* -------------------------------------------------------------- whole -- */

int m2x_translate(const struct mx_message *msg, const struct m2x_env *env,
                  struct m2x_message *out, const char **why)
{
    memset(out, 0, sizeof *out);
    struct fmt_mention *mentions = NULL;
    size_t n_mentions = 0;
    if (translate_to_xmpp_rich(msg, env->max_body, &out->body, &out->type,
                               &mentions, &n_mentions, why) < 0)
        return -1;
    if (add_file(msg, env, out, why) < 0) {
        fmt_mentions_free(mentions, n_mentions);
        m2x_message_free(out);
        return -1;
    }
    /* A reply's quote goes before the text: the mentions move by its
     * length. */
    int before_quote = (int)utf8_count(out->body, strlen(out->body));
    add_relations(msg, env, out);
    int shift = (int)utf8_count(out->body, strlen(out->body)) - before_quote;
    add_refs(env, mentions, n_mentions, shift, out);
    fmt_mentions_free(mentions, n_mentions);
    return 0;
}

void m2x_message_free(struct m2x_message *m)
{
    free(m->body);
    free(m->oob_url);
    free(m->replace_id);
    free(m->reply_id);
    for (int i = 0; i < m->n_refs; i++)
        free(m->refs[i].uri);
    free(m->refs);
    memset(m, 0, sizeof *m);
}

void m2x_fill_xmsg(const struct m2x_message *m, struct xmsg *x)
{
    x->body = m->body;
    x->oob_url = m->oob_url;
    x->replace_id = m->replace_id;
    x->reply_id = m->reply_id;
    x->fallback_start = 0;
    x->fallback_end = m->fallback_len;
    x->refs = m->refs;
    x->n_refs = m->n_refs;
}
