/*
 * rankctl_counters.c - rankctl's counter commands: create, list, incr, get.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "rankctl_cmds.h"

static int human_counter(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)arg;
    const Rankd__Counter *c = ((const Rankd__CounterReply *)(const void *)m)->counter;
    char at[40];
    if (c == NULL) return RK_OK;
    ctl_kv("game", "%s", c->game ? c->game : "");
    ctl_kv("name", "%s", c->name ? c->name : "");
    ctl_kv("shards", "%u", c->shards);
    ctl_kv("stale ms", "%u", c->stale_ms);
    ctl_kv("created", "%s", ctl_show_time(c->created_at, at, sizeof(at)));
    return RK_OK;
}

int cmd_counter_create(ctl_ctx *cx, const ctl_args *a) {
    Rankd__CreateCounterRequest req = RANKD__CREATE_COUNTER_REQUEST__INIT;
    Rankd__Counter def = RANKD__COUNTER__INIT;
    Rankd__CounterReply *reply = NULL;
    int code;
    def.game = a->pos[0];
    def.name = a->pos[1];
    if ((code = ctl_opt_u32(cx, a, "--shards", &def.has_shards, &def.shards)) != RK_OK ||
        (code = ctl_opt_u32(cx, a, "--stale-ms", &def.has_stale_ms, &def.stale_ms)) != RK_OK)
        return code;
    req.counter = &def;
    code = rk_counters_create_counter(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_counter, NULL);
}

static int human_counter_list(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)arg;
    const Rankd__ListCountersReply *r = (const void *)m;
    ctl_tbl t = {.ncols = 5, .right = 1u << 2 | 1u << 3};
    char sh[16], stale[16], at[40];
    int code = ctl_tbl_add(cx, &t, "GAME", "NAME", "SHARDS", "STALE MS", "CREATED");
    for (size_t i = 0; code == RK_OK && i < r->n_counters; i++) {
        const Rankd__Counter *c = r->counters[i];
        snprintf(sh, sizeof(sh), "%u", c->shards);
        snprintf(stale, sizeof(stale), "%u", c->stale_ms);
        code = ctl_tbl_add(cx, &t, c->game, c->name, sh, stale, ctl_show_time(c->created_at, at, sizeof(at)));
    }
    if (code == RK_OK) ctl_tbl_print(&t);
    ctl_tbl_free(&t);
    return code;
}

int cmd_counter_list(ctl_ctx *cx, const ctl_args *a) {
    Rankd__ListCountersRequest req = RANKD__LIST_COUNTERS_REQUEST__INIT;
    Rankd__ListCountersReply *reply = NULL;
    req.game = (char *)ctl_opt(a, "--game");
    int code = rk_counters_list_counters(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_counter_list, NULL);
}

static int human_incr(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx;
    const Rankd__IncrReply *r = (const void *)m;
    ctl_kv("counted", "%s", r->replayed ? "no (answered from the idempotency record: counted before)" : "yes");
    if (arg) ctl_kv("degraded", "yes (counted in PostgreSQL; Redis gets it when it is back)");
    return RK_OK;
}

int cmd_counter_incr(ctl_ctx *cx, const ctl_args *a) {
    Rankd__IncrRequest req = RANKD__INCR_REQUEST__INIT;
    Rankd__IncrReply *reply = NULL;
    rk_call_opts opts = {0};
    int code;
    req.game = a->pos[0];
    req.name = a->pos[1];
    /* +-2^53, as the server checks: a clear usage error beats a round trip. */
    if ((code = ctl_parse_i64(cx, "DELTA", a->pos[2], -9007199254740992LL, 9007199254740992LL, &req.delta)) != RK_OK)
        return code;
    req.has_delta = 1;
    if ((opts.idempotency_key = ctl_opt(a, "--idempotency-key")) && !*opts.idempotency_key)
        return ctl_usage(cx, "counter incr: --idempotency-key is empty");
    code = rk_counters_incr(cx->client, &req, &reply, &opts, &cx->st);
    return ctl_emit(cx, code, reply, human_incr, cx->st.degraded ? "degraded" : NULL);
}

static int human_value(ctl_ctx *cx, const ProtobufCMessage *m, const void *arg) {
    (void)cx, (void)arg;
    const Rankd__CounterValue *v = (const void *)m;
    char at[48];
    ctl_kv("counter", "%s/%s", v->game ? v->game : "", v->name ? v->name : "");
    ctl_kv("window", "%s", v->label ? v->label : "");
    ctl_kv("total", "%" PRId64, v->total);
    ctl_kv("read at", "%s", ctl_show_time_us(v->read_at_us, at, sizeof(at)));
    return RK_OK;
}

int cmd_counter_get(ctl_ctx *cx, const ctl_args *a) {
    Rankd__GetCounterRequest req = RANKD__GET_COUNTER_REQUEST__INIT;
    Rankd__CounterValue *reply = NULL;
    int code;
    req.game = a->pos[0];
    req.name = a->pos[1];
    if ((code = ctl_opt_window(cx, a, &req.has_window, &req.window)) != RK_OK) return code;
    code = rk_counters_get_counter(cx->client, &req, &reply, NULL, &cx->st);
    return ctl_emit(cx, code, reply, human_value, NULL);
}
