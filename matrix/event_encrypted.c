#include "matrix/event_encrypted.h"

#include "matrix/event_fields.h"

#include <string.h>

int mx_megolm_content_parse(json_t *content, struct mx_megolm_content *out,
                            const char **why)
{
    memset(out, 0, sizeof *out);
    out->algorithm = mx_field_str(content, "algorithm");
    if (!out->algorithm || strcmp(out->algorithm, MX_MEGOLM) != 0) {
        *why = "not encrypted with Megolm";
        return -1;
    }
    out->ciphertext = mx_field_str(content, "ciphertext");
    out->session_id = mx_field_str(content, "session_id");
    out->sender_key = mx_field_str(content, "sender_key");
    out->device_id = mx_field_str(content, "device_id");
    if (!out->ciphertext || !out->session_id) {
        *why = "the encrypted event has no ciphertext or session_id";
        return -1;
    }
    return 0;
}

int mx_megolm_plain_parse(json_t *plain, struct mx_megolm_plain *out,
                          const char **why)
{
    memset(out, 0, sizeof *out);
    out->type = mx_field_str(plain, "type");
    out->content = mx_field_obj(plain, "content");
    out->room_id = mx_field_str(plain, "room_id");
    if (!out->type || !out->content || !out->room_id) {
        *why = "the decrypted event lacks type, content or room_id";
        return -1;
    }
    return 0;
}

int mx_olm_content_parse(json_t *content, const char *our_key,
                         struct mx_olm_content *out, const char **why)
{
    memset(out, 0, sizeof *out);
    const char *alg = mx_field_str(content, "algorithm");
    if (!alg || strcmp(alg, MX_OLM) != 0) {
        *why = "not encrypted with Olm";
        return -1;
    }
    out->sender_key = mx_field_str(content, "sender_key");
    json_t *mine = mx_field_obj(mx_field_obj(content, "ciphertext"), our_key);
    out->body = mx_field_str(mine, "body");
    out->type = mx_field_int(mine, "type", -1);
    if (!out->sender_key || !out->body ||
        (out->type != 0 && out->type != 1)) {
        *why = "the Olm message holds no ciphertext for this device";
        return -1;
    }
    return 0;
}

int mx_olm_plain_parse(json_t *plain, struct mx_olm_plain *out,
                       const char **why)
{
    memset(out, 0, sizeof *out);
    out->type = mx_field_str(plain, "type");
    out->content = mx_field_obj(plain, "content");
    out->sender = mx_field_str(plain, "sender");
    out->recipient = mx_field_str(plain, "recipient");
    out->recipient_ed25519 =
        mx_field_str(mx_field_obj(plain, "recipient_keys"), "ed25519");
    out->sender_ed25519 = mx_field_str(mx_field_obj(plain, "keys"),
                                       "ed25519");
    if (!out->type || !out->content || !out->sender || !out->recipient ||
        !out->recipient_ed25519) {
        *why = "the decrypted to-device event lacks type, content, sender, "
               "recipient or recipient_keys";
        return -1;
    }
    return 0;
}

int mx_room_key_parse(json_t *content, struct mx_room_key *out,
                      const char **why)
{
    memset(out, 0, sizeof *out);
    out->algorithm = mx_field_str(content, "algorithm");
    out->room_id = mx_field_str(content, "room_id");
    out->session_id = mx_field_str(content, "session_id");
    out->session_key = mx_field_str(content, "session_key");
    out->sender_key = mx_field_str(content, "sender_key");
    out->sender_claimed_ed25519 =
        mx_field_str(content, "sender_claimed_ed25519_key");
    if (!out->algorithm || strcmp(out->algorithm, MX_MEGOLM) != 0) {
        *why = "the room key is not a Megolm key";
        return -1;
    }
    if (!out->room_id || !out->session_id || !out->session_key) {
        *why = "the room key lacks room_id, session_id or session_key";
        return -1;
    }
    return 0;
}

int mx_withheld_parse(json_t *content, struct mx_withheld *out,
                      const char **why)
{
    memset(out, 0, sizeof *out);
    out->room_id = mx_field_str(content, "room_id");
    out->session_id = mx_field_str(content, "session_id");
    out->code = mx_field_str(content, "code");
    out->reason = mx_field_str(content, "reason");
    if (!out->code) {
        *why = "the withheld notice has no code";
        return -1;
    }
    return 0;
}

int mx_key_request_parse(json_t *content, struct mx_key_request *out,
                         const char **why)
{
    memset(out, 0, sizeof *out);
    out->action = mx_field_str(content, "action");
    out->requesting_device_id = mx_field_str(content, "requesting_device_id");
    out->request_id = mx_field_str(content, "request_id");
    if (!out->action || !out->requesting_device_id || !out->request_id) {
        *why = "the key request has no action, device or request id";
        return -1;
    }
    if (strcmp(out->action, "request") != 0)
        return 0;
    json_t *body = mx_field_obj(content, "body");
    out->algorithm = mx_field_str(body, "algorithm");
    out->room_id = mx_field_str(body, "room_id");
    out->session_id = mx_field_str(body, "session_id");
    out->sender_key = mx_field_str(body, "sender_key");
    if (!out->algorithm || !out->room_id || !out->session_id) {
        *why = "the key request names no algorithm, room or session";
        return -1;
    }
    return 0;
}
