/*
 * h_counters.c - create, list, increment and read counters (admins
 * create; game servers and admins increment; anyone reads).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "boards.h" /* RK_WOULD_BLOCK */
#include "counter_store.h"
#include "counters.h"
#include "handlers.h"
#include "idem.h"
#include "log.h"
#include "store_async.h"
#include "validate.h"

static Rankd__Counter *counter_message(rpc_call *call, const counter *c) {
    Rankd__Counter *m = arena_alloc(&call->w->arena, sizeof(*m));
    counter *copy = arena_alloc(&call->w->arena, sizeof(*copy));
    if (m == NULL || copy == NULL) return NULL;
    *copy = *c; /* the message points into this copy, which lives as long as the reply */
    rankd__counter__init(m);
    m->game = copy->game;
    m->name = copy->name;
    m->has_shards = m->has_stale_ms = m->has_created_at = 1;
    m->shards = (uint32_t)copy->shards;
    m->stale_ms = (uint32_t)copy->stale_ms;
    m->created_at = copy->created_at;
    return m;
}

static int validate_counter(const Rankd__Counter *in, counter *out, rk_status *st) {
    int rc;
    if (in == NULL) return rk_status_set(st, RK_INVALID_ARGUMENT, "counter is required");
    if ((rc = validate_id("game", in->game, st)) != RK_OK || (rc = validate_id("name", in->name, st)) != RK_OK)
        return rc;
    memset(out, 0, sizeof(*out));
    snprintf(out->game, sizeof(out->game), "%s", in->game);
    snprintf(out->name, sizeof(out->name), "%s", in->name);
    out->shards = in->has_shards && in->shards ? (int)in->shards : 1;
    if (in->has_shards && in->shards > COUNTER_SHARDS_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "shards must be between 1 and %d, not %u", COUNTER_SHARDS_MAX,
                             in->shards);
    out->stale_ms = in->has_stale_ms ? (int)in->stale_ms : COUNTER_STALE_MS_DEFAULT;
    if (in->has_stale_ms && in->stale_ms > COUNTER_STALE_MS_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "stale_ms must be at most %d, not %u", COUNTER_STALE_MS_MAX,
                             in->stale_ms);
    return RK_OK;
}

int h_create_counter(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__CreateCounterRequest *req = (const Rankd__CreateCounterRequest *)m;
    counter c;
    int rc;
    if ((rc = validate_counter(req->counter, &c, st)) != RK_OK) return rc;
    if ((rc = counters_create(call->srv->counters, call->w->pg, &c, st)) != RK_OK) return rc;
    rk_status live;
    if (cstore_set_live(call->w->redis, &c, &live) != RK_OK)
        log_warn("a new counter's live markers (split layout) are not in Redis; they are set at the next start or "
                 "restore",
                 "game=%s name=%s error=\"%s\"", c.game, c.name, live.message);
    log_info("counter created", "game=%s name=%s shards=%d", c.game, c.name, c.shards);
    NEW(call, rep, Rankd__CounterReply, rankd__counter_reply__init);
    if ((rep->counter = counter_message(call, &c)) == NULL)
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    *out = &rep->base;
    return RK_OK;
}

int h_list_counters(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__ListCountersRequest *req = (const Rankd__ListCountersRequest *)m;
    counter *all = NULL;
    size_t n = 0;
    int rc;
    if (req->game && req->game[0] && (rc = validate_id("game", req->game, st)) != RK_OK) return rc;
    if ((rc = cstore_pg_list(call->w->pg, req->game, &all, &n, st)) != RK_OK) return rc;
    Rankd__ListCountersReply *rep = arena_alloc(&call->w->arena, sizeof(*rep));
    Rankd__Counter **list = ARENA_ARRAY(call, Rankd__Counter *, n);
    rc = RK_OK;
    if (rep == NULL || list == NULL) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == RK_OK && i < n; i++)
        if ((list[i] = counter_message(call, &all[i])) == NULL)
            rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    free(all);
    if (rc != RK_OK) return rc;
    rankd__list_counters_reply__init(rep);
    rep->n_counters = n;
    rep->counters = list;
    *out = &rep->base;
    return RK_OK;
}

/* What both lanes check before counting: the request, the caller, the
 * counter (with pg NULL from memory only: RK_WOULD_BLOCK on a miss) and
 * the caller's scoped idempotency key (*key NULL without one). */
static int incr_checked(rpc_call *call, const Rankd__IncrRequest *req, pgstore *pg, counter *c, char **key,
                        rk_status *st) {
    int rc;
    if ((rc = validate_id("game", req->game, st)) != RK_OK || (rc = validate_id("name", req->name, st)) != RK_OK)
        return rc;
    if (!req->has_delta) return rk_status_set(st, RK_INVALID_ARGUMENT, "delta is required");
    if (req->delta > SCORE_LIMIT || req->delta < -SCORE_LIMIT)
        return rk_status_set(st, RK_OUT_OF_RANGE, "delta must be within +-2^53");
    /* Permission before existence: a caller may not learn which counters
     * another game has. */
    if ((rc = auth_can_count(&call->who, req->game, st)) != RK_OK) return rc;
    if ((rc = counters_get(call->srv->counters, pg, req->game, req->name, c, st)) != RK_OK) return rc;
    *key = NULL;
    if (call->idempotency_key) {
        size_t cap = strlen(call->idempotency_key) + IDEM_SCOPE_MAX + 1;
        if ((*key = arena_alloc(&call->w->arena, cap)) == NULL)
            return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        int api = call->who.kind == WHO_APIKEY;
        idem_scope(*key, cap, api, api ? call->who.key_id : call->who.user_id, call->idempotency_key);
    }
    return RK_OK;
}

static int incr_reply(rpc_call *call, int replayed, ProtobufCMessage **out, rk_status *st) {
    NEW(call, rep, Rankd__IncrReply, rankd__incr_reply__init);
    rep->has_replayed = 1;
    rep->replayed = replayed;
    *out = &rep->base;
    return RK_OK;
}

int h_incr(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__IncrRequest *req = (const Rankd__IncrRequest *)m;
    server *srv = call->srv;
    counter c;
    char *key;
    int rc;
    if ((rc = incr_checked(call, req, call->w->pg, &c, &key, st)) != RK_OK) return rc;
    int replayed = 0, degraded = 0;
    if ((rc = counters_incr(srv->counters, srv->recovery, call->w->redis, call->w->pg, &c, req->delta, key,
                            srv->cfg.idempotency_ttl, srv->cfg.window_retention, &replayed, &degraded, st)) != RK_OK)
        return rc;
    call->degraded = degraded;
    return incr_reply(call, replayed, out, st);
}

static void incr_cb(void *arg, const struct redisReply *rep) {
    rpc_call *call = arg;
    rk_status st;
    rk_status_clear(&st);
    ProtobufCMessage *reply = NULL;
    int replayed = 0, rc;
    /* Lost before its answer came: whether it counted is not known, so it
     * is not run again; a retry with the idempotency key is safe. */
    if (rep == NULL)
        rc = rk_status_set(&st, RK_UNAVAILABLE, "Redis connection lost; the increment may or may not be counted");
    else if ((rc = cstore_incr_parse(rep, &replayed, &st)) == RK_OK)
        rc = incr_reply(call, replayed, &reply, &st);
    call->done(call, rc, reply, &st);
}

/* The event loops: one FCALL on the loop's connection; a counter not in
 * memory, or a Redis that does not serve, goes to the workers. */
int f_incr(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    (void)out;
    const Rankd__IncrRequest *req = (const Rankd__IncrRequest *)m;
    server *srv = call->srv;
    counter c;
    char *key;
    int rc = incr_checked(call, req, NULL, &c, &key, st);
    if (rc == RK_WOULD_BLOCK) return RPC_SLOW;
    if (rc != RK_OK) return rc;
    cincr_cmd *cmd = arena_alloc(&call->w->arena, sizeof(*cmd));
    if (cmd == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if (counters_incr_prepare(srv->counters, srv->recovery, &c, req->delta, key, srv->cfg.idempotency_ttl,
                              srv->cfg.window_retention, cmd) != RK_OK ||
        rasync_command(call->ra, cmd->argc, cmd->argv, incr_cb, call, st) != RK_OK) {
        rk_status_clear(st);
        return RPC_SLOW;
    }
    return RPC_PENDING;
}

static int value_reply(rpc_call *call, const counter *c, int k, const counter_totals *t, ProtobufCMessage **out,
                       rk_status *st) {
    NEW(call, rep, Rankd__CounterValue, rankd__counter_value__init);
    char *label = arena_alloc(&call->w->arena, WINDOW_LABEL_MAX);
    counter *copy = arena_alloc(&call->w->arena, sizeof(*copy));
    if (label == NULL || copy == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    memcpy(label, t->label[k], WINDOW_LABEL_MAX);
    *copy = *c;
    rep->game = copy->game;
    rep->name = copy->name;
    rep->has_window = rep->has_total = rep->has_read_at_us = 1;
    rep->window = (Rankd__Window)k;
    rep->label = label;
    rep->total = t->total[k];
    rep->read_at_us = t->read_at_us;
    *out = &rep->base;
    return RK_OK;
}

static int get_checked(rpc_call *call, const Rankd__GetCounterRequest *req, pgstore *pg, counter *c, int *k,
                       rk_status *st) {
    int rc;
    *k = req->has_window ? (int)req->window : WINDOW_ALL;
    if (*k < WINDOW_ALL || *k >= WINDOW_KINDS) return rk_status_set(st, RK_INVALID_ARGUMENT, "unknown window %d", *k);
    if ((rc = validate_id("game", req->game, st)) != RK_OK || (rc = validate_id("name", req->name, st)) != RK_OK)
        return rc;
    return counters_get(call->srv->counters, pg, req->game, req->name, c, st);
}

int h_get_counter(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__GetCounterRequest *req = (const Rankd__GetCounterRequest *)m;
    server *srv = call->srv;
    counter c;
    int k, rc;
    if ((rc = get_checked(call, req, call->w->pg, &c, &k, st)) != RK_OK) return rc;
    counter_totals t;
    int degraded = 0;
    if ((rc = counters_read(srv->counters, srv->recovery, call->w->redis, call->w->pg, &c, &t, &degraded, st)) != RK_OK)
        return rc;
    call->degraded = degraded;
    return value_reply(call, &c, k, &t, out, st);
}

/* The event loops answer from the cached totals; a read that needs a
 * round trip (at most one per counter per stale_ms) goes to the workers. */
int f_get_counter(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__GetCounterRequest *req = (const Rankd__GetCounterRequest *)m;
    counter c;
    counter_totals t;
    int k, rc = get_checked(call, req, NULL, &c, &k, st);
    if (rc == RK_WOULD_BLOCK) return RPC_SLOW;
    if (rc != RK_OK) return rc;
    if (!counters_cached(call->srv->counters, call->srv->recovery, &c, &t)) return RPC_SLOW;
    return value_reply(call, &c, k, &t, out, st);
}
