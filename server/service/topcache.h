/*
 * topcache.h - recently read top-N pages, invalidated by board changes.
 *
 * A hot board is read far more often than it changes; a page of its top
 * kept in memory answers those reads without Redis. Freshness rules:
 *   - a change made through this rankd invalidates the board's pages
 *     before the submission is acknowledged (read-your-writes here);
 *   - a change made through another rankd invalidates them when its rk:ev
 *     message arrives (events.c), typically well under a millisecond;
 *   - no page is ever served older than cfg.top_cache_ms, whatever
 *     happens to the pub/sub connection (0 disables the cache).
 * A page read while its board changes is never stored as fresh: each board
 * has a version, read before Redis is asked and checked when serving.
 */
#ifndef RANKD_TOPCACHE_H
#define RANKD_TOPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "ranks.h"
#include "store_redis.h"

typedef struct topcache topcache;

int topcache_open(topcache **out, int64_t max_age_ms, rk_status *st);
void topcache_close(topcache *c);

/* The board's current version; read it before reading Redis. */
uint64_t topcache_version(topcache *c, const char *board_id);
/* Marks every page of a board stale. */
void topcache_invalidate(topcache *c, const char *board_id);
/* After a change to b's all-time entries: b's pages, and those of every
 * board that sums it (the global board, its aggregates). */
void topcache_invalidate_sums(topcache *c, const board *b);
/* Marks every page stale (after a rebuild swapped boards in). */
void topcache_invalidate_all(topcache *c);

/* A fresh page: 1 and a malloc'ed copy in *rows (caller frees), or 0. */
int topcache_get(topcache *c, const char *board_id, const rview *v, int64_t offset, int64_t count, rank_mode mode,
                 rank_row **rows, size_t *n, int64_t *size);
/* Stores a page read at board version `version`. */
void topcache_put(topcache *c, const char *board_id, const rview *v, int64_t offset, int64_t count, rank_mode mode,
                  uint64_t version, const rank_row *rows, size_t n, int64_t size);

#endif
