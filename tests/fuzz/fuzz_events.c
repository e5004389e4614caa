/* libFuzzer target: an appservice transaction body through every parser
 * of matrix/: the transaction's parts, each room event as every kind of
 * event, each ephemeral and to-device event, the device lists and the key
 * counts. Nothing may crash, whatever shapes the fields have. */
#include "matrix/event.h"
#include "matrix/crypto/attachment.h"
#include "matrix/event_device.h"
#include "matrix/event_encrypted.h"
#include "matrix/event_ephemeral.h"
#include "matrix/event_relation.h"
#include "matrix/event_state.h"
#include "matrix/json_read.h"
#include "matrix/transaction.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Touches every byte of a string the parsers hand out, so the sanitizers
 * see any view that points outside the tree. */
static size_t touch(const char *s)
{
    return s ? strlen(s) : 0;
}

static void room_event(json_t *raw)
{
    struct mx_event ev;
    const char *why;
    if (mx_event_parse(raw, &ev, &why) < 0)
        return;
    struct mx_message msg;
    if (mx_message_parse(&ev, &msg, &why) == 0) {
        touch(msg.body);
        struct mx_attachment att;
        if (msg.file && mx_attachment_parse(msg.file, &att, &why) == 0) {
            touch(att.url);
            mx_attachment_clear(&att);
        }
    }
    /* The encrypted shapes: a Megolm content, and the same object read as
     * if it were a decrypted plaintext. */
    struct mx_megolm_content mc;
    if (mx_megolm_content_parse(ev.content, &mc, &why) == 0)
        touch(mc.session_id);
    struct mx_megolm_plain mp;
    if (mx_megolm_plain_parse(raw, &mp, &why) == 0)
        touch(mp.type);
    struct mx_bundled_edit edit;
    if (mx_bundled_edit_parse(&ev, &edit, &why) == 0)
        touch(edit.body);
    struct mx_member mem;
    mx_member_parse(&ev, &mem, &why);
    struct mx_reaction re;
    if (mx_reaction_parse(&ev, &re, &why) == 0)
        touch(re.key);
    struct mx_redaction red;
    if (mx_redaction_parse(&ev, &red, &why) == 0)
        touch(red.redacts);
    struct mx_power_levels pl;
    mx_power_levels_parse(ev.content, &pl, &why);
    mx_power_levels_user(&pl, ev.sender);
    mx_power_levels_event(&pl, ev.type, ev.state_key != NULL);
    struct mx_topic topic;
    mx_topic_parse(ev.content, &topic, &why);
    struct mx_name name;
    mx_name_parse(ev.content, &name, &why);
    struct mx_room_avatar av;
    mx_room_avatar_parse(ev.content, &av, &why);
    struct mx_canonical_alias al;
    mx_canonical_alias_parse(ev.content, &al, &why);
    struct mx_create cr;
    if (mx_create_parse(&ev, &cr, &why) == 0)
        mx_create_is_creator(&cr, ev.sender);
    struct mx_join_rules jr;
    mx_join_rules_parse(ev.content, &jr, &why);
    struct mx_encryption enc;
    mx_encryption_parse(ev.content, &enc, &why);
    mx_event_is_room_state(&ev, ev.type);
}

static void on_receipt(const struct mx_read_receipt *rr, void *ud)
{
    *(size_t *)ud += touch(rr->user_id) + touch(rr->thread_id);
}

static void ephemeral(json_t *raw)
{
    struct mx_ephemeral eph;
    const char *why;
    if (mx_ephemeral_parse(raw, &eph, &why) < 0)
        return;
    struct mx_typing ty;
    if (mx_typing_parse(&eph, &ty, &why) == 0)
        for (size_t i = 0; i < ty.user_ids.n; i++)
            touch(mx_str_list_at(&ty.user_ids, i));
    struct mx_receipt r;
    size_t n = 0;
    if (mx_receipt_parse(&eph, &r, &why) == 0) {
        mx_receipt_foreach(&r, "m.read", on_receipt, &n);
        mx_receipt_foreach(&r, NULL, on_receipt, &n);
    }
    struct mx_presence p;
    if (mx_presence_parse(&eph, &p, &why) == 0)
        touch(p.status_msg);
}

static void on_otk(const struct mx_otk_count *c, void *ud)
{
    *(size_t *)ud += touch(c->algorithm);
}

static void on_fallback(const struct mx_fallback_keys *f, void *ud)
{
    for (size_t i = 0; i < f->algorithms.n; i++)
        *(size_t *)ud += touch(mx_str_list_at(&f->algorithms, i));
}

/* What a to-device event may carry, each parser on its content. */
static void to_device(const struct mx_to_device *td)
{
    const char *why;
    struct mx_olm_content oc;
    if (mx_olm_content_parse(td->content, "curve", &oc, &why) == 0)
        touch(oc.body);
    struct mx_olm_plain op;
    if (mx_olm_plain_parse(td->content, &op, &why) == 0)
        touch(op.sender);
    struct mx_room_key rk;
    if (mx_room_key_parse(td->content, &rk, &why) == 0)
        touch(rk.session_key);
    struct mx_withheld wh;
    if (mx_withheld_parse(td->content, &wh, &why) == 0)
        touch(wh.code);
    struct mx_key_request kr;
    if (mx_key_request_parse(td->content, &kr, &why) == 0)
        touch(kr.room_id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *body = json_read((const char *)data, size, NULL, 0);
    if (!body)
        return 0;
    struct mx_transaction txn;
    const char *why;
    if (mx_transaction_parse(body, &txn, &why) == 0) {
        size_t i, n = 0;
        json_t *raw;
        json_array_foreach(txn.events, i, raw)
            room_event(raw);
        json_array_foreach(txn.ephemeral, i, raw)
            ephemeral(raw);
        json_array_foreach(txn.to_device, i, raw) {
            struct mx_to_device td;
            if (mx_to_device_parse(raw, &td, &why) == 0) {
                touch(td.to_device_id);
                to_device(&td);
            }
        }
        struct mx_device_lists dl;
        if (mx_device_lists_parse(txn.device_lists, &dl, &why) == 0)
            for (i = 0; i < dl.changed.n; i++)
                touch(mx_str_list_at(&dl.changed, i));
        mx_otk_counts_foreach(txn.otk_counts, on_otk, &n, &why);
        mx_otk_count_of(txn.otk_counts, "@a:hs", "D", "signed_curve25519");
        mx_fallback_keys_foreach(txn.fallback_key_types, on_fallback, &n,
                                 &why);
    }
    json_decref(body);
    return 0;
}
