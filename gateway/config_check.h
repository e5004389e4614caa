/* What a parsed configuration cannot say about itself: whether the
 * registration file agrees with it, whether its secrets are still the
 * example's, whether the state directory can be written and the store key
 * read. Run by --check-config, and at every start before anything is
 * opened, so a mistake is named before it becomes a puzzling failure. */
#ifndef ISTHMUS_CONFIG_CHECK_H
#define ISTHMUS_CONFIG_CHECK_H

#include "gateway/core/config.h"

/* Told each warning, a sentence without a trailing newline. */
typedef void (*config_warn_fn)(void *ud, const char *warning);

/* Runs every check in order. Warnings (the gateway can run, but something
 * is likely wrong) go to warn. The first error stops the checks: -1 with
 * *err set to "config-file:line: message" (caller frees), the line being
 * the setting at fault. libsodium must be initialised. */
int config_check(const struct config *cfg, config_warn_fn warn, void *ud,
                 char **err);

#endif
