/* End-to-bridge encryption as the loop sees it: its state, made and
 * freed, what a transaction says of devices, and the work each loop turn
 * owes it. The parts: e2ee_devices.c (the ghosts' devices, lowest),
 * e2ee_inbound.c (room keys in, decryption), e2ee_job.c, e2ee_share.c
 * and e2ee_outbound.c (encrypted sending). */
#include "gateway/features/e2ee_state.h"

#include "common/mem.h"
#include "gateway/base/context.h"

#include <stdlib.h>

struct e2ee *e2ee_new(e2ee_dispatch_fn *dispatch)
{
    struct e2ee *e = xcalloc(1, sizeof *e);
    e->dispatch = dispatch;
    e->uploading = (struct strmap)STRMAP_INIT;
    e->requested = (struct strmap)STRMAP_INIT;
    e->ready = (struct strmap)STRMAP_INIT;
    e->members = (struct strmap)STRMAP_INIT;
    return e;
}

void e2ee_free(struct e2ee *e)
{
    if (!e)
        return;
    e2ee_device_jobs_free(e);
    e2ee_jobs_free(e);
    strmap_clear(&e->uploading);
    strmap_clear(&e->requested);
    strmap_clear(&e->ready);
    strmap_clear(&e->members);
    free(e);
}

void e2ee_transaction(struct gateway *gw, const struct mx_transaction *txn)
{
    if (!e2ee_active(gw))
        return;
    e2ee_devices_transaction(gw, txn);
    e2ee_device_lists(gw, txn);
}

void e2ee_tick(struct gateway *gw)
{
    if (!e2ee_active(gw))
        return;
    e2ee_share_work(gw);
    e2ee_inbound_tick(gw);
}

long e2ee_next_due_ms(const struct gateway *gw)
{
    return gw->e2ee && gw->e2ee->working ? 0 : -1;
}
