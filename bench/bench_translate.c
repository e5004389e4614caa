/* Figure 4: stanza -> event and event -> stanza translations per second on
 * one core, in process. Each iteration does the whole pure path the
 * gateway runs per message:
 *   XMPP -> Matrix: parse the stanza from the stream, read the message,
 *                   map the addresses, make the outbox copy, translate,
 *                   build and serialise the event content JSON;
 *   Matrix -> XMPP: parse the event JSON (with json_read, as the daemon
 *                   parses a transaction body; this is one event's
 *                   share of it), read the message, translate,
 *                   build and serialise the stanza XML.
 * Prints one JSON object. Usage: bench_translate [seconds-per-direction] */
#include "gateway/core/ids.h"
#include "gateway/core/translate.h"
#include "matrix/event.h"
#include "matrix/json_read.h"
#include "matrix/json_write.h"
#include "xep/message.h"

#include <expat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char stanza_xml[] =
    "<message xmlns='jabber:component:accept' from='alice@xmpp.example/phone' "
    "to='bob%matrix.org@gw.xmpp.example' id='a1b2c3d4' type='chat'>"
    "<body>Hello Bob, are we still on for lunch tomorrow? \xf0\x9f\x98\x80"
    "</body><origin-id xmlns='urn:xmpp:sid:0' id='a1b2c3d4'/>"
    "<request xmlns='urn:xmpp:receipts'/></message>";

static const char event_json[] =
    "{\"type\":\"m.room.message\",\"room_id\":\"!abcdefgh:matrix.org\","
    "\"sender\":\"@bob:matrix.org\",\"event_id\":\"$0123456789abcdef\","
    "\"origin_server_ts\":1790000000000,\"content\":{\"msgtype\":\"m.text\","
    "\"body\":\"Sure, noon at the usual place \xf0\x9f\x91\x8d\"}}";

static const struct ids IDS = { "_xmpp_", "_xmpp_", "hs.example",
                                "gw.xmpp.example", "_xmpp" };

/* The daemon gets stanzas from libstrophe's stream parser: one expat
 * parser per connection, fed the bytes as they come, building a stanza
 * tree per top-level element. That parser is not public, so this is a
 * stand-in doing the same work with the same expat. */
#define MAX_DEPTH 16
struct stream {
    XML_Parser parser;
    xmpp_ctx_t *ctx;
    int depth;
    xmpp_stanza_t *open[MAX_DEPTH];
    xmpp_stanza_t *done;
};

static void on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
    struct stream *s = ud;
    s->depth++;
    if (s->depth == 1 || s->depth >= MAX_DEPTH)
        return; /* <stream:stream> itself */
    xmpp_stanza_t *st = xmpp_stanza_new(s->ctx);
    xmpp_stanza_set_name(st, name);
    for (; attrs[0]; attrs += 2)
        xmpp_stanza_set_attribute(st, attrs[0], attrs[1]);
    if (s->depth > 2) {
        xmpp_stanza_add_child(s->open[s->depth - 1], st);
        xmpp_stanza_release(st); /* the parent holds it */
    }
    s->open[s->depth] = st;
}

static void on_end(void *ud, const XML_Char *name)
{
    (void)name;
    struct stream *s = ud;
    if (s->depth == 2)
        s->done = s->open[2];
    s->depth--;
}

static void on_text(void *ud, const XML_Char *text, int len)
{
    struct stream *s = ud;
    if (s->depth < 2)
        return;
    xmpp_stanza_t *t = xmpp_stanza_new(s->ctx);
    xmpp_stanza_set_text_with_size(t, text, (size_t)len);
    xmpp_stanza_add_child(s->open[s->depth], t);
    xmpp_stanza_release(t);
}

static void stream_open(struct stream *s, xmpp_ctx_t *ctx)
{
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    s->parser = XML_ParserCreate(NULL);
    XML_SetUserData(s->parser, s);
    XML_SetElementHandler(s->parser, on_start, on_end);
    XML_SetCharacterDataHandler(s->parser, on_text);
    static const char head[] =
        "<stream:stream xmlns='jabber:component:accept' "
        "xmlns:stream='http://etherx.jabber.org/streams' from='xmpp.example'>";
    XML_Parse(s->parser, head, (int)strlen(head), 0);
}

/* Feeds one stanza's bytes; returns the stanza (caller releases). */
static xmpp_stanza_t *stream_feed(struct stream *s, const char *xml)
{
    s->done = NULL;
    if (XML_Parse(s->parser, xml, (int)strlen(xml), 0) != XML_STATUS_OK)
        return NULL;
    return s->done;
}

static long run_to_matrix(xmpp_ctx_t *ctx, double seconds)
{
    long n = 0;
    double end = now_s() + seconds;
    struct stream stream;
    stream_open(&stream, ctx);
    while ((n & 1023) || now_s() < end) {
        xmpp_stanza_t *st = stream_feed(&stream, stanza_xml);
        struct xmsg m;
        const char *why;
        if (!st || xmsg_parse(st, &m, &why) < 0)
            abort();
        /* Addresses both ways and the outbox copy, as the daemon does. */
        char *ghost, *target;
        enum ids_matrix_kind kind;
        if (ids_jid_to_ghost(&IDS, m.from, &ghost, &why) < 0 ||
            ids_jid_to_matrix(&IDS, m.to, &target, &kind, &why) < 0)
            abort();
        free(xmsg_stanza_to_xml(st));
        free(ghost);
        free(target);
        struct translated_text t;
        if (translate_to_matrix(&m, 60000, &t, &why) < 0)
            abort();
        json_t *content = mx_message_content(t.msgtype, t.body);
        /* As mx_client_call writes the request body. */
        free(json_write_compact(content, NULL));
        json_decref(content);
        free(t.body);
        xmsg_free(&m);
        xmpp_stanza_release(st);
        n++;
    }
    XML_ParserFree(stream.parser);
    return n;
}

static long run_to_xmpp(xmpp_ctx_t *ctx, double seconds)
{
    long n = 0;
    double end = now_s() + seconds;
    while ((n & 1023) || now_s() < end) {
        json_t *ev = json_read(event_json, sizeof event_json - 1, NULL, 0);
        struct mx_event e;
        struct mx_message msg;
        const char *why, *type;
        if (!ev || mx_event_parse(ev, &e, &why) < 0 ||
            mx_message_parse(&e, &msg, &why) < 0)
            abort();
        char *body;
        if (translate_to_xmpp(&msg, 262144, &body, &type, &why) < 0)
            abort();
        char *from;
        if (ids_matrix_to_jid(&IDS, e.sender, &from, &why) < 0)
            abort();
        struct xmsg out = { .from = from,
                            .to = "alice@xmpp.example", .id = (char *)e.event_id,
                            .type = (char *)type, .body = body,
                            .origin_id = (char *)e.event_id };
        xmpp_stanza_t *st = xmsg_build(ctx, &out);
        free(xmsg_stanza_to_xml(st));
        xmpp_stanza_release(st);
        free(body);
        free(from);
        json_decref(ev);
        n++;
    }
    return n;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    xmpp_initialize();
    xmpp_ctx_t *ctx = xmpp_ctx_new(NULL, NULL);
    run_to_matrix(ctx, 0.2); /* warm up */
    double t0 = now_s();
    long a = run_to_matrix(ctx, seconds);
    double t1 = now_s();
    long b = run_to_xmpp(ctx, seconds);
    double t2 = now_s();
    printf("{\"to_matrix_per_s\": %.0f, \"to_xmpp_per_s\": %.0f, "
           "\"to_matrix_us\": %.2f, \"to_xmpp_us\": %.2f}\n",
           a / (t1 - t0), b / (t2 - t1), (t1 - t0) * 1e6 / a,
           (t2 - t1) * 1e6 / b);
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
    return 0;
}
