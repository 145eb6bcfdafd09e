/*
 * fold.c - the counters' fold job (fold.h).
 */
#include <stdlib.h>

#include "counter_store.h"
#include "counters.h"
#include "fold.h"
#include "log.h"
#include "recovery.h"

#define FOLD_MS 1000
/* Idempotency records of increments counted without Redis are kept as
 * long as Redis keeps those of the increments it counts. */
#define IDEM_EXPIRE_EVERY_US (60 * 1000000LL)

typedef struct folder {
    server *srv;
    rstore *redis;
    pgstore *pg;
    int64_t last_expire_us;
    int failing; /* log a failure once, not every second */
} folder;

static int64_t fold_tick(void *state, job *self) {
    (void)self;
    folder *f = state;
    server *srv = f->srv;
    /* Only a Redis that serves has totals worth recording; while it is
     * being restored its sub-keys may not be back yet. */
    if (recovery_reads(srv->recovery) != RECOVERY_TO_REDIS) return FOLD_MS;
    rk_status st;
    if (counters_fold(srv->counters, f->redis, f->pg, srv->cfg.window_retention, &st) != RK_OK) {
        if (!f->failing) log_warn("counters not folded into PostgreSQL", "error=\"%s\"", st.message);
        f->failing = 1;
        return FOLD_MS;
    }
    if (f->failing) log_info("counters folded into PostgreSQL again", "%s", "");
    f->failing = 0;
    int64_t now = server_now_us();
    if (now - f->last_expire_us >= IDEM_EXPIRE_EVERY_US) {
        f->last_expire_us = now;
        cstore_pg_idem_expire(f->pg, srv->cfg.idempotency_ttl, &st);
    }
    return FOLD_MS;
}

static void fold_close(void *state) {
    folder *f = state;
    rstore_close(f->redis);
    pgstore_close(f->pg);
    free(f);
}

static int fold_open(void **out, server *srv, rk_status *st) {
    folder *f = calloc(1, sizeof(*f));
    if (f == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    f->srv = srv;
    rk_status ignore;
    rstore_open(&f->redis, srv->cfg.redis, &ignore);
    pgstore_open(&f->pg, srv->cfg.postgres, &ignore);
    if (f->redis == NULL || f->pg == NULL) {
        fold_close(f);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    *out = f;
    return RK_OK;
}

const job_ops fold_job = {.name = "fold", .start = fold_open, .tick = fold_tick, .stop = fold_close};
