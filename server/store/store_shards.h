/*
 * store_shards.h - the reads of one shard of a hot board that a merge of
 * its shards needs (service/shards.c): entries with their members, the
 * places of players, and how many entries are ahead of a place.
 *
 * A member is a tie key and a user id (rankd.lua): equal scores are in
 * the order of their members' bytes, so two shards' entries are put in the
 * board's order by (score, member) alone. Each call is one function call
 * on one view of one shard, so one slot; like the other reads, it waits
 * out a rebuild of the shard for a while, then answers RK_UNAVAILABLE.
 */
#ifndef RANKD_STORE_SHARDS_H
#define RANKD_STORE_SHARDS_H

#include <stddef.h>
#include <stdint.h>

#include "store_redis.h"

/* A tie key (9 bytes) and a user id (at most 19 digits). */
#define RSHARD_MEMBER_MAX 32

typedef struct rshard_row {
    int64_t user_id;
    int64_t score;
    int64_t position; /* places: 0-based in the shard's order */
    int found;        /* places: 0 when the player is not on the shard */
    char member[RSHARD_MEMBER_MAX];
    char *meta; /* record metadata (all-time views), NULL for none; the page's */
} rshard_row;

/* A page of one shard: rows malloc'ed with their metadata; free with
 * rshard_page_free. */
typedef struct rshard_page {
    int64_t size; /* the shard's entries */
    rshard_row *rows;
    size_t n;
} rshard_page;

void rshard_page_free(rshard_page *p);

/* Whether row a comes before row b in the order of a board (desc: higher
 * is better). */
int rshard_before(int desc, const rshard_row *a, const rshard_row *b);

/* Each function asks every one of n views (the shards of one window of a
 * board) in one round trip: one write per master on a cluster. */

/* out[i]: count entries of views[i] from its 0-based offsets[i] (count 0:
 * only the sizes). */
int rshard_rows(rstore *r, const rview *views, size_t n, const int64_t *offsets, int64_t count, rshard_page *out,
                rk_status *st);

/* out[i]: one row per player of uids[i] (nuids[i] of them), in order
 * (found 0: not on the shard). A view with none is not asked (out[i]
 * empty, size 0). */
int rshard_places(rstore *r, const rview *views, size_t n, const int64_t *const *uids, const size_t *nuids,
                  rshard_page *out, rk_status *st);

/* A place to count a shard's entries ahead of: a score and a member
 * ("" to count only those strictly better). */
typedef struct rshard_probe {
    int64_t score;
    const char *member;
} rshard_probe;

/* For probe j of view i (nprobes[i] of them), the shard's entries strictly
 * better than its score (better[i][j]) and ahead of it in the board's
 * order (ahead[i][j]); sizes[i] the shard's entries. */
int rshard_ahead(rstore *r, const rview *views, size_t n, const rshard_probe *const *probes, const size_t *nprobes,
                 int64_t *const *better, int64_t *const *ahead, int64_t *sizes, rk_status *st);

#endif
