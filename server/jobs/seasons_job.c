/*
 * seasons_job.c - scheduled season ends; see seasons_job.h.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "boards.h"
#include "log.h"
#include "recovery.h"
#include "seasons.h"
#include "seasons_job.h"

#define TICK_MS 1000

typedef struct seasons_state {
    server *srv;
    rstore *redis;
    pgstore *pg;
} seasons_state;

/* Ends b's season if its schedule says it is due. */
static void end_if_due(seasons_state *s, const board *b, int64_t now) {
    season_schedule sched;
    rk_status st;
    if (season_parse(b->season_schedule, &sched, &st) != RK_OK || sched.kind == SEASON_NONE) return;
    int64_t began = b->season_started_us > 0 ? b->season_started_us / 1000000 : b->created_at;
    int64_t due = season_due(&sched, began, now);
    if (due == 0) return;
    seasons_end_in in = {
        .b = b, .season = b->season, .ended_us = due * 1000000, .ended_by = SEASONS_BY_SCHEDULE, .try_only = 1};
    rebuild_season_result res;
    rk_status_clear(&st);
    if (seasons_end(s->srv, s->redis, s->pg, &in, &res, &st) != RK_OK)
        log_warn("cannot end a season yet", "board=%s season=%" PRId64 " error=\"%s\"", b->id, b->season, st.message);
}

static int64_t seasons_tick(void *state, job *self) {
    seasons_state *s = state;
    board *all = NULL;
    size_t n = 0;
    rk_status st;
    /* Nothing can end while Redis is not up; the next tick looks again. */
    if (recovery_get(s->srv->recovery) != RECOVERY_UP) return TICK_MS;
    if (boards_list(s->srv->boards, NULL, &all, &n, &st) != RK_OK) return TICK_MS;
    int64_t now = (int64_t)server_time();
    for (size_t i = 0; i < n && !job_stopping(self); i++)
        if (all[i].season_schedule[0]) end_if_due(s, &all[i], now);
    free(all);
    return TICK_MS;
}

static void seasons_close(void *state) {
    seasons_state *s = state;
    rstore_close(s->redis);
    pgstore_close(s->pg);
    free(s);
}

static int seasons_open(void **out, server *srv, rk_status *st) {
    seasons_state *s = calloc(1, sizeof(*s));
    if (s == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    s->srv = srv;
    rk_status ignore;
    rstore_open(&s->redis, srv->cfg.redis, &ignore);
    pgstore_open(&s->pg, srv->cfg.postgres, &ignore);
    if (!s->redis || !s->pg) {
        seasons_close(s);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    *out = s;
    return RK_OK;
}

const job_ops seasons_job = {.name = "seasons", .start = seasons_open, .tick = seasons_tick, .stop = seasons_close};
