/*
 * degraded.c - PostgreSQL in Redis's place; see degraded.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "degraded.h"
#include "log.h"

#define BACKLOG_PREFIX "pg-"

/* Records one submission: history and backlog in one statement. A key is
 * checked and recorded under a transaction-scoped advisory lock on (board,
 * key), so callers retrying one key at once on any number of rankd
 * processes record it once: the second waits for the first to commit,
 * then finds its row (each statement of a READ COMMITTED transaction sees
 * what was committed before it began). */
static int record(pgstore *pg, const rstore_submit_in *in, rstore_submit_out *o, rk_status *st) {
    char uid[24], score[24], ts[24], entry[48];
    uint8_t raw[16];
    int rc;
    if (in->idem_key) {
        const char *params[] = {in->b->id, in->idem_key};
        PGresult *res = NULL;
        if ((rc = pgstore_exec(pg, "SELECT pg_advisory_xact_lock(hashtextextended($1 || chr(10) || $2, 0))", 2, params,
                               NULL, st)) != RK_OK ||
            (rc = pgstore_exec(pg, "SELECT score FROM scores WHERE board_id = $1 AND idempotency_key = $2 LIMIT 1", 2,
                               params, &res, st)) != RK_OK)
            return rc;
        int seen = PQntuples(res) > 0;
        PQclear(res);
        if (seen) {
            o->replayed = 1;
            o->score = in->score;
            return RK_OK;
        }
    }
    if (RAND_bytes(raw, sizeof(raw)) != 1) return rk_status_set(st, RK_INTERNAL, "no randomness for an entry id");
    strcpy(entry, BACKLOG_PREFIX);
    for (size_t i = 0; i < sizeof(raw); i++) sprintf(entry + 3 + 2 * i, "%02x", raw[i]);
    snprintf(uid, sizeof(uid), "%" PRId64, in->user_id);
    snprintf(score, sizeof(score), "%" PRId64, in->score);
    snprintf(ts, sizeof(ts), "%" PRId64, in->ts_us);
    const char *params[] = {entry, in->b->id, uid, score, ts, in->idem_key ? in->idem_key : ""};
    rc = pgstore_exec(
        pg,
        "WITH h AS (INSERT INTO scores (entry_id, board_id, user_id, score, submitted_at, idempotency_key) "
        "VALUES ($1, $2, $3::bigint, $4::bigint, timestamptz 'epoch' + $5::bigint * interval '1 microsecond', $6)) "
        "INSERT INTO redis_backlog (entry_id, board_id, user_id, score, ts_us, idempotency_key) "
        "VALUES ($1, $2, $3::bigint, $4::bigint, $5::bigint, $6)",
        6, params, NULL, st);
    if (rc != RK_OK) return rc;
    o->score = in->score;
    snprintf(o->entry_id, sizeof(o->entry_id), "%s", entry);
    return RK_OK;
}

static int one_submit(pgstore *pg, const rstore_submit_in *in, rstore_submit_out *o, rk_status *st) {
    memset(o, 0, sizeof(*o));
    if (in->idem_key == NULL) return record(pg, in, o, st);
    int rc = pgstore_exec(pg, "BEGIN", 0, NULL, NULL, st);
    if (rc == RK_OK) rc = record(pg, in, o, st);
    rk_status ignore;
    if (rc == RK_OK) rc = pgstore_exec(pg, "COMMIT", 0, NULL, NULL, st);
    if (rc != RK_OK) pgstore_exec(pg, "ROLLBACK", 0, NULL, NULL, &ignore);
    return rc;
}

int degraded_submit(pgstore *pg, const rstore_submit_in *in, size_t n, rstore_submit_out *out, rk_status *st) {
    for (size_t i = 0; i < n; i++) {
        int rc = one_submit(pg, &in[i], &out[i], st);
        if (rc == RK_UNAVAILABLE) return rc; /* neither store: nothing is known */
        if (rc != RK_OK) out[i].status = *st;
        rk_status_clear(st);
    }
    return RK_OK;
}

int degraded_ranking(pgstore *pg, const board *b, window_kind k, time_t now, rank_mode mode, report_row **rows,
                     size_t *n, int64_t *size, rk_status *st) {
    int64_t from, to;
    window_bounds(k, now, &from, &to);
    report_query q = {.b = b,
                      .from_us = k == WINDOW_ALL ? REPORT_UNBOUNDED : from * 1000000,
                      .to_us = k == WINDOW_ALL ? REPORT_UNBOUNDED : to * 1000000,
                      .limit = -1,
                      .mode = mode};
    return report_run(pg, &q, rows, n, size, st);
}

int degraded_backlog_size(pgstore *pg, int64_t *n, rk_status *st) {
    PGresult *res = NULL;
    int rc = pgstore_exec(pg, "SELECT count(*) FROM redis_backlog", 0, NULL, &res, st);
    if (rc != RK_OK) return rc;
    *n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return RK_OK;
}

/* The key a backlog entry is replayed under: the caller's own, so that a
 * retry of it after Redis returns is answered from the replay; else the
 * entry's id, so that replaying twice changes nothing. */
static const char *replay_key(const char *entry_id, const char *idem_key) {
    return idem_key && idem_key[0] ? idem_key : entry_id;
}

int degraded_replayed(rstore *r, pgstore *pg, const char *board_id, char **literal, rk_status *st) {
    const char *params[] = {board_id};
    PGresult *res = NULL;
    int rc = pgstore_exec(pg,
                          "SELECT entry_id, board_id, idempotency_key FROM redis_backlog "
                          "WHERE $1::text IS NULL OR board_id = $1 ORDER BY board_id",
                          1, params, &res, st);
    if (rc != RK_OK) return rc;
    int rows = PQntuples(res);
    const char **keys = calloc((size_t)rows + 1, sizeof(*keys));
    int *present = calloc((size_t)rows + 1, sizeof(*present));
    size_t cap = 3;
    for (int i = 0; i < rows; i++) cap += strlen(PQgetvalue(res, i, 0)) + 3;
    char *out = malloc(cap);
    if (!keys || !present || !out) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    /* One MGET per board: a board's keys share its hash tag. */
    for (int i = 0, j; rc == RK_OK && i < rows; i = j) {
        const char *b = PQgetvalue(res, i, 1);
        for (j = i; j < rows && strcmp(PQgetvalue(res, j, 1), b) == 0; j++)
            keys[j] = replay_key(PQgetvalue(res, j, 0), PQgetvalue(res, j, 2));
        rc = rstore_idem_present(r, b, keys + i, (size_t)(j - i), present + i, st);
    }
    if (rc == RK_OK) {
        /* Entry ids are "pg-" and hex digits: nothing to escape. */
        size_t n = 0;
        out[n++] = '{';
        for (int i = 0; i < rows; i++) {
            if (!present[i]) continue;
            if (n > 1) out[n++] = ',';
            n += (size_t)sprintf(out + n, "\"%s\"", PQgetvalue(res, i, 0));
        }
        out[n++] = '}';
        out[n] = '\0';
        *literal = out;
        out = NULL;
    }
    free(out);
    free(keys);
    free(present);
    PQclear(res);
    return rc;
}

int degraded_apply_backlog(rstore *r, pgstore *pg, boards_cache *cache, int64_t idem_ttl, int64_t retention, int limit,
                           int *applied, rk_status *st) {
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", limit);
    const char *params[] = {lim};
    PGresult *res = NULL;
    int rc = pgstore_exec(pg,
                          "SELECT entry_id, board_id, user_id, score, ts_us, idempotency_key FROM redis_backlog "
                          "ORDER BY ts_us, entry_id LIMIT $1::integer",
                          1, params, &res, st);
    if (rc != RK_OK) return rc;
    int rows = PQntuples(res);
    *applied = 0;
    for (int i = 0; rc == RK_OK && i < rows; i++) {
        board b;
        const char *entry = PQgetvalue(res, i, 0), *key = PQgetvalue(res, i, 5);
        /* Replayed under the caller's key, so that a retry after the
         * replay is answered from its record; without one, under the
         * entry id. Either way replaying twice changes nothing. */
        rstore_submit_in in = {.b = &b,
                               .user_id = strtoll(PQgetvalue(res, i, 2), NULL, 10),
                               .score = strtoll(PQgetvalue(res, i, 3), NULL, 10),
                               .ts_us = strtoll(PQgetvalue(res, i, 4), NULL, 10),
                               .idem_key = replay_key(entry, key),
                               .history_done = 1};
        rstore_submit_out out;
        int twice = 0;
        if (boards_get(cache, pg, PQgetvalue(res, i, 1), &b, st) == RK_OK) {
            if ((rc = rstore_submit(r, &in, 1, idem_ttl, retention, &out, st)) != RK_OK) break;
            if (out.status.code != RK_OK && out.status.code != RK_OUT_OF_RANGE) {
                *st = out.status;
                rc = st->code;
                break;
            }
            /* Redis had taken it already, with a stream entry of its own:
             * its answer was lost when Redis went away, and the write-behind
             * had not copied it before this row was taken without Redis.
             * That entry is the history's record of it; this row is not. */
            twice = out.status.code == RK_OK && out.replayed && out.entry_id[0] != '\0';
        } else if (st->code != RK_NOT_FOUND) {
            rc = st->code; /* a deleted board's entries are dropped below */
            break;
        }
        rk_status_clear(st);
        const char *del[] = {entry};
        if ((rc = pgstore_exec(pg,
                               twice ? "WITH h AS (DELETE FROM scores WHERE entry_id = $1) "
                                       "DELETE FROM redis_backlog WHERE entry_id = $1"
                                     : "DELETE FROM redis_backlog WHERE entry_id = $1",
                               1, del, NULL, st)) == RK_OK)
            (*applied)++;
        if (rc == RK_OK && twice)
            log_warn("a submission taken without Redis had reached Redis already; counted once", "entry=%s first=%s",
                     entry, out.entry_id);
    }
    PQclear(res);
    return rc;
}
