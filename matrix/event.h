/* Matrix events from appservice transactions, as plain C views.
 * Strings point into the jansson tree and live as long as it does.
 *
 * The parsers are split by kind: this header has the event itself, room
 * messages and members; event_state.h the other state events,
 * event_relation.h reactions and redactions, event_ephemeral.h typing,
 * receipts and presence, event_device.h to-device events and device keys,
 * transaction.h the appservice transaction that carries them all. */
#ifndef ISTHMUS_MATRIX_EVENT_H
#define ISTHMUS_MATRIX_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* The only HTML format Matrix defines for formatted_body. */
#define MX_HTML_FORMAT "org.matrix.custom.html"

struct mx_event {
    const char *event_id;
    const char *room_id;
    const char *sender;
    const char *type;
    const char *state_key; /* NULL for non-state events */
    int64_t origin_server_ts;
    json_t *content;       /* borrowed; always an object */
    /* The whole event, borrowed: for the parsers of kinds that read a
     * top-level field of their own (redacts, unsigned). */
    json_t *raw;
};

struct mx_message {
    const char *msgtype;
    const char *body;     /* for an edit: the new text, without fallback */
    const char *replaces; /* an edit (m.replace): the original event id */
    const char *reply_to; /* a reply (m.in_reply_to): the event answered */
    /* formatted_body when format is org.matrix.custom.html (for an edit,
     * the new one), else NULL. Untrusted HTML. */
    const char *html;
    /* Media (m.image, m.file, m.video, m.audio, and "m.sticker", the
     * msgtype given to m.sticker events): the unencrypted mxc URI, or
     * in an encrypted room content.file (borrowed; its key opens the
     * ciphertext), the file name when it differs from a caption in body,
     * and what info says; NULL / -1 when absent. */
    const char *url;
    json_t *file;
    const char *filename;
    const char *mimetype;
    long long size;
    /* Borrowed: the object that holds the text shown (body, msgtype,
     * formatted_body): an edit's m.new_content, else the content. */
    json_t *shown;
    /* The scheme it came encrypted with from XMPP (MX_XMPP_E2EE_KEY), or
     * NULL. */
    const char *xmpp_e2ee;
};

struct mx_member {
    const char *membership;
    const char *displayname; /* may be NULL */
    const char *avatar_url;  /* may be NULL */
    bool is_direct;
};

/* The newest edit's text that the homeserver bundles with an event
 * (unsigned.m.relations.m.replace, its m.new_content). */
struct mx_bundled_edit {
    const char *body;
    const char *msgtype;
};

/* Whether events of this type carry a message to bridge: m.room.message,
 * and m.sticker (an image with a description, no msgtype of its own). */
bool mx_event_is_message(const char *type);
/* Whether the event arrived as m.room.encrypted (and was decrypted since:
 * its type and content are then the plaintext's, its raw form is not). */
bool mx_event_was_encrypted(const struct mx_event *ev);
/* The same types as a JSON array, for the "types" of a request filter;
 * kept next to mx_event_is_message so the two change together. */
#define MX_MESSAGE_TYPES_JSON "[\"m.room.message\",\"m.sticker\"]"
/* ... and m.room.encrypted, which may hide one: for history, where the
 * gateway decrypts what it holds keys for. */
#define MX_HISTORY_TYPES_JSON \
    "[\"m.room.message\",\"m.sticker\",\"m.room.encrypted\"]"
/* Returns -1 with *why set if ev lacks what every room event has. Even
 * then the fields that were present are set (the others NULL / 0), so a
 * caller can still place an event it cannot use, by its id and time. */
int mx_event_parse(json_t *ev, struct mx_event *out, const char **why);
/* m.room.message or m.sticker (matrix/event_message.c). -1 without a
 * msgtype or body. */
int mx_message_parse(const struct mx_event *ev, struct mx_message *out,
                     const char **why);
/* The same for a bare content object of an event of this type: the
 * content the gateway builds before sending it. */
int mx_message_content_parse(const char *type, json_t *content,
                             struct mx_message *out, const char **why);
/* -1 when the homeserver bundled no edit, or one without body/msgtype. */
int mx_bundled_edit_parse(const struct mx_event *ev,
                          struct mx_bundled_edit *out, const char **why);
/* m.room.member (matrix/event_state.c). -1 without a membership or a
 * state_key. */
int mx_member_parse(const struct mx_event *ev, struct mx_member *out,
                    const char **why);
/* New reference: {"msgtype": …, "body": …}. */
json_t *mx_message_content(const char *msgtype, const char *body);
/* New reference: the content of an edit of original (m.replace), with the
 * "* " fallback body that clients without edits show. */
json_t *mx_edit_content(const char *msgtype, const char *body,
                        const char *original);
/* Gives content (a message content object) a formatted_body in
 * org.matrix.custom.html. */
void mx_content_set_html(json_t *content, const char *html);
/* Makes content (a message content object) a reply to event_id. */
void mx_content_set_reply(json_t *content, const char *event_id);
/* Marks content as a message that came end-to-end encrypted from XMPP
 * (scheme: "OMEMO"), so that the gateway never gives it back in clear
 * from the archive. Inside the Megolm ciphertext in an encrypted room. */
#define MX_XMPP_E2EE_KEY "org.isthmus.xmpp_e2ee"
void mx_content_set_xmpp_e2ee(json_t *content, const char *scheme);

#endif
