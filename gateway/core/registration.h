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
