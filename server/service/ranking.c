/*
 * ranking.c - ranked reads, from Redis or the history (ranking.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ranking.h"
#include "report.h"
#include "shards.h"

int ranking_period(pgstore *pg, const board *b, int64_t from_us, int64_t to_us, int64_t offset, int64_t limit,
                   rank_mode mode, rread_result *out, rk_status *st) {
    report_query q = {.b = b, .from_us = from_us, .to_us = to_us, .offset = offset, .limit = limit, .mode = mode};
    report_row *r = NULL;
    size_t n = 0;
    memset(out, 0, sizeof(*out));
    int rc = report_run(pg, &q, &r, &n, &out->size, st);
    if (rc != RK_OK) return rc;
    rank_row *rows = calloc(n ? n : 1, sizeof(*rows));
    if (rows == NULL) {
        free(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].user_id = r[i].user_id;
        rows[i].score = r[i].value;
        rows[i].rank = r[i].rank;
        rows[i].position = r[i].position;
        rows[i].competition = r[i].competition;
        rows[i].ranked = 1;
        snprintf(rows[i].username, sizeof(rows[i].username), "%s", r[i].username);
    }
    free(r);
    out->rows = rows;
    out->n = n;
    return RK_OK;
}

/* A page of the ranking of the window of kind k holding `at` (limit < 0:
 * all of it; 0: none, only *size). */
static int history_page(pgstore *pg, const board *b, window_kind k, time_t at, rank_mode mode, int64_t offset,
                        int64_t limit, rank_row **rows, size_t *n, int64_t *size, rk_status *st) {
    int64_t from, to;
    window_bounds(k, at, &from, &to);
    rread_result res;
    int rc = ranking_period(pg, b, k == WINDOW_ALL ? REPORT_UNBOUNDED : from * 1000000,
                            k == WINDOW_ALL ? REPORT_UNBOUNDED : to * 1000000, offset, limit, mode, &res, st);
    if (rc != RK_OK) return rc;
    *rows = res.rows;
    *n = res.n;
    *size = res.size;
    return RK_OK;
}

/* The window of kind k holding `at` as a report period. */
static report_query window_query(const board *b, window_kind k, time_t at, rank_mode mode) {
    int64_t from, to;
    window_bounds(k, at, &from, &to);
    return (report_query){.b = b,
                          .from_us = k == WINDOW_ALL ? REPORT_UNBOUNDED : from * 1000000,
                          .to_us = k == WINDOW_ALL ? REPORT_UNBOUNDED : to * 1000000,
                          .mode = mode};
}

static rank_row rank_row_of(const report_row *r) {
    rank_row out = {.user_id = r->user_id,
                    .score = r->value,
                    .rank = r->rank,
                    .position = r->position,
                    .competition = r->competition,
                    .ranked = r->user_id != 0};
    snprintf(out.username, sizeof(out.username), "%s", r->username);
    return out;
}

/* The player's place first, then the page around it: neither ranks the
 * whole window. The page is cut as on Redis (rk_around), by
 * ranks_around_page: full at the ends of the board too. */
static int history_around(pgstore *pg, const board *b, window_kind k, time_t at, const rread *q, rread_result *out,
                          rk_status *st) {
    report_query rq = window_query(b, k, at, q->mode);
    report_row me;
    int64_t size = 0;
    int rc = report_places(pg, &rq, &q->user_id, 1, &me, &size, st);
    if (rc != RK_OK) return rc;
    if (me.user_id == 0)
        return rk_status_set(st, RK_NOT_FOUND, "user %lld has no score on this board", (long long)q->user_id);
    int64_t from, count;
    ranks_around_page(me.position - 1, size, q->above, q->below, &from, &count);
    return history_page(pg, b, k, at, q->mode, from, count, &out->rows, &out->n, &out->size, st);
}

/* Each place costs a few scans of the window's values: for many players,
 * ranking the window once is cheaper. */
#define PLACES_MAX 16

/* Many players: the whole ranking, each picked from it. */
static int history_ranks_all(pgstore *pg, const board *b, window_kind k, time_t at, const rread *q, rread_result *out,
                             rk_status *st) {
    rank_row *all = NULL;
    size_t n = 0;
    int rc = history_page(pg, b, k, at, q->mode, 0, -1, &all, &n, &out->size, st);
    if (rc != RK_OK) return rc;
    rank_row *rows = calloc(q->nuids ? q->nuids : 1, sizeof(*rows));
    if (rows == NULL) {
        free(all);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (size_t j = 0; j < q->nuids; j++) {
        rows[j].user_id = q->uids[j];
        for (size_t i = 0; i < n; i++)
            if (all[i].user_id == q->uids[j]) rows[j] = all[i];
    }
    free(all);
    out->rows = rows;
    out->n = q->nuids;
    return RK_OK;
}

/* One row per asked player, in order; those without a score unranked. */
static int history_ranks(pgstore *pg, const board *b, window_kind k, time_t at, const rread *q, rread_result *out,
                         rk_status *st) {
    if (q->nuids > PLACES_MAX) return history_ranks_all(pg, b, k, at, q, out, st);
    report_query rq = window_query(b, k, at, q->mode);
    report_row *places = calloc(q->nuids ? q->nuids : 1, sizeof(*places));
    rank_row *rows = calloc(q->nuids ? q->nuids : 1, sizeof(*rows));
    int rc = places && rows ? report_places(pg, &rq, q->uids, q->nuids, places, &out->size, st)
                            : rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t j = 0; rc == RK_OK && j < q->nuids; j++) {
        rows[j] = rank_row_of(&places[j]);
        rows[j].user_id = q->uids[j];
    }
    free(places);
    if (rc != RK_OK) {
        free(rows);
        return rc;
    }
    out->rows = rows;
    out->n = q->nuids;
    return RK_OK;
}

/* The range's counts first, then its page as the board's page from the
 * players before it: the range is one run of the board's order. */
static int history_range(pgstore *pg, const board *b, window_kind k, time_t at, const rread *q, rread_result *out,
                         rk_status *st) {
    report_query rq = window_query(b, k, at, q->mode);
    const score_bounds *r = &q->range;
    int64_t size = 0, inside = 0, before = 0;
    int rc = report_span(pg, &rq, r->has_min, r->min, r->has_max, r->max, &size, &inside, &before, st);
    if (rc != RK_OK) return rc;
    int64_t count = q->count;
    if (q->offset + count > inside) count = inside - q->offset;
    if (count > 0) rc = history_page(pg, b, k, at, q->mode, before + q->offset, count, &out->rows, &out->n, &size, st);
    out->size = size;
    out->in_range = inside;
    out->before = before;
    return rc;
}

/* A percentile as rk_percentile answers it: the board's size and, for a
 * score, the players better than it; at a percentile, the page of one at
 * its place. */
static int history_percentile(pgstore *pg, const board *b, window_kind k, time_t at, const rread *q, rread_result *out,
                              rk_status *st) {
    report_query rq = window_query(b, k, at, RANK_COMPETITION);
    int desc = b == NULL || b->higher_is_better;
    int64_t size = 0, inside = 0, before = 0;
    /* Players better than the score: before a range that ends at it. */
    int rc = report_span(pg, &rq, q->by_score && !desc, q->score, q->by_score && desc, q->score, &size, &inside,
                         &before, st);
    if (rc != RK_OK) return rc;
    out->size = size;
    if (size == 0) return RK_OK;
    if (!q->by_score) {
        int64_t place = (int64_t)(q->pct * (double)size / 100); /* floor: both are positive */
        if (place < 1) place = 1;
        rc = history_page(pg, b, k, at, RANK_COMPETITION, place - 1, 1, &out->rows, &out->n, &size, st);
        if (rc == RK_OK && out->n == 1) out->rows[0].rank = out->rows[0].competition;
        return rc;
    }
    out->rows = calloc(1, sizeof(*out->rows));
    if (out->rows == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    out->n = 1;
    out->rows[0] = (rank_row){.score = q->score, .rank = before + 1, .competition = before + 1, .ranked = 1};
    return RK_OK;
}

/* A histogram as rk_histogram answers it, its bucket edges by
 * ranks_buckets. */
static int history_histogram(pgstore *pg, const board *b, window_kind k, time_t at, const rread *q, rread_result *out,
                             rk_status *st) {
    report_query rq = window_query(b, k, at, RANK_COMPETITION);
    const score_bounds *r = &q->range;
    int64_t lo = 0, hi = 0, size = 0, width = 1, n = 0;
    int empty = 1;
    int64_t *counts = calloc((size_t)q->nbuckets, sizeof(*counts));
    if (counts == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    int rc = report_histogram(pg, &rq, r->has_min, r->min, r->has_max, r->max, q->nbuckets, &lo, &hi, counts, &size,
                              &empty, st);
    out->size = size;
    out->marked.user_id = q->mark_uid;
    if (rc == RK_OK && q->mark_uid > 0) {
        report_row me;
        int64_t ignore = 0;
        rc = report_places(pg, &rq, &q->mark_uid, 1, &me, &ignore, st);
        if (rc == RK_OK && me.user_id != 0) {
            out->marked = rank_row_of(&me);
            out->marked.rank = me.competition;
        }
    }
    if (rc == RK_OK && !empty && lo <= hi) {
        ranks_buckets(lo, hi, q->nbuckets, &width, &n);
        out->buckets = calloc((size_t)n, sizeof(*out->buckets));
        if (out->buckets == NULL) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        for (int64_t i = 0; rc == RK_OK && i < n; i++) {
            int64_t a = lo + i * width, z = a + width - 1;
            out->buckets[i] = (rread_bucket){.min = a, .max = z < hi ? z : hi, .count = counts[i]};
        }
        if (rc == RK_OK) out->nbuckets = (size_t)n;
    }
    free(counts);
    return rc;
}

static int from_history_other(pgstore *pg, const board *b, window_kind k, time_t at, const rread *q, rread_result *out,
                              rk_status *st);

/* Record metadata on the rows of an all-time read from the history, as
 * Redis gives it (rk:{b}:meta holds what report_metas computes): the
 * rows are copied into one block with their texts (rank_row.meta). */
static int with_meta(pgstore *pg, const board *b, window_kind k, rread_result *out, rk_status *st) {
    if (b == NULL || k != WINDOW_ALL || out->n == 0) return RK_OK;
    int64_t *uids = calloc(out->n, sizeof(*uids));
    report_meta *metas = NULL;
    size_t m = 0, n = 0;
    if (uids == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < out->n; i++)
        if (out->rows[i].ranked) uids[n++] = out->rows[i].user_id;
    int rc = n ? report_metas(pg, b, NULL, uids, n, &metas, &m, st) : RK_OK;
    free(uids);
    if (rc != RK_OK || m == 0) {
        free(metas);
        return rc;
    }
    for (size_t i = 0; i < out->n; i++)
        for (size_t j = 0; out->rows[i].ranked && j < m; j++)
            if (metas[j].user_id == out->rows[i].user_id) out->rows[i].meta = metas[j].meta;
    rank_row *copy = rank_rows_copy(out->rows, out->n);
    free(metas);
    if (copy == NULL) {
        for (size_t i = 0; i < out->n; i++) out->rows[i].meta = NULL;
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    free(out->rows);
    out->rows = copy;
    return RK_OK;
}

static int from_history(pgstore *pg, const board *b, window_kind k, time_t at, const rread *q, rread_result *out,
                        rk_status *st) {
    int rc = RK_OK;
    memset(out, 0, sizeof(*out));
    switch (q->kind) {
        case RREAD_TOP:
            rc = history_page(pg, b, k, at, q->mode, q->offset, q->count, &out->rows, &out->n, &out->size, st);
            break;
        case RREAD_AROUND: rc = history_around(pg, b, k, at, q, out, st); break;
        case RREAD_RANKS: rc = history_ranks(pg, b, k, at, q, out, st); break;
        case RREAD_RANGE: rc = history_range(pg, b, k, at, q, out, st); break;
        default: return from_history_other(pg, b, k, at, q, out, st);
    }
    if (rc == RK_OK) rc = with_meta(pg, b, k, out, st);
    if (rc != RK_OK) {
        free(out->rows);
        out->rows = NULL;
        out->n = 0;
    }
    return rc;
}

/* The reads whose rows carry no entries of players. */
static int from_history_other(pgstore *pg, const board *b, window_kind k, time_t at, const rread *q, rread_result *out,
                              rk_status *st) {
    switch (q->kind) {
        case RREAD_PERCENTILE: return history_percentile(pg, b, k, at, q, out, st);
        case RREAD_HISTOGRAM: return history_histogram(pg, b, k, at, q, out, st);
        case RREAD_COUNT:
        default: {
            int rc = history_page(pg, b, k, at, RANK_COMPETITION, 0, 0, &out->rows, &out->n, &out->size, st);
            free(out->rows);
            out->rows = NULL;
            out->n = 0;
            return rc;
        }
    }
}

int ranking_read(rstore *r, pgstore *pg, const recovery *rec, const board *b, window_kind k, time_t at, rread *q,
                 int flags, rread_result *out, int *from_hist, rk_status *st) {
    *from_hist = 0;
    /* A hot board's reads are merged from its shards; the ones that are
     * not (yet), the history answers. */
    int sharded = b != NULL && b->shards > 1;
    if (sharded && !shards_merges(q)) flags |= RANKING_HISTORY_ONLY;
    if (!(flags & RANKING_HISTORY_ONLY) && recovery_reads(rec) == RECOVERY_TO_REDIS) {
        int rc = sharded ? shards_read(r, b, k, at, q, out, st) : rstore_read(r, q, out, st); /* frees q */
        if (sharded) rread_done(q);
        if (rc == RK_OK) {
            /* The split layout's rows come without names, and a hot
             * board's merge's too; a name that cannot be had now goes out
             * empty, as the events' do. */
            rk_status ignore;
            rstore_fill_names(r, out->rows, out->n, &ignore);
        }
        if (rc == RK_OK && (flags & RANKING_HISTORY_IF_EMPTY) && q->kind == RREAD_TOP && out->size == 0) {
            free(out->rows); /* expired from Redis: the history still has it */
            out->rows = NULL;
        } else if (rc != RK_UNAVAILABLE) {
            return rc;
        }
    } else {
        rread_done(q);
    }
    /* q's fields outlive rread_done: only what it allocated is gone. */
    rk_status_clear(st); /* Redis's failure is answered here */
    *from_hist = 1;
    return from_history(pg, b, k, at, q, out, st);
}
