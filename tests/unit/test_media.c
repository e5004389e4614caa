/* Files: sniffing types and image sizes (gateway/media_sniff.c), the media
 * proxy's signed URLs and the Matrix <-> XMPP body rules
 * (gateway/media.c), XEP-0066 parsing and building (xep/message.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gateway/base/context.h"
#include "gateway/features/m2x_env.h"
#include "gateway/features/media.h"
#include "gateway/core/media_sniff.h"
#include "xep/message.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* A 3x2 PNG's first 24 bytes: signature, then the IHDR chunk. */
static const unsigned char PNG[] = {
    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D',
    'R', 0, 0, 0, 3, 0, 0, 0, 2, 8, 2, 0, 0, 0
};

static void sniffs_types(void **state)
{
    (void)state;
    assert_string_equal(media_sniff_mime(PNG, sizeof PNG), "image/png");
    assert_string_equal(media_sniff_mime((const unsigned char *)"GIF89a..",
                                         8), "image/gif");
    assert_string_equal(media_sniff_mime((const unsigned char *)
                                         "\xff\xd8\xff\xe0", 4),
                        "image/jpeg");
    assert_string_equal(media_sniff_mime((const unsigned char *)
                                         "RIFF\0\0\0\0WEBPVP8 ", 16),
                        "image/webp");
    assert_string_equal(media_sniff_mime((const unsigned char *)
                                         "\0\0\0\x18" "ftypmp42", 12),
                        "video/mp4");
    assert_string_equal(media_sniff_mime((const unsigned char *)"OggS", 4),
                        "audio/ogg");
    assert_string_equal(media_sniff_mime((const unsigned char *)"%PDF-1.7",
                                         8), "application/pdf");
    assert_null(media_sniff_mime((const unsigned char *)"hello", 5));
    assert_null(media_sniff_mime(PNG, 4)); /* truncated magic */
    assert_null(media_sniff_mime(NULL, 0));
}

static void picks_the_servers_type_unless_generic(void **state)
{
    (void)state;
    char *m = media_pick_mime("Image/PNG; charset=x", PNG, sizeof PNG);
    assert_string_equal(m, "image/png");
    free(m);
    m = media_pick_mime("application/octet-stream", PNG, sizeof PNG);
    assert_string_equal(m, "image/png");
    free(m);
    m = media_pick_mime("not a type", PNG, sizeof PNG);
    assert_string_equal(m, "image/png");
    free(m);
    m = media_pick_mime(NULL, (const unsigned char *)"text", 4);
    assert_string_equal(m, "application/octet-stream");
    free(m);
    m = media_pick_mime("text/plain", (const unsigned char *)"text", 4);
    assert_string_equal(m, "text/plain");
    free(m);
}

static void reads_image_sizes(void **state)
{
    (void)state;
    int w = 0, h = 0;
    assert_int_equal(media_image_size(PNG, sizeof PNG, &w, &h), 0);
    assert_int_equal(w, 3);
    assert_int_equal(h, 2);
    assert_int_equal(media_image_size(PNG, 20, &w, &h), -1); /* cut short */

    const unsigned char gif[] = "GIF89a\x40\x01\xf0\x00";
    assert_int_equal(media_image_size(gif, 10, &w, &h), 0);
    assert_int_equal(w, 320);
    assert_int_equal(h, 240);

    /* SOI, an APP0 segment to skip, then SOF0 with height 480, width 640. */
    const unsigned char jpeg[] = {
        0xff, 0xd8, 0xff, 0xe0, 0, 4, 'J', 'F', 0xff, 0xc0, 0, 17, 8,
        0x01, 0xe0, 0x02, 0x80, 3
    };
    assert_int_equal(media_image_size(jpeg, sizeof jpeg, &w, &h), 0);
    assert_int_equal(w, 640);
    assert_int_equal(h, 480);
    assert_int_equal(media_image_size(jpeg, 12, &w, &h), -1);
    /* A segment length running past the end, or below 2. */
    const unsigned char bad[] = { 0xff, 0xd8, 0xff, 0xe0, 0, 1, 0, 0 };
    assert_int_equal(media_image_size(bad, sizeof bad, &w, &h), -1);

    unsigned char vp8x[30] = "RIFF\0\0\0\0WEBPVP8X";
    vp8x[24] = 99;  /* width - 1 = 99 */
    vp8x[27] = 49;  /* height - 1 = 49 */
    assert_int_equal(media_image_size(vp8x, sizeof vp8x, &w, &h), 0);
    assert_int_equal(w, 100);
    assert_int_equal(h, 50);

    unsigned char vp8l[25] = "RIFF\0\0\0\0WEBPVP8L";
    vp8l[20] = 0x2f;
    /* 14 bits width - 1 = 15, then 14 bits height - 1 = 7. */
    uint32_t bits = 15u | 7u << 14;
    vp8l[21] = (unsigned char)bits;
    vp8l[22] = (unsigned char)(bits >> 8);
    vp8l[23] = (unsigned char)(bits >> 16);
    vp8l[24] = (unsigned char)(bits >> 24);
    assert_int_equal(media_image_size(vp8l, sizeof vp8l, &w, &h), 0);
    assert_int_equal(w, 16);
    assert_int_equal(h, 8);

    unsigned char vp8[30] = "RIFF\0\0\0\0WEBPVP8 ";
    memcpy(vp8 + 23, "\x9d\x01\x2a", 3);
    vp8[26] = 64;  /* width 64 */
    vp8[28] = 32;  /* height 32 */
    assert_int_equal(media_image_size(vp8, sizeof vp8, &w, &h), 0);
    assert_int_equal(w, 64);
    assert_int_equal(h, 32);

    assert_int_equal(media_image_size((const unsigned char *)"%PDF-", 5, &w,
                                      &h), -1);
}

static void msgtypes(void **state)
{
    (void)state;
    assert_string_equal(media_msgtype("image/png"), "m.image");
    assert_string_equal(media_msgtype("video/mp4"), "m.video");
    assert_string_equal(media_msgtype("audio/ogg"), "m.audio");
    assert_string_equal(media_msgtype("application/pdf"), "m.file");
    assert_string_equal(media_msgtype(NULL), "m.file");
}

static void file_names_from_urls(void **state)
{
    (void)state;
    const struct { const char *url, *name; } cases[] = {
        { "https://up.example/abc/My%20Photo.jpg?x=1#f", "My Photo.jpg" },
        { "https://up.example/", "file" },
        { "https://up.example", "file" },
        { "https://up.example/a/..", "file" },
        { "https://up.example/a%2Fb%5Cc%00d", "a_b_c_d" },
        { "https://up.example/%22quoted%22;x", "_quoted__x" },
        { "https://up.example/bad%ffutf8", "bad\xef\xbf\xbdutf8" },
        { "https://up.example/trailing%4", "trailing%4" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *n = media_filename_from_url(cases[i].url);
        assert_string_equal(n, cases[i].name);
        free(n);
    }
    char long_url[600] = "https://up.example/";
    memset(long_url + strlen(long_url), 'a', 500);
    char *n = media_filename_from_url(long_url);
    assert_int_equal(strlen(n), 200);
    free(n);
}

/* A gateway with just what gateway/features/media.c reads. */
static void fake_gateway(struct gateway *gw, const char *as_token)
{
    memset(gw, 0, sizeof *gw);
    gw->cfg.as_token = (char *)as_token;
    gw->cfg.media_url = (char *)"https://gw.example:8448";
    gw->cfg.media_max_bytes = 1000;
    gw->cfg.max_stanza_body = 262144;
    gw->media = media_new(gw);
}

static void proxy_urls_are_signed(void **state)
{
    (void)state;
    struct gateway a, b;
    fake_gateway(&a, "token-a");
    fake_gateway(&b, "token-b");
    const char *why = NULL;
    char *ua = media_proxy_url(a.media, "mxc://hs.example/AbC_-9", "a b.png",
                               &why);
    char *ua2 = media_proxy_url(a.media, "mxc://hs.example/AbC_-9",
                                "a b.png", &why);
    char *ub = media_proxy_url(b.media, "mxc://hs.example/AbC_-9", "a b.png",
                               &why);
    assert_non_null(ua);
    const char *prefix = "https://gw.example:8448/_isthmus/media/v1/";
    assert_int_equal(strncmp(ua, prefix, strlen(prefix)), 0);
    const char *rest = ua + strlen(prefix);
    assert_int_equal(strspn(rest, "0123456789abcdef"), 64);
    assert_string_equal(rest + 64, "/hs.example/AbC_-9/a%20b.png");
    assert_string_equal(ua, ua2);          /* stable across calls */
    assert_string_not_equal(ua, ub);       /* keyed by the as_token */
    free(ua);
    free(ua2);
    free(ub);

    const char *bad[] = { "https://hs.example/x", "mxc://hs.example/",
                          "mxc://hs.example/a/b", "mxc:///id",
                          "mxc://hs example/id", "mxc://hs.example/../x" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why = NULL;
        assert_null(media_proxy_url(a.media, bad[i], "f", &why));
        assert_non_null(why);
    }
    media_free(a.media);
    media_free(b.media);
}

/* Through the one translation of a message (gateway/core/m2x.c), with the
 * gateway's real media proxy behind it. */
static void matrix_media_becomes_a_url(void **state)
{
    (void)state;
    struct gateway gw;
    fake_gateway(&gw, "t");
    struct m2x_env env;
    m2x_env_for(&gw, ROOM_DM, &env);
    const char *why = NULL;
    struct m2x_message out;
    struct mx_message msg = { .msgtype = "m.image", .body = "cat.png",
                              .url = "mxc://hs/abc", .size = 10 };
    assert_int_equal(m2x_translate(&msg, &env, &out, &why), 0);
    assert_string_equal(out.body, out.oob_url);
    assert_non_null(strstr(out.oob_url, "/hs/abc/cat.png"));
    m2x_message_free(&out);

    /* A caption (body differs from filename) goes first, on its own line. */
    struct mx_message cap = { .msgtype = "m.image", .body = "look at this",
                              .filename = "cat.png", .url = "mxc://hs/abc",
                              .size = -1 };
    assert_int_equal(m2x_translate(&cap, &env, &out, &why), 0);
    assert_int_equal(strncmp(out.body, "look at this\n", 13), 0);
    assert_string_equal(out.body + 13, out.oob_url);
    m2x_message_free(&out);

    struct mx_message big = { .msgtype = "m.file", .body = "big",
                              .url = "mxc://hs/abc", .size = 1001 };
    assert_int_equal(m2x_translate(&big, &env, &out, &why), -1);
    assert_non_null(strstr(why, "limit"));
    assert_null(out.oob_url);

    struct mx_message text = { .msgtype = "m.text", .body = "big",
                               .url = "mxc://hs/abc", .size = -1 };
    assert_int_equal(m2x_translate(&text, &env, &out, &why), 0);
    assert_string_equal(out.body, "big");
    assert_null(out.oob_url);
    m2x_message_free(&out);
    media_free(gw.media);
}

/* An encrypted file's URL seals its key: stable for the same file, keyed
 * by the as_token, and the key's text never in it. */
static void encrypted_file_urls_are_sealed(void **state)
{
    (void)state;
    struct gateway a, b;
    fake_gateway(&a, "token-a");
    fake_gateway(&b, "token-b");
    const char *k = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
    json_t *file = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:{s:s}}", "v", "v2", "url",
        "mxc://hs.example/Enc1", "key", "kty", "oct", "alg", "A256CTR", "k",
        k, "iv", "AQIDBAUGBwgAAAAAAAAAAA", "hashes", "sha256",
        "nBirBUqkUaZmcn6Ru3neLCudzpVafIGIrZQpThIKQ7Y");
    const char *why = NULL;
    char *ua = media_proxy_url_encrypted(a.media, file, "image/png",
                                         "c a t.png", &why);
    char *ua2 = media_proxy_url_encrypted(a.media, file, "image/png",
                                          "c a t.png", &why);
    char *ub = media_proxy_url_encrypted(b.media, file, "image/png",
                                         "c a t.png", &why);
    assert_non_null(ua);
    const char *prefix = "https://gw.example:8448/_isthmus/media/v1/e/";
    assert_int_equal(strncmp(ua, prefix, strlen(prefix)), 0);
    assert_non_null(strstr(ua, "/c%20a%20t.png"));
    assert_null(strstr(ua, k));
    assert_null(strstr(ua, "Enc1"));
    assert_string_equal(ua, ua2);
    assert_string_not_equal(ua, ub);
    free(ua);
    free(ua2);
    free(ub);
    /* Not AES-CTR: no URL, and a reason. */
    json_object_set_new(json_object_get(file, "key"), "alg",
                        json_string("A128GCM"));
    assert_null(media_proxy_url_encrypted(a.media, file, "image/png", "x",
                                          &why));
    assert_non_null(why);
    json_decref(file);
    media_free(a.media);
    media_free(b.media);
}

static void file_shares_from_xmpp(void **state)
{
    (void)state;
    struct xmsg m = { .body = (char *)" https://up/x.png\n",
                      .oob_url = (char *)"https://up/x.png" };
    assert_true(media_is_share(&m));
    m.body = (char *)"see https://up/x.png";
    assert_false(media_is_share(&m));
    m.body = (char *)"file:///etc/passwd";
    m.oob_url = (char *)"file:///etc/passwd";
    assert_false(media_is_share(&m));
    m.oob_url = NULL;
    assert_false(media_is_share(&m));
}

static void oob_parse_and_build(void **state)
{
    (void)state;
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    struct xmsg out = { .from = (char *)"a@x/r", .to = (char *)"b@y",
                        .type = (char *)"chat", .body = (char *)"u",
                        .oob_url = (char *)"https://h/u", .oob_desc = NULL };
    xmpp_stanza_t *st = xmsg_build(ctx, &out);
    struct xmsg in;
    const char *why;
    assert_int_equal(xmsg_parse(st, &in, &why), 0);
    assert_string_equal(in.oob_url, "https://h/u");
    assert_null(in.oob_desc);
    xmsg_free(&in);
    xmsg_add_oob(ctx, st, "https://second", "ignored");
    assert_int_equal(xmsg_parse(st, &in, &why), 0);
    assert_string_equal(in.oob_url, "https://h/u"); /* the first one wins */
    xmsg_free(&in);
    xmpp_stanza_release(st);
    xmpp_ctx_free(ctx);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    xmpp_initialize();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sniffs_types),
        cmocka_unit_test(picks_the_servers_type_unless_generic),
        cmocka_unit_test(reads_image_sizes),
        cmocka_unit_test(msgtypes),
        cmocka_unit_test(file_names_from_urls),
        cmocka_unit_test(encrypted_file_urls_are_sealed),
        cmocka_unit_test(proxy_urls_are_signed),
        cmocka_unit_test(matrix_media_becomes_a_url),
        cmocka_unit_test(file_shares_from_xmpp),
        cmocka_unit_test(oob_parse_and_build),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    xmpp_shutdown();
    return rc;
}
