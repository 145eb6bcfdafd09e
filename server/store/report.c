/*
 * report.c - one SQL statement per report, assembled from fixed pieces.
 *
 * Only constant SQL fragments are concatenated (chosen by the board's
 * policy and order); every value travels as a parameter. The statement:
 *   s  the rows of the period (index scores_board_time)
 *   v  one value per player, with the time it was reached (the tie time)
 *      and, on latest boards, the time of the last submission (NULL
 *      elsewhere: what decides whether a later one is older, see rankd.lua)
 *   r  ranks: rank() for competition, dense_rank() for dense, and the
 *      listing order value, reached, user id as text (bytewise), which is
 *      exactly the order of Redis's sorted-set members (see rankd.lua)
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_exec.h"
#include "report.h"

/* For rebuilds: the live view leaves out what redis_backlog still has to
 * replay into Redis, except the entries parameter p lists (Redis already
 * holds them). A NULL parameter keeps every row. */
#define LIVE_VIEW(p)                                                                                 \
    " AND (" p "::text[] IS NULL OR NOT EXISTS (SELECT 1 FROM redis_backlog rb WHERE rb.entry_id = " \
    "s.entry_id AND rb.entry_id <> ALL(" p "::text[])))"

/* Submissions an admin removed (scores.removal_id), those held for review
 * and not approved (scores.held), and those of a banned player while the
 * ban lasts, count nowhere. */
#define COUNTED                                                                            \
    " AND s.removal_id IS NULL AND s.held IS NULL AND NOT EXISTS (SELECT 1 FROM users bu " \
    "WHERE bu.id = s.user_id AND bu.banned_at IS NOT NULL)"

#define TIME_FILTER                                                                                              \
    " AND ($2::bigint IS NULL OR s.submitted_at >= timestamptz 'epoch' + $2::bigint * interval '1 microsecond')" \
    " AND ($3::bigint IS NULL OR s.submitted_at < timestamptz 'epoch' + $3::bigint * interval '1 "               \
    "microsecond')" LIVE_VIEW("$6") COUNTED

/* Seasons: a board's period counts only the rows of the last season that
 * began before the period's end ($3; open: the current season), so a
 * window that a season's end cut holds what came after the end, as the
 * live board does, and a period wholly in an ended season is that
 * season's. SEASON_SINCE is the moment; before any season ended, every
 * row counts. */
#define SEASON_SINCE(board)                                                                                          \
    "(SELECT max(se.ended_at) FROM seasons se WHERE se.board_id = " board " AND ($3::bigint IS NULL OR se.ended_at " \
    "< timestamptz 'epoch' + $3::bigint * interval '1 microsecond'))"
#define SEASON_FLOOR " AND s.submitted_at >= coalesce(" SEASON_SINCE("$1") ", '-infinity')"

/* One board: the period's rows. */
static const char s_board[] = "s AS (SELECT s.user_id, s.score, s.submitted_at, s.id FROM scores s WHERE s.board_id = "
                              "$1" TIME_FILTER SEASON_FLOOR "),";

/* Per-policy values of one board. */
static const char v_best_desc[] =
    "v AS (SELECT DISTINCT ON (user_id) user_id, score AS value, submitted_at AS reached, "
    "NULL::timestamptz AS last FROM s ORDER BY user_id, score DESC, submitted_at, id),";
static const char v_best_asc[] = "v AS (SELECT DISTINCT ON (user_id) user_id, score AS value, submitted_at AS reached, "
                                 "NULL::timestamptz AS last FROM s ORDER BY user_id, score ASC, submitted_at, id),";
/* Latest: the last score, reached at the start of the last run of equal
 * scores (a repeat keeps the tie time, as on the live board). */
static const char v_latest[] =
    "v AS (SELECT user_id, (array_agg(score ORDER BY submitted_at DESC, id DESC))[1] AS value, "
    "max(submitted_at) FILTER (WHERE changed) AS reached, max(submitted_at) AS last FROM (SELECT user_id, score, "
    "submitted_at, id, score IS DISTINCT FROM lag(score) OVER (PARTITION BY user_id ORDER BY submitted_at, id) "
    "AS changed FROM s) x GROUP BY user_id),";
static const char v_sum[] = "v AS (SELECT user_id, sum(score)::bigint AS value, "
                            "coalesce(max(submitted_at) FILTER (WHERE score <> 0), min(submitted_at)) AS reached, "
                            "NULL::timestamptz AS last FROM s GROUP BY user_id),";

/* The global board: every higher-is-better board (an aggregate has no
 * rows of its own), each under its policy ($1 is unused but keeps the
 * parameter list the same). Each board gives
 * a player's value there, the last time a submission changed it (as the
 * live board moves the total: a board counts 0 before its first
 * submission, so a value that has been 0 from the first submission on
 * never changed it and gives NULL) and the first submission. The total's
 * tie time is the last change on any board, or the player's first
 * submission when no board ever changed it. */
static const char s_global[] =
    "s AS (SELECT s.board_id, s.user_id, s.score, s.submitted_at, s.id, b.policy FROM scores s "
    "JOIN boards b ON b.id = s.board_id LEFT JOIN (SELECT se.board_id, max(se.ended_at) AS since FROM seasons se "
    "WHERE $3::bigint IS NULL OR se.ended_at < timestamptz 'epoch' + $3::bigint * interval '1 microsecond' "
    "GROUP BY se.board_id) sf ON sf.board_id = s.board_id "
    "WHERE b.higher_is_better AND $1::text IS NOT NULL AND (sf.since IS NULL OR s.submitted_at >= sf.since)" TIME_FILTER
    "),";
/* An aggregate board ($1): the same over its sources only, each in its
 * current season (what its all-time view holds). */
static const char s_aggregate[] =
    "s AS (SELECT s.board_id, s.user_id, s.score, s.submitted_at, s.id, b.policy FROM scores s "
    "JOIN boards b ON b.id = s.board_id LEFT JOIN (SELECT se.board_id, max(se.ended_at) AS since FROM seasons se "
    "WHERE $3::bigint IS NULL OR se.ended_at < timestamptz 'epoch' + $3::bigint * interval '1 microsecond' "
    "GROUP BY se.board_id) sf ON sf.board_id = s.board_id "
    "WHERE s.board_id = ANY((SELECT a.sources FROM boards a WHERE a.id = $1)::text[]) "
    "AND (sf.since IS NULL OR s.submitted_at >= sf.since)" TIME_FILTER "),";
static const char v_summed[] =
    /* Best: the first submission of the best changed it, unless that was
     * the board's first submission and the best is 0. */
    "pb AS (SELECT DISTINCT ON (board_id, user_id) user_id, score AS value, "
    "CASE WHEN score = 0 AND first_value(score) OVER w = 0 THEN NULL ELSE submitted_at END AS reached, "
    "min(submitted_at) OVER (PARTITION BY board_id, user_id) AS since FROM s WHERE policy = 1 "
    "WINDOW w AS (PARTITION BY board_id, user_id ORDER BY submitted_at, id) "
    "ORDER BY board_id, user_id, score DESC, submitted_at, id),"
    /* Latest: the start of the last run of equal scores, the run before
     * the first submission being one of 0. */
    "pl AS (SELECT user_id, (array_agg(score ORDER BY submitted_at DESC, id DESC))[1] AS value, "
    "max(submitted_at) FILTER (WHERE changed) AS reached, min(submitted_at) AS since FROM (SELECT board_id, "
    "user_id, score, submitted_at, id, "
    "score <> lag(score, 1, 0::bigint) OVER (PARTITION BY board_id, user_id ORDER BY submitted_at, id) AS changed "
    "FROM s WHERE policy = 2) x GROUP BY board_id, user_id),"
    /* Sum: the last submission other than 0. */
    "ps AS (SELECT user_id, sum(score)::bigint AS value, max(submitted_at) FILTER (WHERE score <> 0) AS reached, "
    "min(submitted_at) AS since FROM s WHERE policy = 3 GROUP BY board_id, user_id),"
    "v AS (SELECT user_id, sum(value)::bigint AS value, coalesce(max(reached), min(since)) AS reached, "
    "NULL::timestamptz AS last FROM "
    "(SELECT * FROM pb UNION ALL SELECT * FROM pl UNION ALL SELECT * FROM ps) x GROUP BY user_id),";

static const char r_desc[] =
    "r AS (SELECT user_id, value, reached, last, rank() OVER (ORDER BY value DESC) AS comp, "
    "dense_rank() OVER (ORDER BY value DESC) AS dense, "
    "row_number() OVER (ORDER BY value DESC, reached, user_id::text COLLATE \"C\" DESC) AS pos, "
    "count(*) OVER () AS size FROM v) ";
static const char r_asc[] = "r AS (SELECT user_id, value, reached, last, rank() OVER (ORDER BY value ASC) AS comp, "
                            "dense_rank() OVER (ORDER BY value ASC) AS dense, "
                            "row_number() OVER (ORDER BY value ASC, reached, user_id::text COLLATE \"C\" ASC) AS pos, "
                            "count(*) OVER () AS size FROM v) ";

/* A page of a ranking without ranking everyone: the page is a top-N sort
 * of v, and the ranks of its rows follow from two counts over v (players
 * strictly better than the page's first value, and their distinct values).
 * A month of a million players takes half the time of ranking them all.
 * The %s are the listing's direction (ASC or DESC, four times), "better"
 * (< or >) and the distinct count (dense_better, or 0). The page is joined
 * to st, not st to the page, so a page past the end still brings the size
 * (in one row of NULLs). */
static const char page_sql[] =
    "page AS (SELECT user_id, value, reached, last, row_number() OVER (ORDER BY value %1$s, reached, "
    "user_id::text COLLATE \"C\" %1$s) AS rn FROM (SELECT user_id, value, reached, last FROM v ORDER BY value %1$s, "
    "reached, user_id::text COLLATE \"C\" %1$s OFFSET $4::bigint LIMIT $5::bigint) t),"
    "first AS (SELECT value FROM page WHERE rn = 1),"
    "st AS (SELECT count(*) AS size, count(*) FILTER (WHERE v.value %2$s (SELECT value FROM first)) AS better, "
    "%3$s AS dbetter FROM v) "
    "SELECT p.user_id, coalesce(u.username, ''), p.value, (extract(epoch FROM p.reached) * 1000000)::bigint, "
    "CASE WHEN p.value = (SELECT value FROM first) THEN st.better + 1 "
    "ELSE $4::bigint + min(p.rn) OVER (PARTITION BY p.value) END, "
    "st.dbetter + dense_rank() OVER (ORDER BY p.value %1$s), $4::bigint + p.rn, st.size, "
    "(extract(epoch FROM coalesce(p.last, p.reached)) * 1000000)::bigint "
    "FROM st LEFT JOIN page p ON true LEFT JOIN users u ON u.id = p.user_id ORDER BY p.rn";
/* Distinct better values cost a sort of v: only dense ranks need them. */
static const char dense_better[] = "count(DISTINCT v.value) FILTER (WHERE v.value %s (SELECT value FROM first))";

static const char select_rows[] =
    "SELECT r.user_id, coalesce(u.username, ''), r.value, "
    "(extract(epoch FROM r.reached) * 1000000)::bigint, r.comp, r.dense, r.pos, r.size, "
    "(extract(epoch FROM coalesce(r.last, r.reached)) * 1000000)::bigint "
    "FROM r LEFT JOIN users u ON u.id = r.user_id WHERE r.pos > $4::bigint ORDER BY r.pos LIMIT $5::bigint";

static void num(char *buf, size_t cap, int64_t v, const char **param) {
    if (v == REPORT_UNBOUNDED) {
        *param = NULL; /* SQL NULL */
        return;
    }
    snprintf(buf, cap, "%" PRId64, v);
    *param = buf;
}

/* The "s" part of a board's statement: the rows that count on it. */
static const char *source_of(const board *b) {
    if (b == NULL) return s_global;
    return b->nsources > 0 ? s_aggregate : s_board;
}

/* The "v" part of a board's statement (one value per player, by its
 * policy and order): a sum over boards for the global and aggregates. */
static const char *values_of(const board *b) {
    if (b == NULL || b->nsources > 0) return v_summed;
    if (b->policy == POLICY_LATEST) return v_latest;
    if (b->policy == POLICY_SUM) return v_sum;
    return b->higher_is_better ? v_best_desc : v_best_asc;
}

/* One row of a report or places result: user id, name, value, reached,
 * competition rank, dense rank, position, size, last (columns 0-8), the
 * rank taken under mode. */
static void read_row(PGresult *r, int i, rank_mode mode, report_row *o) {
    o->user_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
    snprintf(o->username, sizeof(o->username), "%s", PQgetvalue(r, i, 1));
    o->value = strtoll(PQgetvalue(r, i, 2), NULL, 10);
    o->reached_us = strtoll(PQgetvalue(r, i, 3), NULL, 10);
    o->last_us = strtoll(PQgetvalue(r, i, 8), NULL, 10);
    int64_t comp = strtoll(PQgetvalue(r, i, 4), NULL, 10), dense = strtoll(PQgetvalue(r, i, 5), NULL, 10);
    o->position = strtoll(PQgetvalue(r, i, 6), NULL, 10);
    o->rank = mode == RANK_DENSE ? dense : mode == RANK_UNIQUE ? o->position : comp;
    o->competition = comp;
}

int report_run(pgstore *pg, const report_query *q, report_row **rows, size_t *n, int64_t *size, rk_status *st) {
    const board *b = q->b;
    const char *v = values_of(b);
    int desc = b == NULL || b->higher_is_better;

    char sql[6144], tail[2048];
    int len;
    if (q->limit >= 0) {
        /* A page: rank only what it shows. */
        const char *better = desc ? ">" : "<";
        char dense[128] = "0";
        if (q->mode == RANK_DENSE) snprintf(dense, sizeof(dense), dense_better, better);
        len = snprintf(tail, sizeof(tail), page_sql, desc ? "DESC" : "ASC", better, dense);
    } else {
        len = snprintf(tail, sizeof(tail), "%s%s", desc ? r_desc : r_asc, select_rows);
    }
    if (len < 0 || (size_t)len >= sizeof(tail)) return rk_status_set(st, RK_INTERNAL, "report statement too long");
    len = snprintf(sql, sizeof(sql), "WITH %s%s%s", source_of(b), v, tail);
    if (len < 0 || (size_t)len >= sizeof(sql)) return rk_status_set(st, RK_INTERNAL, "report statement too long");

    char from[24], to[24], off[24], lim[24];
    const char *params[6];
    params[0] = b ? b->id : BOARD_GLOBAL_ID;
    num(from, sizeof(from), q->from_us, &params[1]);
    num(to, sizeof(to), q->to_us, &params[2]);
    snprintf(off, sizeof(off), "%" PRId64, q->offset > 0 ? q->offset : 0);
    params[3] = off;
    num(lim, sizeof(lim), q->limit < 0 ? REPORT_UNBOUNDED : q->limit, &params[4]);
    params[5] = q->replayed;

    PGresult *r = NULL;
    int rc = pgstore_exec(pg, sql, 6, params, &r, st);
    if (rc != RK_OK) return rc;
    int count = PQntuples(r);
    report_row *out = calloc(count ? (size_t)count : 1, sizeof(*out));
    if (out == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    *size = 0;
    int k = 0;
    for (int i = 0; i < count; i++) {
        *size = strtoll(PQgetvalue(r, i, 7), NULL, 10);
        if (PQgetisnull(r, i, 0)) continue; /* an empty page's row of NULLs */
        read_row(r, i, q->mode, &out[k++]);
    }
    PQclear(r);
    if (k == 0 && q->offset > 0 && q->limit < 0) {
        /* A whole ranking from past its end: the size still counts. */
        report_query all = *q;
        all.offset = 0;
        all.limit = 1;
        report_row *one = NULL;
        size_t m = 0;
        rc = report_run(pg, &all, &one, &m, size, st);
        free(one);
        if (rc != RK_OK) {
            free(out);
            return rc;
        }
    }
    *rows = out;
    *n = (size_t)k;
    return RK_OK;
}

/* The places of the players $7 (a bigint[]): how many players come
 * before each in the listing order (value, then reached, then user id as
 * text, as Redis orders members), how many have a strictly better value,
 * and how many distinct better values there are. The %s are the order's
 * "better" comparison (> or <) three times, the order of the user id
 * ("<" or ">"), and "better" once more. $4 and $5 (a page) are unused but
 * keep the parameter list the same. */
static const char places_sql[] =
    "st AS (SELECT count(*) AS size FROM v) "
    "SELECT p.user_id, coalesce(u.username, ''), p.value, (extract(epoch FROM p.reached) * 1000000)::bigint, "
    "(SELECT count(*) FROM v WHERE v.value %1$s p.value) + 1, "
    "(SELECT count(DISTINCT v.value) FROM v WHERE v.value %1$s p.value) + 1, "
    "(SELECT count(*) FROM v WHERE v.value %1$s p.value OR (v.value = p.value AND (v.reached < p.reached OR "
    "(v.reached = p.reached AND v.user_id::text COLLATE \"C\" %2$s p.user_id::text COLLATE \"C\")))) + 1, "
    "st.size, (extract(epoch FROM coalesce(p.last, p.reached)) * 1000000)::bigint "
    "FROM st LEFT JOIN v p ON p.user_id = ANY($7::bigint[]) LEFT JOIN users u ON u.id = p.user_id "
    "WHERE $4::bigint IS NULL OR $5::bigint IS NULL OR true";

int report_places(pgstore *pg, const report_query *q, const int64_t *user_ids, size_t n, report_row *rows,
                  int64_t *size, rk_status *st) {
    const board *b = q->b;
    const char *v = values_of(b);
    int desc = b == NULL || b->higher_is_better;
    char tail[2048], sql[6144];
    int len = snprintf(tail, sizeof(tail), places_sql, desc ? ">" : "<", desc ? ">" : "<");
    if (len < 0 || (size_t)len >= sizeof(tail)) return rk_status_set(st, RK_INTERNAL, "places statement too long");
    len = snprintf(sql, sizeof(sql), "WITH %s%s%s", source_of(b), v, tail);
    if (len < 0 || (size_t)len >= sizeof(sql)) return rk_status_set(st, RK_INTERNAL, "places statement too long");

    /* The ids as a bigint[] literal: digits, commas and minus signs only. */
    char *ids = malloc(n * 24 + 3);
    if (ids == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    size_t k = 0;
    ids[k++] = '{';
    for (size_t i = 0; i < n; i++) k += (size_t)sprintf(ids + k, "%s%" PRId64, i ? "," : "", user_ids[i]);
    ids[k++] = '}';
    ids[k] = '\0';
    char from[24], to[24];
    const char *params[7];
    params[0] = b ? b->id : BOARD_GLOBAL_ID;
    num(from, sizeof(from), q->from_us, &params[1]);
    num(to, sizeof(to), q->to_us, &params[2]);
    params[3] = params[4] = NULL;
    params[5] = NULL; /* the whole history */
    params[6] = ids;
    PGresult *r = NULL;
    int rc = pgstore_exec(pg, sql, 7, params, &r, st);
    free(ids);
    if (rc != RK_OK) return rc;
    memset(rows, 0, n * sizeof(*rows));
    *size = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        *size = strtoll(PQgetvalue(r, i, 7), NULL, 10);
        if (PQgetisnull(r, i, 0)) continue; /* nobody asked has a score: st's row alone */
        int64_t uid = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        for (size_t j = 0; j < n; j++) {
            if (user_ids[j] != uid) continue;
            read_row(r, i, q->mode, &rows[j]);
        }
    }
    PQclear(r);
    return RK_OK;
}

/* The counts of report_span: $4 and $5 are the bounds (NULL: open); the
 * %s is "before the range" under the board's order. "x" only closes the
 * WITH list the values' part leaves open. */
static const char span_sql[] =
    "x AS (SELECT 1) SELECT count(*), count(*) FILTER (WHERE ($4::bigint IS NULL OR v.value >= $4::bigint) AND "
    "($5::bigint IS NULL OR v.value <= $5::bigint)), count(*) FILTER (WHERE %s) FROM v";

int report_span(pgstore *pg, const report_query *q, int has_min, int64_t min, int has_max, int64_t max, int64_t *size,
                int64_t *inside, int64_t *before, rk_status *st) {
    const board *b = q->b;
    int desc = b == NULL || b->higher_is_better;
    char tail[512], sql[6144];
    int len = snprintf(tail, sizeof(tail), span_sql,
                       desc ? "$5::bigint IS NOT NULL AND v.value > $5::bigint"
                            : "$4::bigint IS NOT NULL AND v.value < $4::bigint");
    if (len < 0 || (size_t)len >= sizeof(tail)) return rk_status_set(st, RK_INTERNAL, "span statement too long");
    len = snprintf(sql, sizeof(sql), "WITH %s%s%s", source_of(b), values_of(b), tail);
    if (len < 0 || (size_t)len >= sizeof(sql)) return rk_status_set(st, RK_INTERNAL, "span statement too long");
    char from[24], to[24], lo[24], hi[24];
    const char *params[6];
    params[0] = b ? b->id : BOARD_GLOBAL_ID;
    num(from, sizeof(from), q->from_us, &params[1]);
    num(to, sizeof(to), q->to_us, &params[2]);
    num(lo, sizeof(lo), has_min ? min : REPORT_UNBOUNDED, &params[3]);
    num(hi, sizeof(hi), has_max ? max : REPORT_UNBOUNDED, &params[4]);
    params[5] = NULL; /* the whole history */
    PGresult *r = NULL;
    int rc = pgstore_exec(pg, sql, 6, params, &r, st);
    if (rc != RK_OK) return rc;
    *size = *inside = *before = 0;
    if (PQntuples(r) == 1) {
        *size = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        *inside = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
        *before = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    }
    PQclear(r);
    return RK_OK;
}

/* The counts of report_histogram: $4 and $5 the bounds (NULL: the
 * values' own), $7 the number of buckets; bucket b of width
 * ceil((hi - lo + 1) / n), in exact numeric arithmetic. A period without
 * values gives one row of NULLs. */
static const char histogram_sql[] =
    "e AS (SELECT coalesce($4::bigint, min(value)) AS lo, coalesce($5::bigint, max(value)) AS hi, count(*) AS size "
    "FROM v) SELECT e.lo, e.hi, e.size, floor((v.value::numeric - e.lo) / ceil((e.hi::numeric - e.lo + 1) / "
    "$7::numeric))::bigint AS b, count(v.value) FROM e LEFT JOIN v ON v.value >= e.lo AND v.value <= e.hi "
    "GROUP BY 1, 2, 3, 4 ORDER BY 4";

int report_histogram(pgstore *pg, const report_query *q, int has_lo, int64_t lo_in, int has_hi, int64_t hi_in,
                     int64_t n, int64_t *lo, int64_t *hi, int64_t *counts, int64_t *size, int *empty, rk_status *st) {
    const board *b = q->b;
    char sql[6144];
    int len = snprintf(sql, sizeof(sql), "WITH %s%s%s", source_of(b), values_of(b), histogram_sql);
    if (len < 0 || (size_t)len >= sizeof(sql)) return rk_status_set(st, RK_INTERNAL, "histogram statement too long");
    char from[24], to[24], a[24], z[24], nb[24];
    const char *params[7];
    params[0] = b ? b->id : BOARD_GLOBAL_ID;
    num(from, sizeof(from), q->from_us, &params[1]);
    num(to, sizeof(to), q->to_us, &params[2]);
    num(a, sizeof(a), has_lo ? lo_in : REPORT_UNBOUNDED, &params[3]);
    num(z, sizeof(z), has_hi ? hi_in : REPORT_UNBOUNDED, &params[4]);
    params[5] = NULL; /* the whole history */
    snprintf(nb, sizeof(nb), "%" PRId64, n);
    params[6] = nb;
    PGresult *r = NULL;
    int rc = pgstore_exec(pg, sql, 7, params, &r, st);
    if (rc != RK_OK) return rc;
    memset(counts, 0, (size_t)n * sizeof(*counts));
    *size = 0;
    *empty = 1;
    for (int i = 0; i < PQntuples(r); i++) {
        if (PQgetisnull(r, i, 0) || PQgetisnull(r, i, 1)) break; /* no values to take a bound from */
        *empty = 0;
        *lo = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        *hi = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        *size = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        if (PQgetisnull(r, i, 3)) continue; /* nobody inside the bounds */
        int64_t k = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        if (k >= 0 && k < n) counts[k] = strtoll(PQgetvalue(r, i, 4), NULL, 10);
    }
    if (*empty && PQntuples(r) > 0) *size = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
    PQclear(r);
    return RK_OK;
}

/* Personal bests start again with every season. */
#define CURRENT_SEASON                                                                                   \
    " AND s.submitted_at >= coalesce((SELECT max(se.ended_at) FROM seasons se WHERE se.board_id = $1), " \
    "'-infinity')"
/* Which submission is a player's record, per policy and order: the first
 * of the best (as the tie time), or the last one; in the current season. */
#define META_PICK(order)                                                                                       \
    "SELECT user_id, meta FROM (SELECT DISTINCT ON (user_id) user_id, meta FROM scores s WHERE board_id = $1 " \
    "AND ($3::bigint[] IS NULL OR user_id = ANY($3::bigint[]))" LIVE_VIEW("$2") COUNTED CURRENT_SEASON         \
        " ORDER BY user_id, " order ") x WHERE meta IS NOT NULL"

int report_metas(pgstore *pg, const board *b, const char *replayed, const int64_t *user_ids, size_t nuids,
                 report_meta **rows, size_t *n, rk_status *st) {
    const char *sql = b->policy != POLICY_BEST ? META_PICK("submitted_at DESC, id DESC")
                      : b->higher_is_better    ? META_PICK("score DESC, submitted_at, id")
                                               : META_PICK("score ASC, submitted_at, id");
    /* The players as a bigint[] literal: "{1,2,3}". */
    char *ids = NULL;
    if (nuids > 0) {
        if ((ids = malloc(24 * nuids + 3)) == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        size_t k = 0;
        ids[k++] = '{';
        for (size_t i = 0; i < nuids; i++) k += (size_t)sprintf(ids + k, "%s%" PRId64, i ? "," : "", user_ids[i]);
        ids[k++] = '}';
        ids[k] = '\0';
    }
    const char *params[] = {b->id, replayed, ids};
    PGresult *r = NULL;
    int rc = pgstore_exec(pg, sql, 3, params, &r, st);
    free(ids);
    if (rc != RK_OK) return rc;
    int count = PQntuples(r);
    size_t text = 0, slots = count > 0 ? (size_t)count : 1;
    for (int i = 0; i < count; i++) text += (size_t)PQgetlength(r, i, 1) + 1;
    /* The rows, then their texts. */
    report_meta *out = calloc(1, slots * sizeof(*out) + text);
    if (out == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    char *pool = (char *)(out + slots);
    for (int i = 0; i < count; i++) {
        size_t len = (size_t)PQgetlength(r, i, 1);
        out[i].user_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        memcpy(pool, PQgetvalue(r, i, 1), len + 1);
        out[i].meta = pool;
        pool += len + 1;
    }
    PQclear(r);
    *rows = out;
    *n = (size_t)count;
    return RK_OK;
}

int report_personal_bests(pgstore *pg, const board *b, const char *replayed, report_row **rows, size_t *n,
                          rk_status *st) {
    const char *sql = b->higher_is_better
                          ? "SELECT user_id, max(score) FROM scores s WHERE board_id = $1" LIVE_VIEW("$2")
                                COUNTED CURRENT_SEASON " GROUP BY user_id"
                          : "SELECT user_id, min(score) FROM scores s WHERE board_id = $1" LIVE_VIEW("$2")
                                COUNTED CURRENT_SEASON " GROUP BY user_id";
    const char *params[] = {b->id, replayed};
    PGresult *r = NULL;
    int rc = pgstore_exec(pg, sql, 2, params, &r, st);
    if (rc != RK_OK) return rc;
    int count = PQntuples(r);
    report_row *out = calloc(count ? (size_t)count : 1, sizeof(*out));
    if (out == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (int i = 0; i < count; i++) {
        out[i].user_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
        out[i].value = strtoll(PQgetvalue(r, i, 1), NULL, 10);
    }
    PQclear(r);
    *rows = out;
    *n = (size_t)count;
    return RK_OK;
}
