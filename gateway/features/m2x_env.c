#include "gateway/features/m2x_env.h"

#include "gateway/features/media.h"
#include "gateway/features/relations.h"

static char *crossed_as(void *ud, const char *event_id, bool correction)
{
    return relations_crossed_as(ud, event_id, correction);
}

static char *proxy_url(void *ud, const struct mx_message *msg,
                       const char *name, const char **why)
{
    struct gateway *gw = ud;
    if (msg->file)
        return media_proxy_url_encrypted(gw->media, msg->file, msg->mimetype,
                                         name, why);
    return media_proxy_url(gw->media, msg->url, name, why);
}

void m2x_env_for(struct gateway *gw, enum store_room_mode mode,
                 struct m2x_env *env)
{
    *env = (struct m2x_env){
        .max_body = (size_t)gw->cfg.max_stanza_body,
        .media_max_bytes = gw->cfg.media_max_bytes,
        .ids = &gw->ids,
        .xmpp_id = mode == ROOM_GATEWAY ? NULL : crossed_as,
        .media_url = proxy_url,
        .ud = gw,
    };
}
