/* What media.c (Matrix -> XMPP, the proxy) and media_upload.c (XMPP ->
 * Matrix) share: the state behind gw->media. Not for other files. */
#ifndef ISTHMUS_GATEWAY_FEATURES_MEDIA_STATE_H
#define ISTHMUS_GATEWAY_FEATURES_MEDIA_STATE_H

#include "gateway/features/media.h"
#include "xep/crypto/aesgcm.h"

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

/* An aesgcm proxy link's sealed part: key and IV, then the proxy path of
 * the file it wraps (media_aesgcm.c makes it, media.c serves it). */
#define MEDIA_AESGCM_FIXED (AESGCM_KEY_LEN + AESGCM_IV_LEN)

/* Drops the files on their way to Matrix without calling back
 * (media_upload.c). */
void media_uploads_free(struct media *m);

#endif
