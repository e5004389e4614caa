#include "gateway/core/ids.h"

#include "common/mem.h"
#include "common/strbuf.h"
#include "common/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 7622 caps each JID part at 1023 bytes; the Matrix spec caps a whole
 * identifier at 255 bytes. */
#define JID_PART_MAX 1023
#define MXID_MAX 255

static const char hexdigits[] = "0123456789abcdef";

static int fail(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return -1;
}

static bool is_lower_alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper-case hex is never canonical */
}

static void ascii_lower(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

/* ---------------------------------------------------------------- JIDs -- */

static bool jid_local_char_ok(unsigned char c)
{
    /* RFC 7622 §3.3.1 forbids these in a localpart. */
    switch (c) {
    case '"': case '&': case '\'': case '/': case ':': case '<': case '>':
    case '@':
        return false;
    default:
        return c > 0x20 && c != 0x7f;
    }
}

/* What a domainpart cannot hold (a switch: this runs per byte of every
 * address). */
static bool jid_domain_char_ok(unsigned char c)
{
    switch (c) {
    case '"': case '&': case '\'': case '/': case '<': case '>': case '@':
    case '\\': case '%':
        return false;
    default:
        return c > 0x20 && c != 0x7f;
    }
}

static bool jid_domain_valid(const char *d, size_t n, const char **why)
{
    if (n == 0)
        return fail(why, "the JID has an empty domain"), false;
    if (n > JID_PART_MAX)
        return fail(why, "the JID's domain is longer than 1023 bytes"), false;
    if (!utf8_valid(d, n))
        return fail(why, "the JID's domain is not valid UTF-8"), false;
    if (d[0] == '.' || d[n - 1] == '.')
        return fail(why, "the JID's domain starts or ends with a dot"), false;
    for (size_t i = 0; i < n; i++) {
        if (!jid_domain_char_ok((unsigned char)d[i]))
            return fail(why, "the JID's domain has a character domains "
                             "cannot have"),
                   false;
    }
    return true;
}

bool ids_jid_is_valid_bare(const char *jid, const char **why)
{
    if (!jid || !*jid)
        return fail(why, "the JID is empty"), false;
    if (strchr(jid, '/'))
        return fail(why, "a bare JID was expected, this one has a resource"),
               false;
    const char *at = strchr(jid, '@');
    const char *domain = jid;
    if (at) {
        size_t ln = (size_t)(at - jid);
        if (ln == 0)
            return fail(why, "the JID has an empty localpart"), false;
        if (ln > JID_PART_MAX)
            return fail(why, "the JID's localpart is longer than 1023 bytes"),
                   false;
        if (!utf8_valid(jid, ln))
            return fail(why, "the JID's localpart is not valid UTF-8"), false;
        for (size_t i = 0; i < ln; i++)
            if (!jid_local_char_ok((unsigned char)jid[i]))
                return fail(why, "the JID's localpart has a character "
                                 "RFC 7622 forbids"),
                       false;
        domain = at + 1;
    }
    return jid_domain_valid(domain, strlen(domain), why);
}

char *ids_jid_bare(const char *jid)
{
    const char *slash = strchr(jid, '/');
    char *bare = slash ? xstrndup(jid, (size_t)(slash - jid)) : xstrdup(jid);
    ascii_lower(bare);
    return bare;
}

const char *ids_jid_resource(const char *jid)
{
    const char *slash = strchr(jid, '/');
    return slash ? slash + 1 : NULL;
}

/* ---------------------------------------------------- Matrix identifiers -- */

static bool server_name_valid(const char *s, const char **why)
{
    size_t n = strlen(s);
    if (n == 0)
        return fail(why, "the Matrix identifier has an empty server name"),
               false;
    const char *host_end = s + n;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close == s + 1)
            return fail(why, "the server name has a malformed IPv6 literal"),
                   false;
        for (const char *p = s + 1; p < close; p++)
            if (!strchr("0123456789abcdefABCDEF:.", *p))
                return fail(why, "the server name has a malformed IPv6 "
                                 "literal"),
                       false;
        host_end = close + 1;
        if (*host_end && *host_end != ':')
            return fail(why, "the server name has junk after its IPv6 "
                             "literal"),
                   false;
    } else {
        const char *colon = strchr(s, ':');
        if (colon)
            host_end = colon;
        if (host_end == s)
            return fail(why, "the server name has an empty host"), false;
        for (const char *p = s; p < host_end; p++) {
            unsigned char c = (unsigned char)*p;
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '.' || c == '-'))
                return fail(why, "the server name's host has a character "
                                 "hostnames cannot have"),
                       false;
        }
    }
    if (*host_end == ':') {
        const char *port = host_end + 1;
        size_t pl = strlen(port);
        if (pl == 0 || pl > 5 || strspn(port, "0123456789") != pl)
            return fail(why, "the server name's port is not 1 to 5 digits"),
                   false;
    }
    return true;
}

bool ids_mxid_is_valid(const char *id, enum ids_matrix_kind kind,
                       const char **why)
{
    static const char sigils[] = { '@', '#', '!' };
    if (!id || !*id)
        return fail(why, "the Matrix identifier is empty"), false;
    if (id[0] != sigils[kind])
        return fail(why, "the Matrix identifier has the wrong sigil"), false;
    size_t n = strlen(id);
    if (n > MXID_MAX)
        return fail(why, "the Matrix identifier is longer than 255 bytes"),
               false;
    const char *colon = strchr(id, ':');
    if (!colon && kind != IDS_MATRIX_ROOM)
        return fail(why, "the Matrix identifier has no server name"), false;
    const char *local_end = colon ? colon : id + n;
    if (local_end == id + 1)
        return fail(why, "the Matrix identifier has an empty localpart"),
               false;
    if (kind == IDS_MATRIX_ALIAS) {
        /* Aliases may hold any Unicode but ':' and NUL. */
        if (!utf8_valid(id + 1, (size_t)(local_end - id - 1)))
            return fail(why, "the alias is not valid UTF-8"), false;
        for (const char *p = id + 1; p < local_end; p++)
            if ((unsigned char)*p < 0x21 || *p == 0x7f)
                return fail(why, "the alias has a control character or "
                                 "space"),
                       false;
    } else {
        /* Historical user IDs: any printable ASCII but ':'. Room IDs are
         * opaque but printable ASCII too. */
        for (const char *p = id + 1; p < local_end; p++)
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
                return fail(why, "the Matrix identifier's localpart has a "
                                 "character outside printable ASCII"),
                       false;
    }
    if (colon && !server_name_valid(colon + 1, why))
        return false;
    return true;
}

/* --------------------------------------- XMPP-side ⇄ Matrix-side escapes -- */

/* Matrix side: lower-case [a-z0-9._-] kept, every other byte as =hh. */
static void matrix_escape(struct strbuf *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (is_lower_alnum(*p) || *p == '.' || *p == '_' || *p == '-') {
            strbuf_putc(out, (char)*p);
        } else {
            char esc[3] = { '=', hexdigits[*p >> 4], hexdigits[*p & 15] };
            strbuf_append(out, esc, 3);
        }
    }
}

static int matrix_unescape(const char *s, char **out, const char **why)
{
    struct strbuf sb = STRBUF_INIT;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '=') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
            if (hi < 0 || lo < 0) {
                strbuf_free(&sb);
                return fail(why, "'=' must be followed by two lower-case "
                                 "hex digits");
            }
            strbuf_putc(&sb, (char)(hi << 4 | lo));
            p += 2;
        } else if (is_lower_alnum(*p) || *p == '.' || *p == '_' || *p == '-') {
            strbuf_putc(&sb, (char)*p);
        } else {
            strbuf_free(&sb);
            return fail(why, "the ghost localpart has a character the "
                             "mapping never produces");
        }
    }
    *out = strbuf_detach(&sb);
    return 0;
}

/* What a JID localpart must carry as \hh: what RFC 7622 forbids, the
 * backslash itself, and upper-case ASCII (XMPP servers fold case, Matrix
 * does not). A switch rather than strchr: this runs per byte of every
 * address. */
static bool jid_must_escape(unsigned char c)
{
    switch (c) {
    case '"': case '&': case '\'': case '/': case ':': case '<': case '>':
    case '@': case '\\': case '%':
        return true;
    default:
        return c <= 0x20 || c == 0x7f || (c >= 'A' && c <= 'Z');
    }
}

/* JID side: XEP-0106 escapes (\hh) for jid_must_escape, plus a leading
 * sigil character when it would be mistaken for a room. Non-ASCII bytes
 * (only possible in aliases) pass through. */
static void jid_escape(struct strbuf *out, const char *s, size_t n,
                       bool escape_leading_sigil)
{
    strbuf_reserve(out, n); /* at least one byte each */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        bool esc = jid_must_escape(c) ||
                   (i == 0 && escape_leading_sigil && (c == '#' || c == '!'));
        if (esc) {
            char e[3] = { '\\', hexdigits[c >> 4], hexdigits[c & 15] };
            strbuf_append(out, e, 3);
        } else {
            strbuf_putc(out, (char)c);
        }
    }
}

/* Undoes jid_escape on s[0..n), writing into out, which has room for n
 * bytes (unescaping never lengthens). Returns the length written, which
 * may include NUL bytes (from \00), or -1. */
static long jid_unescape_into(const char *s, size_t n, char *out,
                              const char **why)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\') {
            int hi = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int lo = hi >= 0 && i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return fail(why, "a backslash in the JID is not followed by "
                                 "two hex digits");
            out[w++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[w++] = s[i];
        }
    }
    return (long)w;
}

/* ---------------------------------------- XMPP users and MUCs as ghosts -- */

static int jid_to_namespaced(const struct ids *ids, char sigil,
                             const char *prefix, const char *jid, char **out,
                             const char **why)
{
    char *bare = ids_jid_bare(jid);
    if (!ids_jid_is_valid_bare(bare, why)) {
        free(bare);
        return -1;
    }
    const char *domain = strchr(bare, '@');
    domain = domain ? domain + 1 : bare;
    if (strcmp(domain, ids->component) == 0) {
        free(bare);
        return fail(why, "the JID belongs to the gateway itself and has no "
                         "ghost");
    }
    struct strbuf sb = STRBUF_INIT;
    /* One allocation when nothing needs escaping, the usual case. */
    strbuf_reserve(&sb, 1 + strlen(prefix) + strlen(bare) + 1 +
                            strlen(ids->hs_domain) + 8);
    strbuf_putc(&sb, sigil);
    strbuf_puts(&sb, prefix);
    matrix_escape(&sb, bare);
    strbuf_putc(&sb, ':');
    strbuf_puts(&sb, ids->hs_domain);
    free(bare);
    if (sb.len > MXID_MAX) {
        strbuf_free(&sb);
        return fail(why, "the JID is too long for a Matrix identifier (255 "
                         "bytes at most once escaped)");
    }
    *out = strbuf_detach(&sb);
    return 0;
}

static int namespaced_to_jid(const struct ids *ids, char sigil,
                             const char *prefix, const char *id, char **out,
                             const char **why)
{
    size_t pl = strlen(prefix), hl = strlen(ids->hs_domain), n = strlen(id);
    if (n < 1 + pl + 1 + hl || id[0] != sigil ||
        strncmp(id + 1, prefix, pl) != 0)
        return fail(why, "the identifier is not in the gateway's namespace");
    if (id[n - hl - 1] != ':' || strcmp(id + n - hl, ids->hs_domain) != 0)
        return fail(why, "the identifier is not on the gateway's homeserver");
    char *escaped = xstrndup(id + 1 + pl, n - 1 - pl - 1 - hl);
    char *jid = NULL;
    int rc = matrix_unescape(escaped, &jid, why);
    free(escaped);
    if (rc < 0)
        return -1;
    char *again = NULL;
    if (jid_to_namespaced(ids, sigil, prefix, jid, &again, why) < 0) {
        free(jid);
        return -1;
    }
    bool canonical = strcmp(again, id) == 0;
    free(again);
    if (!canonical) {
        free(jid);
        return fail(why, "the identifier is not in canonical form");
    }
    *out = jid;
    return 0;
}

int ids_jid_to_ghost(const struct ids *ids, const char *jid, char **mxid,
                     const char **why)
{
    return jid_to_namespaced(ids, '@', ids->user_prefix, jid, mxid, why);
}

/* Occupants of anonymous rooms have no real JID to stand for, so their
 * ghost names the occupant JID itself (room@service/nick); the '/' comes
 * out as =2f, so it can never equal a bare JID's ghost. */
int ids_occupant_to_ghost(const struct ids *ids, const char *muc_jid,
                          const char *nick, char **mxid, const char **why)
{
    if (!nick || !*nick)
        return fail(why, "an occupant needs a nick");
    char *bare = NULL;
    if (jid_to_namespaced(ids, '@', ids->user_prefix, muc_jid, &bare, why) < 0)
        return -1;
    free(bare);
    char *full = ids_jid_bare(muc_jid);
    struct strbuf sb = STRBUF_INIT;
    strbuf_putc(&sb, '@');
    strbuf_puts(&sb, ids->user_prefix);
    matrix_escape(&sb, full);
    strbuf_puts(&sb, "=2f");
    matrix_escape(&sb, nick);
    strbuf_putc(&sb, ':');
    strbuf_puts(&sb, ids->hs_domain);
    free(full);
    if (sb.len > MXID_MAX) {
        strbuf_free(&sb);
        return fail(why, "the occupant's nick is too long for a Matrix "
                         "identifier");
    }
    *mxid = strbuf_detach(&sb);
    return 0;
}

int ids_ghost_to_jid(const struct ids *ids, const char *mxid, char **jid,
                     const char **why)
{
    if (!ids_mxid_is_valid(mxid, IDS_MATRIX_USER, why))
        return -1;
    return namespaced_to_jid(ids, '@', ids->user_prefix, mxid, jid, why);
}

int ids_occupant_ghost_to_jid(const struct ids *ids, const char *mxid,
                              char **jid, const char **why)
{
    size_t pl = strlen(ids->user_prefix), hl = strlen(ids->hs_domain);
    size_t n = strlen(mxid);
    if (!ids_is_ghost(ids, mxid))
        return fail(why, "the identifier is not in the gateway's namespace");
    char *escaped = xstrndup(mxid + 1 + pl, n - 1 - pl - 1 - hl);
    char *full = NULL;
    int rc = matrix_unescape(escaped, &full, why);
    free(escaped);
    if (rc < 0)
        return -1;
    const char *slash = strchr(full, '/');
    char *again = NULL;
    if (slash) {
        char *muc = xstrndup(full, (size_t)(slash - full));
        rc = ids_occupant_to_ghost(ids, muc, slash + 1, &again, why);
        free(muc);
    }
    /* Only the canonical spelling names the occupant. */
    if (!slash || rc < 0 || strcmp(again, mxid) != 0) {
        free(again);
        free(full);
        return fail(why, "not the ghost of an occupant");
    }
    free(again);
    *jid = full;
    return 0;
}

bool ids_is_ghost(const struct ids *ids, const char *mxid)
{
    size_t pl = strlen(ids->user_prefix), hl = strlen(ids->hs_domain);
    size_t n = strlen(mxid);
    return n > 1 + pl + 1 + hl && mxid[0] == '@' &&
           strncmp(mxid + 1, ids->user_prefix, pl) == 0 &&
           mxid[n - hl - 1] == ':' && strcmp(mxid + n - hl, ids->hs_domain) == 0;
}

bool ids_is_bot(const struct ids *ids, const char *mxid)
{
    if (!ids->bot_localpart || mxid[0] != '@')
        return false;
    size_t bl = strlen(ids->bot_localpart);
    return strncmp(mxid + 1, ids->bot_localpart, bl) == 0 &&
           mxid[1 + bl] == ':' && strcmp(mxid + 2 + bl, ids->hs_domain) == 0;
}

int ids_muc_to_alias(const struct ids *ids, const char *muc, char **alias,
                     const char **why)
{
    if (!strchr(muc, '@'))
        return fail(why, "a MUC JID needs a localpart");
    return jid_to_namespaced(ids, '#', ids->alias_prefix, muc, alias, why);
}

int ids_alias_to_muc(const struct ids *ids, const char *alias, char **muc,
                     const char **why)
{
    if (!ids_mxid_is_valid(alias, IDS_MATRIX_ALIAS, why))
        return -1;
    if (namespaced_to_jid(ids, '#', ids->alias_prefix, alias, muc, why) < 0)
        return -1;
    if (!strchr(*muc, '@')) {
        free(*muc);
        *muc = NULL;
        return fail(why, "a MUC JID needs a localpart");
    }
    return 0;
}

/* ------------------------------- Matrix users and rooms on the component -- */

int ids_matrix_to_jid(const struct ids *ids, const char *id, char **jid,
                      const char **why)
{
    enum ids_matrix_kind kind;
    switch (id ? id[0] : 0) {
    case '@': kind = IDS_MATRIX_USER; break;
    case '#': kind = IDS_MATRIX_ALIAS; break;
    case '!': kind = IDS_MATRIX_ROOM; break;
    default: return fail(why, "a Matrix identifier starts with @, # or !");
    }
    if (!ids_mxid_is_valid(id, kind, why))
        return -1;
    if (kind == IDS_MATRIX_USER && ids_is_ghost(ids, id))
        return fail(why, "the user is the gateway's ghost of an XMPP user");
    if (kind == IDS_MATRIX_USER && ids_is_bot(ids, id))
        return fail(why, "the user is the gateway's own bot");
    const char *colon = strchr(id, ':');
    const char *local = kind == IDS_MATRIX_USER ? id + 1 : id;
    size_t local_len = (size_t)((colon ? colon : id + strlen(id)) - local);
    struct strbuf sb = STRBUF_INIT;
    /* One allocation when nothing needs escaping, the usual case. */
    strbuf_reserve(&sb, strlen(id) + 1 + strlen(ids->component) + 8);
    if (kind != IDS_MATRIX_USER) {
        strbuf_putc(&sb, id[0]);
        jid_escape(&sb, local + 1, local_len - 1, false);
    } else {
        jid_escape(&sb, local, local_len, true);
    }
    if (colon) {
        strbuf_putc(&sb, '%');
        jid_escape(&sb, colon + 1, strlen(colon + 1), false);
    }
    if (sb.len > JID_PART_MAX) {
        strbuf_free(&sb);
        return fail(why, "the escaped identifier is longer than a JID "
                         "localpart may be");
    }
    strbuf_putc(&sb, '@');
    strbuf_puts(&sb, ids->component);
    *jid = strbuf_detach(&sb);
    return 0;
}

/* sigil + the unescaped localpart local[0..ll) + (when pct is not NULL)
 * ':' + the unescaped server after pct, in one allocation. A part that
 * unescapes to a NUL byte ends there, as it would in a C string; the
 * canonical check then refuses the JID. NULL with *why set if a part is
 * not validly escaped. Caller frees. */
static char *unescaped_mxid(char sigil, const char *local, size_t ll,
                            const char *pct, const char **why)
{
    size_t sl = pct ? strlen(pct + 1) : 0;
    char *mx = xmalloc(1 + ll + 1 + sl + 1);
    mx[0] = sigil;
    long n = jid_unescape_into(local, ll, mx + 1, why);
    if (n < 0) {
        free(mx);
        return NULL;
    }
    size_t w = 1 + strnlen(mx + 1, (size_t)n);
    if (pct) {
        mx[w++] = ':';
        n = jid_unescape_into(pct + 1, sl, mx + w, why);
        if (n < 0) {
            free(mx);
            return NULL;
        }
        w += strnlen(mx + w, (size_t)n);
    }
    mx[w] = '\0';
    return mx;
}

int ids_jid_to_matrix(const struct ids *ids, const char *jid, char **id,
                      enum ids_matrix_kind *kind, const char **why)
{
    char *bare = ids_jid_bare(jid);
    char *at = strchr(bare, '@');
    if (!at || strcmp(at + 1, ids->component) != 0) {
        free(bare);
        return fail(why, "the JID is not on the gateway's domain");
    }
    *at = '\0';
    const char *local = bare;
    if (!*local) {
        free(bare);
        return fail(why, "the JID has no localpart to name a Matrix user or "
                         "room");
    }
    enum ids_matrix_kind k = IDS_MATRIX_USER;
    char sigil = '@';
    if (local[0] == '#' || local[0] == '!') {
        k = local[0] == '#' ? IDS_MATRIX_ALIAS : IDS_MATRIX_ROOM;
        sigil = local[0];
        local++;
    }
    const char *pct = strrchr(local, '%');
    if (!pct && k != IDS_MATRIX_ROOM) {
        free(bare);
        return fail(why, "the JID's localpart needs '%' between the Matrix "
                         "localpart and server, as in bob%matrix.org");
    }
    size_t ll = pct ? (size_t)(pct - local) : strlen(local);
    char *mx = unescaped_mxid(sigil, local, ll, pct, why);
    if (!mx) {
        free(bare);
        return -1;
    }
    /* Re-encoding proves validity and canonical form in one step. */
    char *again = NULL;
    if (ids_matrix_to_jid(ids, mx, &again, why) < 0) {
        free(mx);
        free(bare);
        return -1;
    }
    *at = '@';
    bool canonical = strcmp(again, bare) == 0;
    free(again);
    free(bare);
    if (!canonical) {
        free(mx);
        return fail(why, "the JID is not in the gateway's canonical form "
                         "(escape upper case and special characters as "
                         "\\hh)");
    }
    *id = mx;
    if (kind)
        *kind = k;
    return 0;
}
