/* The commands themselves (commands.h): what each does, for whichever
 * door it came through. They answer at once, from the gateway's state,
 * the store and the pure address mapping (core/ids.c). */
#include "gateway/features/commands.h"

#include "common/mem.h"
#include "common/strbuf.h"
#include "gateway/base/effects.h"
#include "gateway/base/metrics.h"
#include "gateway/features/e2ee.h"
#include "gateway/features/omemo.h"
#include "gateway/features/trust.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

/* ------------------------------------------------------------ results -- */

void cmd_result_free(struct cmd_result *r)
{
    free(r->text);
    for (size_t i = 0; i < r->nfields; i++) {
        free(r->fields[i].label);
        free(r->fields[i].value);
    }
    free(r->fields);
    memset(r, 0, sizeof *r);
}

static void set_text(struct cmd_result *res, enum cmd_status status,
                     const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_text(struct cmd_result *res, enum cmd_status status,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(res->text);
    res->text = xvasprintf(fmt, ap);
    va_end(ap);
    res->status = status;
}

static void add_field(struct cmd_result *res, const char *label,
                      const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add_field(struct cmd_result *res, const char *label,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    res->fields = xrealloc(res->fields, (res->nfields + 1) * sizeof *res->fields);
    res->fields[res->nfields].label = xstrdup(label);
    res->fields[res->nfields].value = xvasprintf(fmt, ap);
    res->nfields++;
    va_end(ap);
}

/* --------------------------------------------------------------- help -- */

static void cmd_help(struct gateway *gw, const struct cmd_spec *spec,
                     const struct cmd_caller *caller, const char *arg,
                     struct cmd_result *res)
{
    (void)spec;
    (void)arg;
    size_t n;
    const struct cmd_spec *all = commands_all(&n);
    bool admin = commands_is_admin(gw, caller);
    set_text(res, CMD_DONE, "Commands of the isthmus XMPP-Matrix gateway%s:",
             caller->side == CMD_FROM_MATRIX
                 ? " (send one per message, with its argument after it)"
                 : "");
    for (size_t i = 0; i < n; i++) {
        char *usage = all[i].arg ? xasprintf("%s <%s>", all[i].name,
                                             all[i].arg->name)
                                 : xstrdup(all[i].name);
        add_field(res, usage, "%s%s", all[i].summary,
                  all[i].admin_only ? (admin ? " (admins only)"
                                             : " (admins only: not you)")
                                    : "");
        free(usage);
    }
}

/* ------------------------------------------------------------- status -- */

static void cmd_status(struct gateway *gw, const struct cmd_spec *spec,
                       const struct cmd_caller *caller, const char *arg,
                       struct cmd_result *res)
{
    (void)spec;
    (void)caller;
    (void)arg;
    int64_t up = (gateway_now_ms() - gw->started_ms) / 1000;
    bool linked = gw->component && component_is_connected(gw->component);
    set_text(res, CMD_DONE, "isthmus %s is up; the XMPP link is %s.",
             PACKAGE_VERSION, linked ? "connected" : "down");
    add_field(res, "Version", "%s", PACKAGE_VERSION);
    add_field(res, "Uptime", "%lldd %02lldh %02lldm %02llds",
              (long long)(up / 86400), (long long)(up / 3600 % 24),
              (long long)(up / 60 % 60), (long long)(up % 60));
    add_field(res, "XMPP component", "%s", linked ? "connected"
                                                  : "disconnected");
    add_field(res, "Homeserver", "%s", gw->cfg.homeserver_url);
    /* Work written down and not yet done: messages either way, joins. */
    add_field(res, "Outbox items", "%d", store_outbox_count(gw->store));
    add_field(res, "Stanza outbox held", "%s",
              gw->stanza_outbox_held ? "yes (catch-up running)" : "no");
    add_field(res, "Messages to Matrix", "%llu",
              (unsigned long long)metrics_counter(CNT_TO_MATRIX));
    add_field(res, "Stanzas to XMPP", "%llu",
              (unsigned long long)metrics_counter(CNT_TO_XMPP));
}

/* -------------------------------------------------------------- whois -- */

static void whois_matrix(struct gateway *gw, const char *id,
                         struct cmd_result *res)
{
    const struct ids *ids = &gw->ids;
    char *jid = NULL;
    const char *why;
    if (ids_is_bot(ids, id)) {
        set_text(res, CMD_DONE, "%s is this gateway's own bot; on XMPP the "
                 "gateway is %s.", id, ids->component);
        add_field(res, "XMPP address", "%s", ids->component);
    } else if (ids_is_ghost(ids, id)) {
        if (ids_ghost_to_jid(ids, id, &jid, &why) < 0 &&
            ids_occupant_ghost_to_jid(ids, id, &jid, &why) < 0)
            set_text(res, CMD_BAD_ARGUMENT, "%s is in the gateway's "
                     "namespace but stands for no XMPP address: %s", id, why);
        else {
            set_text(res, CMD_DONE, "%s is the XMPP user %s, bridged.", id,
                     jid);
            add_field(res, "XMPP address", "%s", jid);
        }
    } else if (id[0] == '#' && ids_alias_to_muc(ids, id, &jid, &why) == 0) {
        set_text(res, CMD_DONE, "%s is the XMPP MUC %s, bridged.", id, jid);
        add_field(res, "XMPP address", "%s", jid);
    } else if (ids_matrix_to_jid(ids, id, &jid, &why) < 0) {
        set_text(res, CMD_BAD_ARGUMENT, "%s is not a Matrix id the gateway "
                 "can address: %s", id, why);
    } else {
        set_text(res, CMD_DONE, "%s is %s on XMPP.", id, jid);
        add_field(res, "XMPP address", "%s", jid);
    }
    free(jid);
}

static void whois_jid(struct gateway *gw, const char *address,
                      struct cmd_result *res)
{
    const struct ids *ids = &gw->ids;
    const char *why;
    char *bare = ids_jid_bare(address);
    const char *at = strchr(bare, '@');
    const char *domain = at ? at + 1 : bare;
    char *id = NULL, *alias = NULL;
    if (strcmp(domain, ids->component) == 0) {
        /* An address on the gateway: the Matrix id behind it. */
        if (ids_jid_to_matrix(ids, bare, &id, NULL, &why) < 0)
            set_text(res, CMD_BAD_ARGUMENT, "%s names nobody on Matrix: %s",
                     bare, why);
        else {
            set_text(res, CMD_DONE, "%s is %s on Matrix.", bare, id);
            add_field(res, "Matrix id", "%s", id);
        }
    } else if (!ids_jid_is_valid_bare(bare, &why)) {
        set_text(res, CMD_BAD_ARGUMENT, "\"%s\" is neither a JID nor a Matrix "
                 "id (@user:server, #alias:server, !room:server): %s",
                 address, why);
    } else if (ids_jid_to_ghost(ids, bare, &id, &why) < 0) {
        set_text(res, CMD_BAD_ARGUMENT, "%s cannot be bridged: %s", bare, why);
    } else {
        /* A JID does not say whether it is a person or a MUC: both. */
        set_text(res, CMD_DONE, "%s is %s on Matrix.", bare, id);
        add_field(res, "Matrix id", "%s", id);
        if (ids_muc_to_alias(ids, bare, &alias, &why) == 0)
            add_field(res, "Matrix alias (if it is a MUC)", "%s", alias);
    }
    free(id);
    free(alias);
    free(bare);
}

/* Whether an argument is a Matrix id rather than a JID: a sigil, and a
 * server after a colon (or no JID's @ either). A Matrix room's JID starts
 * with its sigil too (#room%server@gw), but a JID never holds a colon:
 * the gateway writes it \3a. */
static bool is_matrix_id(const char *arg)
{
    bool sigil = arg[0] == '@' || arg[0] == '#' || arg[0] == '!';
    return sigil && (strchr(arg, ':') || !strchr(arg + 1, '@'));
}

static void cmd_whois(struct gateway *gw, const struct cmd_spec *spec,
                      const struct cmd_caller *caller, const char *arg,
                      struct cmd_result *res)
{
    (void)spec;
    (void)caller;
    if (is_matrix_id(arg))
        whois_matrix(gw, arg, res);
    else
        whois_jid(gw, arg, res);
}

/* -------------------------------------------------------------- rooms -- */

static const char *mode_name(int mode)
{
    return mode == ROOM_GATEWAY ? "Matrix room (as a MUC)"
           : mode == ROOM_PORTAL ? "XMPP MUC (as a Matrix room)"
                                 : "direct chat";
}

static void cmd_rooms(struct gateway *gw, const struct cmd_spec *spec,
                      const struct cmd_caller *caller, const char *arg,
                      struct cmd_result *res)
{
    (void)spec;
    (void)arg;
    bool xmpp = caller->side == CMD_FROM_XMPP;
    struct store_room *dms = NULL;
    struct store_presence_room *rooms = NULL;
    int ndm = store_room_dms_of(gw->store, caller->who, &dms), nrooms = 0;
    char *ghost = NULL;
    if (!xmpp)
        nrooms = store_presence_rooms(gw->store, caller->who, &rooms);
    else if (ids_jid_to_ghost(&gw->ids, caller->who, &ghost, NULL) == 0)
        nrooms = store_ghost_rooms(gw->store, ghost, &rooms);
    free(ghost);
    if (ndm < 0 || nrooms < 0) {
        set_text(res, CMD_FAILED, "The gateway could not read its store; try "
                 "again later.");
        goto out;
    }
    for (int i = 0; i < ndm; i++)
        add_field(res, mode_name(ROOM_DM), "with %s (%s)",
                  xmpp ? dms[i].matrix_user : dms[i].xmpp_jid,
                  dms[i].room_id);
    for (int i = 0; i < nrooms; i++)
        add_field(res, mode_name(rooms[i].mode), "%s as %s (%s)",
                  rooms[i].muc_jid, rooms[i].nick, rooms[i].room_id);
    if (ndm + nrooms == 0)
        set_text(res, CMD_DONE, "You are in no bridged room or chat.");
    else
        set_text(res, CMD_DONE, "You are in %d bridged room%s or chat%s:",
                 ndm + nrooms, ndm + nrooms == 1 ? "" : "s",
                 ndm + nrooms == 1 ? "" : "s");
out:
    store_rooms_free(dms, ndm > 0 ? ndm : 0);
    store_presence_rooms_free(rooms, nrooms > 0 ? nrooms : 0);
}

/* --------------------------------------------------------------- join -- */

static void join_matrix_room(struct gateway *gw, const char *room,
                             struct cmd_result *res)
{
    char *muc = NULL;
    const char *why;
    if (room[0] == '#' && ids_alias_to_muc(&gw->ids, room, &muc, &why) == 0)
        set_text(res, CMD_DONE, "%s is the XMPP MUC %s: join it there "
                 "directly.", room, muc);
    else if (ids_matrix_to_jid(&gw->ids, room, &muc, &why) < 0)
        set_text(res, CMD_BAD_ARGUMENT, "\"%s\" is not a Matrix room the "
                 "gateway can reach: %s", room, why);
    else
        set_text(res, CMD_DONE, "Join the MUC %s from your XMPP client to "
                 "be in %s.", muc, room);
    if (muc)
        add_field(res, "MUC address", "%s", muc);
    free(muc);
}

static void join_muc(struct gateway *gw, const char *address,
                     struct cmd_result *res)
{
    char *bare = ids_jid_bare(address), *alias = NULL;
    const char *why;
    const char *at = strchr(bare, '@');
    if (at && strcmp(at + 1, gw->ids.component) == 0) {
        /* A Matrix room seen as a MUC already: its Matrix name. */
        enum ids_matrix_kind kind = IDS_MATRIX_ROOM;
        if (ids_jid_to_matrix(&gw->ids, bare, &alias, &kind, &why) < 0 ||
            kind == IDS_MATRIX_USER) {
            free(alias);
            alias = NULL;
            set_text(res, CMD_BAD_ARGUMENT, "%s is not a room on this "
                     "gateway%s%s", bare, kind == IDS_MATRIX_USER ? "" : ": ",
                     kind == IDS_MATRIX_USER ? "" : why);
        } else
            set_text(res, CMD_DONE, "%s is the Matrix room %s: join it "
                     "there directly.", bare, alias);
    } else if (!at || ids_muc_to_alias(&gw->ids, bare, &alias, &why) < 0) {
        set_text(res, CMD_BAD_ARGUMENT, "join needs a Matrix room "
                 "(#alias:server) or an XMPP MUC address "
                 "(room@conference.server); \"%s\" is neither%s%s", address,
                 at ? ": " : "", at ? why : "");
    } else {
        set_text(res, CMD_DONE, "Join %s from your Matrix client to be in "
                 "the MUC %s.", alias, bare);
    }
    if (alias)
        add_field(res, "Matrix room", "%s", alias);
    free(alias);
    free(bare);
}

static void cmd_join(struct gateway *gw, const struct cmd_spec *spec,
                     const struct cmd_caller *caller, const char *arg,
                     struct cmd_result *res)
{
    (void)spec;
    (void)caller;
    if (is_matrix_id(arg) && arg[0] != '@')
        join_matrix_room(gw, arg, res);
    else if (is_matrix_id(arg))
        set_text(res, CMD_BAD_ARGUMENT, "%s is a Matrix user, not a room: "
                 "join takes a room alias (#alias:server) or a MUC address "
                 "(room@conference.server)", arg);
    else
        join_muc(gw, arg, res);
}

/* ---------------------------------------------------- admin commands -- */

static void cmd_stats(struct gateway *gw, const struct cmd_spec *spec,
                      const struct cmd_caller *caller, const char *arg,
                      struct cmd_result *res)
{
    (void)gw;
    (void)spec;
    (void)caller;
    (void)arg;
    set_text(res, CMD_DONE, "Counters since start-up (all of them, with the "
             "latency histograms, at /metrics):");
    for (int c = 0; c < CNT_COUNT; c++)
        add_field(res, metrics_counter_name(c), "%llu",
                  (unsigned long long)metrics_counter(c));
}

static void cmd_reconnect(struct gateway *gw, const struct cmd_spec *spec,
                          const struct cmd_caller *caller, const char *arg,
                          struct cmd_result *res)
{
    (void)spec;
    (void)arg;
    if (!gw->component || !component_is_connected(gw->component)) {
        set_text(res, CMD_FAILED, "The XMPP link is down already; the "
                 "gateway is reconnecting on its own.");
        return;
    }
    component_reconnect(gw->component);
    set_text(res, CMD_DONE, "Dropping the XMPP component link; it connects "
             "again at once (asked by %s).", caller->who);
}

/* ------------------------------------------------------- fingerprints -- */

/* The two ends of the conversation a fingerprints or verify command is
 * about: the caller's side and the address given. false with the
 * answer set when the address is no such other side. All four are
 * malloc'd (the caller frees them, also on false). */
struct ends {
    char *user, *mxid, *puppet, *ghost;
};

static bool conversation_ends(struct gateway *gw,
                              const struct cmd_caller *caller,
                              const char *arg, struct ends *e,
                              struct cmd_result *res)
{
    bool xmpp = caller->side == CMD_FROM_XMPP;
    enum ids_matrix_kind kind = IDS_MATRIX_USER;
    const char *why = "";
    bool ok;
    memset(e, 0, sizeof *e);
    if (xmpp) {
        e->user = ids_jid_bare(caller->who);
        if (arg[0] == '@')
            e->mxid = xstrdup(arg);
        ok = (e->mxid || ids_jid_to_matrix(&gw->ids, arg, &e->mxid, &kind,
                                           &why) == 0) &&
             kind == IDS_MATRIX_USER;
    } else {
        e->mxid = xstrdup(caller->who);
        e->user = ids_jid_bare(arg);
        ok = ids_jid_is_valid_bare(e->user, &why) &&
             !ids_is_ghost(&gw->ids, e->mxid);
    }
    ok = ok && ids_matrix_to_jid(&gw->ids, e->mxid, &e->puppet, &why) == 0 &&
         ids_jid_to_ghost(&gw->ids, e->user, &e->ghost, &why) == 0;
    if (!ok)
        set_text(res, CMD_BAD_ARGUMENT, "Give the other side of the "
                 "conversation: %s. (%s)",
                 xmpp ? "a Matrix user id (@user:server)"
                      : "an XMPP address (user@server)", why);
    return ok;
}

static void ends_free(struct ends *e)
{
    free(e->user);
    free(e->mxid);
    free(e->puppet);
    free(e->ghost);
}

/* " (verified)" when the caller verified that device of the other side. */
static const char *mark(struct gateway *gw, const struct cmd_caller *caller,
                        const struct ends *e, bool xmpp_device,
                        const char *device)
{
    bool theirs = (caller->side == CMD_FROM_XMPP) != xmpp_device;
    if (!theirs)
        return "";
    const char *verifier = xmpp_device ? e->mxid : e->user;
    const char *subject = xmpp_device ? e->user : e->mxid;
    return trust_state(gw, verifier, subject, device) ==
                   STORE_DEVICE_VERIFIED
               ? " (verified by you)"
               : "";
}

/* A conversation's end-to-end keys on both sides, as the gateway holds
 * them, for people to compare with what their clients show (the gateway
 * trusts each device blindly the first time it sees it). */
static void cmd_fingerprints(struct gateway *gw, const struct cmd_spec *spec,
                             const struct cmd_caller *caller, const char *arg,
                             struct cmd_result *res)
{
    (void)spec;
    struct ends e;
    if (!conversation_ends(gw, caller, arg, &e, res))
        goto out;
    set_text(res, CMD_DONE, "The keys of the conversation between %s and %s, "
             "as the gateway holds them: compare them with what your client "
             "shows. The gateway trusted each device the first time it saw "
             "it; once you have compared the other side's, say so with "
             "`verify`, and you will be told of any new device of theirs.",
             e.user, e.mxid);
    struct omemo_fingerprint *fps = NULL;
    int n = omemo_user_fingerprints(gw, e.puppet, e.user, &fps);
    for (int i = 0; i < n; i++) {
        char dev[24];
        snprintf(dev, sizeof dev, "omemo:%u", fps[i].device);
        add_field(res, "XMPP device", "%s %s %u: %s%s", e.user,
                  fps[i].version == 4 ? "OMEMO 2" : "OMEMO", fps[i].device,
                  fps[i].hex, mark(gw, caller, &e, true, dev));
    }
    omemo_fingerprints_free(fps, n > 0 ? n : 0);
    uint32_t device;
    char *hex = NULL;
    if (omemo_puppet_fingerprint(gw, e.puppet, &device, &hex))
        add_field(res, "Gateway's OMEMO device", "for %s (%s) %u: %s", e.mxid,
                  e.puppet, device, hex);
    free(hex);
    struct store_device_key *keys = NULL;
    int k = store_device_keys_of(gw->store, e.mxid, &keys);
    for (int i = 0; i < k; i++) {
        char *dev = xasprintf("matrix:%s", keys[i].device_id);
        add_field(res, "Matrix device", "%s %s: %s%s", e.mxid,
                  keys[i].device_id, keys[i].ed25519,
                  mark(gw, caller, &e, false, dev));
        free(dev);
    }
    store_device_keys_free(keys, k > 0 ? k : 0);
    char *gdev = NULL, *ed = NULL;
    if (e2ee_ghost_fingerprint(gw, e.ghost, &gdev, &ed))
        add_field(res, "Gateway's Matrix device", "for %s (%s) %s: %s",
                  e.user, e.ghost, gdev, ed);
    free(gdev);
    free(ed);
out:
    ends_free(&e);
}

/* The caller has compared the other side's keys (fingerprints) and
 * verifies the devices the gateway knows of them now; a device that
 * appears later is announced to the caller. */
static void cmd_verify(struct gateway *gw, const struct cmd_spec *spec,
                       const struct cmd_caller *caller, const char *arg,
                       struct cmd_result *res)
{
    (void)spec;
    struct ends e;
    if (!conversation_ends(gw, caller, arg, &e, res))
        goto out;
    bool xmpp = caller->side == CMD_FROM_XMPP;
    const char *subject = xmpp ? e.mxid : e.user;
    int n = xmpp ? trust_verify_matrix_user(gw, e.user, e.mxid)
                 : trust_verify_xmpp_user(gw, e.mxid, e.user);
    if (n < 0)
        set_text(res, CMD_FAILED, "The verification could not be stored; "
                 "try again.");
    else if (n == 0)
        set_text(res, CMD_BAD_ARGUMENT, "The gateway knows no device of %s "
                 "yet: write to them first, then compare their keys with "
                 "`fingerprints`.", subject);
    else
        set_text(res, CMD_DONE, "You verified %d device%s of %s. A new "
                 "device of theirs will be announced to you here.", n,
                 n == 1 ? "" : "s", subject);
out:
    ends_free(&e);
}

/* ------------------------------------------------------------- table -- */

static const struct cmd_arg arg_address = {
    "address", "a JID or a Matrix id (@user:server, #alias:server)"
};
static const struct cmd_arg arg_room = {
    "address", "a Matrix room alias (#room:server) or a MUC address "
               "(room@conference.server)"
};

static const struct cmd_arg arg_other = {
    "address", "the other side: a Matrix id (@user:server) from XMPP, an "
               "XMPP address (user@server) from Matrix"
};

static const struct cmd_spec commands[] = {
    { "help", "lists these commands", NULL, false, cmd_help },
    { "status", "the gateway's version, uptime, XMPP link and outbox", NULL,
      false, cmd_status },
    { "whois", "the address of a JID on Matrix, or of a Matrix id on XMPP",
      &arg_address, false, cmd_whois },
    { "rooms", "your bridged rooms and chats", NULL, false, cmd_rooms },
    { "join", "how to join a Matrix room from XMPP, or a MUC from Matrix",
      &arg_room, false, cmd_join },
    { "fingerprints", "the end-to-end keys of a conversation, both sides",
      &arg_other, false, cmd_fingerprints },
    { "verify", "verifies the other side's devices as they are now, after "
      "comparing them; their new devices are announced to you",
      &arg_other, false, cmd_verify },
    { "stats", "the gateway's counters", NULL, true, cmd_stats },
    { "reconnect", "drops and reconnects the XMPP component link", NULL,
      true, cmd_reconnect },
};

const struct cmd_spec *commands_all(size_t *n)
{
    *n = sizeof commands / sizeof commands[0];
    return commands;
}

const struct cmd_spec *commands_find(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcasecmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

/* ---------------------------------------------------------- running -- */

bool commands_is_admin(const struct gateway *gw,
                       const struct cmd_caller *caller)
{
    if (!gw->cfg.admins || !caller->who)
        return false;
    const char *sep = ", \t";
    bool found = false;
    char *copy = xstrdup(gw->cfg.admins), *save = NULL;
    for (char *tok = strtok_r(copy, sep, &save); tok && !found;
         tok = strtok_r(NULL, sep, &save)) {
        if (caller->side == CMD_FROM_MATRIX)
            found = tok[0] == '@' && strcmp(tok, caller->who) == 0;
        else /* JIDs compare without case, as servers do */
            found = tok[0] != '@' && strcasecmp(tok, caller->who) == 0;
    }
    free(copy);
    return found;
}

bool commands_may_run(const struct gateway *gw, const struct cmd_spec *spec,
                      const struct cmd_caller *caller)
{
    return !spec->admin_only || commands_is_admin(gw, caller);
}

void commands_run(struct gateway *gw, const struct cmd_spec *spec,
                  const struct cmd_caller *caller, const char *arg,
                  struct cmd_result *res)
{
    memset(res, 0, sizeof *res);
    if (!commands_may_run(gw, spec, caller)) {
        set_text(res, CMD_FORBIDDEN, "\"%s\" is for the gateway's admins "
                 "only, and %s is not one of them ([gateway] admins).",
                 spec->name, caller->who);
        return;
    }
    const char *ws = " \t\r\n";
    char *trimmed = NULL;
    if (arg) {
        size_t start = strspn(arg, ws), end = strlen(arg);
        while (end > start && strchr(ws, arg[end - 1]))
            end--;
        if (end > start)
            trimmed = xstrndup(arg + start, end - start);
    }
    if (spec->arg && !trimmed)
        set_text(res, CMD_BAD_ARGUMENT, "\"%s\" needs an argument: %s.",
                 spec->name, spec->arg->label);
    else
        spec->run(gw, spec, caller, trimmed ? trimmed : "", res);
    free(trimmed);
}

void commands_run_line(struct gateway *gw, const struct cmd_caller *caller,
                       const char *line, struct cmd_result *res)
{
    const char *ws = " \t\r\n";
    line += strspn(line, ws);
    if (*line == '!') /* as other bridges' bots are spoken to */
        line++;
    size_t n = strcspn(line, ws);
    char *name = xstrndup(line, n);
    const struct cmd_spec *spec = commands_find(name);
    if (spec) {
        commands_run(gw, spec, caller, line + n, res);
    } else {
        memset(res, 0, sizeof *res);
        set_text(res, CMD_BAD_ARGUMENT, "Unknown command \"%s\". Send "
                 "\"help\" for the list.", name);
    }
    free(name);
}

char *commands_render_text(const struct cmd_result *res)
{
    struct strbuf sb = { 0 };
    strbuf_puts(&sb, res->text);
    for (size_t i = 0; i < res->nfields; i++)
        strbuf_printf(&sb, "\n%s: %s", res->fields[i].label,
                      res->fields[i].value);
    return strbuf_detach(&sb);
}
