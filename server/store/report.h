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
    int64_t reached_us; /* when the player reached the value, Unix µs */
    int64_t last_us;    /* latest boards: the last submission, Unix µs;
                         * elsewhere reached_us */
    int64_t rank;       /* under the requested mode */
    int64_t position;   /* 1-based place in the listing */
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

/* Each player's best single score ever on a board (for the personal-best
 * record of latest and sum boards); replayed as in report_query. */
int report_personal_bests(pgstore *pg, const board *b, const char *replayed, report_row **rows, size_t *n,
                          rk_status *st);

#endif
