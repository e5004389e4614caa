#include "gateway/matrix_calls.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/gateway.h"
#include "gateway/queues.h"
#include "matrix/client.h"
#include "store/store.h"

#include <stdlib.h>

/* A call kept in the outbox (OUTBOX_MATRIX_CALL) until the homeserver
 * answers it: the one place its stored JSON is written and read. */
struct call_item {
    const char *method;
    const char *path;
    json_t *body; /* or NULL */
};

/* The payload to store; the caller frees it. Takes the reference to
 * item->body. */
static char *call_item_encode(const struct call_item *item)
{
    json_t *call = json_pack("{s:s, s:s}", "method", item->method, "path",
                             item->path);
    if (item->body)
        json_object_set_new(call, "body", item->body);
    char *payload = json_dumps(call, JSON_COMPACT);
    json_decref(call);
    return payload;
}

/* Fills *out with views into the returned tree, which the caller drops
 * with json_decref(); NULL with *why set when the payload is not a call. */
static json_t *call_item_decode(const char *payload, struct call_item *out,
                                const char **why)
{
    json_t *tree = json_loads(payload, 0, NULL);
    out->body = NULL;
    if (!tree || json_unpack_ex(tree, NULL, 0, "{s:s, s:s, s?o}", "method",
                                &out->method, "path", &out->path, "body",
                                &out->body) < 0) {
        json_decref(tree);
        *why = "not {method, path} strings";
        return NULL;
    }
    return tree;
}

int matrix_call_enqueue(struct gateway *gw, const char *queue,
                        const char *method, const char *path, json_t *body)
{
    struct call_item item = { method, path, body };
    char *payload = call_item_encode(&item);
    int64_t id = store_outbox_add(gw->store, queue, OUTBOX_MATRIX_CALL,
                                  payload, gateway_now_ms());
    free(payload);
    if (id < 0)
        return -1;
    queues_kick(gw, queue);
    return 0;
}

struct call_job {
    struct gateway *gw;
    int64_t item_id;
    char *queue;
    char *what; /* "METHOD path", for the log */
};

static void on_answer(const struct mx_response *r, void *ud)
{
    struct call_job *j = ud;
    /* Transient failures were retried by the client already: what comes
     * here is an answer, and a refusal will not change by asking again. */
    if (r->status < 200 || r->status >= 300)
        log_warn("matrix_calls: %s: %s", j->what,
                 r->error ? r->error : "failed");
    queues_done(j->gw, j->queue, j->item_id);
    free(j->queue);
    free(j->what);
    free(j);
}

void matrix_call_process(struct gateway *gw,
                         const struct store_outbox_item *it)
{
    struct call_item item;
    const char *why;
    json_t *call = call_item_decode(it->payload, &item, &why);
    if (!call) {
        log_error("matrix_calls: malformed outbox item %lld (%s); dropping "
                  "it", (long long)it->id, why);
        queues_done(gw, it->queue, it->id);
        return;
    }
    const char *method = item.method, *path = item.path;
    struct call_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->item_id = it->id;
    j->queue = xstrdup(it->queue);
    j->what = xasprintf("%s %s", method, path);
    json_t *body = item.body;
    /* 0 attempts: transient failures (the homeserver down) are retried
     * until it answers. */
    mx_client_call(gw->mx, method, path, body ? json_incref(body) : NULL, 0,
                   on_answer, j);
    json_decref(call);
}
