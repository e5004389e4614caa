#include "gateway/core/portal_pending.h"

#include "common/mem.h"

#include <stdlib.h>
#include <string.h>

/* Newest first; short, so a list does. */
struct node {
    struct portal_change c;
    struct node *next;
};

struct portal_pending {
    struct node *head;
    int n;
};

struct portal_pending *portal_pending_new(void)
{
    return xcalloc(1, sizeof(struct portal_pending));
}

void portal_change_free(struct portal_change *c)
{
    free(c->stanza_id);
    free(c->room_id);
    free(c->previous);
    free(c->who);
    memset(c, 0, sizeof *c);
}

static void drop_after(struct portal_pending *p, struct node **link)
{
    while (*link) {
        struct node *n = *link;
        *link = n->next;
        portal_change_free(&n->c);
        free(n);
        p->n--;
    }
}

void portal_pending_free(struct portal_pending *p)
{
    if (!p)
        return;
    drop_after(p, &p->head);
    free(p);
}

void portal_pending_add(struct portal_pending *p, const char *stanza_id,
                        const char *room_id, const char *previous,
                        const char *who, int64_t now_ms)
{
    struct node *n = xcalloc(1, sizeof *n);
    n->c = (struct portal_change){ xstrdup(stanza_id), xstrdup(room_id),
                                   xstrdup(previous), xstrdup(who), now_ms };
    n->next = p->head;
    p->head = n;
    p->n++;
    /* Newest first: everything after the first one too old or too many is
     * older still. */
    int kept = 0;
    for (struct node **link = &p->head; *link; link = &(*link)->next) {
        if (++kept > PORTAL_PENDING_MAX ||
            now_ms - (*link)->c.sent_ms > PORTAL_PENDING_MAX_AGE_MS) {
            drop_after(p, link);
            break;
        }
    }
}

int portal_pending_take(struct portal_pending *p, const char *stanza_id,
                        struct portal_change *out)
{
    for (struct node **link = &p->head; *link; link = &(*link)->next) {
        struct node *n = *link;
        if (strcmp(n->c.stanza_id, stanza_id) != 0)
            continue;
        *link = n->next;
        *out = n->c;
        free(n);
        p->n--;
        return 1;
    }
    return 0;
}
