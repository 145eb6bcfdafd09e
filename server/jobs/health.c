/*
 * health.c - the once-a-second check behind /readyz and /metrics.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "health.h"
#include "metrics.h"
#include "store_streams.h"

#define PERIOD_MS 1000

struct health {
    server *srv;
    rstore *redis;
    pgstore *pg;
    pthread_mutex_t mu;
    health_snapshot snap;
};

static void check(health *h) {
    health_snapshot s = {0};
    rk_status st;
    /* Only looks: what Redis's state is, and where calls go, is the
     * recovery module's to say (recovery.h). */
    s.redis_ok = rstore_ping(h->redis, &st) == RK_OK;
    s.postgres_ok = pgstore_ping(h->pg, &st) == RK_OK;
    s.checked_us = server_wall_us();
    int64_t first = 0;
    if (s.redis_ok && rstore_backlog(h->redis, &s.backlog, &first, &st) == RK_OK && s.backlog > 0) {
        if (first > 0) s.lag_ms = s.checked_us / 1000 - first;
        if (s.lag_ms < 0) s.lag_ms = 0;
    }
    metrics_set_writebehind(s.backlog, s.lag_ms);
    if (s.postgres_ok && pgstore_dead_letter_count(h->pg, &s.dead_letters, &st) == RK_OK)
        metrics_set_dead_letters(s.dead_letters);
    pthread_mutex_lock(&h->mu);
    h->snap = s;
    pthread_mutex_unlock(&h->mu);
}

static int64_t health_tick(void *state, job *self) {
    (void)self;
    check(state);
    return PERIOD_MS;
}

static void health_close(void *state) {
    health *h = state;
    rstore_close(h->redis);
    pgstore_close(h->pg);
    pthread_mutex_destroy(&h->mu);
    free(h);
}

static int health_open(void **out, server *srv, rk_status *st) {
    health *h = calloc(1, sizeof(*h));
    if (h == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    h->srv = srv;
    pthread_mutex_init(&h->mu, NULL);
    rk_status ignore;
    rstore_open(&h->redis, srv->cfg.redis, &ignore);
    pgstore_open(&h->pg, srv->cfg.postgres, &ignore);
    if (!h->redis || !h->pg) {
        health_close(h);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    check(h); /* the first answer is there before anyone asks */
    *out = h;
    return RK_OK;
}

const job_ops health_job = {.name = "health", .start = health_open, .tick = health_tick, .stop = health_close};

void health_get(health *h, health_snapshot *out) {
    pthread_mutex_lock(&h->mu);
    *out = h->snap;
    pthread_mutex_unlock(&h->mu);
}
