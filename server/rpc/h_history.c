/*
 * h_history.c - a player's submissions, period reports, the final
 * standings of closed windows and the periodic snapshots, answered from
 * PostgreSQL (a report of a period that is exactly a window Redis holds
 * comes from Redis). The statements are the store's (store_pg.h,
 * report.h): each handler here only checks the request, asks the store
 * and builds the reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boards.h"
#include "handlers.h"
#include "ranking.h"
#include "idem.h"
#include "report.h"
#include "users.h"
#include "validate.h"

#define HISTORY_DEFAULT 50
#define HISTORY_MAX 1000
#define REPORT_DEFAULT 100
#define REPORT_MAX 10000

/* Optional bounds of a period: each a valid time, from before to. */
static int check_period(int has_from, int64_t from, int has_to, int64_t to, rk_status *st) {
    int rc;
    if (has_from && (rc = validate_time("from", from, st)) != RK_OK) return rc;
    if (has_to && (rc = validate_time("to", to, st)) != RK_OK) return rc;
    if (has_from && has_to && from >= to) return rk_status_set(st, RK_INVALID_ARGUMENT, "from must be before to");
    return RK_OK;
}

/* Unix seconds -> µs, or unbounded when absent. */
static int64_t bound_us(int has, int64_t s) { return has ? s * 1000000 : REPORT_UNBOUNDED; }

int h_history(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__HistoryRequest *req = (const Rankd__HistoryRequest *)m;
    board b;
    int rc, found = 0;
    char name[1][USER_NAME_MAX];
    int64_t uid[1] = {req->has_user_id ? req->user_id : 0};
    const char *names[1] = {req->username};
    uint32_t limit = req->has_limit && req->limit ? req->limit : HISTORY_DEFAULT;
    if (limit > HISTORY_MAX) return rk_status_set(st, RK_INVALID_ARGUMENT, "limit is at most %d", HISTORY_MAX);
    if ((rc = validate_id("board_id", req->board_id, st)) != RK_OK) return rc;
    if ((rc = check_period(req->has_from, req->from, req->has_to, req->to, st)) != RK_OK) return rc;
    if ((rc = boards_get(call->srv->boards, call->w->pg, req->board_id, &b, st)) != RK_OK) return rc;
    if (uid[0] <= 0 && (req->username == NULL || req->username[0] == '\0'))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "user_id or username is required");
    if ((rc = users_resolve(call, uid, names, 1, &found, name, st)) != RK_OK) return rc;
    if (!found) return rk_status_set(st, RK_NOT_FOUND, "no such user");

    pg_history_row *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    if ((rc = pgstore_history_page(call->w->pg, b.id, uid[0], bound_us(req->has_from, req->from),
                                   bound_us(req->has_to, req->to), req->has_offset ? req->offset : 0, limit, &rows, &n,
                                   &total, st)) != RK_OK)
        return rc;
    Rankd__HistoryReply *rep = arena_alloc(&call->w->arena, sizeof(*rep));
    Rankd__HistoryEntry **list = ARENA_ARRAY(call, Rankd__HistoryEntry *, n);
    Rankd__HistoryEntry *items = ARENA_ARRAY(call, Rankd__HistoryEntry, n);
    if (!rep || !list || !items) {
        free(rows);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    rankd__history_reply__init(rep);
    for (size_t i = 0; i < n; i++) {
        rankd__history_entry__init(&items[i]);
        items[i].has_score = items[i].has_submitted_at_us = 1;
        items[i].score = rows[i].score;
        items[i].submitted_at_us = rows[i].submitted_at_us;
        /* The key as its caller sent it: the scope is ours. */
        items[i].idempotency_key = arena_strdup(&call->w->arena, idem_unscoped(rows[i].idem_key));
        items[i].has_removed = items[i].removed = rows[i].removal_id != 0;
        if (rows[i].held) items[i].held = rows[i].held == 1 ? "held" : "rejected";
        if (rows[i].meta) items[i].meta = arena_strdup(&call->w->arena, rows[i].meta);
        list[i] = &items[i];
    }
    free(rows);
    rep->has_total = 1;
    rep->total = total;
    rep->n_entries = n;
    rep->entries = list;
    *out = &rep->base;
    return RK_OK;
}

/* The window kind whose bounds are exactly [from, to), or -1. */
static int exact_window(const board *b, int has_from, int64_t from, int has_to, int64_t to) {
    if (!has_from && !has_to) return WINDOW_ALL;
    if (!has_from || !has_to || b == NULL) return -1;
    for (int k = WINDOW_DAY; k < WINDOW_KINDS; k++) {
        int64_t s, e;
        if (!(b->windows & WINDOW_BIT(k))) continue;
        window_bounds((window_kind)k, (time_t)from, &s, &e);
        if (s == from && e == to) return k;
    }
    return -1;
}

/* Fills a ReportReply from ranked rows (which the caller still owns). */
static int report_reply(rpc_call *call, Rankd__ReportReply *rep, const rank_row *rows, size_t n, int64_t size,
                        const char *source, ProtobufCMessage **out, rk_status *st) {
    Rankd__RankEntry **list = ARENA_ARRAY(call, Rankd__RankEntry *, n);
    Rankd__RankEntry *items = ARENA_ARRAY(call, Rankd__RankEntry, n);
    if (!list || !items) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < n; i++) {
        rankd__rank_entry__init(&items[i]);
        items[i].has_user_id = items[i].has_score = items[i].has_rank = 1;
        items[i].user_id = rows[i].user_id;
        items[i].username = arena_strdup(&call->w->arena, rows[i].username);
        items[i].score = rows[i].score;
        items[i].rank = rows[i].rank;
        if (size > 0 && rows[i].competition > 0) {
            items[i].has_percentile = 1;
            items[i].percentile = ranks_percentile(rows[i].competition, size);
        }
        list[i] = &items[i];
    }
    rep->entries = list;
    rep->n_entries = n;
    rep->has_board_size = 1;
    rep->board_size = size;
    rep->source = (char *)source;
    *out = &rep->base;
    return RK_OK;
}

int h_report(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__ReportRequest *req = (const Rankd__ReportRequest *)m;
    board b, *bp = NULL;
    int rc;
    uint32_t limit = req->has_limit && req->limit ? req->limit : REPORT_DEFAULT;
    int mode = req->has_rank_mode ? (int)req->rank_mode : RANK_COMPETITION;
    if (limit > REPORT_MAX) return rk_status_set(st, RK_INVALID_ARGUMENT, "limit is at most %d", REPORT_MAX);
    if (mode < RANK_COMPETITION || mode > RANK_UNIQUE)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "unknown rank_mode");
    if ((rc = validate_id("board_id", req->board_id, st)) != RK_OK) return rc;
    if ((rc = check_period(req->has_from, req->from, req->has_to, req->to, st)) != RK_OK) return rc;
    if (strcmp(req->board_id, BOARD_GLOBAL_ID) != 0) {
        if ((rc = boards_get(call->srv->boards, call->w->pg, req->board_id, &b, st)) != RK_OK) return rc;
        bp = &b;
    }

    Rankd__ReportReply *rep = arena_alloc(&call->w->arena, sizeof(*rep));
    if (rep == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    rankd__report_reply__init(rep);
    int64_t offset = req->has_offset ? req->offset : 0;

    /* A period that is exactly a window: Redis answers while it holds the
     * window's set, else the history (ranking.h); any other period: the
     * history. */
    rread_result res;
    int history = 1;
    int k = exact_window(bp, req->has_from, req->from, req->has_to, req->to);
    if (k >= 0 && (bp == NULL ? k == WINDOW_ALL : 1)) {
        rview v;
        rread q;
        time_t at = (time_t)(req->has_from ? req->from : server_time());
        rstore_view(bp, (window_kind)k, at, &v);
        rread_top(&q, &v, offset, limit, (rank_mode)mode);
        rc = ranking_read(call->w->redis, call->w->pg, call->srv->recovery, bp, (window_kind)k, at, &q,
                          RANKING_HISTORY_IF_EMPTY, &res, &history, st);
    } else {
        rc = ranking_period(call->w->pg, bp, bound_us(req->has_from, req->from), bound_us(req->has_to, req->to), offset,
                            limit, (rank_mode)mode, &res, st);
    }
    if (rc != RK_OK) return rc;
    rc = report_reply(call, rep, res.rows, res.n, res.size, history ? "postgres" : "redis", out, st);
    free(res.rows);
    return rc;
}

/* "2026-11-23" (daily), "2026-W45" (weekly), "2026-11" (monthly). */
static int parse_label(int k, const char *at, char *label, size_t cap, rk_status *st) {
    int y, a, d;
    char tail;
    if (at == NULL) return rk_status_set(st, RK_INVALID_ARGUMENT, "at is required");
    int ok = (k == WINDOW_DAY && sscanf(at, "%4d-%2d-%2d%c", &y, &a, &d, &tail) == 3 && a >= 1 && a <= 12 && d >= 1 &&
              d <= 31) ||
             (k == WINDOW_WEEK && sscanf(at, "%4d-W%2d%c", &y, &a, &tail) == 2 && a >= 1 && a <= 53) ||
             (k == WINDOW_MONTH && sscanf(at, "%4d-%2d%c", &y, &a, &tail) == 2 && a >= 1 && a <= 12);
    if (!ok || strlen(at) >= cap)
        return rk_status_set(st, RK_INVALID_ARGUMENT,
                             "at must look like 2026-11-23 (daily), 2026-W45 (weekly) or 2026-11 (monthly)");
    snprintf(label, cap, "%s", at);
    return RK_OK;
}

/* Ranked rows (which the caller still owns) as entries in the call's
 * arena; -1 when it is out of memory. */
/* Standings and snapshots hold competition ranks of a board of `size`. */
int rank_entries(rpc_call *call, const pg_rank_row *rows, size_t n, int64_t size, Rankd__RankEntry ***out) {
    Rankd__RankEntry **list = ARENA_ARRAY(call, Rankd__RankEntry *, n);
    Rankd__RankEntry *items = ARENA_ARRAY(call, Rankd__RankEntry, n);
    if (!list || !items) return -1;
    for (size_t i = 0; i < n; i++) {
        rankd__rank_entry__init(&items[i]);
        items[i].has_user_id = items[i].has_score = items[i].has_rank = 1;
        items[i].user_id = rows[i].user_id;
        items[i].username = arena_strdup(&call->w->arena, rows[i].username);
        items[i].score = rows[i].score;
        items[i].rank = rows[i].rank;
        if (size > 0 && rows[i].rank > 0) {
            items[i].has_percentile = 1;
            items[i].percentile = ranks_percentile(rows[i].rank, size);
        }
        list[i] = &items[i];
    }
    *out = list;
    return 0;
}

int h_standings(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__StandingsRequest *req = (const Rankd__StandingsRequest *)m;
    board b;
    char label[24];
    int rc;
    int k = req->has_window ? (int)req->window : WINDOW_ALL;
    if ((rc = validate_id("board_id", req->board_id, st)) != RK_OK) return rc;
    if (k < WINDOW_DAY || k >= WINDOW_KINDS)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "window must be daily, weekly or monthly");
    if ((rc = parse_label(k, req->at, label, sizeof(label), st)) != RK_OK) return rc;
    if ((rc = boards_get(call->srv->boards, call->w->pg, req->board_id, &b, st)) != RK_OK) return rc;
    pg_rank_row *rows = NULL;
    size_t n = 0;
    int64_t size = 0, closed_at = 0;
    if ((rc = pgstore_standings_get(call->w->pg, b.id, k, label, &rows, &n, &size, &closed_at, st)) != RK_OK) return rc;
    if (n == 0) {
        free(rows);
        return rk_status_set(st, RK_NOT_FOUND,
                             "no final standings for board %s, %s window %s (not closed yet, or empty)", b.id,
                             k == WINDOW_DAY    ? "daily"
                             : k == WINDOW_WEEK ? "weekly"
                                                : "monthly",
                             label);
    }
    Rankd__StandingsReply *rep = arena_alloc(&call->w->arena, sizeof(*rep));
    if (rep) rankd__standings_reply__init(rep);
    if (rep == NULL || rank_entries(call, rows, n, size, &rep->entries) != 0) {
        free(rows);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    free(rows);
    rep->n_entries = n;
    rep->has_board_size = rep->has_closed_at = 1;
    rep->board_size = size;
    rep->closed_at = closed_at;
    *out = &rep->base;
    return RK_OK;
}

/* The latest snapshot taken at or before `at`, with the times of the ones
 * either side so that a dashboard can step through them. */
int h_snapshot(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__SnapshotRequest *req = (const Rankd__SnapshotRequest *)m;
    board b;
    int rc;
    if ((rc = validate_id("board_id", req->board_id, st)) != RK_OK) return rc;
    if (req->has_at && (rc = validate_time("at", req->at, st)) != RK_OK) return rc;
    if (strcmp(req->board_id, BOARD_GLOBAL_ID) != 0 &&
        (rc = boards_get(call->srv->boards, call->w->pg, req->board_id, &b, st)) != RK_OK)
        return rc;
    pg_snapshot snap;
    pg_rank_row *rows = NULL;
    size_t n = 0;
    if ((rc = pgstore_snapshot_get(call->w->pg, req->board_id, req->has_at ? req->at : TIME_MAX_S, &snap, &rows, &n,
                                   st)) != RK_OK)
        return rc;
    if (n == 0) {
        free(rows);
        if (req->has_at) {
            char when[32];
            time_t t = (time_t)req->at;
            struct tm tm;
            strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
            return rk_status_set(st, RK_NOT_FOUND, "no snapshot of board %s taken at or before %s", req->board_id,
                                 when);
        }
        return rk_status_set(st, RK_NOT_FOUND, "no snapshot of board %s yet (one is taken every snapshot-interval-s)",
                             req->board_id);
    }
    Rankd__SnapshotReply *rep = arena_alloc(&call->w->arena, sizeof(*rep));
    if (rep) rankd__snapshot_reply__init(rep);
    if (rep == NULL || rank_entries(call, rows, n, snap.board_size, &rep->entries) != 0) {
        free(rows);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    free(rows);
    rep->n_entries = n;
    rep->has_board_size = rep->has_taken_at = rep->has_previous = rep->has_next = 1;
    rep->board_size = snap.board_size;
    rep->taken_at = snap.taken_at;
    rep->previous = snap.previous;
    rep->next = snap.next;
    *out = &rep->base;
    return RK_OK;
}
