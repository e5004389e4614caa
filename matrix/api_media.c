/* The media repository: uploads, and authenticated downloads held in
 * memory (small files such as avatars; the media proxy streams instead,
 * see matrix/media_transfer.h). */
#include "matrix/api.h"

#include "common/mem.h"
#include "matrix/path.h"
#include "matrix/typed.h"

#include <stdlib.h>
#include <string.h>

char *mx_upload_path(const char *as_user, const char *filename)
{
    struct mx_path p;
    mx_path_init(&p, "/_matrix/media/v3/upload");
    mx_path_as_user(&p, as_user);
    mx_path_query(&p, "filename", filename);
    return mx_path_done(&p);
}

void mx_upload(struct mx_client *c, const char *as_user, const char *filename,
               const char *content_type, char *data, size_t len,
               int max_attempts, mx_content_uri_cb cb, void *ud)
{
    char *path = mx_upload_path(as_user, filename);
    mx_client_call_raw(c, "POST", path, content_type, data, len, 0,
                       max_attempts, mx_typed_on_answer,
                       mx_typed_ud(MX_ANSWER_CONTENT_URI, (mx_any_cb)cb, ud));
    free(path);
}

char *mx_media_download_path(const char *mxc, const char **err)
{
    if (strncmp(mxc, "mxc://", 6) != 0) {
        *err = "not an mxc:// URI";
        return NULL;
    }
    const char *server = mxc + 6, *slash = strchr(server, '/');
    if (!slash || slash == server || !slash[1] || strchr(slash + 1, '/')) {
        *err = "an mxc:// URI needs a server and a media id";
        return NULL;
    }
    char *srv = xstrndup(server, (size_t)(slash - server));
    struct mx_path p;
    mx_path_init(&p, "/_matrix/client/v1/media/download");
    mx_path_seg(&p, srv);
    mx_path_seg(&p, slash + 1);
    free(srv);
    return mx_path_done(&p);
}

int mx_media_download(struct mx_client *c, const char *mxc, size_t max_bytes,
                      int max_attempts, mx_media_cb cb, void *ud,
                      const char **err)
{
    char *path = mx_media_download_path(mxc, err);
    if (!path)
        return -1;
    mx_client_call_raw(c, "GET", path, NULL, NULL, 0, max_bytes, max_attempts,
                       mx_typed_on_answer,
                       mx_typed_ud(MX_ANSWER_MEDIA, (mx_any_cb)cb, ud));
    free(path);
    return 0;
}
