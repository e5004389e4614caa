#include "matrix/path.h"

#include "common/mem.h"
#include "matrix/client.h"

#include <stdio.h>
#include <stdlib.h>

void mx_path_init(struct mx_path *p, const char *prefix)
{
    p->sb = (struct strbuf)STRBUF_INIT;
    p->sep = '?';
    strbuf_puts(&p->sb, prefix);
}

void mx_path_seg(struct mx_path *p, const char *seg)
{
    char *e = mx_escape(seg);
    strbuf_putc(&p->sb, '/');
    strbuf_puts(&p->sb, e);
    free(e);
}

void mx_path_lit(struct mx_path *p, const char *lit)
{
    strbuf_puts(&p->sb, lit);
}

void mx_path_query(struct mx_path *p, const char *name, const char *value)
{
    if (!value)
        return;
    char *e = mx_escape(value);
    strbuf_putc(&p->sb, p->sep);
    strbuf_puts(&p->sb, name);
    strbuf_putc(&p->sb, '=');
    strbuf_puts(&p->sb, e);
    free(e);
    p->sep = '&';
}

void mx_path_query_int(struct mx_path *p, const char *name, long long value)
{
    char num[24];
    snprintf(num, sizeof num, "%lld", value);
    mx_path_query(p, name, num);
}

void mx_path_as_user(struct mx_path *p, const char *as_user)
{
    mx_path_query(p, "user_id", as_user);
}

char *mx_path_done(struct mx_path *p)
{
    return strbuf_detach(&p->sb);
}
