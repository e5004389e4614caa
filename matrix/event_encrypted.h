/* The encrypted parts of Matrix, as plain C views: an m.room.encrypted
 * room event (Megolm) and to-device event (Olm), what their plaintexts
 * hold, and the room-key events carried inside Olm. Strings are borrowed
 * from the JSON they were read from. Decryption itself is
 * matrix/crypto/'s; these only read. */
#ifndef ISTHMUS_MATRIX_EVENT_ENCRYPTED_H
#define ISTHMUS_MATRIX_EVENT_ENCRYPTED_H

#include <jansson.h>

#define MX_MEGOLM "m.megolm.v1.aes-sha2"
#define MX_OLM "m.olm.v1.curve25519-aes-sha2"

/* An m.room.encrypted room event's content. */
struct mx_megolm_content {
    const char *algorithm;
    const char *ciphertext;
    const char *session_id;
    const char *sender_key; /* deprecated in the spec; NULL when absent */
    const char *device_id;  /* likewise */
};
/* -1 with *why when the algorithm is not Megolm or a field is missing. */
int mx_megolm_content_parse(json_t *content, struct mx_megolm_content *out,
                            const char **why);

/* What a Megolm ciphertext decrypts to: {type, content, room_id}. */
struct mx_megolm_plain {
    const char *type;
    json_t *content; /* an object */
    const char *room_id;
};
int mx_megolm_plain_parse(json_t *plain, struct mx_megolm_plain *out,
                          const char **why);

/* An m.room.encrypted to-device event's content, the part for one of our
 * devices (by its Curve25519 key). */
struct mx_olm_content {
    const char *sender_key;
    long long type; /* 0 pre-key, 1 message */
    const char *body;
};
/* -1 with *why when it is not Olm or holds nothing for our_key. */
int mx_olm_content_parse(json_t *content, const char *our_key,
                         struct mx_olm_content *out, const char **why);

/* What an Olm ciphertext decrypts to. */
struct mx_olm_plain {
    const char *type;
    json_t *content;
    const char *sender;
    const char *recipient;
    const char *recipient_ed25519;
    const char *sender_ed25519; /* keys.ed25519 */
};
int mx_olm_plain_parse(json_t *plain, struct mx_olm_plain *out,
                       const char **why);

/* m.room_key and m.forwarded_room_key (which adds the original sender's
 * keys); for m.room_key the forwarded fields are NULL. */
struct mx_room_key {
    const char *algorithm;
    const char *room_id;
    const char *session_id;
    const char *session_key;
    const char *sender_key;               /* forwarded: the original's */
    const char *sender_claimed_ed25519;   /* forwarded */
};
int mx_room_key_parse(json_t *content, struct mx_room_key *out,
                      const char **why);

/* m.room_key.withheld: the sender's client decided not to share. */
struct mx_withheld {
    const char *room_id;    /* may be NULL (for some codes) */
    const char *session_id; /* may be NULL */
    const char *code;
    const char *reason; /* may be NULL */
};
int mx_withheld_parse(json_t *content, struct mx_withheld *out,
                      const char **why);

/* m.room_key_request: a device asks for a session's key. Only "request"
 * carries body's fields; "request_cancellation" leaves them NULL. */
struct mx_key_request {
    const char *action;
    const char *requesting_device_id;
    const char *request_id;
    const char *algorithm;
    const char *room_id;
    const char *session_id;
    const char *sender_key; /* deprecated in the spec; may be NULL */
};
int mx_key_request_parse(json_t *content, struct mx_key_request *out,
                         const char **why);

#endif
