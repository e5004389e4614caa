/* The configuration file: INI-style sections of `key = value` lines.
 * See isthmus.example.conf for every key and its meaning. */
#ifndef ISTHMUS_CONFIG_H
#define ISTHMUS_CONFIG_H

#include <stdbool.h>

/* At least the number of keys config.c knows (checked there). */
#define CONFIG_MAX_KEYS 48

struct config {
    /* [xmpp] */
    char *component_jid;     /* the component's domain, e.g. gw.example.org */
    char *xmpp_host;         /* where the XMPP server listens for components */
    int xmpp_port;
    char *component_secret;
    int max_stanza_body;     /* bytes of body the XMPP side accepts */
    int sender_rate;         /* messages per second one XMPP user may send */
    int sender_burst;        /* ... and how many at once after a pause */
    /* [matrix] */
    char *homeserver_url;    /* client-server API base, no trailing slash */
    char *server_name;       /* the homeserver's server_name */
    char *registration_file; /* tokens are read from here */
    int max_event_body;      /* bytes of body we put in one Matrix event */
    /* [appservice] */
    char *as_id;
    char *bind_address;
    int bind_port;
    char *as_url;            /* how the homeserver reaches us */
    char *bot_localpart;
    char *user_prefix;
    char *alias_prefix;
    int max_request_bytes;   /* largest appservice request body accepted */
    /* [media] */
    char *media_url;         /* public base URL of the media proxy */
    int media_max_bytes;     /* largest file bridged, either way */
    int media_timeout_s;     /* whole download of a file from XMPP */
    char *media_ca_file;     /* CAs for https downloads; NULL: the system's */
    /* [store] */
    char *store_path;
    char *store_key_file;    /* NULL: store_path + ".key" */
    /* [e2ee] */
    bool e2ee_enabled;       /* ghosts get devices; encrypted rooms work */
    int e2ee_key_wait_s;     /* how long an event waits for its room key */
    bool e2ee_encrypt_new_dms; /* DMs the gateway opens are encrypted */
    bool e2ee_omemo;         /* puppet JIDs are OMEMO devices */
    /* [e2ee] downgrade = refuse: an encrypted message whose other side
     * cannot receive it encrypted is refused, not delivered in clear
     * with its sender told ("tell", the default). */
    bool e2ee_refuse_downgrade;
    /* [gateway] */
    /* Who may run the admin commands (features/commands.c): JIDs and
     * Matrix ids, separated by commas or spaces; NULL: nobody. */
    char *admins;
    /* [log] */
    int log_level;           /* enum log_level */

    /* Not from the file: filled from the registration file at start-up. */
    char *as_token;
    char *hs_token;

    /* Where each setting came from, so that checks made after parsing
     * (config_check.c) can still name a file and a line. */
    char *source;              /* the name given to config_parse */
    int last_line;             /* the file's last line */
    int key_lines[CONFIG_MAX_KEYS]; /* by key, in config.c's order; 0: default */
};

/* Parses text (named `name` in messages) into cfg, which the call
 * initialises with defaults first. On error returns -1 and sets *err to
 * "name:line: what is wrong" (caller frees); cfg is then left freed. */
int config_parse(const char *name, const char *text, struct config *cfg,
                 char **err);
/* Reads and parses the file at path; same contract as config_parse. */
int config_load(const char *path, struct config *cfg, char **err);
/* The line that set [section] key, or the file's last line when the key
 * kept its default (a message then points at the end of the file, as for
 * a missing required key). */
int config_key_line(const struct config *cfg, const char *section,
                    const char *key);
/* Frees every string the config owns. Safe on a zeroed struct. */
void config_free(struct config *cfg);

#endif
