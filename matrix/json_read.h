/* JSON text to a jansson value, for the bodies the homeserver sends: every
 * appservice transaction and every client-server response. */
#ifndef ISTHMUS_MATRIX_JSON_READ_H
#define ISTHMUS_MATRIX_JSON_READ_H

#include <jansson.h>
#include <stddef.h>

/* Parses text[0..len) (NUL bytes in it are data, not an end) and returns
 * the same tree json_loadb(text, len, 0, ...) builds, accepting and
 * rejecting exactly the same inputs, but reading the bytes in place
 * instead of through jansson's one-character-at-a-time stream.
 *
 * Returns a new reference the caller drops with json_decref(), or NULL
 * with a short message in err (when err is not NULL and err_len > 0; the
 * message is cut to fit and always NUL-terminated). */
json_t *json_read(const char *text, size_t len, char *err, size_t err_len);

#endif
