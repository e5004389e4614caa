/* What media.c (Matrix -> XMPP, the proxy) and media_upload.c (XMPP ->
 * Matrix) share: the state behind gw->media. Not for other files. */
#ifndef ISTHMUS_GATEWAY_FEATURES_MEDIA_STATE_H
#define ISTHMUS_GATEWAY_FEATURES_MEDIA_STATE_H

#include "gateway/features/media.h"

#include <sodium.h>
#include <stdbool.h>

struct proxy;
struct download;

struct media {
    struct gateway *gw;
    /* The proxy URLs' keys: a MAC over a clear file's name, and a seal
     * over an encrypted file's key (media.c). */
    unsigned char key[crypto_auth_KEYBYTES];
    unsigned char seal_key[crypto_secretbox_KEYBYTES];
    struct proxy *proxies;       /* serving, for media_free */
    struct download *downloads;  /* downloading or waiting, oldest first */
    int active;                  /* started and not yet uploaded */
    bool closing;
};

/* Drops the files on their way to Matrix without calling back
 * (media_upload.c). */
void media_uploads_free(struct media *m);

#endif
