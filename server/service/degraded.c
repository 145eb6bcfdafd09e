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

/* Records one submission (store_pg.c holds the statement and the lock
 * that make a key retried at once by many callers count once). */
static int one_submit(pgstore *pg, const rstore_submit_in *in, rstore_submit_out *o, rk_status *st) {
    pg_backlog_row row = {.user_id = in->user_id,
                          .score = in->score,
                          .ts_us = in->ts_us,
                          .sum_limited = in->b->policy == POLICY_SUM,
                          .meta = in->meta};
    uint8_t raw[16];
    memset(o, 0, sizeof(*o));
    if (in->idem_key && strlen(in->idem_key) >= sizeof(row.idem_key))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "idempotency key is too long");
    /* As rk_submit refuses it: a submission timed before the board's
     * season began would be history of the last season (as far as this
     * process's board cache knows the season). */
    if (in->ts_us < in->b->season_started_us)
        return rk_status_set(st, RK_UNAVAILABLE,
                             "board %s's season began after this submission's time (clocks out of step); retry shortly",
                             in->b->id);
    if (RAND_bytes(raw, sizeof(raw)) != 1) return rk_status_set(st, RK_INTERNAL, "no randomness for an entry id");
    strcpy(row.entry_id, BACKLOG_PREFIX);
    for (size_t i = 0; i < sizeof(raw); i++) sprintf(row.entry_id + 3 + 2 * i, "%02x", raw[i]);
    snprintf(row.board_id, sizeof(row.board_id), "%s", in->b->id);
    snprintf(row.idem_key, sizeof(row.idem_key), "%s", in->idem_key ? in->idem_key : "");
    int seen = 0, rc = pgstore_backlog_record(pg, &row, &seen, st);
    if (rc != RK_OK) return rc;
    o->score = in->score;
    if (seen)
        o->replayed = 1;
    else
        snprintf(o->entry_id, sizeof(o->entry_id), "%s", row.entry_id);
    return RK_OK;
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

int degraded_backlog_size(pgstore *pg, int64_t *n, rk_status *st) { return pgstore_backlog_size(pg, n, st); }

/* The key a backlog entry is replayed under: the caller's own, so that a
 * retry of it after Redis returns is answered from the replay; else the
 * entry's id, so that replaying twice changes nothing. */
static const char *replay_key(const char *entry_id, const char *idem_key) {
    return idem_key && idem_key[0] ? idem_key : entry_id;
}

int degraded_replayed(rstore *r, pgstore *pg, const char *board_id, char **literal, rk_status *st) {
    pg_backlog_row *rows = NULL;
    size_t n = 0;
    int rc = pgstore_backlog_list(pg, board_id, -1, 1, &rows, &n, st);
    if (rc != RK_OK) return rc;
    const char **keys = calloc(n + 1, sizeof(*keys));
    int64_t *uids = calloc(n + 1, sizeof(*uids));
    int *present = calloc(n + 1, sizeof(*present));
    size_t cap = 3;
    for (size_t i = 0; i < n; i++) cap += strlen(rows[i].entry_id) + 3;
    char *out = malloc(cap);
    if (!keys || !uids || !present || !out) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    /* A board's rows together: its keys share its hash tag (a hot board's,
     * its shards'). A board deleted meanwhile has no records left. */
    for (size_t i = 0, j; rc == RK_OK && i < n; i = j) {
        const char *id = rows[i].board_id;
        for (j = i; j < n && strcmp(rows[j].board_id, id) == 0; j++) {
            keys[j] = replay_key(rows[j].entry_id, rows[j].idem_key);
            uids[j] = rows[j].user_id;
        }
        board b;
        if ((rc = pgstore_board_get(pg, id, &b, st)) == RK_NOT_FOUND) {
            rk_status_clear(st);
            rc = RK_OK;
            continue;
        }
        if (rc == RK_OK) rc = rstore_idem_present(r, &b, uids + i, keys + i, j - i, present + i, st);
    }
    if (rc == RK_OK) {
        /* Entry ids are "pg-" and hex digits: nothing to escape. */
        size_t k = 0;
        out[k++] = '{';
        for (size_t i = 0; i < n; i++) {
            if (!present[i]) continue;
            if (k > 1) out[k++] = ',';
            k += (size_t)sprintf(out + k, "\"%s\"", rows[i].entry_id);
        }
        out[k++] = '}';
        out[k] = '\0';
        *literal = out;
        out = NULL;
    }
    free(out);
    free(keys);
    free(uids);
    free(present);
    free(rows);
    return rc;
}

/* A chunk of the backlog goes to Redis in one pipelined round trip, in
 * submission order, and leaves the backlog in one statement. Replaying a
 * row twice changes nothing (its replay key), so when one is refused (its
 * board is being rebuilt, say) the rows before it are done and it and
 * the rest are simply replayed again later, whatever Redis made of them. */
int degraded_apply_backlog(rstore *r, pgstore *pg, boards_cache *cache, int64_t idem_ttl, int64_t retention, int limit,
                           int *applied, rk_status *st) {
    pg_backlog_row *rows = NULL;
    size_t n = 0, m = 0, done = 0, stop;
    *applied = 0;
    rk_status_clear(st);
    int rc = pgstore_backlog_list(pg, NULL, limit, 0, &rows, &n, st);
    if (rc != RK_OK) return rc;
    board *b = calloc(n + 1, sizeof(*b));
    int *twice = calloc(n + 1, sizeof(*twice));
    size_t *at = calloc(n + 1, sizeof(*at));
    rstore_submit_in *in = calloc(n + 1, sizeof(*in));
    rstore_submit_out *out = calloc(n + 1, sizeof(*out));
    const char **ids = calloc(n + 1, sizeof(*ids));
    if (!b || !twice || !at || !in || !out || !ids) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto free;
    }
    for (stop = 0; stop < n; stop++) {
        size_t i = stop;
        ids[i] = rows[i].entry_id;
        if (boards_get(cache, pg, rows[i].board_id, &b[i], st) != RK_OK) {
            if (st->code != RK_NOT_FOUND) break; /* rows from here on wait */
            rk_status_clear(st);                 /* a deleted board's rows are just dropped */
            continue;
        }
        at[m] = i;
        /* Replayed under the caller's key, so that a retry after the
         * replay is answered from its record; without one, under the
         * entry id. */
        in[m++] = (rstore_submit_in){.b = &b[i],
                                     .user_id = rows[i].user_id,
                                     .score = rows[i].score,
                                     .ts_us = rows[i].ts_us,
                                     .idem_key = replay_key(rows[i].entry_id, rows[i].idem_key),
                                     .history_done = 1,
                                     .meta = rows[i].meta};
    }
    size_t upto = stop;    /* rows [0, upto) are done */
    rk_status first = *st; /* why the look-ups stopped, if they did */
    if (m > 0 && (rc = rstore_submit(r, in, m, idem_ttl, retention, NULL, out, st)) != RK_OK) goto free;
    for (size_t j = 0; j < m; j++) {
        rk_status *o = &out[j].status;
        if (o->code != RK_OK && o->code != RK_OUT_OF_RANGE) {
            upto = at[j];
            first = *o;
            break;
        }
        /* Redis had taken it already, with a stream entry of its own: its
         * answer was lost when Redis went away, and the write-behind had
         * not copied it before this row was taken without Redis. That
         * entry is the history's record of it; this row is not. */
        twice[at[j]] = o->code == RK_OK && out[j].replayed && out[j].entry_id[0] != '\0';
    }
    if ((rc = pgstore_backlog_done(pg, ids, twice, upto, st)) != RK_OK) goto free;
    done = upto;
    for (size_t i = 0; i < upto; i++)
        if (twice[i])
            log_warn("a submission taken without Redis had reached Redis already; counted once", "entry=%s",
                     rows[i].entry_id);
    if (first.code != RK_OK) {
        *st = first;
        rc = st->code;
    }
free:
    *applied = (int)done;
    free(b);
    free(twice);
    free(at);
    free(in);
    free(out);
    free(ids);
    free(rows);
    return rc;
}
