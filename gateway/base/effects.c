/* The effects every feature uses (see effects.h). */
#include "gateway/base/effects.h"

#include "common/log.h"
#include "common/mem.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t gateway_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *gateway_txn_id(const char *tag, ...)
{
    unsigned char h[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    va_list ap;
    va_start(ap, tag);
    for (const char *s; (s = va_arg(ap, const char *));)
        /* The NUL as separator: ("ab", "c") and ("a", "bc") differ. */
        crypto_generichash_update(&st, (const unsigned char *)s,
                                  strlen(s) + 1);
    va_end(ap);
    crypto_generichash_final(&st, h, sizeof h);
    char hex[sizeof h * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    return xasprintf("isthmus.%s%s", tag, hex);
}

bool gateway_is_ours(const struct gateway *gw, const char *mxid)
{
    return ids_is_ghost(&gw->ids, mxid) || strcmp(mxid, gw->bot_mxid) == 0;
}

static void on_notice_sent(const struct mx_response *r,
                           const struct mx_event_id *res, void *ud)
{
    (void)res;
    (void)ud;
    if (r->status != 200)
        log_warn("matrix: could not post a notice: %s", r->error);
}

void gateway_send_event(struct gateway *gw, const char *room_id,
                        const char *type, const char *txn_id,
                        const char *as_user, long long ts, json_t *content,
                        int max_attempts, mx_event_id_cb cb, void *ud)
{
    if (gw->send_event)
        gw->send_event(gw, room_id, type, txn_id, as_user, ts, content,
                       max_attempts, cb, ud);
    else
        mx_send_event(gw->mx, room_id, type, txn_id, as_user, ts, content,
                      max_attempts, cb, ud);
}

void gateway_notice(struct gateway *gw, const char *room_id,
                    const char *as_user, const char *txn_seed,
                    const char *text)
{
    char *txn = xasprintf("notice.%s", txn_seed);
    gateway_send_event(gw, room_id, "m.room.message", txn, as_user, -1,
                  mx_message_content("m.notice", text), 3, on_notice_sent,
                  NULL);
    free(txn);
}

void gateway_send_now(struct gateway *gw, xmpp_stanza_t *st)
{
    if (component_send(gw->component, st) < 0)
        log_debug("xmpp: not connected; dropped a %s reply",
                  xmpp_stanza_get_name(st));
}
