/* XEP-0454 for files from Matrix to an XMPP user who speaks OMEMO: the
 * proxy URL of the file becomes an aesgcm:// link whose fragment (IV and
 * key) travels only inside the OMEMO-encrypted message; the proxy serves
 * the file AES-256-GCM-encrypted under that key, so the file never
 * crosses a wire in clear, even where the proxy is reached over plain
 * HTTP. The link's path carries the key sealed for the proxy (which keeps
 * nothing), with the proxy path of the file it wraps; media.c serves it
 * (g/...). */
#include "gateway/features/media_state.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "matrix/appservice.h"
#include "xep/crypto/aesgcm.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PROXY_PATH AS_MEDIA_PREFIX "v1/"
#define FIXED MEDIA_AESGCM_FIXED

char *media_proxy_url_aesgcm(struct media *m, const char *proxy_url)
{
    char *prefix = xasprintf("%s" PROXY_PATH, m->gw->cfg.media_url);
    size_t n = strlen(prefix);
    bool ours = strncmp(proxy_url, prefix, n) == 0;
    free(prefix);
    const char *inner = proxy_url + n;
    const char *name = strrchr(inner, '/');
    if (!ours || !name || strncmp(inner, "g/", 2) == 0 ||
        FIXED + strlen(inner) + 64 > SEALED_MAX)
        return NULL;
    unsigned char *plain = xmalloc(FIXED + strlen(inner));
    randombytes_buf(plain, FIXED);
    memcpy(plain + FIXED, inner, strlen(inner));
    char *token = media_seal_token(m, plain, FIXED + strlen(inner));
    char *https = xasprintf("%s" PROXY_PATH "g/%s%s", m->gw->cfg.media_url,
                            token, name);
    char *link = aesgcm_url_make(https, plain, plain + AESGCM_KEY_LEN);
    sodium_memzero(plain, FIXED);
    free(plain);
    free(token);
    free(https);
    return link;
}
