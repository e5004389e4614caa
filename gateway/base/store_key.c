#include "gateway/base/store_key.h"

#include "common/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_HEX (STORE_KEY_BYTES * 2)

char *store_key_path(const char *key_file, const char *store_path)
{
    return key_file ? xstrdup(key_file) : xasprintf("%s.key", store_path);
}

int store_key_create(const char *path, char **err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return 0;
        *err = xasprintf("cannot create the store key file %s: %s", path,
                         strerror(errno));
        return -1;
    }
    unsigned char raw[STORE_KEY_BYTES];
    char text[KEY_HEX + 2];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(text, KEY_HEX + 1, raw, sizeof raw);
    text[KEY_HEX] = '\n';
    text[KEY_HEX + 1] = '\0';
    ssize_t w = write(fd, text, KEY_HEX + 1);
    int rc = 1;
    if (w != KEY_HEX + 1 || fsync(fd) != 0) {
        *err = xasprintf("cannot write the store key file %s: %s", path,
                         w < 0 ? strerror(errno) : "short write");
        rc = -1;
    }
    close(fd);
    if (rc < 0)
        unlink(path);
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(text, sizeof text);
    return rc;
}

int store_key_read(const char *path, unsigned char key[STORE_KEY_BYTES],
                   char **err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        *err = xasprintf("cannot read the store key file %s: %s", path,
                         strerror(errno));
        return -1;
    }
    struct stat sb;
    char text[KEY_HEX + 3];
    ssize_t n = -1;
    if (fstat(fd, &sb) != 0) {
        *err = xasprintf("cannot read the store key file %s: %s", path,
                         strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        *err = xasprintf("the store key file %s is not a regular file", path);
    } else if (sb.st_mode & (S_IROTH | S_IWOTH)) {
        /* Whoever reads the key reads every message the outbox holds. */
        *err = xasprintf("the store key file %s is readable or writable by "
                         "everyone (mode %04o); make it private with: chmod "
                         "600 %s", path, (unsigned)(sb.st_mode & 07777), path);
    } else {
        n = read(fd, text, sizeof text - 1);
        if (n < 0)
            *err = xasprintf("cannot read the store key file %s: %s", path,
                             strerror(errno));
    }
    close(fd);
    if (n < 0)
        return -1;
    text[n] = '\0';
    size_t len = (size_t)n;
    if (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
    size_t got = 0;
    int rc = 0;
    if (len != KEY_HEX ||
        sodium_hex2bin(key, STORE_KEY_BYTES, text, len, NULL, &got, NULL) != 0 ||
        got != STORE_KEY_BYTES) {
        *err = xasprintf("the store key file %s must hold %d hex digits (a "
                         "new one is made by isthmus --generate-registration "
                         "or at start when the file is missing)", path,
                         KEY_HEX);
        rc = -1;
    }
    sodium_memzero(text, sizeof text);
    return rc;
}
