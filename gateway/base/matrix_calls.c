#include "gateway/base/matrix_calls.h"

#include "common/log.h"
#include "common/mem.h"
#include "gateway/base/context.h"
#include "gateway/base/effects.h"
#include "gateway/base/queues.h"
#include "store/store.h"

#include <stdlib.h>

int matrix_call_enqueue(struct gateway *gw, const char *queue,
                        struct mx_request *req)
{
    /* The stored form is the one rows have always had, so rows written
     * before an upgrade replay after it. */
    json_t *call = mx_request_to_json(req);
    mx_request_free(req);
    char *payload = json_dumps(call, JSON_COMPACT);
    json_decref(call);
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
    json_t *call = json_loads(it->payload, 0, NULL);
    const char *why = "not JSON";
    struct mx_request *req = call ? mx_request_from_json(call, &why) : NULL;
    json_decref(call);
    if (!req) {
        log_error("matrix_calls: malformed outbox item %lld (%s); dropping "
                  "it", (long long)it->id, why);
        queues_done(gw, it->queue, it->id);
        return;
    }
    struct call_job *j = xcalloc(1, sizeof *j);
    j->gw = gw;
    j->item_id = it->id;
    j->queue = xstrdup(it->queue);
    j->what = xasprintf("%s %s", req->method, req->path);
    /* 0 attempts: transient failures (the homeserver down) are retried
     * until it answers. */
    mx_request_send(gw->mx, req, 0, on_answer, j);
}
