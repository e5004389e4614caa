/* The appservice registration file the homeserver loads (YAML). isthmus
 * writes it once with fresh random tokens and reads the tokens back from it
 * at every start, so the two can never disagree. */
#ifndef ISTHMUS_REGISTRATION_H
#define ISTHMUS_REGISTRATION_H

#include "gateway/core/config.h"

/* Writes the registration for cfg to path (mode 0600). Refuses to overwrite
 * an existing file, since that would rotate the tokens under a running
 * homeserver. On error returns -1 with *err set (caller frees). */
int registration_write(const struct config *cfg, const char *path, char **err);

/* What a registration file says, as far as isthmus reads it: its
 * top-level scalars (NULL when absent) and the regexes of its namespaces,
 * one per line, each ending in a newline ("" when none). */
struct registration_fields {
    char *id;
    char *url;
    char *as_token;
    char *hs_token;
    char *sender_localpart;
    char *regexes;
};

/* Reads the file at path into f (then registration_fields_free). -1 with
 * *err set (caller frees) if it cannot be read. */
int registration_read(const char *path, struct registration_fields *f,
                      char **err);
/* Frees f's strings, wiping the tokens. */
void registration_fields_free(struct registration_fields *f);

/* The namespace regexes the registration must hold for cfg: the ghosts'
 * (@user_prefix.*:server_name) and the portal aliases'. Caller frees. */
char *registration_users_regex(const struct config *cfg);
char *registration_aliases_regex(const struct config *cfg);

/* Reads as_token and hs_token from a registration file. Both outputs are
 * the caller's to free. */
int registration_read_tokens(const char *path, char **as_token,
                             char **hs_token, char **err);

/* The YAML text for cfg with the given tokens; caller frees. */
/* What the registration file at path lacks for end-to-bridge encryption,
 * as one sentence (caller frees), or NULL when nothing (or the file cannot
 * be read: registration_read_tokens says so). */
char *registration_e2ee_missing(const char *path);
char *registration_render(const struct config *cfg, const char *as_token,
                          const char *hs_token);

#endif
