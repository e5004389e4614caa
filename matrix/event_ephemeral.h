/* Ephemeral events (EDUs) an appservice receives: typing, receipts and
 * presence. Plain C views; strings borrowed from the event's tree. */
#ifndef ISTHMUS_MATRIX_EVENT_EPHEMERAL_H
#define ISTHMUS_MATRIX_EVENT_EPHEMERAL_H

#include <jansson.h>
#include <stddef.h>

/* What every ephemeral event has: a type and a content object. room_id
 * (typing, receipts) and sender (presence) depend on the type. */
struct mx_ephemeral {
    const char *type;
    const char *room_id; /* or NULL */
    const char *sender;  /* or NULL */
    json_t *content;     /* borrowed; always an object */
};
int mx_ephemeral_parse(json_t *ev, struct mx_ephemeral *out,
                       const char **why);

/* A JSON array read as strings: entry i, or NULL when it is not one. */
struct mx_str_list {
    json_t *arr; /* borrowed, or NULL for an empty list */
    size_t n;
};
const char *mx_str_list_at(const struct mx_str_list *l, size_t i);

/* m.typing: who is typing in the room now (the whole list each time). */
struct mx_typing {
    const char *room_id;
    struct mx_str_list user_ids; /* non-strings read as NULL */
};
int mx_typing_parse(const struct mx_ephemeral *ev, struct mx_typing *out,
                    const char **why);

/* m.receipt: {event_id: {receipt type: {user_id: {ts, thread_id?}}}}. */
struct mx_receipt {
    const char *room_id;
    json_t *content; /* borrowed; walk it with mx_receipt_foreach */
};
int mx_receipt_parse(const struct mx_ephemeral *ev, struct mx_receipt *out,
                     const char **why);
/* One user's receipt on one event. */
struct mx_read_receipt {
    const char *event_id;
    const char *receipt_type; /* m.read, m.read.private... */
    const char *user_id;
    const char *thread_id;    /* or NULL (unthreaded) */
    long long ts;             /* 0 when absent */
};
/* Calls cb for each receipt of receipt_type (every type when NULL);
 * entries of the wrong shape are passed over. */
void mx_receipt_foreach(const struct mx_receipt *r, const char *receipt_type,
                        void (*cb)(const struct mx_read_receipt *rr,
                                   void *ud),
                        void *ud);

/* m.presence. */
struct mx_presence {
    const char *user_id;    /* the event's sender */
    const char *presence;   /* online, unavailable, offline, or other */
    const char *status_msg; /* or NULL */
    const char *avatar_url; /* or NULL */
    const char *displayname; /* or NULL */
    long long last_active_ago; /* -1 when absent */
    int currently_active;      /* 1, 0, or -1 when absent */
};
/* -1 without a sender or a presence string. */
int mx_presence_parse(const struct mx_ephemeral *ev, struct mx_presence *out,
                      const char **why);

#endif
