/*
 * h_ranking.c - ranked reads: top N, one player's rank, the players around
 * a player, the ranks of a list of players, the number of players (in a
 * score range, too), the players in a score range, percentiles, the spread
 * of the scores, and one player on every board.
 *
 * Reads are open to anyone (spectators need no account). Each is one
 * FCALL_RO round trip; ranks follow ranks.h's tie rules.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boards.h"
#include "handlers.h"
#include "loop.h"
#include "ranking.h"
#include "recovery.h"
#include "store_async.h"
#include "topcache.h"
#include "users.h"
#include "validate.h"

#define TOP_DEFAULT 10
#define TOP_MAX 1000
#define AROUND_DEFAULT 5
#define AROUND_MAX 100

static const char *const window_names[] = {"all-time", "daily", "weekly", "monthly"};

/* What a ranked read reads: the sorted set, and the board and window in
 * case PostgreSQL has to answer instead. */
typedef struct target {
    rview v;
    board b;
    int global;
    window_kind k;
} target;

/* Finds the sorted set of a board's window; "global" is the global board. */
static int view_of(rpc_call *call, const char *board_id, int has_window, Rankd__Window window, target *t,
                   rk_status *st) {
    rview *v = &t->v;
    int rc;
    int k = has_window ? (int)window : WINDOW_ALL;
    if ((rc = validate_id("board_id", board_id, st)) != RK_OK) return rc;
    if (k < 0 || k >= WINDOW_KINDS) return rk_status_set(st, RK_INVALID_ARGUMENT, "unknown window %d", k);
    if (strcmp(board_id, BOARD_GLOBAL_ID) == 0) {
        if (k != WINDOW_ALL)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "the global board has only the all-time window");
        rstore_view(NULL, WINDOW_ALL, server_time(), v);
        t->global = 1;
        t->k = WINDOW_ALL;
        return RK_OK;
    }
    board *b = &t->b;
    t->global = 0;
    t->k = (window_kind)k;
    if ((rc = boards_get(call->srv->boards, call->w->pg, board_id, b, st)) != RK_OK) return rc;
    if (!(b->windows & WINDOW_BIT(k)))
        return rk_status_set(st, RK_FAILED_PRECONDITION, "board %s keeps no %s window", b->id, window_names[k]);
    rstore_view(b, (window_kind)k, server_time(), v);
    return RK_OK;
}

static int mode_of(int has, Rankd__RankMode m, rank_mode *out, rk_status *st) {
    int v = has ? (int)m : RANK_COMPETITION;
    if (v < RANK_COMPETITION || v > RANK_UNIQUE)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "unknown rank_mode %d", v);
    *out = (rank_mode)v;
    return RK_OK;
}

/* One player named by id or username. An id is taken as it is (the read
 * that follows finds whether it is ranked); only a name needs a look-up. */
static int player_of(rpc_call *call, int has_id, int64_t id, const char *name, int64_t *out, rk_status *st) {
    if (has_id && id > 0) {
        *out = id;
        return RK_OK;
    }
    int found = 0;
    char resolved[1][USER_NAME_MAX];
    int64_t ids[1] = {has_id ? id : 0};
    const char *names[1] = {name};
    if (ids[0] <= 0 && (name == NULL || name[0] == '\0'))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "user_id or username is required");
    int rc = users_resolve(call, ids, names, 1, &found, resolved, st);
    if (rc != RK_OK) return rc;
    if (!found) return rk_status_set(st, RK_NOT_FOUND, "user %s not found", name && name[0] ? name : "with that id");
    *out = ids[0];
    return RK_OK;
}

/* An entry of a board of `size` players. */
static Rankd__RankEntry *entry_of(rpc_call *call, const rank_row *r, int64_t size) {
    Rankd__RankEntry *e = arena_alloc(&call->w->arena, sizeof(*e));
    if (e == NULL) return NULL;
    rankd__rank_entry__init(e);
    e->has_user_id = 1;
    e->user_id = r->user_id;
    e->username = arena_strdup(&call->w->arena, r->username);
    if (r->ranked) {
        e->has_score = e->has_rank = 1;
        e->score = r->score;
        e->rank = r->rank;
        if (size > 0 && r->competition > 0) {
            e->has_percentile = 1;
            e->percentile = ranks_percentile(r->competition, size);
        }
        if (r->meta && (e->meta = arena_strdup(&call->w->arena, r->meta)) == NULL) return NULL;
    }
    return e;
}

/* Builds a RankListReply from rows (freed here). Unranked rows are left out. */
static int list_reply(rpc_call *call, rank_row *rows, size_t n, int64_t size, ProtobufCMessage **out, rk_status *st) {
    Rankd__RankListReply *rep = arena_alloc(&call->w->arena, sizeof(*rep));
    Rankd__RankEntry **entries = ARENA_ARRAY(call, Rankd__RankEntry *, n);
    int rc = RK_OK;
    size_t k = 0;
    if (rep == NULL || entries == NULL) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        if (!rows[i].ranked) continue;
        if ((entries[k++] = entry_of(call, &rows[i], size)) == NULL)
            rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    free(rows);
    if (rc != RK_OK) return rc;
    rankd__rank_list_reply__init(rep);
    rep->n_entries = k;
    rep->entries = entries;
    rep->has_board_size = 1;
    rep->board_size = size;
    *out = &rep->base;
    return RK_OK;
}

/* ---------------------------------------------------------------- requests */

/* Each read in two halves around its Redis command: what comes before
 * (checks, the board, the player) and what comes after (the reply). The
 * worker pool's handlers run both with a blocking round trip between, and
 * fall back to PostgreSQL; the event loops' handlers send the command
 * and finish in its callback, and leave everything else to the workers
 * (RPC_SLOW). */

typedef struct read_call read_call;
typedef int (*read_finish)(read_call *rc, rread_result *res, ProtobufCMessage **out, rk_status *st);

struct read_call {
    rpc_call *call;
    target t;
    rank_mode mode;
    int64_t offset, limit; /* top */
    int64_t above, below;  /* around */
    int64_t uid;           /* rank, around */
    int64_t *ids;          /* ranks of: the known players (in the arena) */
    size_t nids;
    uint64_t version; /* top: the cache's version of the board when asked */
    const char *board_id;
    rread q;
    read_finish finish;
    loop_task retry; /* the fast lane: asks again after a "not now" */
    int64_t started_us;
};

static read_call *read_call_new(rpc_call *call) {
    read_call *r = arena_alloc(&call->w->arena, sizeof(*r));
    if (r) {
        r->call = call;
        r->started_us = server_now_us();
    }
    return r;
}

/* The worker pool: one blocking round trip, or the history when Redis
 * cannot answer (ranking.h). r->q is freed either way. */
static int read_sync(read_call *r, rread_result *out, rk_status *st) {
    rpc_call *call = r->call;
    int history = 0;
    /* skip_redis: the fast lane waited for a rebuild as long as it could. */
    int rc = ranking_read(call->w->redis, call->w->pg, call->srv->recovery, r->t.global ? NULL : &r->t.b, r->t.k,
                          server_time(), &r->q, call->skip_redis ? RANKING_HISTORY_ONLY : 0, out, &history, st);
    if (history) call->degraded = 1;
    if (rc == RK_OK && rstore_get_layout() == RSTORE_SPLIT) users_remember_names(call->srv, out->rows, out->n);
    return rc;
}

#define RETRY_MS 50

static void read_cb(void *arg, const struct redisReply *rep);

static void read_again(loop_task *t) {
    read_call *r = (read_call *)((char *)t - offsetof(read_call, retry));
    rk_status st;
    if (rasync_command(r->call->ra, r->q.argc, r->q.argv, read_cb, r, &st) != RK_OK) {
        rread_done(&r->q);
        rk_status_clear(&st);
        r->call->done(r->call, RPC_SLOW, NULL, &st);
    }
}

static void read_cb(void *arg, const struct redisReply *rep) {
    read_call *r = arg;
    rk_status st;
    rk_status_clear(&st);
    ProtobufCMessage *reply = NULL;
    if (rep && rread_retry_later(rep)) {
        /* The board is being rebuilt (or Redis has no functions yet): ask
         * again in a moment while half the deadline is left, then let the
         * workers answer from PostgreSQL without waiting any longer. */
        int64_t now = server_now_us();
        if (now + RETRY_MS * 1000 < r->call->deadline_us - (r->call->deadline_us - r->started_us) / 2) {
            r->retry.run = read_again;
            r->call->defer(r->call, &r->retry, RETRY_MS);
            return;
        }
        r->call->skip_redis = 1;
    }
    /* No answer, an error, or "not now" for too long: the workers retry or
     * ask PostgreSQL. */
    int rc = RPC_SLOW;
    if (rep && !rread_retry_later(rep) && !rread_is_error(rep)) {
        rread_result res;
        rc = rread_parse(&r->q, rep, &res, &st);
        /* The split layout's rows come without names: from memory, or
         * the workers ask Redis. */
        if (rc == RK_OK && rstore_get_layout() == RSTORE_SPLIT && !users_cached_names(r->call->srv, res.rows, res.n)) {
            free(res.rows);
            rc = RPC_SLOW;
        }
        if (rc == RK_OK) rc = r->finish(r, &res, &reply, &st);
    }
    rread_done(&r->q);
    r->call->done(r->call, rc, reply, &st);
}

/* Runs a prepared read on the call's lane. */
static int read_run(read_call *r, ProtobufCMessage **out, rk_status *st) {
    rpc_call *call = r->call;
    if (call->ra == NULL) {
        rread_result res;
        int rc = read_sync(r, &res, st);
        return rc == RK_OK ? r->finish(r, &res, out, st) : rc;
    }
    /* A hot board's reads take a call per shard: the workers merge them. */
    if (recovery_reads(call->srv->recovery) == RECOVERY_TO_POSTGRES || (!r->t.global && r->t.b.shards > 1) ||
        rasync_command(call->ra, r->q.argc, r->q.argv, read_cb, r, st) != RK_OK) {
        rread_done(&r->q);
        rk_status_clear(st);
        return RPC_SLOW;
    }
    return RPC_PENDING;
}

/* ---- Top */

static int top_finish(read_call *r, rread_result *res, ProtobufCMessage **out, rk_status *st) {
    if (!r->call->degraded)
        topcache_put(r->call->srv->tops, r->board_id, &r->t.v, r->offset, r->limit, r->mode, r->version, res->rows,
                     res->n, res->size);
    return list_reply(r->call, res->rows, res->n, res->size, out, st);
}

static int top(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__TopRequest *req = (const Rankd__TopRequest *)m;
    read_call *r = read_call_new(call);
    int rc;
    if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    uint32_t limit = req->has_limit && req->limit ? req->limit : TOP_DEFAULT;
    if (limit > TOP_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "limit %u is above the maximum %d", limit, TOP_MAX);
    if ((rc = view_of(call, req->board_id, req->has_window, req->window, &r->t, st)) != RK_OK) return rc;
    if ((rc = mode_of(req->has_rank_mode, req->rank_mode, &r->mode, st)) != RK_OK) return rc;
    r->offset = req->has_offset ? req->offset : 0;
    r->limit = limit;
    r->board_id = r->t.global ? BOARD_GLOBAL_ID : r->t.b.id;
    rank_row *rows = NULL;
    size_t n = 0;
    int64_t size = 0;
    if (topcache_get(call->srv->tops, r->board_id, &r->t.v, r->offset, limit, r->mode, &rows, &n, &size))
        return list_reply(call, rows, n, size, out, st);
    r->version = topcache_version(call->srv->tops, r->board_id);
    rread_top(&r->q, &r->t.v, r->offset, limit, r->mode);
    r->finish = top_finish;
    return read_run(r, out, st);
}

/* ---- Around */

static int list_finish(read_call *r, rread_result *res, ProtobufCMessage **out, rk_status *st) {
    return list_reply(r->call, res->rows, res->n, res->size, out, st);
}

static int around(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__AroundRequest *req = (const Rankd__AroundRequest *)m;
    read_call *r = read_call_new(call);
    int rc;
    if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    r->above = req->has_above ? req->above : AROUND_DEFAULT;
    r->below = req->has_below ? req->below : AROUND_DEFAULT;
    if (r->above > AROUND_MAX || r->below > AROUND_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "above and below are at most %d", AROUND_MAX);
    if ((rc = view_of(call, req->board_id, req->has_window, req->window, &r->t, st)) != RK_OK) return rc;
    if ((rc = mode_of(req->has_rank_mode, req->rank_mode, &r->mode, st)) != RK_OK) return rc;
    if ((rc = player_of(call, req->has_user_id, req->user_id, req->username, &r->uid, st)) != RK_OK) return rc;
    rread_around(&r->q, &r->t.v, r->uid, r->above, r->below, r->mode);
    r->finish = list_finish;
    return read_run(r, out, st);
}

/* ---- Rank */

static int rank_finish(read_call *r, rread_result *res, ProtobufCMessage **out, rk_status *st) {
    rank_row *rows = res->rows;
    if (!rows[0].ranked) {
        free(rows);
        return rk_status_set(st, RK_NOT_FOUND, "user %lld has no score on board %s", (long long)r->uid, r->board_id);
    }
    Rankd__RankReply *rep = arena_alloc(&r->call->w->arena, sizeof(*rep));
    if (rep) {
        rankd__rank_reply__init(rep);
        rep->entry = entry_of(r->call, &rows[0], res->size);
    }
    free(rows);
    if (rep == NULL || rep->entry == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    rep->has_board_size = 1;
    rep->board_size = res->size;
    *out = &rep->base;
    return RK_OK;
}

static int rank(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__RankRequest *req = (const Rankd__RankRequest *)m;
    read_call *r = read_call_new(call);
    int rc;
    if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if ((rc = view_of(call, req->board_id, req->has_window, req->window, &r->t, st)) != RK_OK) return rc;
    if ((rc = mode_of(req->has_rank_mode, req->rank_mode, &r->mode, st)) != RK_OK) return rc;
    if ((rc = player_of(call, req->has_user_id, req->user_id, req->username, &r->uid, st)) != RK_OK) return rc;
    r->board_id = req->board_id;
    r->ids = &r->uid;
    r->nids = 1;
    if ((rc = rread_ranks(&r->q, &r->t.v, r->ids, 1, r->mode, st)) != RK_OK) return rc;
    r->finish = rank_finish;
    return read_run(r, out, st);
}

/* ---- RanksOf */

static int ranks_of_finish(read_call *r, rread_result *res, ProtobufCMessage **out, rk_status *st) {
    rank_row *rows = res->rows;
    size_t k = res->n;
    /* In board order (best first, earlier achiever first among equals),
     * like every other listing. */
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && rows[j].ranked && (!rows[j - 1].ranked || rows[j].position < rows[j - 1].position);
             j--) {
            rank_row t = rows[j];
            rows[j] = rows[j - 1];
            rows[j - 1] = t;
        }
    return list_reply(r->call, rows, k, res->size, out, st);
}

static int ranks_of(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__RanksOfRequest *req = (const Rankd__RanksOfRequest *)m;
    read_call *r = read_call_new(call);
    int rc;
    if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    size_t n = req->n_user_ids + req->n_usernames;
    if (n == 0) return rk_status_set(st, RK_INVALID_ARGUMENT, "name at least one player");
    if (n > RANKS_OF_MAX) return rk_status_set(st, RK_INVALID_ARGUMENT, "at most %d players per call", RANKS_OF_MAX);
    if ((rc = view_of(call, req->board_id, req->has_window, req->window, &r->t, st)) != RK_OK) return rc;
    if ((rc = mode_of(req->has_rank_mode, req->rank_mode, &r->mode, st)) != RK_OK) return rc;

    int64_t *ids = ARENA_ARRAY(call, int64_t, n);
    const char **names = ARENA_ARRAY(call, const char *, n);
    int *found = ARENA_ARRAY(call, int, n);
    user_name *resolved = arena_alloc(&call->w->arena, USER_NAME_MAX * n);
    if (!ids || !names || !found || !resolved) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    /* Ids go straight to Redis (an unknown id is simply not ranked); names
     * are looked up, all in one call. */
    for (size_t i = 0; i < req->n_user_ids; i++) {
        ids[i] = req->user_ids[i];
        found[i] = req->user_ids[i] > 0;
    }
    for (size_t i = 0; i < req->n_usernames; i++) names[i] = req->usernames[i];
    if (req->n_usernames > 0 && (rc = users_resolve(call, ids + req->n_user_ids, names, req->n_usernames,
                                                    found + req->n_user_ids, resolved, st)) != RK_OK)
        return rc;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (found[i]) ids[k++] = ids[i]; /* unknown players are simply not ranked */
    r->ids = ids;
    r->nids = k;
    if (k == 0) {
        /* Nobody known: an empty listing, but the board's size all the same. */
        rread_count(&r->q, &r->t.v);
        r->finish = list_finish;
        return read_run(r, out, st);
    }
    if ((rc = rread_ranks(&r->q, &r->t.v, ids, k, r->mode, st)) != RK_OK) return rc;
    r->finish = ranks_of_finish;
    return read_run(r, out, st);
}

/* ---- Count and ScoreRange */

/* Inclusive score bounds as a request gives them, either optional: each
 * within +-2^53 (no stored score lies beyond), min at most max. */
static int range_of(int has_min, int64_t min, int has_max, int64_t max, score_bounds *out, rk_status *st) {
    if (has_min && (min < -SCORE_LIMIT || min > SCORE_LIMIT))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "min_score %lld is outside +-2^53", (long long)min);
    if (has_max && (max < -SCORE_LIMIT || max > SCORE_LIMIT))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "max_score %lld is outside +-2^53", (long long)max);
    if (has_min && has_max && min > max)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "min_score %lld is above max_score %lld", (long long)min,
                             (long long)max);
    *out = (score_bounds){.has_min = has_min, .has_max = has_max, .min = min, .max = max};
    return RK_OK;
}

static int count_finish(read_call *r, rread_result *res, ProtobufCMessage **out, rk_status *st) {
    free(res->rows);
    Rankd__CountReply *rep = arena_alloc(&r->call->w->arena, sizeof(*rep));
    if (rep == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    rankd__count_reply__init(rep);
    rep->has_count = 1;
    rep->count = r->q.kind == RREAD_RANGE ? res->in_range : res->size;
    *out = &rep->base;
    return RK_OK;
}

static int count(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__CountRequest *req = (const Rankd__CountRequest *)m;
    read_call *r = read_call_new(call);
    int rc;
    if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    score_bounds range;
    if ((rc = range_of(req->has_min_score, req->min_score, req->has_max_score, req->max_score, &range, st)) != RK_OK)
        return rc;
    if ((rc = view_of(call, req->board_id, req->has_window, req->window, &r->t, st)) != RK_OK) return rc;
    if (range.has_min || range.has_max)
        rread_range(&r->q, &r->t.v, &range, 0, 0, RANK_COMPETITION); /* only the counts */
    else
        rread_count(&r->q, &r->t.v);
    r->finish = count_finish;
    return read_run(r, out, st);
}

static int score_range_finish(read_call *r, rread_result *res, ProtobufCMessage **out, rk_status *st) {
    int rc = list_reply(r->call, res->rows, res->n, res->size, out, st);
    if (rc == RK_OK) {
        Rankd__RankListReply *rep = (Rankd__RankListReply *)*out;
        rep->has_total = 1;
        rep->total = res->in_range;
    }
    return rc;
}

static int score_range(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__ScoreRangeRequest *req = (const Rankd__ScoreRangeRequest *)m;
    read_call *r = read_call_new(call);
    int rc;
    if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    uint32_t limit = req->has_limit && req->limit ? req->limit : TOP_DEFAULT;
    if (limit > TOP_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "limit %u is above the maximum %d", limit, TOP_MAX);
    score_bounds range;
    if ((rc = range_of(req->has_min_score, req->min_score, req->has_max_score, req->max_score, &range, st)) != RK_OK)
        return rc;
    if ((rc = view_of(call, req->board_id, req->has_window, req->window, &r->t, st)) != RK_OK) return rc;
    if ((rc = mode_of(req->has_rank_mode, req->rank_mode, &r->mode, st)) != RK_OK) return rc;
    rread_range(&r->q, &r->t.v, &range, req->has_offset ? req->offset : 0, limit, r->mode);
    r->finish = score_range_finish;
    return read_run(r, out, st);
}

/* ---- Percentile and Distribution */

#define BUCKETS_DEFAULT 10
#define BUCKETS_MAX 100

static int percentile_finish(read_call *r, rread_result *res, ProtobufCMessage **out, rk_status *st) {
    rank_row *rows = res->rows;
    if (res->n == 0 || res->size == 0) {
        free(rows);
        return rk_status_set(st, RK_FAILED_PRECONDITION, "board %s has no players in this window", r->board_id);
    }
    Rankd__PercentileReply *rep = arena_alloc(&r->call->w->arena, sizeof(*rep));
    if (rep == NULL) {
        free(rows);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    rankd__percentile_reply__init(rep);
    rep->has_score = rep->has_rank = rep->has_percentile = rep->has_board_size = 1;
    rep->score = rows[0].score;
    rep->rank = rows[0].competition;
    rep->percentile = ranks_percentile(rows[0].competition, res->size);
    rep->board_size = res->size;
    free(rows);
    *out = &rep->base;
    return RK_OK;
}

static int percentile(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__PercentileRequest *req = (const Rankd__PercentileRequest *)m;
    read_call *r = read_call_new(call);
    int rc;
    if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if (req->has_percentile == req->has_score)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "give exactly one of percentile and score");
    /* Written so that NaN fails too. */
    if (req->has_percentile && !(req->percentile > 0 && req->percentile <= 100))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "percentile %g is not in (0, 100]", req->percentile);
    if (req->has_score && (req->score < -SCORE_LIMIT || req->score > SCORE_LIMIT))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "score %lld is outside +-2^53", (long long)req->score);
    if ((rc = view_of(call, req->board_id, req->has_window, req->window, &r->t, st)) != RK_OK) return rc;
    r->board_id = req->board_id;
    rread_percentile(&r->q, &r->t.v, req->has_score, req->score, req->percentile);
    r->finish = percentile_finish;
    return read_run(r, out, st);
}

static int distribution_finish(read_call *r, rread_result *res, ProtobufCMessage **out, rk_status *st) {
    free(res->rows);
    Rankd__DistributionReply *rep = arena_alloc(&r->call->w->arena, sizeof(*rep));
    Rankd__Bucket **list = ARENA_ARRAY(r->call, Rankd__Bucket *, res->nbuckets);
    Rankd__Bucket *items = ARENA_ARRAY(r->call, Rankd__Bucket, res->nbuckets);
    if (rep == NULL || list == NULL || items == NULL) {
        free(res->buckets);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    rankd__distribution_reply__init(rep);
    for (size_t i = 0; i < res->nbuckets; i++) {
        rankd__bucket__init(&items[i]);
        items[i].has_min_score = items[i].has_max_score = items[i].has_count = 1;
        items[i].min_score = res->buckets[i].min;
        items[i].max_score = res->buckets[i].max;
        items[i].count = res->buckets[i].count;
        list[i] = &items[i];
    }
    rep->n_buckets = res->nbuckets;
    rep->buckets = list;
    rep->has_board_size = 1;
    rep->board_size = res->size;
    if (res->marked.ranked) {
        /* Where the game draws the player: their bucket, if any holds them. */
        rep->has_player_bucket = 1;
        rep->player_bucket = -1;
        for (size_t i = 0; i < res->nbuckets; i++)
            if (res->buckets[i].min <= res->marked.score && res->marked.score <= res->buckets[i].max)
                rep->player_bucket = (int32_t)i;
        if ((rep->player = entry_of(r->call, &res->marked, res->size)) == NULL) {
            free(res->buckets);
            return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        }
        rep->player->username = NULL; /* the caller named them; Redis's answer carries no name */
    }
    free(res->buckets);
    *out = &rep->base;
    return RK_OK;
}

static int distribution(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__DistributionRequest *req = (const Rankd__DistributionRequest *)m;
    read_call *r = read_call_new(call);
    int rc;
    if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    uint32_t n = req->has_buckets ? req->buckets : BUCKETS_DEFAULT;
    if (n < 1 || n > BUCKETS_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "buckets %u is not between 1 and %d", n, BUCKETS_MAX);
    score_bounds range;
    if ((rc = range_of(req->has_min_score, req->min_score, req->has_max_score, req->max_score, &range, st)) != RK_OK)
        return rc;
    if ((rc = view_of(call, req->board_id, req->has_window, req->window, &r->t, st)) != RK_OK) return rc;
    int64_t uid = 0;
    if ((req->has_user_id && req->user_id != 0) || (req->username && req->username[0]))
        if ((rc = player_of(call, req->has_user_id, req->user_id, req->username, &uid, st)) != RK_OK) return rc;
    rread_histogram(&r->q, &r->t.v, &range, n, uid);
    r->finish = distribution_finish;
    return read_run(r, out, st);
}

/* ---- Standing: one player on every board */

#define STANDING_DEFAULT 50
#define STANDING_MAX 1000

/* One board's line of a StandingReply, or NULL when out of memory. */
static Rankd__BoardStanding *standing_of(rpc_call *call, const board *b, const rank_row *row, int64_t size) {
    Rankd__BoardStanding *s = arena_alloc(&call->w->arena, sizeof(*s));
    if (s == NULL) return NULL;
    rankd__board_standing__init(s);
    s->board_id = arena_strdup(&call->w->arena, b ? b->id : BOARD_GLOBAL_ID);
    s->game = arena_strdup(&call->w->arena, b ? b->game : "");
    s->entry = entry_of(call, row, size);
    s->has_board_size = 1;
    s->board_size = size;
    return s->board_id && s->game && s->entry ? s : NULL;
}

/* The workers only: one ranked read per board (each from Redis, or the
 * history when Redis cannot answer), the global board first. */
static int standing(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__StandingRequest *req = (const Rankd__StandingRequest *)m;
    int rc;
    rank_mode mode = RANK_COMPETITION;
    int64_t uid = 0;
    uint32_t limit = req->has_limit && req->limit ? req->limit : STANDING_DEFAULT;
    int k = req->has_window ? (int)req->window : WINDOW_ALL;
    int one_game = req->game && req->game[0];
    if (limit > STANDING_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "limit %u is above the maximum %d", limit, STANDING_MAX);
    if (k < 0 || k >= WINDOW_KINDS) return rk_status_set(st, RK_INVALID_ARGUMENT, "unknown window %d", k);
    if (one_game && (rc = validate_id("game", req->game, st)) != RK_OK) return rc;
    if ((rc = mode_of(req->has_rank_mode, req->rank_mode, &mode, st)) != RK_OK) return rc;
    if ((rc = player_of(call, req->has_user_id, req->user_id, req->username, &uid, st)) != RK_OK) return rc;
    board *list = NULL;
    size_t nb = 0;
    if ((rc = boards_list(call->srv->boards, one_game ? req->game : NULL, &list, &nb, st)) != RK_OK) return rc;
    Rankd__StandingReply *rep = arena_alloc(&call->w->arena, sizeof(*rep));
    Rankd__BoardStanding **lines = ARENA_ARRAY(call, Rankd__BoardStanding *, nb + 1);
    if (rep == NULL || lines == NULL) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    uint32_t offset = req->has_offset ? req->offset : 0;
    int64_t total = 0;
    size_t n = 0;
    /* i == -1: the global board, which keeps only all time. */
    for (ptrdiff_t i = one_game || k != WINDOW_ALL ? 0 : -1; rc == RK_OK && i < (ptrdiff_t)nb; i++) {
        const board *b = i < 0 ? NULL : &list[i];
        if (b && !(b->windows & WINDOW_BIT(k))) continue;
        /* Many boards take many reads: stop at the deadline, not after it. */
        if ((rc = server_check_deadline(call, st)) != RK_OK) break;
        rview v;
        rread q;
        rread_result res;
        int history = 0;
        rstore_view(b, (window_kind)k, server_time(), &v);
        if ((rc = rread_ranks(&q, &v, &uid, 1, mode, st)) != RK_OK) break;
        rc = ranking_read(call->w->redis, call->w->pg, call->srv->recovery, b, (window_kind)k, server_time(), &q, 0,
                          &res, &history, st);
        if (history) call->degraded = 1;
        if (rc != RK_OK) break;
        if (res.n == 1 && res.rows[0].ranked) {
            if (total >= offset && n < limit && (lines[n++] = standing_of(call, b, &res.rows[0], res.size)) == NULL)
                rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
            total++;
        }
        free(res.rows);
    }
    free(list);
    if (rc != RK_OK) return rc;
    rankd__standing_reply__init(rep);
    rep->n_boards = n;
    rep->boards = lines;
    rep->has_total = 1;
    rep->total = total;
    *out = &rep->base;
    return RK_OK;
}

/* ---------------------------------------------------------------- entry points */

/* The same bodies serve both lanes: the call says which it is on. */
int h_top(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) { return top(c, m, o, st); }
int f_top(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) { return top(c, m, o, st); }
int h_around(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return around(c, m, o, st);
}
int f_around(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return around(c, m, o, st);
}
int h_rank(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) { return rank(c, m, o, st); }
int f_rank(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) { return rank(c, m, o, st); }
int h_ranks_of(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return ranks_of(c, m, o, st);
}
int f_ranks_of(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return ranks_of(c, m, o, st);
}
int h_count(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) { return count(c, m, o, st); }
int f_count(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) { return count(c, m, o, st); }
int h_score_range(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return score_range(c, m, o, st);
}
int f_score_range(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return score_range(c, m, o, st);
}
int h_percentile(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return percentile(c, m, o, st);
}
int f_percentile(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return percentile(c, m, o, st);
}
int h_distribution(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return distribution(c, m, o, st);
}
int f_distribution(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return distribution(c, m, o, st);
}
int h_standing(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return standing(c, m, o, st);
}
