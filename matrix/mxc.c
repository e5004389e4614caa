#include "matrix/mxc.h"

#include "common/mem.h"

#include <stdbool.h>
#include <string.h>

/* The spec bounds neither part; 255 keeps a hostile URI from growing the
 * URLs built from it. */
#define MXC_PART_MAX 255

static bool part_ok(const char *s, size_t n, const char *extra)
{
    if (n == 0 || n > MXC_PART_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr(extra, c)))
            return false;
    }
    return true;
}

int mx_mxc_split(const char *mxc, char **server, char **id)
{
    if (strncmp(mxc, "mxc://", 6) != 0)
        return -1;
    const char *s = mxc + 6;
    const char *slash = strchr(s, '/');
    /* A server name is a host (name, IPv4, [IPv6]) and a port; a media id
     * is [A-Za-z0-9_-]. */
    if (!slash || !part_ok(s, (size_t)(slash - s), ".-:[]") ||
        !part_ok(slash + 1, strlen(slash + 1), "_-"))
        return -1;
    *server = xstrndup(s, (size_t)(slash - s));
    *id = xstrdup(slash + 1);
    return 0;
}
