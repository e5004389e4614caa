/* The gateway's commands: one table, served by two front doors, the bot
 * on Matrix (features/bot.c: a DM with it, one command per message) and
 * ad-hoc commands on XMPP (features/commands_xmpp.c, XEP-0050 on the
 * component's address). A command here knows nothing of either: it takes
 * who asks and its arguments, and gives back a result, text and fields,
 * that each door renders its own way. */
#ifndef ISTHMUS_GATEWAY_FEATURES_COMMANDS_H
#define ISTHMUS_GATEWAY_FEATURES_COMMANDS_H

#include "gateway/base/context.h"

#include <stdbool.h>
#include <stddef.h>

/* Who runs a command: an XMPP user (their bare JID) or a Matrix user. */
enum cmd_side { CMD_FROM_XMPP, CMD_FROM_MATRIX };
struct cmd_caller {
    enum cmd_side side;
    const char *who;
};

/* A command's one argument, when it takes one (a data form field on
 * XMPP, the words after the command's name on Matrix). */
struct cmd_arg {
    const char *name;  /* the form field's var */
    const char *label; /* what to type, for people */
};

enum cmd_status {
    CMD_DONE,
    CMD_BAD_ARGUMENT, /* text says what was wrong */
    CMD_FORBIDDEN,    /* an admin command, and the caller is no admin */
    CMD_FAILED,       /* the gateway could not do it; text says why */
};

/* One line of a result: a label and its value. */
struct cmd_field {
    char *label;
    char *value;
};

/* What a command gives back; cmd_result_free frees what it holds. */
struct cmd_result {
    enum cmd_status status;
    char *text; /* always set */
    struct cmd_field *fields;
    size_t nfields;
};
void cmd_result_free(struct cmd_result *r);

struct cmd_spec;
typedef void cmd_handler(struct gateway *gw, const struct cmd_spec *spec,
                         const struct cmd_caller *caller, const char *arg,
                         struct cmd_result *res);
struct cmd_spec {
    const char *name;
    const char *summary;
    const struct cmd_arg *arg; /* NULL: takes none */
    bool admin_only;
    cmd_handler *run;
};

/* The table, in the order help lists it: n entries. */
const struct cmd_spec *commands_all(size_t *n);
/* The command called name (ASCII case ignored), or NULL. */
const struct cmd_spec *commands_find(const char *name);
/* Whether the caller is named in [gateway] admins. */
bool commands_is_admin(const struct gateway *gw,
                       const struct cmd_caller *caller);
/* Whether the caller may run spec. */
bool commands_may_run(const struct gateway *gw, const struct cmd_spec *spec,
                      const struct cmd_caller *caller);

/* Runs spec for caller with arg (NULL: none given; it is trimmed), after
 * checking that the caller may and that an argument the command needs is
 * there. Fills *res (cmd_result_free). */
void commands_run(struct gateway *gw, const struct cmd_spec *spec,
                  const struct cmd_caller *caller, const char *arg,
                  struct cmd_result *res);

/* One line of text as typed to the bot: "name [argument]". An unknown
 * name gets a result saying so (CMD_BAD_ARGUMENT). */
void commands_run_line(struct gateway *gw, const struct cmd_caller *caller,
                       const char *line, struct cmd_result *res);

/* The result as plain text: its text, then "label: value" lines. Caller
 * frees. */
char *commands_render_text(const struct cmd_result *res);

#endif
