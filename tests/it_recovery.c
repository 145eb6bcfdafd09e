/* Journeys 8 and 9: PostgreSQL's history answers for Redis. A random
 * workload on best, latest, sum and lower-is-better boards, then:
 *   - a report of a period computed from PostgreSQL equals the same
 *     period answered by Redis (all-time and a weekly window, every rank
 *     mode);
 *   - a player's history lists every submission, newest first, paged;
 *   - Redis flushed, then Admin/Rebuild: every board, window and the
 *     global board rank exactly as before;
 *   - Redis flushed and rankd restarted: rebuilt by itself at start;
 *   - closed windows get final standings (here: yesterday, written into
 *     the history directly);
 *   - snapshots are taken every second (here) and History/Snapshot and
 *     rankctl snapshot read them back, stepping from one to the next. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "check.h"
#include "it_common.h"

#define PLAYERS 30
#define ROUNDS 20
#define BATCH 20
#define MAX_ROWS 64

static rk_client *c;
static char *admin, *key;
static int64_t uid[PLAYERS];
static int submitted[PLAYERS]; /* submissions of each player to rb-best */

typedef struct view {
    const char *board;
    Rankd__Window window;
} view;

static const view views[] = {
    {"rb-best", RANKD__WINDOW__WINDOW_ALL_TIME}, {"rb-best", RANKD__WINDOW__WINDOW_DAILY},
    {"rb-best", RANKD__WINDOW__WINDOW_WEEKLY},   {"rb-best", RANKD__WINDOW__WINDOW_MONTHLY},
    {"rb-sum", RANKD__WINDOW__WINDOW_ALL_TIME},  {"rb-latest", RANKD__WINDOW__WINDOW_ALL_TIME},
    {"rb-time", RANKD__WINDOW__WINDOW_ALL_TIME}, {"global", RANKD__WINDOW__WINDOW_ALL_TIME},
};
#define NVIEWS (sizeof(views) / sizeof(views[0]))

typedef struct ranking {
    size_t n;
    int64_t size;
    int64_t user[MAX_ROWS], score[MAX_ROWS], comp[MAX_ROWS], dense[MAX_ROWS];
} ranking;

static ranking before[NVIEWS];

static void workload(void) {
    const char *boards[] = {"rb-best", "rb-sum", "rb-latest", "rb-time"};
    srand(7);
    for (int round = 0; round < ROUNDS; round++) {
        Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
        Rankd__BatchEntry e[BATCH], *ep[BATCH];
        for (int i = 0; i < BATCH; i++) {
            int p = rand() % PLAYERS, b = rand() % 4;
            rankd__batch_entry__init(&e[i]);
            e[i].board_id = (char *)boards[b];
            e[i].has_user_id = e[i].has_score = 1;
            e[i].user_id = uid[p];
            /* Few distinct values, so ties are common. */
            e[i].score = b == 3 ? 50000 + (rand() % 8) * 1000 : (rand() % 12) * 10;
            if (b == 0) submitted[p]++;
            ep[i] = &e[i];
        }
        req.n_entries = BATCH;
        req.entries = ep;
        Rankd__SubmitBatchReply *rep = NULL;
        rk_status st;
        rk_call_opts o = it_opts(key, NULL);
        CHECK_INT(rk_scores_submit_batch(c, &req, &rep, &o, &st), RK_OK);
        if (rep)
            for (size_t i = 0; i < rep->n_results; i++) CHECK_INT(rep->results[i]->code, RK_OK);
        rk_reply_free(rep);
    }
}

/* Waits until every accepted submission is in PostgreSQL and in Redis:
 * the write-behind has drained, nothing taken without Redis (on a loaded
 * machine a probe can find Redis slow for a moment) waits to be replayed,
 * and Redis serves. */
static void wait_written(void) {
    for (int i = 0; i < 200; i++) {
        Rankd__Empty e = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *s = NULL;
        rk_status st;
        int64_t backlog = -1;
        if (rk_admin_status(c, &e, &s, NULL, &st) == RK_OK && s->has_writebehind_backlog && s->has_redis_backlog &&
            s->redis_backlog == 0 && s->redis_state && strcmp(s->redis_state, "up") == 0)
            backlog = s->writebehind_backlog;
        rk_reply_free(s);
        if (backlog == 0) return;
        usleep(100000);
    }
    CHECK(!"write-behind did not drain");
}

static void read_view(const view *v, Rankd__RankMode mode, ranking *out, int field) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)v->board;
    req.has_window = req.has_limit = req.has_rank_mode = 1;
    req.window = v->window;
    req.limit = MAX_ROWS;
    req.rank_mode = mode;
    CHECK_INT(rk_ranking_top(c, &req, &rep, NULL, &st), RK_OK);
    if (rep == NULL) return;
    out->n = rep->n_entries;
    out->size = rep->board_size;
    for (size_t i = 0; i < rep->n_entries; i++) {
        out->user[i] = rep->entries[i]->user_id;
        out->score[i] = rep->entries[i]->score;
        if (field == 0)
            out->comp[i] = rep->entries[i]->rank;
        else
            out->dense[i] = rep->entries[i]->rank;
    }
    rk_reply_free(rep);
}

static void capture(ranking *r) {
    for (size_t i = 0; i < NVIEWS; i++) {
        memset(&r[i], 0, sizeof(r[i]));
        read_view(&views[i], RANKD__RANK_MODE__RANK_COMPETITION, &r[i], 0);
        read_view(&views[i], RANKD__RANK_MODE__RANK_DENSE, &r[i], 1);
    }
}

static int same(const ranking *a, const ranking *b, const char *what) {
    int ok = 1;
    for (size_t i = 0; i < NVIEWS; i++) {
        if (a[i].n != b[i].n || a[i].size != b[i].size) {
            fprintf(stderr, "  %s: %s/%d has %zu of %lld, expected %zu of %lld\n", what, views[i].board,
                    views[i].window, b[i].n, (long long)b[i].size, a[i].n, (long long)a[i].size);
            ok = 0;
            continue;
        }
        for (size_t j = 0; j < a[i].n; j++)
            if (a[i].user[j] != b[i].user[j] || a[i].score[j] != b[i].score[j] || a[i].comp[j] != b[i].comp[j] ||
                a[i].dense[j] != b[i].dense[j]) {
                fprintf(stderr, "  %s: %s/%d differs at place %zu\n", what, views[i].board, views[i].window, j + 1);
                ok = 0;
                break;
            }
    }
    return ok;
}

static void flush_redis(void) { CHECK_INT(it_redis_flushall(), 0); }

/* ------------------------------------------------------------------ tests */

static Rankd__ReportReply *report_page(const char *board, int has_from, int64_t from, int has_to, int64_t to,
                                       Rankd__RankMode mode, uint32_t offset, uint32_t limit) {
    Rankd__ReportRequest req = RANKD__REPORT_REQUEST__INIT;
    Rankd__ReportReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_from = has_from;
    req.from = from;
    req.has_to = has_to;
    req.to = to;
    req.has_offset = req.has_limit = req.has_rank_mode = 1;
    req.offset = offset;
    req.limit = limit;
    req.rank_mode = mode;
    CHECK_INT(rk_history_report(c, &req, &rep, NULL, &st), RK_OK);
    return rep;
}

static Rankd__ReportReply *report(const char *board, int has_from, int64_t from, int has_to, int64_t to,
                                  Rankd__RankMode mode) {
    return report_page(board, has_from, from, has_to, to, mode, 0, 1000);
}

static void compare_reports(Rankd__ReportReply *a, Rankd__ReportReply *b, const char *what) {
    CHECK(a && b);
    if (!a || !b) return;
    CHECK_STR(a->source, "redis");
    CHECK_STR(b->source, "postgres");
    CHECK_INT(a->n_entries, b->n_entries);
    CHECK_INT(a->board_size, b->board_size);
    for (size_t i = 0; i < a->n_entries && i < b->n_entries; i++)
        if (a->entries[i]->user_id != b->entries[i]->user_id || a->entries[i]->score != b->entries[i]->score ||
            a->entries[i]->rank != b->entries[i]->rank) {
            fprintf(stderr, "  %s: place %zu: redis %lld/%lld/%lld, postgres %lld/%lld/%lld\n", what, i + 1,
                    (long long)a->entries[i]->user_id, (long long)a->entries[i]->score, (long long)a->entries[i]->rank,
                    (long long)b->entries[i]->user_id, (long long)b->entries[i]->score, (long long)b->entries[i]->rank);
            CHECK(!"reports differ");
            break;
        }
}

static void reports_from_postgres_equal_redis(void) {
    const char *boards[] = {"rb-best", "rb-sum", "rb-latest", "rb-time", "global"};
    Rankd__RankMode modes[] = {RANKD__RANK_MODE__RANK_COMPETITION, RANKD__RANK_MODE__RANK_DENSE,
                               RANKD__RANK_MODE__RANK_UNIQUE};
    time_t now = time(NULL);
    for (size_t b = 0; b < 5; b++)
        for (size_t m = 0; m < 3; m++) {
            /* All time: Redis. A period that is not a window: PostgreSQL. */
            Rankd__ReportReply *r = report(boards[b], 0, 0, 0, 0, modes[m]);
            Rankd__ReportReply *p = report(boards[b], 1, 0, 1, now + 86400, modes[m]);
            compare_reports(r, p, boards[b]);
            rk_reply_free(r);
            rk_reply_free(p);
        }
    /* This ISO week on rb-best: exactly the window (Redis), and the same
     * period plus one second (PostgreSQL). */
    struct tm tm;
    gmtime_r(&now, &tm);
    int64_t day = (int64_t)now / 86400 * 86400, monday = day - ((tm.tm_wday + 6) % 7) * 86400;
    Rankd__ReportReply *r = report("rb-best", 1, monday, 1, monday + 7 * 86400, RANKD__RANK_MODE__RANK_COMPETITION);
    Rankd__ReportReply *p = report("rb-best", 1, monday, 1, monday + 7 * 86400 + 1, RANKD__RANK_MODE__RANK_COMPETITION);
    compare_reports(r, p, "rb-best weekly");
    rk_reply_free(r);
    rk_reply_free(p);
}

/* Every page of three, wherever it starts (inside a run of ties too):
 * PostgreSQL ranks only the page, and must still agree with Redis. */
static void report_pages_from_postgres_equal_redis(void) {
    const char *boards[] = {"rb-best", "rb-sum", "rb-latest", "rb-time", "global"};
    Rankd__RankMode modes[] = {RANKD__RANK_MODE__RANK_COMPETITION, RANKD__RANK_MODE__RANK_DENSE,
                               RANKD__RANK_MODE__RANK_UNIQUE};
    time_t now = time(NULL);
    for (size_t b = 0; b < 5; b++)
        for (size_t m = 0; m < 3; m++)
            for (uint32_t off = 0; off <= PLAYERS; off++) {
                char what[64];
                snprintf(what, sizeof(what), "%s from %u", boards[b], off);
                Rankd__ReportReply *r = report_page(boards[b], 0, 0, 0, 0, modes[m], off, 3);
                Rankd__ReportReply *p = report_page(boards[b], 1, 0, 1, now + 86400, modes[m], off, 3);
                compare_reports(r, p, what);
                rk_reply_free(r);
                rk_reply_free(p);
            }
}

static void history_lists_every_submission(void) {
    int p = 0;
    for (int i = 1; i < PLAYERS; i++)
        if (submitted[i] > submitted[p]) p = i;
    Rankd__HistoryRequest req = RANKD__HISTORY_REQUEST__INIT;
    Rankd__HistoryReply *rep = NULL;
    rk_status st;
    req.board_id = "rb-best";
    req.has_user_id = req.has_limit = 1;
    req.user_id = uid[p];
    req.limit = 2;
    CHECK_INT(rk_history_history(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) {
        CHECK_INT(rep->total, submitted[p]);
        CHECK_INT(rep->n_entries, submitted[p] < 2 ? submitted[p] : 2);
        if (rep->n_entries == 2) CHECK(rep->entries[0]->submitted_at_us >= rep->entries[1]->submitted_at_us);
    }
    rk_reply_free(rep);
    rep = NULL;
    req.has_offset = 1;
    req.offset = (uint32_t)submitted[p]; /* past the end: nothing, but the total */
    CHECK_INT(rk_history_history(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) {
        CHECK_INT(rep->n_entries, 0);
        CHECK_INT(rep->total, submitted[p]);
    }
    rk_reply_free(rep);
    req.has_offset = 0;
    req.has_from = 1;
    req.from = time(NULL) + 3600; /* the future holds nothing */
    rep = NULL;
    CHECK_INT(rk_history_history(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) CHECK_INT(rep->total, 0);
    rk_reply_free(rep);
}

static void rebuild_on_request_restores_every_rank(void) {
    flush_redis();
    Rankd__RebuildRequest req = RANKD__REBUILD_REQUEST__INIT;
    Rankd__RebuildReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(admin, NULL);
    CHECK_INT(rk_admin_rebuild(c, &req, &rep, &o, &st), RK_OK);
    if (rep) CHECK(rep->entries > 0);
    rk_reply_free(rep);
    ranking after[NVIEWS];
    capture(after);
    CHECK(same(before, after, "after Admin/Rebuild"));
}

static void empty_redis_is_rebuilt_at_start(void) {
    CHECK_INT(system("rk-rankd-stop >/dev/null"), 0);
    flush_redis();
    CHECK_INT(system("rk-rankd-start >/dev/null"), 0);
    ranking after[NVIEWS];
    capture(after);
    CHECK(same(before, after, "after restart on an empty Redis"));
}

/* A rankd killed while it rebuilt a board leaves the board's rebuild flag
 * (its lock) behind for its time to live. A rankd started meanwhile on an
 * emptied Redis must not wait for it, let alone fail to start: it starts
 * at once, serves from PostgreSQL while it cannot restore the board
 * (Redis's state "restoring"), and restores it once the flag is gone. */
static void a_dead_rebuilds_flag_does_not_stop_a_start(void) {
    char out[64];
    CHECK_INT(system("rk-rankd-stop >/dev/null"), 0);
    flush_redis();
    CHECK_INT(it_redis_cli("SET rk:{rb-best}:rebuilding killed:1:1 EX 600", out, sizeof(out)), 0);
    /* rk-rankd-start waits at most 20 s for rankd to listen. */
    CHECK_INT(system("rk-rankd-start >/dev/null"), 0);
    Rankd__Empty e = RANKD__EMPTY__INIT;
    Rankd__ServerStatus *s = NULL;
    rk_call_opts o = it_opts(admin, NULL);
    rk_status st;
    CHECK_INT(rk_admin_status(c, &e, &s, &o, &st), RK_OK);
    if (s) {
        CHECK_STR(s->redis_state, "restoring");
        CHECK_INT(s->degraded, 1);
    }
    rk_reply_free(s);
    /* Reads are answered meanwhile, from PostgreSQL. */
    ranking during[NVIEWS];
    capture(during);
    CHECK(same(before, during, "while the flag of a dead rebuild is there"));
    /* The flag goes (its time to live, here cut short): the board is
     * restored and Redis serves again. */
    CHECK_INT(it_redis_cli("DEL rk:{rb-best}:rebuilding", out, sizeof(out)), 0);
    int up = 0;
    for (int i = 0; i < 100 && !up; i++) {
        s = NULL;
        up = rk_admin_status(c, &e, &s, &o, &st) == RK_OK && s->redis_state && strcmp(s->redis_state, "up") == 0;
        rk_reply_free(s);
        if (!up) usleep(100000);
    }
    CHECK(up);
    ranking after[NVIEWS];
    capture(after);
    CHECK(same(before, after, "once the flag is gone"));
}

/* PostgreSQL restarted: every worker's connection to it is dead, and the
 * first statement each sends finds out. A read-only statement is tried
 * once more on a new connection, reports (which begin with WITH) as much
 * as plain SELECTs, so no caller sees the restart. */
static void reports_right_after_postgres_restarts(void) {
    CHECK_INT(system("rk-pg-stop >/dev/null"), 0);
    CHECK_INT(system("rk-pg-start >/dev/null"), 0);
    int failed = 0;
    for (int i = 0; i < 40; i++) {
        Rankd__ReportRequest req = RANKD__REPORT_REQUEST__INIT;
        Rankd__ReportReply *rep = NULL;
        rk_status st;
        req.board_id = "rb-best";
        req.has_from = req.has_to = 1;
        req.from = 1; /* a period no window is: PostgreSQL answers */
        req.to = (int64_t)time(NULL) + 3600;
        if (rk_history_report(c, &req, &rep, NULL, &st) != RK_OK) {
            if (failed++ == 0) fprintf(stderr, "  report: %s\n", st.message);
        }
        rk_reply_free(rep);
    }
    CHECK_INT(failed, 0);
}

static void closed_windows_get_final_standings(void) {
    /* Yesterday's games, written straight into the history. */
    time_t y = time(NULL) - 86400;
    struct tm tm;
    gmtime_r(&y, &tm);
    char label[48], sql[512];
    snprintf(label, sizeof(label), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    PGconn *pg = PQconnectdb(getenv("RANKD_POSTGRES"));
    CHECK(PQstatus(pg) == CONNECTION_OK);
    const int64_t scores[] = {70, 90, 90, 40};
    for (int i = 0; i < 4; i++) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO scores (entry_id, board_id, user_id, score, submitted_at) VALUES "
                 "('test-%d', 'rb-best', %lld, %lld, '%s 12:00:00+00'::timestamptz + interval '%d seconds')",
                 i, (long long)uid[i], (long long)scores[i], label, i);
        PQclear(PQexec(pg, sql));
    }
    PQfinish(pg);

    Rankd__StandingsRequest req = RANKD__STANDINGS_REQUEST__INIT;
    Rankd__StandingsReply *rep = NULL;
    rk_status st;
    req.board_id = "rb-best";
    req.has_window = 1;
    req.window = RANKD__WINDOW__WINDOW_DAILY;
    req.at = label;
    for (int i = 0; i < 100; i++) {
        if (rk_history_standings(c, &req, &rep, NULL, &st) == RK_OK) break;
        usleep(100000);
    }
    CHECK_CODE(st, RK_OK);
    if (rep && rep->n_entries == 4) {
        CHECK_INT(rep->entries[0]->user_id, uid[1]); /* 90, first to get there */
        CHECK_INT(rep->entries[1]->user_id, uid[2]);
        CHECK_INT(rep->entries[1]->rank, 1);
        CHECK_INT(rep->entries[2]->score, 70);
        CHECK_INT(rep->entries[2]->rank, 3);
        CHECK_INT(rep->board_size, 4);
    } else {
        CHECK(!"standings missing");
    }
    rk_reply_free(rep);
    req.at = "2026-13-01";
    CHECK_INT(rk_history_standings(c, &req, &rep, NULL, &st), RK_INVALID_ARGUMENT);
    req.at = "1999-01-01";
    CHECK_INT(rk_history_standings(c, &req, &rep, NULL, &st), RK_NOT_FOUND);
}

static int snapshot(const char *board, int has_at, int64_t at, Rankd__SnapshotReply **rep) {
    Rankd__SnapshotRequest req = RANKD__SNAPSHOT_REQUEST__INIT;
    rk_status st;
    req.board_id = (char *)board;
    req.has_at = has_at;
    req.at = at;
    *rep = NULL;
    return rk_history_snapshot(c, &req, rep, NULL, &st);
}

/* A snapshot is the live top N of its moment (the boards have not changed
 * since `before` was captured). */
static void same_as_live(const Rankd__SnapshotReply *s, const ranking *live, const char *what) {
    CHECK_INT(s->board_size, live->size);
    CHECK_INT(s->n_entries, live->n);
    for (size_t i = 0; i < s->n_entries && i < live->n; i++)
        if (s->entries[i]->user_id != live->user[i] || s->entries[i]->score != live->score[i] ||
            s->entries[i]->rank != live->comp[i]) {
            fprintf(stderr, "  %s: place %zu differs from the live top\n", what, i + 1);
            CHECK(!"snapshot equals the live top");
            return;
        }
}

static void snapshots_are_taken_and_read_back(void) {
    /* Every second here; wait for two, so that one has a predecessor. */
    Rankd__SnapshotReply *last = NULL;
    for (int i = 0; i < 100; i++) {
        if (snapshot("rb-best", 0, 0, &last) == RK_OK && last->previous != 0) break;
        rk_reply_free(last);
        last = NULL;
        usleep(100000);
    }
    CHECK(last != NULL);
    if (last == NULL) return;
    same_as_live(last, &before[0], "rb-best");
    CHECK(last->taken_at > 0 && last->previous > 0 && last->previous < last->taken_at);

    /* Stepping back: the one before links forward to it. */
    Rankd__SnapshotReply *prev = NULL;
    CHECK_INT(snapshot("rb-best", 1, last->taken_at - 1, &prev), RK_OK);
    if (prev) {
        CHECK_INT(prev->taken_at, last->previous);
        CHECK(prev->next > prev->taken_at && prev->next <= last->taken_at);
        same_as_live(prev, &before[0], "rb-best, the snapshot before");
    }
    rk_reply_free(prev);

    /* The global board is snapshotted too. */
    Rankd__SnapshotReply *g = NULL;
    CHECK_INT(snapshot("global", 0, 0, &g), RK_OK);
    if (g) same_as_live(g, &before[7], "global");
    rk_reply_free(g);

    /* Before the first snapshot, an unknown board, a bad id. */
    CHECK_INT(snapshot("rb-best", 1, 1000, &g), RK_NOT_FOUND);
    CHECK_INT(snapshot("rb-nope", 0, 0, &g), RK_NOT_FOUND);
    CHECK_INT(snapshot("RB BEST", 0, 0, &g), RK_INVALID_ARGUMENT);
    CHECK_INT(snapshot("rb-best", 1, -5, &g), RK_INVALID_ARGUMENT);

    /* The operator's view: rankctl snapshot, at the same moment. */
    char cmd[1024], line[256], top[256] = "", tail[256] = "", want[64];
    snprintf(cmd, sizeof(cmd), "'%s' --url '%s' snapshot rb-best --at %lld", getenv("RANKCTL_BIN"), getenv("RANKD_URL"),
             (long long)last->taken_at);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    for (int n = 0; p && fgets(line, sizeof(line), p); n++) {
        if (n == 1) snprintf(top, sizeof(top), "%s", line);
        snprintf(tail, sizeof(tail), "%s", line);
    }
    if (p) CHECK_INT(pclose(p), 0);
    int leader = 0;
    while (leader < PLAYERS - 1 && uid[leader] != before[0].user[0]) leader++;
    snprintf(want, sizeof(want), "   1  rb-%d ", leader);
    CHECK(strncmp(top, want, strlen(want)) == 0);
    snprintf(want, sizeof(want), "(%lld players; snapshot taken ", (long long)before[0].size);
    CHECK(strncmp(tail, want, strlen(want)) == 0);
    rk_reply_free(last);
}

/* Periods and times outside years 1970-9999 are refused, not computed with. */
static void times_out_of_range_are_invalid_argument(void) {
    static const int64_t bad[][2] = {{INT64_MIN, INT64_MAX}, {-1, 10}, {0, INT64_MAX}, {INT64_MAX - 1, INT64_MAX}};
    rk_status st;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        Rankd__ReportRequest rr = RANKD__REPORT_REQUEST__INIT;
        Rankd__ReportReply *rep = NULL;
        rr.board_id = "rb-best";
        rr.has_from = rr.has_to = 1;
        rr.from = bad[i][0];
        rr.to = bad[i][1];
        CHECK_INT(rk_history_report(c, &rr, &rep, NULL, &st), RK_INVALID_ARGUMENT);
        rk_reply_free(rep);
        rr.board_id = "global";
        CHECK_INT(rk_history_report(c, &rr, &rep, NULL, &st), RK_INVALID_ARGUMENT);
        rk_reply_free(rep);

        Rankd__HistoryRequest hr = RANKD__HISTORY_REQUEST__INIT;
        Rankd__HistoryReply *hrep = NULL;
        hr.board_id = "rb-best";
        hr.has_user_id = hr.has_from = hr.has_to = 1;
        hr.user_id = uid[0];
        hr.from = bad[i][0];
        hr.to = bad[i][1];
        CHECK_INT(rk_history_history(c, &hr, &hrep, NULL, &st), RK_INVALID_ARGUMENT);
        rk_reply_free(hrep);
    }
    Rankd__SnapshotReply *s = NULL;
    CHECK_INT(snapshot("rb-best", 1, INT64_MAX, &s), RK_INVALID_ARGUMENT);
    /* The largest time allowed is an ordinary answer. */
    CHECK_INT(snapshot("rb-best", 1, INT64_C(253402300799), &s), RK_OK);
    rk_reply_free(s);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    it_create_board(c, admin, "rb-best", "rb", 0, RANKD__POLICY__POLICY_BEST, 0xE, 0);
    it_create_board(c, admin, "rb-sum", "rb", 0, RANKD__POLICY__POLICY_SUM, 0, 0);
    it_create_board(c, admin, "rb-latest", "rb", 0, RANKD__POLICY__POLICY_LATEST, 0, 0);
    it_create_board(c, admin, "rb-time", "rb", 1, RANKD__POLICY__POLICY_BEST, 0, 0);
    key = it_api_key(c, admin, "rb");
    for (int i = 0; i < PLAYERS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "rb-%d", i);
        uid[i] = it_sign_up(c, name, "password-123");
    }
    workload();
    wait_written();
    capture(before);
    CHECK(before[0].n > 10);
    RUN(reports_from_postgres_equal_redis);
    RUN(report_pages_from_postgres_equal_redis);
    RUN(history_lists_every_submission);
    RUN(rebuild_on_request_restores_every_rank);
    RUN(empty_redis_is_rebuilt_at_start);
    RUN(a_dead_rebuilds_flag_does_not_stop_a_start);
    RUN(reports_right_after_postgres_restarts);
    RUN(closed_windows_get_final_standings);
    RUN(snapshots_are_taken_and_read_back);
    RUN(times_out_of_range_are_invalid_argument);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
