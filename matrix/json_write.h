/* Compact JSON text from a jansson value, for the request bodies every
 * bridged message sends to the homeserver. */
#ifndef ISTHMUS_MATRIX_JSON_WRITE_H
#define ISTHMUS_MATRIX_JSON_WRITE_H

#include <jansson.h>
#include <stddef.h>

/* Exactly the bytes json_dumps(json, JSON_COMPACT) gives (NULL where it
 * gives NULL), written straight into one buffer: jansson's own writer
 * spends most of its time on a loop-detection table it fills for every
 * object and array. Sets *len (if not NULL) to the text's length. Caller
 * frees with free(). */
char *json_write_compact(const json_t *json, size_t *len);

#endif
