/*
 * rebuild.h - rebuilding the live view in Redis from PostgreSQL.
 *
 * PostgreSQL's history holds every accepted submission, so every board can
 * be computed again: report.c ranks the history of each window exactly as
 * the live boards rank submissions (same policy, same ties), and the result
 * is written into temporary keys and swapped in with one rk_swap, so a
 * reader sees the old board or the new one, never half of one. While a
 * board is rebuilt its flag key is set: submissions to it are refused with
 * UNAVAILABLE (clients with idempotency keys retry) and reads wait.
 *
 * The history also holds what redis_backlog has yet to replay; a rebuild
 * leaves those rows out (degraded.h explains why that is exactly once).
 *
 * What a rebuild cannot bring back: idempotency records (a retry of a
 * submission made before the loss counts again) and submissions that were
 * acknowledged by a Redis that then lost them before the write-behind
 * copied them (see docs/ARCHITECTURE.md, Durability).
 */
#ifndef RANKD_REBUILD_H
#define RANKD_REBUILD_H

#include <stdint.h>

#include "boards.h"
#include "store_pg.h"
#include "store_redis.h"

/* Rebuilds one board: all-time and every window still within
 * `retention_s`. Adds the (player, window) entries written to *entries.
 * Fails with RK_UNAVAILABLE when the write-behind backlog does not drain
 * (PostgreSQL would be missing submissions). deadline_us (CLOCK_MONOTONIC,
 * 0 for none) bounds the waits for another rebuild and for the backlog,
 * and the building: past it the rebuild gives up with
 * RK_DEADLINE_EXCEEDED, the board as it was and its flag cleared, unless
 * it had begun to swap keys in (a board with very many windows), which it
 * then finishes. */
int rebuild_board(rstore *r, pgstore *pg, const board *b, int64_t retention_s, int64_t deadline_us, int64_t *entries,
                  rk_status *st);

/* Rebuilds the global board from every board's history; deadline_us as
 * above. */
int rebuild_global(rstore *r, pgstore *pg, int64_t deadline_us, int64_t *entries, rk_status *st);
/* The split layout's global board after an admin changed a board's
 * entries (a removal, a ban, an unban, an approval, a deletion) outside any
 * submission's stream: built again from the history, its sources held
 * meanwhile, as the aggregates are in both layouts. b: the board changed
 * (NULL: several); nothing in the one-key layout, or for a board that does
 * not count toward the global board. */
int rebuild_global_after(rstore *r, pgstore *pg, const board *b, int64_t deadline_us, rk_status *st);

/* Builds again from the history every aggregate board b counts toward
 * (b NULL: every aggregate), after a change to b that a submission does
 * not make (a removal, an approval, an unban). */
int rebuild_aggregates(rstore *r, pgstore *pg, boards_cache *cache, const board *b, int64_t retention_s,
                       int64_t deadline_us, rk_status *st);

/* An admin's removal of one player's entry from a board. */
typedef struct rebuild_removal {
    const board *b;
    int64_t user_id;
    int64_t actor_id;    /* the admin */
    const char *reason;  /* NULL or "" for none */
    int64_t retention_s; /* the windows a rebuild would write */
    int64_t deadline_us; /* as rebuild_board's */
} rebuild_removal;

/* Takes the player's entry off the board: every counted submission of
 * theirs to it is marked removed in PostgreSQL (kept, counted nowhere),
 * then their entry leaves every window in Redis and their global total
 * loses it, in one rk_remove. Runs under the board's rebuild flag after
 * the write-behind has drained, like a rebuild, so the two agree: a
 * rebuild afterwards gives the same board. *marked counts the rows
 * marked, *found says whether Redis held an entry (both 0: nothing to
 * remove). Redis's state must be up with no backlog to replay (the
 * caller checks). */
int rebuild_remove_entry(rstore *r, pgstore *pg, boards_cache *cache, const rebuild_removal *rm, int64_t *marked,
                         int *found, rk_status *st);

/* A banned player's entries leave every board (each under its flag, as
 * rebuild_remove_entry) and the global board; the history keeps them,
 * counted nowhere while the ban lasts (report.c). *boards counts the
 * boards Redis held an entry on. */
int rebuild_ban_player(rstore *r, pgstore *pg, boards_cache *cache, int64_t user_id, int64_t retention_s,
                       int64_t deadline_us, int64_t *boards, rk_status *st);

/* An unbanned player's entries back on every board they have history on
 * and on the global board, computed from the history as a rebuild would
 * (values, tie times, personal bests), once the write-behind has
 * drained. Call it after PostgreSQL has lifted the ban and before the
 * player may submit again. *entries counts the (board, window) entries
 * written. */
int rebuild_restore_player(rstore *r, pgstore *pg, boards_cache *cache, int64_t user_id, int64_t retention_s,
                           int64_t deadline_us, int64_t *entries, rk_status *st);

/* Approves the held submission h: it counts from now on in PostgreSQL,
 * and the player's entry on its board is computed again from the
 * history with it (every window a rebuild would write, the personal
 * best) and written back, the global total moving by the change; under
 * the board's flag once the write-behind has drained. RK_NOT_FOUND when
 * it waits for review no more. *entries counts the entries written. */
int rebuild_approve_held(rstore *r, pgstore *pg, boards_cache *cache, const pg_held *h, int64_t retention_s,
                         int64_t deadline_us, int64_t *entries, rk_status *st);

/* Refills the user directory (rk:names, rk:uids) from PostgreSQL. */
/* Ending a board's season (seasons.h has the rules): under the board's
 * flag, with the write-behind drained, the final standings are ranked
 * from the history up to ended_us and kept with the season's row
 * (pgstore_season_end), then the board is rebuilt for the new season
 * (its windows, personal bests, rk_submit's season key) and, for a
 * higher-is-better board, the global board. */
typedef struct rebuild_season {
    const board *b;
    int64_t season;       /* the season to end; another is left alone */
    int64_t ended_us;     /* the instant it ends, Unix µs (at least its start + 1) */
    const char *ended_by; /* the admin's username, or "schedule" */
    const char *reason;   /* NULL: none */
    int64_t top_n;        /* final standings kept */
    int64_t retention_s;
    int64_t deadline_us; /* until the season's row is committed; 0: none */
    int try_only;        /* the flag taken by someone else: do nothing (RK_OK, not ended) */
} rebuild_season;
typedef struct rebuild_season_result {
    int ended; /* 0: the season was not the board's current one (or try_only lost) */
    int64_t ended_us;
    int64_t board_size; /* players in the final standings' ranking */
    board board;        /* the board as PostgreSQL has it now */
} rebuild_season_result;
int rebuild_season_end(rstore *r, pgstore *pg, const rebuild_season *se, rebuild_season_result *out, rk_status *st);

int rebuild_names(rstore *r, pgstore *pg, rk_status *st);

/* Rebuilds the user directory, every board, then the global board. */
int rebuild_all(rstore *r, pgstore *pg, boards_cache *cache, int64_t retention_s, int64_t deadline_us, int64_t *boards,
                int64_t *entries, rk_status *st);

/* At start: rebuilds the boards whose all-time set Redis has lost while
 * PostgreSQL has history for them (a restarted, empty Redis), and the
 * global board if any was rebuilt or it is missing. A board whose rebuild
 * flag another holds is waited for up to wait_ms, then RK_ABORTED: the
 * flag of a rankd killed while it rebuilt stays until its time to live,
 * and whoever restores Redis must not hang on it (the recovery job asks
 * again each second, serving from PostgreSQL meanwhile). */
int rebuild_missing(rstore *r, pgstore *pg, boards_cache *cache, int64_t retention_s, int64_t wait_ms, rk_status *st);

#endif
