/*
 * seasons.c - ending a season and telling everyone. See seasons.h.
 */
#include <stdio.h>

#include "boards.h"
#include "degraded.h"
#include "rebuild.h"
#include "recovery.h"
#include "seasons.h"
#include "topcache.h"

int seasons_end(server *srv, rstore *r, pgstore *pg, const seasons_end_in *in, rebuild_season_result *out,
                rk_status *st) {
    int64_t backlog = 0;
    int rc;
    /* Redis and the history must agree at the end's instant: without
     * Redis, or with submissions taken without it still to apply, they
     * cannot now. */
    if (recovery_get(srv->recovery) != RECOVERY_UP)
        return rk_status_set(st, RK_UNAVAILABLE, "Redis is %s; a season ends once it is up",
                             recovery_state_name(recovery_get(srv->recovery)));
    if ((rc = degraded_backlog_size(pg, &backlog, st)) != RK_OK) return rc;
    if (backlog > 0)
        return rk_status_set(st, RK_UNAVAILABLE,
                             "%lld submissions taken without Redis are still being applied; retry shortly",
                             (long long)backlog);
    rebuild_season se = {.b = in->b,
                         .season = in->season,
                         .ended_us = in->ended_us,
                         .ended_by = in->ended_by,
                         .reason = in->reason,
                         .top_n = srv->cfg.standings_top_n,
                         .retention_s = srv->cfg.window_retention,
                         .deadline_us = in->deadline_us,
                         .try_only = in->try_only};
    rc = rebuild_season_end(r, pg, &se, out, st);
    /* Whatever happened in Redis, PostgreSQL's board is the one to know. */
    if (out->board.id[0] && out->board.season > in->b->season) {
        boards_put(srv->boards, &out->board);
        topcache_invalidate_sums(srv->tops, &out->board);
    }
    /* An aggregate sums its sources' current seasons: the ones this board
     * feeds are built again from the history, which now starts the board's
     * season at the end. */
    if (rc == RK_OK && out->ended)
        rc = rebuild_aggregates(r, pg, srv->boards, &out->board, srv->cfg.window_retention, in->deadline_us, st);
    if (out->ended) {
        char line[16 + BOARD_ID_MAX];
        rk_status ignore;
        snprintf(line, sizeof(line), "c\t%s", out->board.id);
        /* Every rankd reads the board again (its season and start) and
         * drops its cached pages. */
        rstore_publish(r, line, &ignore);
    }
    return rc;
}
