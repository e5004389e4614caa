/* Multi-user chat (XEP-0045) as the gateway speaks it when it plays the
 * MUC service for Matrix rooms: occupant presences, the subject, group
 * messages with XEP-0359 stanza-ids, and presence errors. */
#ifndef ISTHMUS_XEP_MUC_H
#define ISTHMUS_XEP_MUC_H

#include <stdbool.h>
#include <strophe.h>

#define NS_MUC "http://jabber.org/protocol/muc"
#define NS_MUC_USER "http://jabber.org/protocol/muc#user"
#define NS_MUC_ADMIN "http://jabber.org/protocol/muc#admin"

struct muc_item {
    const char *affiliation; /* owner, admin, member, none */
    const char *role;        /* moderator, participant, visitor, none */
    const char *jid;         /* real JID, NULL in anonymous rooms */
    const char *nick;        /* new nick, with status 303; else NULL */
};

/* <presence from=room/nick to=…> with a muc#user item and status codes
 * (codes ends with 0). type NULL for available. Caller releases. */
xmpp_stanza_t *muc_presence(xmpp_ctx_t *ctx, const char *from, const char *to,
                            const char *type, const struct muc_item *item,
                            const int *codes);
/* <message type=groupchat from=room to=…><subject>…</subject></message>;
 * subject may be "" (no subject), which MUC clients still wait for. */
xmpp_stanza_t *muc_subject(xmpp_ctx_t *ctx, const char *room, const char *to,
                           const char *subject);
/* A group message from room/nick with a stanza-id assigned by the room, and
 * the sender's origin-id (may be NULL), which clients match their own
 * reflected messages by. */
/* Stamps a message as the room's, with the XEP-0359 stanza-id the room
 * gave it (id, by the room's JID). */
void muc_add_stanza_id(xmpp_ctx_t *ctx, xmpp_stanza_t *st, const char *id,
                       const char *by);
xmpp_stanza_t *muc_groupchat(xmpp_ctx_t *ctx, const char *from, const char *to,
                             const char *id, const char *origin_id,
                             const char *body, const char *stanza_id,
                             const char *room);

/* Marks a history message with XEP-0203 <delay from=room stamp=…/>. */
void muc_add_delay(xmpp_ctx_t *ctx, xmpp_stanza_t *msg, const char *room,
                   long long ts_ms);
/* A XEP-0249 direct invitation to room, from inviter to invitee. */
xmpp_stanza_t *muc_direct_invite(xmpp_ctx_t *ctx, const char *inviter,
                                 const char *invitee, const char *room,
                                 const char *reason);
/* Reads <x xmlns='…/muc'><history …/></x> of a join: how many messages of
 * history the client wants (default when it says nothing, 0 for none) and
 * the oldest timestamp it wants (ms, 0 for any). */
void muc_history_request(xmpp_stanza_t *join, int default_max, int *max,
                         long long *since_ms, long long now_ms);

/* An occupant's message as the room passes it on: a copy of sent (what
 * the occupant's client sent, as it sent it) from room/nick to `to`,
 * with the room's stanza-id (none when stanza_id is NULL) instead of any
 * the client gave, and without the gateway's decryption mark; id stays
 * the client's (fallback_id when it gave none). Caller releases. */
xmpp_stanza_t *muc_pass_on(xmpp_ctx_t *ctx, xmpp_stanza_t *sent,
                           const char *from, const char *to,
                           const char *fallback_id, const char *stanza_id,
                           const char *room);
/* The affiliation a muc#admin list request asks for (<query><item
 * affiliation=…/></query>, XEP-0045 §9.5, 10.5, 10.8), or NULL when it is
 * no such request. Points into the stanza. */
const char *muc_admin_list_request(xmpp_stanza_t *iq);
/* The answer to one: one <item affiliation jid nick/> per entry of items
 * (n of them; an item's nick may be NULL). Caller releases. */
xmpp_stanza_t *muc_admin_list_result(xmpp_ctx_t *ctx, xmpp_stanza_t *iq,
                                     const struct muc_item *items, int n);

/* ---- the client side of a MUC, for portal mode */

/* A join (or rejoin) presence from the occupant's full JID to room/nick.
 * history_since_ms < 0 asks for no history at all; otherwise for what was
 * said since then. Caller releases. */
xmpp_stanza_t *muc_join(xmpp_ctx_t *ctx, const char *from,
                        const char *room_nick, long long history_since_ms);
/* What a MUC says about an occupant in a presence: the muc#user item (its
 * strings point into the stanza) and the status codes. Returns false if the
 * presence carries no muc#user payload. */
struct muc_user_info {
    struct muc_item item;
    const char *reason;   /* <item><reason/>, for kicks and bans; or NULL */
    int codes[8];         /* 0-terminated */
};
bool muc_user_info_parse(xmpp_stanza_t *presence, struct muc_user_info *out);
bool muc_has_code(const struct muc_user_info *info, int code);
/* The inviting room of a XEP-0249 direct invite or a XEP-0045 mediated
 * invite, and who invited (may be NULL); NULL when msg is no invite.
 * Strings point into the stanza. */
const char *muc_invite_room(xmpp_stanza_t *msg, const char **inviter);

#endif
