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

/* The proxy's sealed tokens (media.c): what a URL carries that only this
 * gateway can open. The token: base64url, caller frees. Unseal: 0 with
 * *len bytes at plain, or -1 (forged, damaged or too long). */
#define SEALED_MAX 1024
char *media_seal_token(const struct media *m, const unsigned char *plain,
                       size_t len);
int media_unseal_token(const struct media *m, const char *token,
                       size_t token_len, unsigned char plain[SEALED_MAX],
                       size_t *len);

/* Serves a proxy path (what follows /_isthmus/media/v1/) to req; with
 * gcm (taken over), the file is encrypted as it streams and the tag
 * follows it (XEP-0454, media_aesgcm.c). */
struct aesgcm_stream;
void media_serve_path(struct media *m, struct as_request *req,
                      const char *rest, struct aesgcm_stream *gcm);
/* g/<token>/<name>: a file served AES-GCM-encrypted (media_aesgcm.c). */
void media_serve_aesgcm(struct media *m, struct as_request *req,
                        const char *rest);

/* Drops the files on their way to Matrix without calling back
 * (media_upload.c). */
void media_uploads_free(struct media *m);

#endif
