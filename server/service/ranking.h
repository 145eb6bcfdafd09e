/*
 * ranking.h - ranked reads of one board's window: the top N, the players
 * around one, the ranks of a list of players, the count.
 *
 * The one place that chooses where a read is answered and falls back:
 * Redis while it can serve (recovery.h), else PostgreSQL's history
 * (report.c ranks it with the live rules), and rank_row (store_redis.h)
 * is the one row type either way. The read is described once, by the
 * Redis command rread_top & co. build on the window's view; the history
 * is asked the same question from it. A top-N page and a count from the
 * history rank only what they return; around and ranks-of rank the
 * window to find the players' places.
 *
 * The event loops send the same rread themselves (store_async.h) and
 * hand a read to the worker pool, which comes here, when Redis could not
 * answer it at once.
 */
#ifndef RANKD_RANKING_H
#define RANKD_RANKING_H

#include "board.h"
#include "recovery.h"
#include "store_pg.h"
#include "store_redis.h"
#include "window.h"

/* Flags of ranking_read. */
#define RANKING_HISTORY_ONLY 1 /* the history answers, whatever Redis could say */
#define RANKING_HISTORY_IF_EMPTY \
    2 /* an empty top from Redis means the window's set has expired (a closed
                                    * window): the history is asked then */

/* Reads q (built on the view of the window of kind k that holds `at`,
 * of board b; b NULL: the global board) from Redis unless the flags or
 * rec say otherwise, and from the history when Redis turns out to be
 * unavailable. *from_history says which answered. q is freed either way;
 * out->rows is the caller's. */
int ranking_read(rstore *r, pgstore *pg, const recovery *rec, const board *b, window_kind k, time_t at, rread *q,
                 int flags, rread_result *out, int *from_history, rk_status *st);

/* A page of the ranking of any period of the history (from_us, to_us:
 * Unix µs, REPORT_UNBOUNDED for an open end), `limit` rows from `offset`
 * (limit < 0: all), as the same rows. */
int ranking_period(pgstore *pg, const board *b, int64_t from_us, int64_t to_us, int64_t offset, int64_t limit,
                   rank_mode mode, rread_result *out, rk_status *st);

#endif
