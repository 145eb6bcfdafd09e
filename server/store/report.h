/*
 * report.h - rankings computed from PostgreSQL's score history.
 *
 * The same rules as the live boards, applied to the rows of a period:
 * best keeps each player's best (reached at the first submission of it),
 * latest their last (reached at the first submission of the last run of
 * equal scores), sum their total (reached at the last submission that
 * changed it); ties rank by who reached the value first. The global board
 * sums each player's values over every higher-is-better board. This is
 * what Report answers for arbitrary periods, and what a rebuild writes
 * back into Redis, so Redis and PostgreSQL agree by construction.
 *
 * Seasons: a board's period counts only the submissions of the last
 * season that began before the period's end (to_us; open: the current
 * season), the global board each board's so; personal bests count the
 * current season. docs/ARCHITECTURE.md, "Seasons".
 */
#ifndef RANKD_REPORT_H
#define RANKD_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include <rankd/status.h>

#include "board.h"
#include "ranks.h"
#include "store_pg.h"

#define REPORT_UNBOUNDED PG_UNBOUNDED /* the same open end as the store's */

typedef struct report_row {
    int64_t user_id;
    char username[PG_NAME_MAX];
    int64_t value;
    int64_t reached_us;  /* when the player reached the value, Unix µs */
    int64_t last_us;     /* latest boards: the last submission, Unix µs;
                         * elsewhere reached_us */
    int64_t rank;        /* under the requested mode */
    int64_t competition; /* competition rank, whatever the mode */
    int64_t position;    /* 1-based place in the listing */
} report_row;

typedef struct report_query {
    const board *b;  /* NULL: the global board */
    int64_t from_us; /* inclusive; REPORT_UNBOUNDED: from the beginning */
    int64_t to_us;   /* exclusive; REPORT_UNBOUNDED: to the end */
    int64_t offset;
    int64_t limit; /* < 0: every row */
    rank_mode mode;
    /* NULL: every submission of the history. Otherwise the live view, as
     * a rebuild must write it: without the submissions redis_backlog has
     * yet to replay into Redis, except those listed here (a PostgreSQL
     * text[] literal of redis_backlog entry ids that Redis already holds).
     * A rebuild and the replay then never both count a row. */
    const char *replayed;
} report_query;

/* *rows is malloc'ed (caller frees); *size counts every ranked player. */
int report_run(pgstore *pg, const report_query *q, report_row **rows, size_t *n, int64_t *size, rk_status *st);

/* Where given players stand in q's period (q's offset, limit and
 * replayed are ignored), without ranking everyone: for each of the n
 * user ids, rows[i] holds the player's value, rank under q->mode and
 * 1-based position, or user_id 0 when the player has no score there.
 * *size counts every ranked player. Each player costs a few counts over
 * the period's values, not a sort of them. */
int report_places(pgstore *pg, const report_query *q, const int64_t *user_ids, size_t n, report_row *rows,
                  int64_t *size, rk_status *st);

/* How q's period splits around an inclusive score range [min, max] (an
 * open end: has_min or has_max 0): *size players in all, *inside with a
 * value in the range, *before ranked before every one of those (a better
 * value than the range's best end). One scan of the period's values; q's
 * offset, limit and replayed are ignored. */
int report_span(pgstore *pg, const report_query *q, int has_min, int64_t min, int has_max, int64_t max, int64_t *size,
                int64_t *inside, int64_t *before, rk_status *st);

/* A histogram of q's period over [lo, hi] (an open end: the period's
 * lowest or highest value) in at most n buckets of ranks_buckets' width:
 * *lo and *hi the bounds used (*lo > *hi: no bucket), counts[i] (n
 * entries, zeroed here) the players in bucket i, *size every player.
 * *empty when a bound was left to an empty period. */
int report_histogram(pgstore *pg, const report_query *q, int has_lo, int64_t lo_in, int has_hi, int64_t hi_in,
                     int64_t n, int64_t *lo, int64_t *hi, int64_t *counts, int64_t *size, int *empty, rk_status *st);

/* Each player's best single score ever on a board (for the personal-best
 * record of latest and sum boards); replayed as in report_query. */
int report_personal_bests(pgstore *pg, const board *b, const char *replayed, report_row **rows, size_t *n,
                          rk_status *st);

/* The record metadata of players' all-time entries on a board, as
 * rk_submit keeps it (rankd.lua, rk:{b}:meta): best boards the first
 * submission of the best, latest and sum boards the last one by submit
 * time; only the players whose record has some. nuids 0: every player,
 * else those of user_ids (in no particular order). replayed as in
 * report_query. *rows and their texts are one malloc'ed block: the caller
 * frees *rows. */
typedef struct report_meta {
    int64_t user_id;
    const char *meta;
} report_meta;
int report_metas(pgstore *pg, const board *b, const char *replayed, const int64_t *user_ids, size_t nuids,
                 report_meta **rows, size_t *n, rk_status *st);

#endif
