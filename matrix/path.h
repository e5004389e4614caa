/* Path building for matrix/api_*.c (not for the gateway): every variable
 * part is percent-encoded here, so no caller can forget to. */
#ifndef ISTHMUS_MATRIX_PATH_H
#define ISTHMUS_MATRIX_PATH_H

#include "common/strbuf.h"

#include <stdint.h>

struct mx_path {
    struct strbuf sb;
    char sep; /* '?' before the first query parameter, then '&' */
};

/* Starts a path with a literal prefix (e.g. "/_matrix/client/v3/rooms"). */
void mx_path_init(struct mx_path *p, const char *prefix);
/* Appends "/" and seg, escaped. */
void mx_path_seg(struct mx_path *p, const char *seg);
/* Appends literal text (a fixed segment such as "/send"), unescaped. */
void mx_path_lit(struct mx_path *p, const char *lit);
/* Appends a query parameter; value escaped. NULL value: nothing. */
void mx_path_query(struct mx_path *p, const char *name, const char *value);
void mx_path_query_int(struct mx_path *p, const char *name, long long value);
/* ?user_id=<as_user> when as_user is not NULL (the appservice acting as
 * one of its users); nothing when the appservice's own user acts. */
void mx_path_as_user(struct mx_path *p, const char *as_user);
/* The path; caller frees. p is spent. */
char *mx_path_done(struct mx_path *p);

#endif
