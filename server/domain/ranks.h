/*
 * ranks.h - the tie rules, in one place.
 *
 * A listing from Redis comes sorted best first, equal scores ordered by who
 * reached the score first. This module turns that order into ranks under
 * the three modes of the schema:
 *   competition  1, 2, 2, 4   (default: equal scores share a rank; the next
 *                              distinct score skips the shared places)
 *   dense        1, 2, 2, 3
 *   unique       1, 2, 3, 4   (position in the listing)
 */
#ifndef RANKD_RANKS_H
#define RANKD_RANKS_H

#include <stddef.h>
#include <stdint.h>

typedef enum rank_mode { RANK_COMPETITION = 0, RANK_DENSE = 1, RANK_UNIQUE = 2 } rank_mode;

/*
 * Assigns ranks to `n` scores listed from 0-based position `offset` of the
 * board. first_competition is the competition rank of scores[0] (players
 * strictly better, plus one); first_dense is its dense rank (distinct better
 * scores, plus one). Only the one matching `mode` is read.
 */
void ranks_assign(const int64_t *scores, size_t n, rank_mode mode, int64_t offset, int64_t first_competition,
                  int64_t first_dense, int64_t *out);

/*
 * The page Around shows for the player at 0-based position pos of a board
 * of `size` players: `above` players before and `below` after, except that
 * a page cut short at one end of the board takes the missing players from
 * the other end's side, so it holds min(above + below + 1, size) players
 * (the leader asking for 5 and 5 sees the 10 below). *first is the page's
 * first 0-based position, *count its length. rankd.lua's around_page is the
 * same rule for Redis.
 */
void ranks_around_page(int64_t pos, int64_t size, int64_t above, int64_t below, int64_t *first, int64_t *count);

/*
 * "Top x%": 100 * competition / size, the share of the board's players a
 * rank is among the best of (RankEntry.percentile). 0 on an empty board.
 */
double ranks_percentile(int64_t competition, int64_t size);

/*
 * The buckets of a histogram of the scores in [lo, hi] (lo <= hi), at most
 * n of them (n >= 1), of equal width: *width = ceil((hi - lo + 1) / n),
 * bucket i holding [lo + i * width, lo + (i + 1) * width - 1] (the last
 * ending at hi), *count = ceil((hi - lo + 1) / width) <= n. Exact for
 * spans up to 2^62; rankd.lua's buckets is the same rule for Redis.
 */
void ranks_buckets(int64_t lo, int64_t hi, int64_t n, int64_t *width, int64_t *count);

#endif
