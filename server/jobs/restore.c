/*
 * restore.c - the recovery job (restore.h).
 */
#include <stdlib.h>

#include "counters.h"
#include "degraded.h"
#include "log.h"
#include "rebuild.h"
#include "recovery.h"
#include "restore.h"
#include "topcache.h"

#define PROBE_MS 250
#define RETRY_MS 1000
#define OTHERS_EVERY_US 1000000LL
#define REPLAY_CHUNK 500
/* How long a tick waits for a board another process is rebuilding. */
#define RESTORE_LOCK_WAIT_MS 1000

typedef struct restorer {
    server *srv;
    rstore *redis; /* its own connection: rstore_probe needs one */
    pgstore *pg;
    int64_t last_others;
} restorer;

/* Restores what a Redis that lost its data lacks. (Revocations are not in
 * Redis: the events thread re-reads them from PostgreSQL when its
 * subscription comes back.) */
static int64_t restore(restorer *rs, job *self) {
    (void)self;
    rk_status st;
    server *srv = rs->srv;
    if (rstore_load_functions(rs->redis, &st) != RK_OK || rebuild_names(rs->redis, rs->pg, &st) != RK_OK ||
        rebuild_missing(rs->redis, rs->pg, srv->boards, srv->cfg.window_retention, RESTORE_LOCK_WAIT_MS, &st) !=
            RK_OK ||
        counters_restore(srv->counters, rs->redis, rs->pg, srv->cfg.window_retention, &st) != RK_OK ||
        rstore_set_live(rs->redis, &st) != RK_OK) {
        log_warn("Redis is back but not restored yet", "error=\"%s\"", st.message);
        return RETRY_MS;
    }
    topcache_invalidate_all(srv->tops);
    log_info("Redis is back; live view restored", "%s", "");
    recovery_observe(srv->recovery, RECOVERY_RESTORED);
    return 0;
}

/* Replays chunks until one comes back short. 0, or -1 when it cannot. */
static int replay(restorer *rs, job *self) {
    rk_status st;
    int applied = 0;
    do {
        if (degraded_apply_backlog(rs->redis, rs->pg, rs->srv->boards, rs->srv->cfg.idempotency_ttl,
                                   rs->srv->cfg.window_retention, REPLAY_CHUNK, &applied, &st) != RK_OK) {
            log_warn("cannot replay submissions taken without Redis yet", "error=\"%s\"", st.message);
            return -1;
        }
        if (applied) log_debug("replayed submissions taken without Redis", "count=%d", applied);
    } while (applied == REPLAY_CHUNK && !job_stopping(self));
    return 0;
}

/* New submissions queue behind the backlog meanwhile, so it replays until
 * little is left, then holds them off for the last few. */
static int64_t catch_up(restorer *rs, job *self) {
    recovery *rec = rs->srv->recovery;
    if (replay(rs, self) != 0) return RETRY_MS;
    if (job_stopping(self)) return 0;
    recovery_handover_begin(rec);
    rk_status st;
    int64_t left = -1;
    if (replay(rs, self) == 0 && degraded_backlog_size(rs->pg, &left, &st) == RK_OK && left == 0) {
        recovery_observe(rec, RECOVERY_CAUGHT_UP);
        log_info("submissions taken without Redis are all applied", "%s", "");
    }
    recovery_handover_end(rec);
    return left == 0 ? PROBE_MS : RETRY_MS;
}

/* Another rankd's backlog (its Redis was away, ours was not). */
static int64_t others(restorer *rs, job *self) {
    int64_t now = server_now_us();
    if (now - rs->last_others >= OTHERS_EVERY_US) {
        rs->last_others = now;
        replay(rs, self);
    }
    return PROBE_MS;
}

static int64_t wait_for_redis(restorer *rs, job *self) {
    (void)rs;
    (void)self;
    return PROBE_MS;
}

static int64_t (*const steps[RECOVERY_NSTATES])(restorer *, job *) = {
    [RECOVERY_UP] = others,         [RECOVERY_DOWN] = wait_for_redis,  [RECOVERY_LOADING] = wait_for_redis,
    [RECOVERY_RESTORING] = restore, [RECOVERY_CATCHING_UP] = catch_up,
};

static const recovery_event seen[] = {
    [RSTORE_GONE] = RECOVERY_GONE,
    [RSTORE_LOADING] = RECOVERY_IS_LOADING,
    [RSTORE_EMPTY] = RECOVERY_EMPTY,
    [RSTORE_LIVE] = RECOVERY_LIVE,
};

static int64_t restore_tick(void *state, job *self) {
    restorer *rs = state;
    recovery_state s = recovery_observe(rs->srv->recovery, seen[rstore_probe(rs->redis)]);
    return steps[s](rs, self);
}

static void restore_close(void *state) {
    restorer *rs = state;
    rstore_close(rs->redis);
    pgstore_close(rs->pg);
    free(rs);
}

static int restore_open(void **out, server *srv, rk_status *st) {
    restorer *rs = calloc(1, sizeof(*rs));
    if (rs == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    rs->srv = srv;
    rk_status ignore;
    rstore_open(&rs->redis, srv->cfg.redis, &ignore);
    pgstore_open(&rs->pg, srv->cfg.postgres, &ignore);
    if (rs->redis == NULL || rs->pg == NULL) {
        restore_close(rs);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    *out = rs;
    return RK_OK;
}

const job_ops restore_job = {.name = "recovery", .start = restore_open, .tick = restore_tick, .stop = restore_close};
