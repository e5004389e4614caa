/* Portal mode: one queued operation (OUTBOX_PORTAL_OP), as a C struct,
 * and its stored form. The outbox keeps an operation as a JSON object
 * ({"op": "say", "user_id": ..., "room_id": ..., ...}); rows written by
 * earlier versions must still replay, so the keys stay as they were and
 * this file is the only place that knows them. */
#ifndef ISTHMUS_GATEWAY_PORTAL_OP_H
#define ISTHMUS_GATEWAY_PORTAL_OP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The stored names, in order: "join", "leave", "kick", "ban", "power",
 * "topic", "say", "react", "redact", "moderated". */
enum portal_op_kind {
    PORTAL_OP_JOIN,      /* user_id (a ghost) joins as nick; jid, real */
    PORTAL_OP_LEAVE,     /* user_id leaves */
    PORTAL_OP_KICK,      /* user_id is kicked; reason */
    PORTAL_OP_BAN,       /* user_id is banned; reason */
    PORTAL_OP_POWER,     /* user_id's power level becomes level */
    PORTAL_OP_TOPIC,     /* the bot (user_id) sets topic */
    PORTAL_OP_SAY,       /* user_id sends stanza, translated as it runs */
    PORTAL_OP_REACT,     /* user_id's reactions to event_id become keys */
    PORTAL_OP_REDACT,    /* user_id retracts event_id */
    PORTAL_OP_MODERATED, /* a MUC moderator removed event_id */
    PORTAL_OP_COUNT
};

/* Strings are views: the caller's when an op is built to be queued, the
 * decoded document's after portal_op_decode. */
struct portal_op {
    enum portal_op_kind kind;
    const char *user_id;   /* the ghost acting, or the bot */
    const char *room_id;   /* the portal's Matrix room */
    const char *event_id;  /* react, redact, moderated */
    const char *jid;       /* join: the real JID (real) or occupant JID */
    const char *nick;      /* join; moderated: the moderator's nick */
    const char *reason;    /* kick, ban, moderated */
    const char *topic;     /* topic */
    const char *ghost;     /* moderated: the moderator's ghost, if any */
    const char *muc;       /* say: the MUC's JID */
    const char *stanza_id; /* say: the MUC's id for the message */
    const char *origin_id; /* say: the sender's own id for it */
    const char *replaces;  /* say: the event a correction replaces */
    /* say: the XMPP message as the MUC relayed it, the one durable form of
     * a message on its way to Matrix (a DM's outbox row holds the same);
     * it is translated when the op runs, so that a correction or a reply
     * finds the event its target became. */
    const char *stanza;
    /* say, in rows written before stanza was: the event content already
     * translated (borrowed), and a file to fetch and post instead. */
    const char *media_url;
    const char *media_desc;
    json_t *content;
    long long ts;          /* say: when the message was sent, ms */
    long long level;       /* power */
    bool real;             /* join: jid is the occupant's real JID */
    const char **keys;     /* react: the reaction keys */
    size_t nkeys;
    json_t *doc;           /* after decode: the document the views are in */
};

/* The stored name of a kind ("say"), or NULL for none. */
const char *portal_op_name(enum portal_op_kind kind);
/* The kind a stored name stands for: 0, or -1 if it names none. */
int portal_op_kind_of(const char *name, enum portal_op_kind *out);

/* The stored form of op, with the keys earlier versions wrote: strings
 * only when set, "level" for power, "ts" for say, "real" for join, "keys"
 * for react. New reference; the caller releases it (json_decref). */
json_t *portal_op_encode(const struct portal_op *op);

/* Reads a stored operation: 0, or -1 with *why when the kind is unknown
 * or user_id or room_id is missing. Keys of the wrong type read as
 * absent, as they always did. out views into doc and holds a reference to
 * it; release with portal_op_clear (also after a failure). */
int portal_op_decode(json_t *doc, struct portal_op *out, const char **why);
/* Releases what portal_op_decode took. */
void portal_op_clear(struct portal_op *op);

#endif
