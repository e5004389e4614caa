/* Files crossing the gateway.
 *
 * Matrix -> XMPP: an m.image/m.file/m.video/m.audio event becomes a body
 * URL plus XEP-0066 OOB data. The URL points at the gateway's own media
 * proxy (served by the appservice listener under /_isthmus/media/v1/),
 * which streams the file from the homeserver's authenticated media API
 * with the as_token. Each URL carries an HMAC over the mxc URI and the
 * file name, so the proxy serves only what the gateway itself handed out.
 *
 * An encrypted file (content.file) takes the same way: its URL carries
 * the sealed key and the proxy decrypts as it streams.
 *
 * XMPP -> Matrix (media_upload.c): a message whose body is exactly its
 * OOB URL (what clients send after a XEP-0363 upload) is a file share:
 * the file is downloaded (http/https, bounded in size and time),
 * encrypted when the room is (AES-CTR, content.file), uploaded to the
 * media repository as the sender's ghost, and sent as the proper msgtype
 * with info {mimetype, size, w, h}. */
#ifndef ISTHMUS_MEDIA_H
#define ISTHMUS_MEDIA_H

#include "matrix/appservice.h"
#include "matrix/event.h"
#include "xep/message.h"

#include <jansson.h>
#include <stdbool.h>

struct gateway;
struct media;

/* Keys the URLs with a secret derived from the as_token. */
struct media *media_new(struct gateway *gw);
/* Cancels every transfer without calling back. */
void media_free(struct media *m);

/* The appservice handler for GET /_isthmus/media/... */
void media_proxy_request(struct as_request *req, const char *path, void *ud);

/* ---- Matrix -> XMPP */

/* The proxy URL for an mxc URI, or NULL (with *why) if the URI is
 * malformed. Caller frees. */
char *media_proxy_url(struct media *m, const char *mxc, const char *filename,
                      const char **why);

/* The proxy URL for an encrypted file (content.file): what opens it
 * travels sealed in the URL, which only this gateway can open; the proxy
 * decrypts the file as it streams, checks its hash, and serves it as
 * mimetype. NULL (with *why) when file is malformed. Caller frees. */
char *media_proxy_url_encrypted(struct media *m, json_t *file,
                                const char *mimetype, const char *filename,
                                const char **why);

/* For an XMPP user who speaks OMEMO: the aesgcm:// link (XEP-0454) that
 * serves the file behind one of this proxy's URLs encrypted, its key in
 * the link's fragment; NULL when proxy_url is not one of the proxy's.
 * Caller frees (and the link is a secret: it goes only into an encrypted
 * message). */
char *media_proxy_url_aesgcm(struct media *m, const char *proxy_url);

/* ---- XMPP -> Matrix */

/* True if the message shares a file: its body is exactly its http(s) OOB
 * URL, or an aesgcm:// link alone (XEP-0454, from an OMEMO client). */
bool media_is_share(const struct xmsg *msg);
/* The shared file's URL (the OOB one, else the body's link), borrowed
 * from msg; media_to_matrix trims it. */
const char *media_share_url(const struct xmsg *msg);

/* content: a new reference to the event content to send, or NULL on
 * failure with condition (an XMPP error condition) and why (for people). */
typedef void (*media_done_cb)(struct gateway *gw, json_t *content,
                              const char *condition, const char *why,
                              void *ud);
/* Downloads url, uploads it as ghost for room_id (encrypted when the
 * room is) and calls cb exactly once (unless the gateway stops first).
 * caption (XEP-0066 desc; may be NULL) becomes the event's body, with the
 * file name in filename, as Matrix captions go. */
void media_to_matrix(struct gateway *gw, const char *ghost,
                     const char *room_id, const char *url,
                     const char *caption, media_done_cb cb, void *ud);

#endif
