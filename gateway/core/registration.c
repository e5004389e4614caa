#include "gateway/core/registration.h"

#include "common/mem.h"
#include "common/strbuf.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Escapes regex metacharacters so a server name like example.org matches
 * only itself. The result goes inside single-quoted YAML, where a
 * backslash is literal. */
static void regex_quote(struct strbuf *sb, const char *s)
{
    for (; *s; s++) {
        if (strchr(".^$*+?()[]{}|\\", *s))
            strbuf_putc(sb, '\\');
        strbuf_putc(sb, *s);
    }
}

char *registration_render(const struct config *cfg, const char *as_token,
                          const char *hs_token)
{
    char *users = registration_users_regex(cfg);
    char *aliases = registration_aliases_regex(cfg);
    struct strbuf sb = STRBUF_INIT;
    strbuf_printf(&sb,
                  "# Written by isthmus --generate-registration. Give this file "
                  "to the homeserver\n"
                  "# (Synapse: app_service_config_files) and keep it secret: "
                  "it holds the tokens.\n"
                  "id: '%s'\n"
                  "url: '%s'\n"
                  "as_token: '%s'\n"
                  "hs_token: '%s'\n"
                  "sender_localpart: '%s'\n"
                  "rate_limited: false\n"
                  "receive_ephemeral: true\n"
                  "de.sorunome.msc2409.push_ephemeral: true\n"
                  "org.matrix.msc3202: true\n"
                  /* The appservice creates its ghosts' devices (MSC4190):
                   * end-to-bridge encryption needs one per ghost. */
                  "io.element.msc4190: true\n"
                  "namespaces:\n"
                  "  users:\n"
                  "    - exclusive: true\n"
                  "      regex: '%s'\n"
                  "  aliases:\n"
                  "    - exclusive: true\n"
                  "      regex: '%s'\n"
                  "  rooms: []\n",
                  cfg->as_id, cfg->as_url, as_token, hs_token,
                  cfg->bot_localpart, users, aliases);
    free(users);
    free(aliases);
    return strbuf_detach(&sb);
}

static char *random_token(void)
{
    unsigned char raw[32];
    char hex[sizeof raw * 2 + 1];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(hex, sizeof hex, raw, sizeof raw);
    sodium_memzero(raw, sizeof raw);
    return xstrdup(hex);
}

int registration_write(const struct config *cfg, const char *path, char **err)
{
    if (sodium_init() < 0) {
        *err = xstrdup("libsodium failed to initialise");
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        *err = errno == EEXIST
                   ? xasprintf("%s already exists; remove it first if you "
                               "really want new tokens (the homeserver must "
                               "then load the new file)", path)
                   : xasprintf("cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    char *as = random_token(), *hs = random_token();
    char *text = registration_render(cfg, as, hs);
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    int rc = 0;
    if (w < 0 || (size_t)w != len || close(fd) != 0) {
        *err = xasprintf("cannot write %s: %s", path, strerror(errno));
        rc = -1;
    }
    sodium_memzero(text, len);
    free(text);
    free(as);
    free(hs);
    return rc;
}

/* Value of a top-level `key: value` line, unquoted; caller frees. */
static char *yaml_scalar(const char *line, const char *key)
{
    size_t kl = strlen(key);
    if (strncmp(line, key, kl) != 0 || line[kl] != ':')
        return NULL;
    const char *v = line + kl + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    size_t n = strcspn(v, "\r\n");
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= 2 && (v[0] == '\'' || v[0] == '"') && v[n - 1] == v[0]) {
        v++;
        n -= 2;
    }
    return n ? xstrndup(v, n) : NULL;
}

void registration_fields_free(struct registration_fields *f)
{
    char **strings[] = { &f->id, &f->url, &f->as_token, &f->hs_token,
                         &f->sender_localpart, &f->regexes };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        if (*strings[i])
            sodium_memzero(*strings[i], strlen(*strings[i]));
        free(*strings[i]);
        *strings[i] = NULL;
    }
}

/* The top-level scalars read, by key. */
#define FIELD(name) { #name, offsetof(struct registration_fields, name) }
static const struct {
    const char *key;
    size_t offset;
} scalar_fields[] = {
    FIELD(id), FIELD(url), FIELD(as_token), FIELD(hs_token),
    FIELD(sender_localpart),
};

int registration_read(const char *path, struct registration_fields *f,
                      char **err)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        *err = xasprintf("%s: cannot read the registration file: %s (create "
                         "it with isthmus --config FILE "
                         "--generate-registration %s)",
                         path, strerror(errno), path);
        return -1;
    }
    struct strbuf regexes = STRBUF_INIT;
    char line[1024];
    while (fgets(line, sizeof line, fp)) {
        char *v;
        for (size_t i = 0; i < sizeof scalar_fields / sizeof scalar_fields[0];
             i++)
            if ((v = yaml_scalar(line, scalar_fields[i].key))) {
                char **field =
                    (char **)((char *)f + scalar_fields[i].offset);
                free(*field);
                *field = v;
            }
        /* A namespace's regex, indented, maybe as a list item's first key. */
        const char *s = line + strspn(line, " \t");
        if (*s == '-')
            s += 1 + strspn(s + 1, " \t");
        if ((v = yaml_scalar(s, "regex"))) {
            strbuf_printf(&regexes, "%s\n", v);
            free(v);
        }
    }
    fclose(fp);
    f->regexes = strbuf_detach(&regexes);
    return 0;
}

int registration_read_tokens(const char *path, char **as_token,
                             char **hs_token, char **err)
{
    *as_token = *hs_token = NULL;
    struct registration_fields f;
    if (registration_read(path, &f, err) < 0)
        return -1;
    if (!f.as_token || !f.hs_token) {
        *err = xasprintf("%s: the registration file has no as_token or "
                         "hs_token", path);
        registration_fields_free(&f);
        return -1;
    }
    *as_token = f.as_token;
    *hs_token = f.hs_token;
    f.as_token = f.hs_token = NULL;
    registration_fields_free(&f);
    return 0;
}

char *registration_users_regex(const struct config *cfg)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_putc(&sb, '@');
    regex_quote(&sb, cfg->user_prefix);
    strbuf_puts(&sb, ".*:");
    regex_quote(&sb, cfg->server_name);
    return strbuf_detach(&sb);
}

char *registration_aliases_regex(const struct config *cfg)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_putc(&sb, '#');
    regex_quote(&sb, cfg->alias_prefix);
    strbuf_puts(&sb, ".*:");
    regex_quote(&sb, cfg->server_name);
    return strbuf_detach(&sb);
}

/* The settings end-to-bridge encryption needs in the registration file,
 * and why. */
static const struct {
    const char *key;
    const char *why;
} e2ee_flags[] = {
    { "org.matrix.msc3202", "to-device events, device lists and one-time "
                            "key counts in transactions (MSC3202)" },
    { "io.element.msc4190", "devices the appservice creates for its ghosts "
                            "(MSC4190)" },
};

char *registration_e2ee_missing(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL; /* registration_read_tokens reports it */
    bool found[sizeof e2ee_flags / sizeof e2ee_flags[0]] = { false };
    char line[1024];
    while (fgets(line, sizeof line, f))
        for (size_t i = 0; i < sizeof e2ee_flags / sizeof e2ee_flags[0];
             i++) {
            char *v = yaml_scalar(line, e2ee_flags[i].key);
            if (v && strcmp(v, "true") == 0)
                found[i] = true;
            free(v);
        }
    fclose(f);
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < sizeof e2ee_flags / sizeof e2ee_flags[0]; i++)
        if (!found[i])
            strbuf_printf(&sb, "%s%s: true is missing (%s)",
                          sb.len ? "; " : "", e2ee_flags[i].key,
                          e2ee_flags[i].why);
    if (!sb.len)
        return NULL;
    return strbuf_detach(&sb);
}
