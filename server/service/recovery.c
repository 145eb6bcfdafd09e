/*
 * recovery.c - Redis's availability as one state machine (recovery.h).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "log.h"
#include "metrics.h"
#include "recovery.h"

struct recovery {
    atomic_int state;   /* recovery_state; written under mu, read anywhere */
    pthread_mutex_t mu; /* serialises transitions */
    pthread_rwlock_t handover;
};

/* Row: the state; column: the event; a cell left out (0 = UP) would be
 * wrong, so every row names all events. STAY keeps the state. */
#define STAY (-1)
static const int transitions[RECOVERY_NSTATES][RECOVERY_NEVENTS] = {
    [RECOVERY_UP] =
        {
            [RECOVERY_LIVE] = STAY,
            [RECOVERY_EMPTY] = RECOVERY_RESTORING,
            [RECOVERY_GONE] = RECOVERY_DOWN,
            [RECOVERY_IS_LOADING] = RECOVERY_LOADING,
            [RECOVERY_RESTORED] = STAY,
            /* A write found Redis unavailable between two probes: it may
             * come back empty, so restore it as after any absence. */
            [RECOVERY_STORED_WITHOUT] = RECOVERY_DOWN,
            [RECOVERY_CAUGHT_UP] = STAY,
        },
    [RECOVERY_DOWN] =
        {
            /* Back after an absence: whatever it holds, make sure it has
             * our functions, directory and boards before it serves. */
            [RECOVERY_LIVE] = RECOVERY_RESTORING,
            [RECOVERY_EMPTY] = RECOVERY_RESTORING,
            [RECOVERY_GONE] = STAY,
            [RECOVERY_IS_LOADING] = RECOVERY_LOADING,
            [RECOVERY_RESTORED] = STAY,
            [RECOVERY_STORED_WITHOUT] = STAY,
            [RECOVERY_CAUGHT_UP] = STAY,
        },
    [RECOVERY_LOADING] =
        {
            [RECOVERY_LIVE] = RECOVERY_RESTORING,
            [RECOVERY_EMPTY] = RECOVERY_RESTORING,
            [RECOVERY_GONE] = RECOVERY_DOWN,
            [RECOVERY_IS_LOADING] = STAY,
            [RECOVERY_RESTORED] = STAY,
            [RECOVERY_STORED_WITHOUT] = STAY,
            [RECOVERY_CAUGHT_UP] = STAY,
        },
    [RECOVERY_RESTORING] =
        {
            [RECOVERY_LIVE] = STAY,
            [RECOVERY_EMPTY] = STAY,
            [RECOVERY_GONE] = RECOVERY_DOWN,
            [RECOVERY_IS_LOADING] = RECOVERY_LOADING,
            /* Always through CATCHING_UP: only the replay can say that
             * nothing is waiting in redis_backlog. */
            [RECOVERY_RESTORED] = RECOVERY_CATCHING_UP,
            [RECOVERY_STORED_WITHOUT] = STAY,
            [RECOVERY_CAUGHT_UP] = STAY,
        },
    [RECOVERY_CATCHING_UP] =
        {
            [RECOVERY_LIVE] = STAY,
            [RECOVERY_EMPTY] = RECOVERY_RESTORING,
            [RECOVERY_GONE] = RECOVERY_DOWN,
            [RECOVERY_IS_LOADING] = RECOVERY_LOADING,
            [RECOVERY_RESTORED] = STAY,
            [RECOVERY_STORED_WITHOUT] = STAY,
            [RECOVERY_CAUGHT_UP] = RECOVERY_UP,
        },
};

static const char *const state_names[RECOVERY_NSTATES] = {
    [RECOVERY_UP] = "up",
    [RECOVERY_DOWN] = "down",
    [RECOVERY_LOADING] = "loading",
    [RECOVERY_RESTORING] = "restoring",
    [RECOVERY_CATCHING_UP] = "catching-up",
};

recovery_state recovery_next(recovery_state s, recovery_event e) {
    if ((unsigned)s >= RECOVERY_NSTATES || (unsigned)e >= RECOVERY_NEVENTS) return s;
    int n = transitions[s][e];
    return n == STAY ? s : (recovery_state)n;
}

const char *recovery_state_name(recovery_state s) { return (unsigned)s < RECOVERY_NSTATES ? state_names[s] : "?"; }

int recovery_open(recovery **out, recovery_state initial, rk_status *st) {
    recovery *rec = calloc(1, sizeof(*rec));
    if (rec == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    atomic_init(&rec->state, (int)initial);
    pthread_mutex_init(&rec->mu, NULL);
    /* Writers first: a steady stream of submissions must not keep the
     * replay from ever finishing. */
    pthread_rwlockattr_t a;
    pthread_rwlockattr_init(&a);
    pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&rec->handover, &a);
    pthread_rwlockattr_destroy(&a);
    metrics_set_redis_state(recovery_state_name(initial));
    *out = rec;
    return RK_OK;
}

void recovery_close(recovery *rec) {
    if (rec == NULL) return;
    pthread_rwlock_destroy(&rec->handover);
    pthread_mutex_destroy(&rec->mu);
    free(rec);
}

recovery_state recovery_observe(recovery *rec, recovery_event e) {
    pthread_mutex_lock(&rec->mu);
    recovery_state was = (recovery_state)atomic_load(&rec->state), now = recovery_next(was, e);
    if (now != was) {
        atomic_store(&rec->state, (int)now);
        metrics_set_redis_state(recovery_state_name(now));
    }
    pthread_mutex_unlock(&rec->mu);
    if (now != was)
        log_info("Redis state changed", "from=%s to=%s", recovery_state_name(was), recovery_state_name(now));
    return now;
}

recovery_state recovery_get(const recovery *rec) { return (recovery_state)atomic_load(&((recovery *)rec)->state); }

int recovery_degraded(const recovery *rec) {
    recovery_state s = recovery_get(rec);
    return s == RECOVERY_DOWN || s == RECOVERY_LOADING || s == RECOVERY_RESTORING;
}

recovery_route recovery_reads(const recovery *rec) {
    return recovery_degraded(rec) ? RECOVERY_TO_POSTGRES : RECOVERY_TO_REDIS;
}

static recovery_route write_route(const recovery *rec) {
    return recovery_get(rec) == RECOVERY_UP ? RECOVERY_TO_REDIS : RECOVERY_TO_POSTGRES;
}

recovery_route recovery_write_begin(recovery *rec) {
    pthread_rwlock_rdlock(&rec->handover);
    return write_route(rec);
}

int recovery_write_try_begin(recovery *rec, recovery_route *route) {
    if (pthread_rwlock_tryrdlock(&rec->handover) != 0) return -1;
    *route = write_route(rec);
    return 0;
}

void recovery_write_end(recovery *rec, int stored_without) {
    if (stored_without) recovery_observe(rec, RECOVERY_STORED_WITHOUT);
    pthread_rwlock_unlock(&rec->handover);
}

void recovery_handover_begin(recovery *rec) { pthread_rwlock_wrlock(&rec->handover); }

void recovery_handover_end(recovery *rec) { pthread_rwlock_unlock(&rec->handover); }
