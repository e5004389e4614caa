/* mxc:// URIs, the media repository's names for files. */
#ifndef ISTHMUS_MATRIX_MXC_H
#define ISTHMUS_MATRIX_MXC_H

/* Splits mxc://server/id, accepting only the characters the spec allows
 * in each part (so both are safe in a URL path as they are): 0 with
 * *server and *id (caller frees both), or -1. */
int mx_mxc_split(const char *mxc, char **server, char **id);

#endif
