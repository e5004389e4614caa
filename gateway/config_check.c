#include "gateway/config_check.h"

#include "common/mem.h"
#include "gateway/base/store_key.h"
#include "gateway/core/registration.h"

#include <errno.h>
#include <libgen.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct check_run {
    const struct config *cfg;
    config_warn_fn warn;
    void *ud;
    char **err;
};

static char *at_key(const struct config *cfg, const char *section,
                    const char *key, const char *fmt, va_list ap)
{
    char *msg = xvasprintf(fmt, ap);
    char *out = xasprintf("%s:%d: %s", cfg->source ? cfg->source : "?",
                          config_key_line(cfg, section, key), msg);
    free(msg);
    return out;
}

static int fail_at(struct check_run *r, const char *section, const char *key,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_at(struct check_run *r, const char *section, const char *key,
                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *r->err = at_key(r->cfg, section, key, fmt, ap);
    va_end(ap);
    return -1;
}

static void warn_at(struct check_run *r, const char *section, const char *key,
                    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void warn_at(struct check_run *r, const char *section, const char *key,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = at_key(r->cfg, section, key, fmt, ap);
    va_end(ap);
    r->warn(r->ud, msg);
    free(msg);
}

/* Values copied from the example configuration, the README or habit,
 * which anyone can guess. */
static const char *const placeholders[] = {
    "change-me", "changeme", "change_me", "secret", "password",
    "the same secret as [xmpp] secret",
};

static bool is_placeholder(const char *s)
{
    for (size_t i = 0; i < sizeof placeholders / sizeof placeholders[0]; i++)
        if (strcasecmp(s, placeholders[i]) == 0)
            return true;
    return false;
}

static int check_secret(struct check_run *r)
{
    if (is_placeholder(r->cfg->component_secret))
        warn_at(r, "xmpp", "secret",
                "secret is a placeholder from the example: whoever guesses "
                "it can connect to the XMPP server as the gateway; set a "
                "long random secret here and in the server's "
                "component_secret");
    return 0;
}

/* The registration must give the homeserver what the configuration gives
 * isthmus. The tokens themselves are only ever read from it, so they
 * cannot disagree; they can still be guessable. */
static int check_registration_fields(struct check_run *r,
                                     const struct registration_fields *f)
{
    const struct config *cfg = r->cfg;
    const char *path = cfg->registration_file;
    if (!f->as_token || !f->hs_token)
        return fail_at(r, "matrix", "registration_file",
                       "%s has no as_token or hs_token (create it with "
                       "isthmus --config FILE --generate-registration %s)",
                       path, path);
    /* The homeserver knows the bot by the registration's name: another
     * name here would make the gateway speak as a user it does not own. */
    if (!f->sender_localpart ||
        strcmp(f->sender_localpart, cfg->bot_localpart) != 0)
        return fail_at(r, "appservice", "bot_localpart",
                       "bot_localpart is '%s' but %s has sender_localpart "
                       "'%s': make them the same (edit the registration "
                       "file and restart the homeserver)",
                       cfg->bot_localpart, path,
                       f->sender_localpart ? f->sender_localpart : "");
    if (is_placeholder(f->as_token) || is_placeholder(f->hs_token))
        warn_at(r, "matrix", "registration_file",
                "%s: the as_token or hs_token is a placeholder: whoever "
                "guesses it can act as the gateway or the homeserver; "
                "write a new file with --generate-registration",
                path);
    else if (strcmp(f->as_token, f->hs_token) == 0)
        warn_at(r, "matrix", "registration_file",
                "%s: as_token and hs_token are the same, so the homeserver "
                "could act as the gateway and the gateway as the homeserver; "
                "write a new file with --generate-registration",
                path);
    if (!f->id || strcmp(f->id, cfg->as_id) != 0)
        warn_at(r, "appservice", "id",
                "id is '%s' but %s has id '%s': the homeserver will not "
                "answer the gateway's appservice ping",
                cfg->as_id, path, f->id ? f->id : "");
    if (!f->url || strcmp(f->url, cfg->as_url) != 0)
        warn_at(r, "appservice", "url",
                "the homeserver sends transactions to '%s' (%s) but the "
                "appservice url is '%s': make them the same, or the "
                "homeserver may not reach the gateway",
                f->url ? f->url : "", path, cfg->as_url);
    /* Each namespace, by the key that shapes it. */
    struct {
        char *regex;
        const char *key, *what;
    } ns[] = {
        { registration_users_regex(cfg), "user_prefix",
          "the homeserver will not let the gateway create its ghosts" },
        { registration_aliases_regex(cfg), "alias_prefix",
          "the homeserver will not let the gateway name portal rooms" },
    };
    /* One regex a line: a whole line must match. */
    char *lines = xasprintf("\n%s", f->regexes);
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        char *line = xasprintf("\n%s\n", ns[i].regex);
        if (!strstr(lines, line))
            warn_at(r, "appservice", ns[i].key,
                    "%s does not hold the namespace regex '%s' that %s and "
                    "server_name make: %s",
                    path, ns[i].regex, ns[i].key, ns[i].what);
        free(line);
        free(ns[i].regex);
    }
    free(lines);
    char *missing = cfg->e2ee_enabled ? registration_e2ee_missing(path) : NULL;
    if (missing)
        warn_at(r, "e2ee", "enabled",
                "%s: encrypted Matrix rooms will not be bridged: %s. "
                "Regenerate it with --generate-registration, or add the "
                "lines, and restart the homeserver.",
                path, missing);
    free(missing);
    return 0;
}

static int check_registration(struct check_run *r)
{
    struct registration_fields f;
    char *why = NULL;
    if (registration_read(r->cfg->registration_file, &f, &why) < 0) {
        fail_at(r, "matrix", "registration_file", "%s", why);
        free(why);
        return -1;
    }
    int rc = check_registration_fields(r, &f);
    registration_fields_free(&f);
    return rc;
}

/* The directory a file lives in; caller frees. */
static char *dir_of(const char *path)
{
    char *copy = xstrdup(path);
    char *dir = xstrdup(dirname(copy));
    free(copy);
    return dir;
}

static int check_state_dir(struct check_run *r)
{
    const char *db = r->cfg->store_path;
    char *dir = dir_of(db);
    struct stat st;
    int rc = 0;
    if (stat(dir, &st) != 0)
        rc = fail_at(r, "store", "path",
                     "the state directory %s cannot be used: %s (create it, "
                     "writable by the user isthmus runs as)",
                     dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = fail_at(r, "store", "path",
                     "the state directory %s is not a directory", dir);
    /* SQLite writes its journal files beside the database. */
    else if (access(dir, W_OK | X_OK) != 0)
        rc = fail_at(r, "store", "path",
                     "the state directory %s cannot be written by this user "
                     "(uid %ld): %s",
                     dir, (long)geteuid(), strerror(errno));
    else if (access(db, F_OK) == 0 && access(db, R_OK | W_OK) != 0)
        rc = fail_at(r, "store", "path",
                     "the database %s cannot be read and written by this "
                     "user (uid %ld): %s",
                     db, (long)geteuid(), strerror(errno));
    free(dir);
    return rc;
}

static int check_store_key(struct check_run *r)
{
    const struct config *cfg = r->cfg;
    const char *key = cfg->store_key_file ? "key_file" : "path";
    char *path = store_key_path(cfg->store_key_file, cfg->store_path);
    int rc = 0;
    if (access(path, F_OK) == 0) {
        /* One that is there must be usable. */
        unsigned char k[STORE_KEY_BYTES];
        char *why = NULL;
        if (store_key_read(path, k, &why) < 0) {
            rc = fail_at(r, "store", key, "%s", why);
            free(why);
        }
        sodium_memzero(k, sizeof k);
    } else {
        /* A missing one is made at the start, in its directory. */
        char *dir = dir_of(path);
        if (access(dir, W_OK | X_OK) != 0)
            rc = fail_at(r, "store", key,
                         "the store key file %s does not exist and cannot be "
                         "created in %s: %s (create it with "
                         "--generate-registration)",
                         path, dir, strerror(errno));
        free(dir);
    }
    free(path);
    return rc;
}

/* In order: what the operator most likely got wrong first. */
static int (*const checks[])(struct check_run *r) = {
    check_secret,
    check_registration,
    check_state_dir,
    check_store_key,
};

int config_check(const struct config *cfg, config_warn_fn warn, void *ud,
                 char **err)
{
    struct check_run r = { cfg, warn, ud, err };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        if (checks[i](&r) < 0)
            return -1;
    return 0;
}
