#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tests/unit/store_fixture.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const unsigned char store_fixture_key[STORE_KEY_BYTES] = { 1, 2, 3 };

int test_tmpdir_make(char *dir, const char *name)
{
    snprintf(dir, 64, "/tmp/isthmus-%s-XXXXXX", name);
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_one(const char *path, const struct stat *sb, int type,
                      struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path);
}

int test_tmpdir_remove(const char *dir)
{
    return nftw(dir, remove_one, 8, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

int store_fixture_open(struct store_fixture *f, const char *name)
{
    memset(f, 0, sizeof *f);
    if (test_tmpdir_make(f->dir, name) != 0)
        return -1;
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    char *err = NULL;
    if (store_open(f->path, &f->st, &err) != 0) {
        fprintf(stderr, "%s\n", err);
        free(err);
        return -1;
    }
    store_set_seal_key(f->st, store_fixture_key);
    return 0;
}

int store_fixture_close(struct store_fixture *f)
{
    store_close(f->st);
    f->st = NULL;
    return test_tmpdir_remove(f->dir);
}

void store_fixture_reopen(struct store_fixture *f)
{
    store_close(f->st);
    char *err = NULL;
    assert_int_equal(store_open(f->path, &f->st, &err), 0);
    store_set_seal_key(f->st, store_fixture_key);
}
