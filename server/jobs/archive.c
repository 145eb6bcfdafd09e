/*
 * archive.c - standings and snapshots; see archive.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "archive.h"
#include "boards.h"
#include "log.h"
#include "report.h"

#define GRACE_S 5 /* a window is closed this long after its end */

static const int lookback[WINDOW_KINDS] = {0, 7, 4, 2};

typedef struct archive {
    server *srv;
    rstore *redis;
    pgstore *pg;
    int last_partition_day;
} archive;

typedef struct standing {
    int64_t user_id, score, rank;
} standing;

static int have_standings(archive *a, const board *b, int k, const char *label, int *yes, rk_status *st) {
    char kind[8];
    snprintf(kind, sizeof(kind), "%d", k);
    const char *params[] = {b->id, kind, label};
    PGresult *res = NULL;
    int rc = pgstore_exec(
        a->pg, "SELECT 1 FROM standings WHERE board_id = $1 AND window_kind = $2::smallint AND label = $3 LIMIT 1", 3,
        params, &res, st);
    if (rc != RK_OK) return rc;
    *yes = PQntuples(res) > 0;
    PQclear(res);
    return RK_OK;
}

static int store_standings(archive *a, const board *b, int k, const char *label, const standing *rows, size_t n,
                           int64_t size, rk_status *st) {
    char kind[8], sz[24], now[24];
    snprintf(kind, sizeof(kind), "%d", k);
    snprintf(sz, sizeof(sz), "%" PRId64, size);
    snprintf(now, sizeof(now), "%" PRId64, (int64_t)server_time());
    int rc = pgstore_exec(a->pg, "BEGIN", 0, NULL, NULL, st);
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        char pos[24], uid[24], score[24], rank[24];
        snprintf(pos, sizeof(pos), "%zu", i + 1);
        snprintf(uid, sizeof(uid), "%" PRId64, rows[i].user_id);
        snprintf(score, sizeof(score), "%" PRId64, rows[i].score);
        snprintf(rank, sizeof(rank), "%" PRId64, rows[i].rank);
        const char *params[] = {b->id, kind, label, rank, pos, uid, score, sz, now};
        rc = pgstore_exec(
            a->pg,
            "INSERT INTO standings (board_id, window_kind, label, rank, position, user_id, score, board_size, "
            "closed_at) VALUES ($1, $2::smallint, $3, $4::bigint, $5::integer, $6::bigint, $7::bigint, "
            "$8::bigint, to_timestamp($9::bigint)) ON CONFLICT DO NOTHING",
            9, params, NULL, st);
    }
    rk_status ignore;
    if (rc == RK_OK)
        rc = pgstore_exec(a->pg, "COMMIT", 0, NULL, NULL, st);
    else
        pgstore_exec(a->pg, "ROLLBACK", 0, NULL, NULL, &ignore);
    return rc;
}

/* The final top N of one closed window: Redis if it still has the set. */
static int close_window(archive *a, const board *b, int k, time_t inside, rk_status *st) {
    char label[WINDOW_LABEL_MAX];
    int yes = 0, rc;
    window_label((window_kind)k, inside, label);
    const char *bare = strchr(label, ':') + 1;
    if ((rc = have_standings(a, b, k, bare, &yes, st)) != RK_OK || yes) return rc;

    int64_t n_top = a->srv->cfg.standings_top_n, size = 0, count = 0;
    standing *rows = NULL;
    size_t n = 0;
    rview v;
    rstore_view(b, (window_kind)k, inside, &v);
    rank_row *live = NULL;
    if (rstore_count(a->redis, &v, &count, st) == RK_OK && count > 0 &&
        rstore_top(a->redis, &v, 0, n_top, RANK_COMPETITION, &live, &n, &size, st) == RK_OK) {
        rows = calloc(n ? n : 1, sizeof(*rows));
        for (size_t i = 0; rows && i < n; i++) rows[i] = (standing){live[i].user_id, live[i].score, live[i].rank};
        free(live);
    } else {
        int64_t from, to;
        report_row *hist = NULL;
        window_bounds((window_kind)k, inside, &from, &to);
        report_query q = {.b = b, .from_us = from * 1000000, .to_us = to * 1000000, .limit = n_top};
        if ((rc = report_run(a->pg, &q, &hist, &n, &size, st)) != RK_OK) return rc;
        rows = calloc(n ? n : 1, sizeof(*rows));
        for (size_t i = 0; rows && i < n; i++) rows[i] = (standing){hist[i].user_id, hist[i].value, hist[i].rank};
        free(hist);
    }
    if (rows == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    rc = n ? store_standings(a, b, k, bare, rows, n, size, st) : RK_OK;
    if (rc == RK_OK && n) log_info("final standings stored", "board=%s window=%s players=%zu", b->id, label, n);
    free(rows);
    return rc;
}

static void close_windows(archive *a, time_t now) {
    board *all = NULL;
    size_t n = 0;
    rk_status st;
    if (boards_list(a->srv->boards, NULL, &all, &n, &st) != RK_OK) return;
    for (size_t i = 0; i < n; i++)
        for (int k = WINDOW_DAY; k < WINDOW_KINDS; k++) {
            if (!(all[i].windows & WINDOW_BIT(k))) continue;
            int64_t start, end;
            window_bounds((window_kind)k, now - GRACE_S, &start, &end);
            for (int back = 0; back < lookback[k]; back++) {
                /* The window before `start`, then the one before that... */
                time_t inside = (time_t)start - 1;
                if (inside < (time_t)all[i].created_at - 40 * 86400) break;
                if (close_window(a, &all[i], k, inside, &st) != RK_OK) {
                    log_warn("cannot store final standings yet", "board=%s error=\"%s\"", all[i].id, st.message);
                    free(all);
                    return;
                }
                window_bounds((window_kind)k, inside, &start, &end);
            }
        }
    free(all);
}

/* Whoever sets the interval's lock first takes the snapshots. */
static int snapshot_due(archive *a, time_t now) {
    int64_t every = a->srv->cfg.snapshot_interval_s;
    if (every <= 0) return 0;
    char key[64], ttl[24];
    snprintf(key, sizeof(key), "rk:snapshot:%" PRId64, (int64_t)now / every);
    snprintf(ttl, sizeof(ttl), "%" PRId64, every * 2);
    rk_status st;
    redisContext *c = rstore_ctx(a->redis, &st);
    if (c == NULL) return 0;
    const char *argv[] = {"SET", key, "1", "NX", "EX", ttl};
    redisReply *rep = redisCommandArgv(c, 6, argv, NULL);
    int won = rep && rep->type == REDIS_REPLY_STATUS;
    if (rep) freeReplyObject(rep);
    return won;
}

/* Every board's top N and size, and the global board's. */
static void take_snapshots(archive *a, time_t now) {
    board *all = NULL;
    size_t n = 0;
    rk_status st;
    char taken[24];
    snprintf(taken, sizeof(taken), "%" PRId64, (int64_t)now);
    if (boards_list(a->srv->boards, NULL, &all, &n, &st) != RK_OK) return;
    for (size_t i = 0; i <= n; i++) {
        const board *b = i < n ? &all[i] : NULL; /* last: the global board */
        rview v;
        rank_row *rows = NULL;
        size_t m = 0;
        int64_t size = 0;
        rstore_view(b, WINDOW_ALL, now, &v);
        if (rstore_top(a->redis, &v, 0, a->srv->cfg.standings_top_n, RANK_COMPETITION, &rows, &m, &size, &st) != RK_OK)
            continue;
        /* One transaction per board: a reader never sees half a snapshot. */
        int rc = pgstore_exec(a->pg, "BEGIN", 0, NULL, NULL, &st);
        for (size_t j = 0; rc == RK_OK && j < m; j++) {
            char pos[24], rank[24], uid[24], score[24], bsize[24];
            snprintf(pos, sizeof(pos), "%zu", j + 1);
            snprintf(rank, sizeof(rank), "%" PRId64, rows[j].rank);
            snprintf(uid, sizeof(uid), "%" PRId64, rows[j].user_id);
            snprintf(score, sizeof(score), "%" PRId64, rows[j].score);
            snprintf(bsize, sizeof(bsize), "%" PRId64, size);
            const char *params[] = {b ? b->id : BOARD_GLOBAL_ID, taken, pos, rank, uid, score, bsize};
            rc = pgstore_exec(a->pg,
                              "INSERT INTO snapshots (board_id, taken_at, position, rank, user_id, score, board_size) "
                              "VALUES ($1, to_timestamp($2::bigint), $3::integer, $4::bigint, $5::bigint, $6::bigint, "
                              "$7::bigint) ON CONFLICT DO NOTHING",
                              7, params, NULL, &st);
        }
        rk_status ignore;
        if (rc == RK_OK)
            pgstore_exec(a->pg, "COMMIT", 0, NULL, NULL, &ignore);
        else
            pgstore_exec(a->pg, "ROLLBACK", 0, NULL, NULL, &ignore);
        free(rows);
    }
    free(all);
}

static int64_t archive_tick(void *state, job *self) {
    (void)self;
    archive *a = state;
    time_t now = server_time();
    rk_status st;
    int day = (int)(now / 86400);
    if (day != a->last_partition_day && pgstore_ensure_partitions(a->pg, now, &st) == RK_OK)
        a->last_partition_day = day;
    close_windows(a, now);
    if (snapshot_due(a, now)) take_snapshots(a, now);
    return a->srv->cfg.archive_interval_s * 1000;
}

static void archive_close(void *state) {
    archive *a = state;
    rstore_close(a->redis);
    pgstore_close(a->pg);
    free(a);
}

static int archive_open(void **out, server *srv, rk_status *st) {
    archive *a = calloc(1, sizeof(*a));
    if (a == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    a->srv = srv;
    rk_status ignore;
    rstore_open(&a->redis, srv->cfg.redis, &ignore);
    pgstore_open(&a->pg, srv->cfg.postgres, &ignore);
    if (!a->redis || !a->pg) {
        archive_close(a);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    *out = a;
    return RK_OK;
}

const job_ops archive_job = {.name = "archive", .start = archive_open, .tick = archive_tick, .stop = archive_close};
