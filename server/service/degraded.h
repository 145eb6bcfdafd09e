/*
 * degraded.h - serving while Redis is unreachable.
 *
 * rankd stays up without Redis, more slowly and with less to say:
 *   - a submission is written straight into PostgreSQL's history and into
 *     redis_backlog (one transaction; an idempotency key is checked against
 *     the history), and acknowledged without a rank;
 *   - a ranked query is computed from the history (report.c), so it does
 *     not see submissions that Redis acknowledged but the write-behind had
 *     not copied yet when Redis went away;
 *   - every such reply carries degraded = true.
 * When Redis answers again, degraded_apply_backlog replays redis_backlog
 * into the live boards in submission order, with each entry's original
 * time (so ties rank as they would have), without adding it to the
 * history a second time, and idempotently, then deletes what it applied.
 * Each entry is replayed under the caller's idempotency key (or, without
 * one, its entry id), so the key means the same before and after. An
 * entry Redis turns out to have taken already (its answer was lost as
 * Redis went away) leaves the history too: Redis's own stream entry
 * records it.
 *
 * Exactly once by construction, even when Redis returns empty and boards
 * are rebuilt from the history (which holds the backlog's rows too): an
 * entry is in Redis exactly when its replay key has an answer there. A
 * rebuild writes the history without the entries whose key has none
 * (report_query.replayed, from degraded_replayed), and the replay applies
 * exactly those afterwards. The rebuild's flag refuses every submission
 * to the board, replays included, so the answer cannot change while the
 * rebuild reads.
 */
#ifndef RANKD_DEGRADED_H
#define RANKD_DEGRADED_H

#include <stddef.h>
#include <stdint.h>

#include "boards.h"
#include "report.h"
#include "store_pg.h"
#include "store_redis.h"
#include "token.h"

/* Records n submissions in PostgreSQL; out[i] gets each item's status, its
 * score as submitted and replayed when the idempotency key was seen. */
int degraded_submit(pgstore *pg, const rstore_submit_in *in, size_t n, rstore_submit_out *out, rk_status *st);

/* A page of the ranking of a board's window (b NULL: global) from the
 * history: `limit` rows from `offset` (limit < 0: all of them; 0: none,
 * only *size). A page ranks only its own rows (report.c), so a top 10
 * does not rank the whole board. */
int degraded_ranking(pgstore *pg, const board *b, window_kind k, time_t now, rank_mode mode, int64_t offset,
                     int64_t limit, report_row **rows, size_t *n, int64_t *size, rk_status *st);

/* Applies up to `limit` backlog entries to Redis; *applied counts them. */
int degraded_apply_backlog(rstore *r, pgstore *pg, boards_cache *cache, int64_t idem_ttl, int64_t retention, int limit,
                           int *applied, rk_status *st);

/* The redis_backlog entries of a board (NULL: of every board) that Redis
 * already holds, as a PostgreSQL text[] literal ("{}" when none); *literal
 * is malloc'ed, the caller frees it. */
int degraded_replayed(rstore *r, pgstore *pg, const char *board_id, char **literal, rk_status *st);

/* Entries waiting in redis_backlog. */
int degraded_backlog_size(pgstore *pg, int64_t *n, rk_status *st);

#endif
