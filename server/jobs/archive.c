/*
 * archive.c - standings and snapshots; see archive.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The final top N of one closed window: Redis if it still has the set. */
static int close_window(archive *a, const board *b, int k, time_t inside, rk_status *st) {
    char label[WINDOW_LABEL_MAX];
    int yes = 0, rc;
    window_label((window_kind)k, inside, label);
    const char *bare = strchr(label, ':') + 1;
    if ((rc = pgstore_standings_exist(a->pg, b->id, k, bare, &yes, st)) != RK_OK || yes) return rc;

    int64_t n_top = a->srv->cfg.standings_top_n, size = 0, count = 0;
    pg_rank_row *rows = NULL;
    size_t n = 0;
    rview v;
    rstore_view(b, (window_kind)k, inside, &v);
    rank_row *live = NULL;
    if (rstore_count(a->redis, &v, &count, st) == RK_OK && count > 0 &&
        rstore_top(a->redis, &v, 0, n_top, RANK_COMPETITION, &live, &n, &size, st) == RK_OK) {
        rows = calloc(n ? n : 1, sizeof(*rows));
        for (size_t i = 0; rows && i < n; i++)
            rows[i] = (pg_rank_row){.user_id = live[i].user_id, .score = live[i].score, .rank = live[i].rank};
        free(live);
    } else {
        int64_t from, to;
        report_row *hist = NULL;
        window_bounds((window_kind)k, inside, &from, &to);
        report_query q = {.b = b, .from_us = from * 1000000, .to_us = to * 1000000, .limit = n_top};
        if ((rc = report_run(a->pg, &q, &hist, &n, &size, st)) != RK_OK) return rc;
        rows = calloc(n ? n : 1, sizeof(*rows));
        for (size_t i = 0; rows && i < n; i++)
            rows[i] = (pg_rank_row){.user_id = hist[i].user_id, .score = hist[i].value, .rank = hist[i].rank};
        free(hist);
    }
    if (rows == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    rc = n ? pgstore_standings_put(a->pg, b->id, k, bare, rows, n, size, (int64_t)server_time(), st) : RK_OK;
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
    char key[64];
    snprintf(key, sizeof(key), "rk:snapshot:%" PRId64, (int64_t)now / every);
    rk_status st;
    int won = 0;
    return rstore_lock_once(a->redis, key, every * 2, &won, &st) == RK_OK && won;
}

/* Every board's top N and size, and the global board's. */
static void take_snapshots(archive *a, time_t now) {
    board *all = NULL;
    size_t n = 0;
    rk_status st;
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
        /* A board whose snapshot fails has none for this interval (the
         * store writes each one whole or not at all); the others go on. */
        pg_rank_row *put = calloc(m ? m : 1, sizeof(*put));
        for (size_t j = 0; put && j < m; j++)
            put[j] = (pg_rank_row){.user_id = rows[j].user_id, .score = rows[j].score, .rank = rows[j].rank};
        if (put) pgstore_snapshot_put(a->pg, b ? b->id : BOARD_GLOBAL_ID, (int64_t)now, put, m, size, &st);
        free(put);
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
