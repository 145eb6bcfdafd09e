/*
 * shards.c - a hot board's reads merged from its shards (shards.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ranks.h"
#include "shards.h"
#include "store_shards.h"

/* The views of one window of every shard of a board. */
typedef struct shard_views {
    int n;
    rview v[BOARD_SHARDS_MAX];
} shard_views;

static void views_of(const board *b, window_kind k, time_t at, shard_views *s) {
    s->n = board_shards(b);
    for (int i = 0; i < s->n; i++) {
        board c = board_at_shard(b, i);
        rstore_view(&c, k, at, &s->v[i]);
    }
}

static int oom(rk_status *st) { return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory"); }

static int dense_not_yet(rk_status *st) {
    return rk_status_set(st, RK_FAILED_PRECONDITION,
                         "dense ranks are given on a sharded board's top pages only (not yet around a player or for "
                         "a list of players); ask for competition or unique ranks");
}

/* qsort's comparators in the order of each kind of board. */
static int before_desc(const void *a, const void *b) {
    const rshard_row *x = *(const rshard_row *const *)a, *y = *(const rshard_row *const *)b;
    return rshard_before(1, x, y) ? -1 : rshard_before(1, y, x) ? 1 : 0;
}
static int before_asc(const void *a, const void *b) {
    const rshard_row *x = *(const rshard_row *const *)a, *y = *(const rshard_row *const *)b;
    return rshard_before(0, x, y) ? -1 : rshard_before(0, y, x) ? 1 : 0;
}

/* The rows of every page in the board's order: *list is malloc'ed,
 * pointing into the pages. */
static int merge(const rshard_page *pages, int npages, int desc, rshard_row ***list, size_t *n, rk_status *st) {
    size_t total = 0, m = 0;
    for (int i = 0; i < npages; i++) total += pages[i].n;
    rshard_row **all = calloc(total ? total : 1, sizeof(*all));
    if (all == NULL) return oom(st);
    for (int i = 0; i < npages; i++)
        for (size_t j = 0; j < pages[i].n; j++) all[m++] = &pages[i].rows[j];
    qsort(all, m, sizeof(*all), desc ? before_desc : before_asc);
    *list = all;
    *n = m;
    return RK_OK;
}

/* Rows list[from, from + count) of a merged run whose first row, list[0],
 * is at 0-based position base of the board with competition rank
 * first_competition and dense rank first_dense (0: not known, so not
 * asked for). A later row's score that differs from the row before it is
 * first reached right there: its competition rank is its position. */
static int emit(rshard_row *const *list, size_t m, size_t from, size_t count, int64_t base, int64_t first_competition,
                int64_t first_dense, rank_mode mode, rread_result *out, rk_status *st) {
    size_t n = from < m ? (m - from < count ? m - from : count) : 0;
    rank_row *rows = calloc(n ? n : 1, sizeof(*rows));
    if (rows == NULL) return oom(st);
    int64_t competition = first_competition, dense = first_dense;
    for (size_t i = 0; i < from + n && i < m; i++) {
        if (i > 0 && list[i]->score != list[i - 1]->score) {
            competition = base + (int64_t)i + 1;
            dense++;
        }
        if (i < from) continue;
        int64_t position = base + (int64_t)i + 1;
        rank_row *o = &rows[i - from];
        *o = (rank_row){.user_id = list[i]->user_id,
                        .score = list[i]->score,
                        .position = position,
                        .competition = competition,
                        .ranked = 1,
                        .meta = list[i]->meta};
        o->rank = mode == RANK_UNIQUE ? position : mode == RANK_DENSE ? dense : competition;
    }
    out->rows = rank_rows_copy(rows, n);
    free(rows);
    if (out->rows == NULL) return oom(st);
    out->n = n;
    return RK_OK;
}

static void pages_free(rshard_page *pages, int n) {
    for (int i = 0; i < n; i++) rshard_page_free(&pages[i]);
}

/* A top page: each shard's first offset + count entries hold the board's;
 * merged, the prefix is the board's own, so its ranks of every mode are
 * exact. One round trip. */
static int top(rstore *r, const shard_views *s, const rread *q, rread_result *out, rk_status *st) {
    rshard_page pages[BOARD_SHARDS_MAX];
    rshard_row **list = NULL;
    size_t m = 0;
    int rc = rshard_rows(r, s->v, (size_t)s->n, NULL, q->offset + q->count, pages, st);
    if (rc != RK_OK) return rc;
    for (int i = 0; i < s->n; i++) out->size += pages[i].size;
    rc = merge(pages, s->n, s->v[0].desc, &list, &m, st);
    if (rc == RK_OK) rc = emit(list, m, (size_t)q->offset, (size_t)q->count, 0, 1, 1, q->mode, out, st);
    free(list);
    pages_free(pages, s->n);
    return rc;
}

static int count(rstore *r, const shard_views *s, rread_result *out, rk_status *st) {
    rshard_page pages[BOARD_SHARDS_MAX];
    int rc = rshard_rows(r, s->v, (size_t)s->n, NULL, 0, pages, st);
    if (rc != RK_OK) return rc;
    for (int i = 0; i < s->n; i++) out->size += pages[i].size;
    pages_free(pages, s->n);
    return RK_OK;
}

/* The players' rows on their own shards, in the order of uids: one round
 * trip to the shards that hold any of them. */
static int places(rstore *r, const board *b, const shard_views *s, const int64_t *uids, size_t n, rshard_row *me,
                  rk_status *st) {
    int64_t *ids = calloc(n ? n : 1, sizeof(*ids));
    size_t *at = calloc(n ? n : 1, sizeof(*at));
    const int64_t *per[BOARD_SHARDS_MAX];
    size_t nper[BOARD_SHARDS_MAX] = {0}, k = 0;
    rshard_page pages[BOARD_SHARDS_MAX];
    if (ids == NULL || at == NULL) {
        free(ids);
        free(at);
        return oom(st);
    }
    /* ids grouped by shard, at[] where each came from. */
    for (int i = 0; i < s->n; i++) {
        per[i] = ids + k;
        for (size_t j = 0; j < n; j++)
            if (board_shard_of(b, uids[j]) == i) {
                ids[k] = uids[j];
                at[k++] = j;
                nper[i]++;
            }
    }
    int rc = rshard_places(r, s->v, (size_t)s->n, per, nper, pages, st);
    for (int i = 0, x = 0; rc == RK_OK && i < s->n; x += (int)nper[i], i++)
        for (size_t j = 0; j < nper[i]; j++) {
            me[at[x + (int)j]] = pages[i].rows[j];
            pages[i].rows[j].meta = NULL; /* me's now */
        }
    if (rc == RK_OK) pages_free(pages, s->n);
    free(ids);
    free(at);
    return rc;
}

/* For each found row of me (n of them), the board's entries strictly
 * better (better[j]) and ahead of it (ahead[j]) over every shard, in one
 * round trip; *size the board's. A row's own shard counts its position. */
static int ahead_all(rstore *r, const board *b, const shard_views *s, const rshard_row *me, size_t n, int64_t *better,
                     int64_t *ahead, int64_t *size, rk_status *st) {
    size_t cells = n * (size_t)s->n;
    rshard_probe *probes = calloc(cells ? cells : 1, sizeof(*probes));
    int64_t *bt = calloc(cells ? cells : 1, sizeof(*bt)), *ah = calloc(cells ? cells : 1, sizeof(*ah));
    size_t *at = calloc(n ? n : 1, sizeof(*at)), k = 0;
    if (!probes || !bt || !ah || !at) {
        free(probes);
        free(bt);
        free(ah);
        free(at);
        return oom(st);
    }
    const rshard_probe *pr[BOARD_SHARDS_MAX];
    int64_t *bp[BOARD_SHARDS_MAX], *ap[BOARD_SHARDS_MAX], sizes[BOARD_SHARDS_MAX];
    size_t np[BOARD_SHARDS_MAX];
    for (size_t j = 0; j < n; j++) {
        better[j] = ahead[j] = 0;
        if (me[j].found) at[k++] = j;
    }
    /* Shard i's probes are the found rows, in order: k of them. */
    for (int i = 0; i < s->n; i++) {
        rshard_probe *p = probes + (size_t)i * n;
        for (size_t x = 0; x < k; x++) {
            const rshard_row *row = &me[at[x]];
            int own = board_shard_of(b, row->user_id) == i;
            p[x] = (rshard_probe){.score = row->score, .member = own ? "" : row->member};
        }
        pr[i] = p;
        np[i] = k;
        bp[i] = bt + (size_t)i * n;
        ap[i] = ah + (size_t)i * n;
    }
    int rc = rshard_ahead(r, s->v, (size_t)s->n, pr, np, bp, ap, sizes, st);
    *size = 0;
    for (int i = 0; rc == RK_OK && i < s->n; i++) {
        *size += sizes[i];
        for (size_t x = 0; x < k; x++) {
            size_t j = at[x];
            better[j] += bp[i][x];
            ahead[j] += board_shard_of(b, me[j].user_id) == i ? me[j].position : ap[i][x];
        }
    }
    free(probes);
    free(bt);
    free(ah);
    free(at);
    return rc;
}

static void rows_free(rshard_row *rows, size_t n) {
    for (size_t i = 0; rows && i < n; i++) free(rows[i].meta);
    free(rows);
}

/* Two round trips: the places, then what is ahead of them. */
static int ranks(rstore *r, const board *b, const shard_views *s, const rread *q, rread_result *out, rk_status *st) {
    if (q->mode == RANK_DENSE) return dense_not_yet(st);
    size_t n = q->nuids;
    rshard_row *me = calloc(n ? n : 1, sizeof(*me));
    int64_t *better = calloc(n ? n : 1, sizeof(*better)), *ahead = calloc(n ? n : 1, sizeof(*ahead));
    rank_row *rows = calloc(n ? n : 1, sizeof(*rows));
    int rc = me && better && ahead && rows ? RK_OK : oom(st);
    if (rc == RK_OK) rc = places(r, b, s, q->uids, n, me, st);
    if (rc == RK_OK) rc = ahead_all(r, b, s, me, n, better, ahead, &out->size, st);
    for (size_t j = 0; rc == RK_OK && j < n; j++) {
        rows[j] = (rank_row){.user_id = q->uids[j]};
        if (!me[j].found) continue;
        rows[j].score = me[j].score;
        rows[j].position = ahead[j] + 1;
        rows[j].competition = better[j] + 1;
        rows[j].rank = q->mode == RANK_UNIQUE ? rows[j].position : rows[j].competition;
        rows[j].ranked = 1;
        rows[j].meta = me[j].meta;
    }
    if (rc == RK_OK && (out->rows = rank_rows_copy(rows, n)) == NULL) rc = oom(st);
    if (rc == RK_OK) out->n = n;
    rows_free(me, n);
    free(better);
    free(ahead);
    free(rows);
    return rc;
}

/* The page around a player, in four round trips: their place p on the
 * board (places, then ahead on every shard), the page [from, from +
 * count) ranks_around_page cuts around it, from each shard the entries
 * that can be on it (up to p - from before the player's place there, and
 * count after), and the page's first score counted on every shard. Merged,
 * the player's p - from nearest predecessors and the rest of the page are
 * in a row. */
static int around(rstore *r, const board *b, const shard_views *s, const rread *q, rread_result *out, rk_status *st) {
    if (q->mode == RANK_DENSE) return dense_not_yet(st);
    rshard_row me = {0};
    int64_t better = 0, ahead = 0, size = 0, from = 0, cnt = 0;
    int rc = places(r, b, s, &q->user_id, 1, &me, st);
    if (rc == RK_OK && !me.found)
        rc = rk_status_set(st, RK_NOT_FOUND, "user %lld has no score on this board", (long long)q->user_id);
    /* The player's place on each shard, then on the board. */
    int64_t at[BOARD_SHARDS_MAX] = {0}, sizes[BOARD_SHARDS_MAX], bt[BOARD_SHARDS_MAX];
    int own = board_shard_of(b, q->user_id);
    rshard_probe pr = {.score = me.score, .member = me.member}, first_pr = {.member = ""};
    const rshard_probe *prs[BOARD_SHARDS_MAX];
    int64_t *bts[BOARD_SHARDS_MAX], *ats[BOARD_SHARDS_MAX];
    size_t ones[BOARD_SHARDS_MAX];
    for (int i = 0; i < s->n; i++) {
        prs[i] = &pr;
        ones[i] = 1;
        bts[i] = &bt[i];
        ats[i] = &at[i];
    }
    if (rc == RK_OK) rc = rshard_ahead(r, s->v, (size_t)s->n, prs, ones, bts, ats, sizes, st);
    if (rc == RK_OK) {
        at[own] = me.position;
        for (int i = 0; i < s->n; i++) {
            ahead += at[i];
            size += sizes[i];
        }
        ranks_around_page(ahead, size, q->above, q->below, &from, &cnt);
    }
    out->size = size;

    rshard_page pages[BOARD_SHARDS_MAX];
    int64_t starts[BOARD_SHARDS_MAX];
    int fetched = 0;
    for (int i = 0; i < s->n; i++) {
        int64_t start = at[i] - (ahead - from);
        starts[i] = start > 0 ? start : 0;
    }
    if (rc == RK_OK && (rc = rshard_rows(r, s->v, (size_t)s->n, starts, cnt + 1, pages, st)) == RK_OK) fetched = 1;
    rshard_row **list = NULL;
    size_t m = 0, mine = 0;
    if (rc == RK_OK) rc = merge(pages, s->n, s->v[0].desc, &list, &m, st);
    while (rc == RK_OK && mine < m && list[mine]->user_id != q->user_id) mine++;
    /* Writes between the round trips can move the player: the page is then
     * cut around where the merge has them. */
    size_t first = mine < m && mine >= (size_t)(ahead - from) ? mine - (size_t)(ahead - from) : 0;
    if (rc == RK_OK && m > 0) {
        /* The page's first score: entries strictly better, on every shard. */
        first_pr.score = list[first]->score;
        for (int i = 0; i < s->n; i++) prs[i] = &first_pr;
        rc = rshard_ahead(r, s->v, (size_t)s->n, prs, ones, bts, ats, sizes, st);
        for (int i = 0; rc == RK_OK && i < s->n; i++) better += bt[i];
    }
    if (rc == RK_OK) rc = emit(list + first, m - first, 0, (size_t)cnt, from, better + 1, 0, q->mode, out, st);
    free(list);
    if (fetched) pages_free(pages, s->n);
    free(me.meta);
    return rc;
}

int shards_read(rstore *r, const board *b, window_kind k, time_t at, const rread *q, rread_result *out, rk_status *st) {
    shard_views s;
    memset(out, 0, sizeof(*out));
    views_of(b, k, at, &s);
    int rc;
    switch (q->kind) {
        case RREAD_TOP: rc = top(r, &s, q, out, st); break;
        case RREAD_AROUND: rc = around(r, b, &s, q, out, st); break;
        case RREAD_RANKS: rc = ranks(r, b, &s, q, out, st); break;
        case RREAD_COUNT: rc = count(r, &s, out, st); break;
        default: return rk_status_set(st, RK_UNIMPLEMENTED, "this read is not merged from a sharded board's shards");
    }
    if (rc != RK_OK) {
        free(out->rows);
        memset(out, 0, sizeof(*out));
    }
    return rc;
}

/* A top page ending deeper than this is the history's: the merge reads
 * offset + count entries from every shard, where a plain board's read
 * starts at the offset. */
#define DEEP_TOP_MAX 10000

int shards_merges(const rread *q) {
    if (q->kind == RREAD_TOP) return q->offset + q->count <= DEEP_TOP_MAX;
    return q->kind == RREAD_AROUND || q->kind == RREAD_RANKS || q->kind == RREAD_COUNT;
}

int shards_submitted(rstore *r, const board *b, int64_t uid, rstore_submit_out *o, rk_status *st) {
    if (board_shards(b) == 1 || o->status.code != RK_OK || o->rank <= 0) return RK_OK;
    shard_views s;
    views_of(b, WINDOW_ALL, 0, &s);
    /* The other shards only: one round trip. */
    rview others[BOARD_SHARDS_MAX];
    int n = 0;
    for (int i = 0; i < s.n; i++)
        if (i != board_shard_of(b, uid)) others[n++] = s.v[i];
    rshard_probe pr[2] = {{.score = o->score, .member = ""}, {.score = o->previous_score, .member = ""}};
    const rshard_probe *prs[BOARD_SHARDS_MAX];
    int64_t better[BOARD_SHARDS_MAX][2], ahead[BOARD_SHARDS_MAX][2], sizes[BOARD_SHARDS_MAX];
    int64_t *bp[BOARD_SHARDS_MAX], *ap[BOARD_SHARDS_MAX];
    size_t np[BOARD_SHARDS_MAX];
    for (int i = 0; i < n; i++) {
        prs[i] = pr;
        np[i] = o->previous_rank > 0 ? 2 : 1;
        bp[i] = better[i];
        ap[i] = ahead[i];
    }
    int rc = rshard_ahead(r, others, (size_t)n, prs, np, bp, ap, sizes, st);
    if (rc != RK_OK) {
        o->rank = o->previous_rank = 0; /* not known: the shard's alone would be wrong */
        return rc;
    }
    for (int i = 0; i < n; i++) {
        o->rank += better[i][0];
        if (np[i] == 2) o->previous_rank += better[i][1];
        o->board_size += sizes[i];
    }
    return RK_OK;
}

/* ---------------------------------------------------------------- a submission's event */

#define PASSED_MAX 10  /* as rankd.lua's publish_rank */
#define PASSED_PAGE 41 /* the player, up to 30 tied with them, 10 behind */

static int better_than(const board *b, int64_t x, int64_t y) { return b->higher_is_better ? x > y : x < y; }

int shards_publish_rank(rstore *r, const board *b, int64_t uid, const rstore_submit_out *o, rk_status *st) {
    if (board_shards(b) == 1 || o->status.code != RK_OK || o->replayed || o->held || o->rank <= 0) return RK_OK;
    int first = o->previous_rank <= 0;
    if (!first && o->previous_score == o->score) return RK_OK;
    char passed[PASSED_MAX * 21 + 1] = "";
    /* The players passed are behind the new place now and were not behind
     * the old score (equal to it counts as passed, as on a plain board);
     * those tied with the new score reached it before or after, and were
     * passed by neither. */
    if ((first || better_than(b, o->score, o->previous_score)) && o->rank - 1 + PASSED_PAGE <= DEEP_TOP_MAX) {
        rview v;
        rread q;
        rread_result res;
        rk_status ignore;
        rstore_view(b, WINDOW_ALL, 0, &v);
        rread_top(&q, &v, o->rank - 1, PASSED_PAGE, RANK_COMPETITION);
        if (shards_read(r, b, WINDOW_ALL, 0, &q, &res, &ignore) == RK_OK) {
            size_t used = 0;
            for (size_t i = 0, n = 0; i < res.n && n < PASSED_MAX; i++) {
                const rank_row *row = &res.rows[i];
                if (row->user_id == uid || !better_than(b, o->score, row->score)) continue;
                if (!first && better_than(b, o->previous_score, row->score)) break;
                used +=
                    (size_t)snprintf(passed + used, sizeof(passed) - used, "%s%" PRId64, n++ ? "," : "", row->user_id);
            }
            free(res.rows);
        }
    }
    char line[BOARD_ID_MAX + sizeof(passed) + 128], old[24] = "";
    if (!first) snprintf(old, sizeof(old), "%" PRId64, o->previous_score);
    snprintf(line, sizeof(line), "r\t%s\t%" PRId64 "\t%s\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%s", b->id, uid, old,
             o->score, first ? 0 : o->previous_rank, o->rank, passed);
    return rstore_publish(r, line, st);
}
