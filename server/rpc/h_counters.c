/*
 * h_counters.c - create, list, increment and read counters (admins
 * create; game servers and admins increment; anyone reads).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "counter_store.h"
#include "counters.h"
#include "handlers.h"
#include "idem.h"
#include "log.h"
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

/* The counter a request names: game and name checked, then looked up. */
static int named(rpc_call *call, const char *game, const char *name, counter *out, rk_status *st) {
    int rc;
    if ((rc = validate_id("game", game, st)) != RK_OK || (rc = validate_id("name", name, st)) != RK_OK) return rc;
    return counters_get(call->srv->counters, call->w->pg, game, name, out, st);
}

int h_create_counter(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__CreateCounterRequest *req = (const Rankd__CreateCounterRequest *)m;
    counter c;
    int rc;
    if ((rc = validate_counter(req->counter, &c, st)) != RK_OK) return rc;
    if ((rc = counters_create(call->srv->counters, call->w->pg, &c, st)) != RK_OK) return rc;
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

int h_incr(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__IncrRequest *req = (const Rankd__IncrRequest *)m;
    server *srv = call->srv;
    counter c;
    int rc;
    if ((rc = validate_id("game", req->game, st)) != RK_OK || (rc = validate_id("name", req->name, st)) != RK_OK)
        return rc;
    if (!req->has_delta) return rk_status_set(st, RK_INVALID_ARGUMENT, "delta is required");
    if (req->delta > SCORE_LIMIT || req->delta < -SCORE_LIMIT)
        return rk_status_set(st, RK_OUT_OF_RANGE, "delta must be within +-2^53");
    /* Permission before existence: a caller may not learn which counters
     * another game has. */
    if ((rc = auth_can_count(&call->who, req->game, st)) != RK_OK) return rc;
    if ((rc = named(call, req->game, req->name, &c, st)) != RK_OK) return rc;
    char *key = NULL;
    if (call->idempotency_key) {
        size_t cap = strlen(call->idempotency_key) + IDEM_SCOPE_MAX + 1;
        if ((key = arena_alloc(&call->w->arena, cap)) == NULL)
            return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        int api = call->who.kind == WHO_APIKEY;
        idem_scope(key, cap, api, api ? call->who.key_id : call->who.user_id, call->idempotency_key);
    }
    int replayed = 0, degraded = 0;
    if ((rc = counters_incr(srv->counters, srv->recovery, call->w->redis, call->w->pg, &c, req->delta, key,
                            srv->cfg.idempotency_ttl, srv->cfg.window_retention, &replayed, &degraded, st)) != RK_OK)
        return rc;
    call->degraded = degraded;
    NEW(call, rep, Rankd__IncrReply, rankd__incr_reply__init);
    rep->has_replayed = 1;
    rep->replayed = replayed;
    *out = &rep->base;
    return RK_OK;
}

int h_get_counter(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__GetCounterRequest *req = (const Rankd__GetCounterRequest *)m;
    server *srv = call->srv;
    counter c;
    int rc;
    int k = req->has_window ? (int)req->window : WINDOW_ALL;
    if (k < WINDOW_ALL || k >= WINDOW_KINDS) return rk_status_set(st, RK_INVALID_ARGUMENT, "unknown window %d", k);
    if ((rc = named(call, req->game, req->name, &c, st)) != RK_OK) return rc;
    counter_totals t;
    int degraded = 0;
    if ((rc = counters_read(srv->counters, srv->recovery, call->w->redis, call->w->pg, &c, &t, &degraded, st)) != RK_OK)
        return rc;
    call->degraded = degraded;
    NEW(call, rep, Rankd__CounterValue, rankd__counter_value__init);
    char *label = arena_alloc(&call->w->arena, WINDOW_LABEL_MAX);
    counter *copy = arena_alloc(&call->w->arena, sizeof(*copy));
    if (label == NULL || copy == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    memcpy(label, t.label[k], WINDOW_LABEL_MAX);
    *copy = c;
    rep->game = copy->game;
    rep->name = copy->name;
    rep->has_window = rep->has_total = rep->has_read_at_us = 1;
    rep->window = (Rankd__Window)k;
    rep->label = label;
    rep->total = t.total[k];
    rep->read_at_us = t.read_at_us;
    *out = &rep->base;
    return RK_OK;
}
