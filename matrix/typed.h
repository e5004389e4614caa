/* Sending a request whose answer the callback gets typed (matrix/api.h):
 * for matrix/api_*.c only. */
#ifndef ISTHMUS_MATRIX_TYPED_H
#define ISTHMUS_MATRIX_TYPED_H

#include "matrix/api.h"

/* The kinds of typed answers; each has a row in typed.c's table. */
enum mx_answer {
    MX_ANSWER_ROOM_ID,
    MX_ANSWER_EVENT_ID,
    MX_ANSWER_MEMBERS,
    MX_ANSWER_MESSAGES,
    MX_ANSWER_CONTEXT,
    MX_ANSWER_TIMESTAMP,
    MX_ANSWER_PUBLIC_ROOMS,
    MX_ANSWER_PROFILE,
    MX_ANSWER_STATE,
    MX_ANSWER_CONTENT_URI,
    MX_ANSWER_MEDIA,
};

/* Any of the callback types of matrix/api.h, cast back by its kind. */
typedef void (*mx_any_cb)(void);

/* Sends req (consumed); cb, of the type that goes with kind, gets the
 * answer parsed. */
void mx_typed_send(struct mx_client *c, struct mx_request *req,
                   int max_attempts, enum mx_answer kind, mx_any_cb cb,
                   void *ud);
/* The done callback and its data for a call made some other way (a raw
 * upload or download); ud is for mx_typed_on_answer only. */
void *mx_typed_ud(enum mx_answer kind, mx_any_cb cb, void *ud);
void mx_typed_on_answer(const struct mx_response *r, void *ud);

#endif
