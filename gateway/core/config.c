#include "gateway/core/config.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/core/ids.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum value_type { T_STRING, T_INT, T_URL, T_LOGLEVEL, T_BOOL, T_DOWNGRADE };

struct key_spec {
    const char *section;
    const char *key;
    enum value_type type;
    size_t offset;
    bool required;
    const char *default_value; /* parsed like a file value; NULL = none */
    long min, max;             /* for T_INT */
};

#define OFF(field) offsetof(struct config, field)

/* One row per key: adding a setting means adding a row and a struct field. */
static const struct key_spec keys[] = {
    { "xmpp", "component_jid", T_STRING, OFF(component_jid), true, NULL, 0, 0 },
    { "xmpp", "host", T_STRING, OFF(xmpp_host), false, "127.0.0.1", 0, 0 },
    { "xmpp", "port", T_INT, OFF(xmpp_port), false, "5347", 1, 65535 },
    { "xmpp", "secret", T_STRING, OFF(component_secret), true, NULL, 0, 0 },
    { "xmpp", "max_body_bytes", T_INT, OFF(max_stanza_body), false, "262144",
      1024, 16777216 },
    { "xmpp", "messages_per_second", T_INT, OFF(sender_rate), false, "20", 1,
      1000000 },
    { "xmpp", "message_burst", T_INT, OFF(sender_burst), false, "200", 1,
      10000000 },
    { "matrix", "homeserver_url", T_URL, OFF(homeserver_url), true, NULL, 0, 0 },
    { "matrix", "server_name", T_STRING, OFF(server_name), true, NULL, 0, 0 },
    { "matrix", "registration_file", T_STRING, OFF(registration_file), true,
      NULL, 0, 0 },
    { "matrix", "max_body_bytes", T_INT, OFF(max_event_body), false, "60000",
      1024, 65000 },
    { "appservice", "id", T_STRING, OFF(as_id), false, "isthmus", 0, 0 },
    { "appservice", "bind_address", T_STRING, OFF(bind_address), false,
      "127.0.0.1", 0, 0 },
    { "appservice", "port", T_INT, OFF(bind_port), false, "9998", 1, 65535 },
    { "appservice", "url", T_URL, OFF(as_url), false, NULL, 0, 0 },
    /* Outside the ghosts' namespace (user_prefix): see bot_outside_ghosts. */
    { "appservice", "bot_localpart", T_STRING, OFF(bot_localpart), false,
      "_xmpp", 0, 0 },
    { "appservice", "user_prefix", T_STRING, OFF(user_prefix), false, "_xmpp_",
      0, 0 },
    { "appservice", "alias_prefix", T_STRING, OFF(alias_prefix), false,
      "_xmpp_", 0, 0 },
    { "appservice", "max_request_bytes", T_INT, OFF(max_request_bytes), false,
      "10485760", 4096, 104857600 },
    { "media", "public_url", T_URL, OFF(media_url), false, NULL, 0, 0 },
    { "media", "max_bytes", T_INT, OFF(media_max_bytes), false, "104857600",
      1024, 2147483647 },
    { "media", "download_timeout", T_INT, OFF(media_timeout_s), false, "60",
      1, 3600 },
    { "media", "ca_file", T_STRING, OFF(media_ca_file), false, NULL, 0, 0 },
    { "store", "path", T_STRING, OFF(store_path), false, "isthmus.db", 0, 0 },
    { "store", "key_file", T_STRING, OFF(store_key_file), false, NULL, 0, 0 },
    { "e2ee", "enabled", T_BOOL, OFF(e2ee_enabled), false, "true", 0, 0 },
    { "e2ee", "encrypt_new_dms", T_BOOL, OFF(e2ee_encrypt_new_dms), false,
      "true", 0, 0 },
    { "e2ee", "omemo", T_BOOL, OFF(e2ee_omemo), false, "true", 0, 0 },
    { "e2ee", "downgrade", T_DOWNGRADE, OFF(e2ee_refuse_downgrade), false,
      "tell", 0, 0 },
    { "e2ee", "key_wait_seconds", T_INT, OFF(e2ee_key_wait_s), false, "60",
      1, 86400 },
    { "gateway", "admins", T_STRING, OFF(admins), false, NULL, 0, 0 },
    { "log", "level", T_LOGLEVEL, OFF(log_level), false, "info", 0, 0 },
};
#define NKEYS (sizeof keys / sizeof keys[0])
_Static_assert(NKEYS <= CONFIG_MAX_KEYS, "raise CONFIG_MAX_KEYS");

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    char *e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

/* Stores value into the field; returns a static reason on error. */
static const char *set_value(struct config *cfg, const struct key_spec *k,
                             const char *value)
{
    void *field = (char *)cfg + k->offset;
    switch (k->type) {
    case T_STRING:
        if (!*value)
            return "the value is empty";
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return NULL;
    case T_URL: {
        if (strncmp(value, "http://", 7) != 0 &&
            strncmp(value, "https://", 8) != 0)
            return "the value must be an http:// or https:// URL";
        char *copy = xstrdup(value);
        size_t n = strlen(copy);
        while (n > 8 && copy[n - 1] == '/')
            copy[--n] = '\0';
        free(*(char **)field);
        *(char **)field = copy;
        return NULL;
    }
    case T_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno)
            return "the value must be a whole number";
        if (v < k->min || v > k->max)
            return "the value is out of range";
        *(int *)field = (int)v;
        return NULL;
    }
    case T_BOOL:
        if (strcmp(value, "true") == 0)
            *(bool *)field = true;
        else if (strcmp(value, "false") == 0)
            *(bool *)field = false;
        else
            return "the value must be true or false";
        return NULL;
    case T_DOWNGRADE:
        /* What happens to an encrypted message whose other side cannot
         * receive it encrypted: delivered, its sender told once ("tell"),
         * or not delivered ("refuse"). */
        if (strcmp(value, "tell") == 0)
            *(bool *)field = false;
        else if (strcmp(value, "refuse") == 0)
            *(bool *)field = true;
        else
            return "the value must be tell or refuse";
        return NULL;
    case T_LOGLEVEL: {
        enum log_level lv;
        if (log_level_parse(value, &lv) < 0)
            return "the level must be error, warn, info or debug";
        *(int *)field = (int)lv;
        return NULL;
    }
    }
    return "internal error: unknown value type";
}

static int parse_error(char **err, const char *name, int line,
                       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int parse_error(char **err, const char *name, int line,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = xvasprintf(fmt, ap);
    va_end(ap);
    *err = xasprintf("%s:%d: %s", name, line, msg);
    free(msg);
    return -1;
}

static int parse_lines(const char *name, char *text, struct config *cfg,
                       int *seen, char **err, int *last_line)
{
    char section[64] = "";
    int line_no = 0;
    char *save = NULL;
    /* strtok_r would merge empty lines and skew the numbering. */
    for (char *line = text; line && *line; line = save) {
        char *nl = strchr(line, '\n');
        save = nl ? nl + 1 : NULL;
        if (nl)
            *nl = '\0';
        line_no++;
        char *s = trim(line);
        if (!*s || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || *trim(close + 1))
                return parse_error(err, name, line_no,
                                   "a section header must look like [name]");
            *close = '\0';
            char *sec = trim(s + 1);
            bool known = false;
            for (size_t i = 0; i < NKEYS; i++)
                if (strcmp(keys[i].section, sec) == 0)
                    known = true;
            if (!known)
                return parse_error(err, name, line_no,
                                   "unknown section [%s]", sec);
            snprintf(section, sizeof section, "%s", sec);
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq)
            return parse_error(err, name, line_no,
                               "expected 'key = value', got '%s'", s);
        *eq = '\0';
        char *key = trim(s), *value = trim(eq + 1);
        if (!*section)
            return parse_error(err, name, line_no,
                               "'%s' comes before any [section]", key);
        size_t i;
        for (i = 0; i < NKEYS; i++)
            if (strcmp(keys[i].section, section) == 0 &&
                strcmp(keys[i].key, key) == 0)
                break;
        if (i == NKEYS)
            return parse_error(err, name, line_no,
                               "unknown key '%s' in section [%s]", key,
                               section);
        if (seen[i])
            return parse_error(err, name, line_no,
                               "'%s' is set twice in [%s]", key, section);
        seen[i] = line_no;
        const char *why = set_value(cfg, &keys[i], value);
        if (why)
            return parse_error(err, name, line_no, "%s: %s", key, why);
    }
    *last_line = line_no;
    return 0;
}

static size_t key_index(const char *section, const char *key)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].section, section) == 0 &&
            strcmp(keys[i].key, key) == 0)
            return i;
    return NKEYS;
}

int config_key_line(const struct config *cfg, const char *section,
                    const char *key)
{
    size_t i = key_index(section, key);
    return i < NKEYS && cfg->key_lines[i] ? cfg->key_lines[i]
                                          : cfg->last_line;
}

/* A setting that makes sense alone but not with another: one function per
 * rule, each returning why (caller frees) and the key to blame, or NULL. */
struct cross_check {
    char *(*check)(const struct config *cfg, const char **section,
                   const char **key);
};

/* The ghosts' namespace is every localpart starting with user_prefix. A
 * bot inside it would also be read as a ghost: a Matrix user inviting it
 * would open a DM with the XMPP address its localpart decodes to. */
static char *bot_outside_ghosts(const struct config *cfg, const char **section,
                                const char **key)
{
    size_t pl = strlen(cfg->user_prefix);
    if (strncmp(cfg->bot_localpart, cfg->user_prefix, pl) != 0)
        return NULL;
    *section = "appservice";
    /* Blame the one the operator wrote; bot_localpart if both or none. */
    *key = cfg->key_lines[key_index("appservice", "bot_localpart")] ||
                   !cfg->key_lines[key_index("appservice", "user_prefix")]
               ? "bot_localpart"
               : "user_prefix";
    return xasprintf("bot_localpart '%s' lies inside the ghosts' namespace "
                     "(user_prefix '%s'): a Matrix user inviting the bot "
                     "would reach an XMPP address instead; choose a "
                     "bot_localpart that does not start with '%s'",
                     cfg->bot_localpart, cfg->user_prefix, cfg->user_prefix);
}

/* [gateway] admins: each entry a bare JID or a Matrix user id, so that a
 * typo (a full JID, a missing @) is caught at start, not when the admin
 * is refused. */
static char *admins_are_addresses(const struct config *cfg,
                                  const char **section, const char **key)
{
    if (!cfg->admins)
        return NULL;
    char *copy = xstrdup(cfg->admins), *save = NULL, *out = NULL;
    for (char *tok = strtok_r(copy, ", \t", &save); tok && !out;
         tok = strtok_r(NULL, ", \t", &save)) {
        const char *why;
        bool ok = tok[0] == '@' ? ids_mxid_is_valid(tok, IDS_MATRIX_USER, &why)
                                : ids_jid_is_valid_bare(tok, &why);
        if (!ok)
            out = xasprintf("admins: '%s' is neither a bare JID nor a Matrix "
                            "user id (@user:server): %s", tok, why);
    }
    free(copy);
    *section = "gateway";
    *key = "admins";
    return out;
}

static const struct cross_check cross_checks[] = {
    { bot_outside_ghosts },
    { admins_are_addresses },
};

static int check_across_keys(const struct config *cfg, const char *name,
                             char **err)
{
    for (size_t i = 0; i < sizeof cross_checks / sizeof cross_checks[0];
         i++) {
        const char *section = NULL, *key = NULL;
        char *why = cross_checks[i].check(cfg, &section, &key);
        if (why) {
            *err = xasprintf("%s:%d: %s", name,
                             config_key_line(cfg, section, key), why);
            free(why);
            return -1;
        }
    }
    return 0;
}

int config_parse(const char *name, const char *text, struct config *cfg,
                 char **err)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].default_value)
            set_value(cfg, &keys[i], keys[i].default_value);

    int *seen = cfg->key_lines;
    char *copy = xstrdup(text);
    int last_line = 0;
    int rc = parse_lines(name, copy, cfg, seen, err, &last_line);
    free(copy);
    cfg->last_line = last_line;
    cfg->source = xstrdup(name);
    if (rc == 0) {
        for (size_t i = 0; i < NKEYS; i++) {
            if (keys[i].required && !seen[i]) {
                rc = parse_error(err, name, last_line,
                                 "missing required key '%s' in section [%s]",
                                 keys[i].key, keys[i].section);
                break;
            }
        }
    }
    if (rc == 0 && !cfg->as_url)
        cfg->as_url = xasprintf("http://%s:%d", cfg->bind_address,
                                cfg->bind_port);
    /* XMPP clients fetch media from the proxy on the appservice listener;
     * by default they reach it where the homeserver does. */
    if (rc == 0 && !cfg->media_url)
        cfg->media_url = xstrdup(cfg->as_url);
    if (rc == 0)
        rc = check_across_keys(cfg, name, err);
    if (rc < 0)
        config_free(cfg);
    return rc;
}

int config_load(const char *path, struct config *cfg, char **err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        memset(cfg, 0, sizeof *cfg);
        *err = xasprintf("%s:0: cannot open: %s", path, strerror(errno));
        return -1;
    }
    char *text = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            text = xrealloc(text, cap);
        }
        memcpy(text + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!text)
        text = xstrdup("");
    else
        text[len] = '\0';
    int rc;
    if (strlen(text) != len) {
        memset(cfg, 0, sizeof *cfg);
        *err = xasprintf("%s:1: the file contains a NUL byte", path);
        rc = -1;
    } else {
        rc = config_parse(path, text, cfg, err);
    }
    free(text);
    return rc;
}

void config_free(struct config *cfg)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].type == T_STRING || keys[i].type == T_URL) {
            char **field = (char **)((char *)cfg + keys[i].offset);
            free(*field);
            *field = NULL;
        }
    free(cfg->as_url);
    cfg->as_url = NULL;
    free(cfg->as_token);
    free(cfg->hs_token);
    cfg->as_token = cfg->hs_token = NULL;
    free(cfg->source);
    cfg->source = NULL;
}
