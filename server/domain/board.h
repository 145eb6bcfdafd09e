/*
 * board.h - a board's definition, as rankd uses it in memory.
 *
 * The schema's rankd.Board is what travels; this struct is what the server
 * keeps after validation: fixed-size strings, no optional fields, windows
 * as a bit mask (WINDOW_BIT from window.h).
 */
#ifndef RANKD_BOARD_H
#define RANKD_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "season.h"

#define BOARD_ID_MAX 64
#define BOARD_TITLE_MAX 128
#define BOARD_GLOBAL_ID "global"

/* Scores are stored as Redis doubles: integers are exact up to 2^53. */
#define SCORE_LIMIT 9007199254740992LL
/* The highest rate_limit a board may set: 100 a second. */
#define BOARD_RATE_LIMIT_MAX 6000
/* An aggregate board sums at most this many boards, and a board counts
 * toward at most this many aggregates (each one is two more keys and a
 * flag in every submission to it). */
#define BOARD_AGG_MAX 8
/* A hot board spreads its players over at most this many sorted sets. */
#define BOARD_SHARDS_MAX 16
/* A board's name in its Redis keys' hash tag: its id, or on a hot board
 * "<id>~<shard>" ('~' is in no board id, so no two boards' tags meet). */
#define BOARD_TAG_MAX (BOARD_ID_MAX + 4)

typedef enum board_policy { POLICY_BEST = 1, POLICY_LATEST = 2, POLICY_SUM = 3 } board_policy;

typedef struct board {
    char id[BOARD_ID_MAX + 1];
    char game[BOARD_ID_MAX + 1];
    char title[BOARD_TITLE_MAX + 1];
    int higher_is_better; /* 1: descending ranks; 0: ascending (times) */
    board_policy policy;
    unsigned windows; /* WINDOW_BIT(k) for each kept window; all-time always */
    int64_t min_score;
    int64_t max_score;
    int player_submit;  /* players may submit their own scores */
    int64_t created_at; /* Unix seconds */
    /* Anti-cheat (0: off each). rate_limit: submissions a player may make
     * in any 60 s; max_step: the most one submission may improve the
     * player's all-time value; max_rate: the most it may improve per
     * second since the player's previous submission. */
    int64_t rate_limit;
    int64_t max_step;
    int64_t max_rate;
    /* An aggregate board (nsources > 0) takes no submissions: a player's
     * entry is the sum of their all-time values on these boards, kept
     * live by each submission to them, as the global board is. feeds are
     * the aggregates this board counts toward (read from the aggregates'
     * rows, never set by a caller). */
    char sources[BOARD_AGG_MAX][BOARD_ID_MAX + 1];
    int nsources;
    char feeds[BOARD_AGG_MAX][BOARD_ID_MAX + 1];
    int nfeeds;
    /* Seasons (season.h). The schedule's canonical text ("" none), the
     * current season's number (1 for a new board) and when it began, Unix
     * µs (0: the board's first season, which began with the board). */
    char season_schedule[SEASON_SCHEDULE_MAX];
    int64_t season;
    int64_t season_started_us;
    /* A hot board (shards > 1) keeps player u in sorted set u mod shards,
     * each with the keys of a whole board under its own hash tag
     * (board_tag); reads merge them (service/shards.c). `shard` says which
     * one this copy names in Redis (board_at_shard): the store builds every
     * key from it, PostgreSQL knows only the id. */
    int shards;
    int shard;
} board;

/* Whether the board's all-time values sum into the global board: every
 * higher-is-better board but an aggregate (whose points the global board
 * has from its sources already). */
static inline int board_in_global(const board *b) { return b->higher_is_better && b->nsources == 0; }

/* How many sorted sets b's players are spread over (1: a plain board). */
static inline int board_shards(const board *b) { return b->shards > 1 ? b->shards : 1; }

/* Which of a hot board's sorted sets holds player uid (0 on a plain
 * board). */
static inline int board_shard_of(const board *b, int64_t uid) { return b->shards > 1 ? (int)(uid % b->shards) : 0; }

/* A copy of b naming shard k in Redis. */
static inline board board_at_shard(const board *b, int k) {
    board c = *b;
    c.shard = k;
    return c;
}

/* The copy of b that names player uid's shard. */
static inline board board_for_player(const board *b, int64_t uid) { return board_at_shard(b, board_shard_of(b, uid)); }

/* The hash tag of b's keys (BOARD_TAG_MAX + 1 bytes): the id, or
 * "<id>~<shard>" on a hot board. */
void board_tag(const board *b, char *out, size_t cap);

#endif
