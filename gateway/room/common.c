/* What the gateway mode's files share (see common.h). */
#include "gateway/room/common.h"

#include "common/log.h"
#include "gateway/base/effects.h"
#include "xep/muc.h"
#include "xep/stanza_error.h"
#include "xep/xml.h"

void room_send_now(struct gateway *gw, xmpp_stanza_t *st)
{
    gateway_send_now(gw, st);
    xmpp_stanza_release(st);
}

/* The power levels content, or every default when there is none (the
 * fetch failed) or it is not an object. */
void room_parse_levels(json_t *content, struct mx_power_levels *out)
{
    const char *why;
    if (mx_power_levels_parse(content, out, &why) < 0)
        mx_power_levels_default(out);
}

long room_power_level(const struct mx_power_levels *levels,
                      const char *mxid)
{
    return (long)mx_power_levels_user(levels, mxid);
}

void room_presence_error(struct gateway *gw, xmpp_stanza_t *orig,
                         const char *type, const char *condition,
                         const char *text)
{
    xmpp_stanza_t *err = stanza_error_reply(gw->xmpp, orig, type, condition,
                                            text);
    xml_add_child(gw->xmpp, err, "x", NS_MUC);
    room_send_now(gw, err);
}

static void on_left(const struct mx_response *r, void *ud)
{
    (void)ud;
    if (r->status != 200)
        log_warn("muc: a ghost could not leave its room: %s", r->error);
}

void room_leave_matrix(struct gateway *gw, const char *room_id,
                       const char *ghost)
{
    mx_leave(gw->mx, room_id, ghost, 3, on_left, NULL);
}
