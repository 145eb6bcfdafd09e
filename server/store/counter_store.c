/*
 * counter_store.c - counters in Redis and PostgreSQL (counter_store.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counter_store.h"
#include "pg_exec.h"
#include "redis_exec.h"

#define CKEY_MAX CSTORE_KEY_MAX
#define LIVE_KEY "rk:live" /* rankd.lua */
/* A replay's marker outlives any retry of the replay. */
#define REPLAY_MARK_TTL_S "604800"
/* Serialises folds and replays across every rankd (pg_advisory_xact_lock);
 * "rkcn" in ASCII. */
#define FOLD_LOCK "1919640430"

static void sub_key(const counter *c, int shard, const char *label, char out[CKEY_MAX]) {
    snprintf(out, CKEY_MAX, "rk:{c:%s:%s:%d}:%s", c->game, c->name, shard, label);
}

/* The marker an increment or a read of `shard` checks: rk:live, or in the
 * split layout the shard's own (its slot's), set by cstore_set_live. */
static void live_key(const counter *c, int shard, char out[CKEY_MAX]) {
    if (rstore_get_layout() == RSTORE_SPLIT)
        sub_key(c, shard, "live", out);
    else
        snprintf(out, CKEY_MAX, "%s", LIVE_KEY);
}

/* How the shards group into calls: one call for all of them, or in the
 * split layout one per shard (each is its own slot). */
static int shards_per_call(const counter *c) { return rstore_get_layout() == RSTORE_SPLIT ? 1 : c->shards; }

size_t cstore_windows(time_t now, int64_t retention, int fold, cstore_window *out) {
    size_t n = 0;
    for (int pass = 0; pass < (fold ? 2 : 1); pass++) {
        for (int k = pass ? WINDOW_DAY : WINDOW_ALL; k < WINDOW_KINDS; k++) {
            int64_t start, end;
            window_bounds((window_kind)k, now, &start, &end);
            /* The window before: one second before this one starts. */
            time_t t = pass ? (time_t)(start - 1) : now;
            if (pass) window_bounds((window_kind)k, t, &start, &end);
            cstore_window *w = &out[n++];
            w->kind = (window_kind)k;
            window_label((window_kind)k, t, w->label);
            w->expire_at = k == WINDOW_ALL ? 0 : end + retention;
        }
    }
    return n;
}

static void i64(char out[24], int64_t v) { snprintf(out, 24, "%" PRId64, v); }

/* ---------------------------------------------------------------- Redis */

void cstore_incr_build(const counter *c, int shard, int64_t delta, const char *idem, int64_t idem_ttl,
                       const cstore_window *now4, cincr_cmd *cmd) {
    int argc = 0;
    live_key(c, shard, cmd->keys[0]);
    if (idem)
        snprintf(cmd->keys[1], CKEY_MAX, "rk:{c:%s:%s:%d}:idem:%s", c->game, c->name, shard, idem);
    else
        sub_key(c, shard, "idem", cmd->keys[1]); /* never read: has_idem is 0 */
    for (int k = 0; k < WINDOW_KINDS; k++) sub_key(c, shard, now4[k].label, cmd->keys[2 + k]);
    i64(cmd->nums[0], delta);
    i64(cmd->nums[1], idem_ttl > 0 ? idem_ttl : 1);
    for (int k = 1; k < WINDOW_KINDS; k++) i64(cmd->nums[1 + k], now4[k].expire_at);
    cmd->argv[argc++] = "FCALL";
    cmd->argv[argc++] = "rk_counter_incr";
    cmd->argv[argc++] = "6";
    for (int i = 0; i < 2 + WINDOW_KINDS; i++) cmd->argv[argc++] = cmd->keys[i];
    cmd->argv[argc++] = cmd->nums[0];
    cmd->argv[argc++] = idem ? "1" : "0";
    cmd->argv[argc++] = cmd->nums[1];
    for (int k = 1; k < WINDOW_KINDS; k++) cmd->argv[argc++] = cmd->nums[1 + k];
    cmd->argc = argc;
}

int cstore_incr_parse(const redisReply *rep, int *replayed, rk_status *st) {
    if (rep->type == REDIS_REPLY_ERROR) return rstore_reply_error(rep, st);
    if (rep->type != REDIS_REPLY_INTEGER) return rk_status_set(st, RK_INTERNAL, "rk_counter_incr answered no integer");
    *replayed = rep->integer == 1;
    return RK_OK;
}

int cstore_incr(rstore *r, const counter *c, int shard, int64_t delta, const char *idem, int64_t idem_ttl,
                const cstore_window *now4, int *replayed, rk_status *st) {
    cincr_cmd *cmd = malloc(sizeof(*cmd));
    if (cmd == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    cstore_incr_build(c, shard, delta, idem, idem_ttl, now4, cmd);
    redisReply *rep = NULL;
    int rc = rstore_command(r, cmd->argc, cmd->argv, NULL, &rep, st);
    free(cmd);
    if (rc != RK_OK) return rc;
    rc = cstore_incr_parse(rep, replayed, st);
    freeReplyObject(rep);
    return rc;
}

int cstore_read(rstore *r, const counter *c, const cstore_window *w, size_t n, int64_t *total, int *present,
                rk_status *st) {
    int per = shards_per_call(c);
    size_t nkeys = n * (size_t)per;
    char(*keys)[CKEY_MAX] = malloc((nkeys + 1) * CKEY_MAX);
    const char **argv = malloc((4 + nkeys) * sizeof(*argv));
    char nk[24];
    int rc = RK_OK;
    if (keys == NULL || argv == NULL) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) total[i] = present[i] = 0;
    i64(nk, (int64_t)nkeys + 1);
    for (int first = 0; first < c->shards; first += per) {
        int argc = 0;
        argv[argc++] = "FCALL_RO";
        argv[argc++] = "rk_counter_read";
        argv[argc++] = nk;
        live_key(c, first, keys[nkeys]);
        argv[argc++] = keys[nkeys];
        for (size_t i = 0; i < n; i++)
            for (int s = 0; s < per; s++) {
                char *k = keys[i * (size_t)per + (size_t)s];
                sub_key(c, first + s, w[i].label, k);
                argv[argc++] = k;
            }
        redisReply *rep = NULL;
        if ((rc = rstore_command(r, argc, argv, NULL, &rep, st)) != RK_OK) goto out;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != nkeys) {
            rc = rk_status_set(st, RK_INTERNAL, "rk_counter_read answered %zu values for %zu keys",
                               rep->type == REDIS_REPLY_ARRAY ? rep->elements : 0, nkeys);
            freeReplyObject(rep);
            goto out;
        }
        for (size_t i = 0; i < n; i++)
            for (int s = 0; s < per; s++) {
                const redisReply *e = rep->element[i * (size_t)per + (size_t)s];
                if (e->type != REDIS_REPLY_STRING) continue; /* missing */
                total[i] += strtoll(e->str, NULL, 10);
                present[i] = 1;
            }
        freeReplyObject(rep);
    }
out:
    free(keys);
    free(argv);
    return rc;
}

/* 1 in *any when key exists. */
static int exists(rstore *r, const char *key, int *any, rk_status *st) {
    const char *argv[] = {"EXISTS", key};
    redisReply *rep = NULL;
    int rc = rstore_command(r, 2, argv, NULL, &rep, st);
    if (rc != RK_OK) return rc;
    *any = rep->type == REDIS_REPLY_INTEGER && rep->integer > 0;
    freeReplyObject(rep);
    return RK_OK;
}

int cstore_restore(rstore *r, const counter *c, const cstore_window *w, int64_t total, int *set, rk_status *st) {
    *set = 0;
    /* The split layout cannot look at every shard in one call: the other
     * shards are looked at first, one by one, then shard 0 is set in a
     * call that looks at it again. After a loss nothing counts in between:
     * the shards' markers are set only after the restore (cstore_set_live). */
    size_t nk = (size_t)shards_per_call(c);
    for (int s = (int)nk; s < c->shards; s++) {
        char key[CKEY_MAX];
        int any = 0;
        sub_key(c, s, w->label, key);
        int rc = exists(r, key, &any, st);
        if (rc != RK_OK || any) return rc;
    }
    char(*keys)[CKEY_MAX] = malloc(nk * CKEY_MAX);
    const char **argv = malloc((5 + nk) * sizeof(*argv));
    char nkeys[24], tot[24], exp[24];
    int rc = RK_OK;
    if (keys == NULL || argv == NULL) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    int argc = 0;
    i64(nkeys, (int64_t)nk);
    i64(tot, total);
    i64(exp, w->expire_at);
    argv[argc++] = "FCALL";
    argv[argc++] = "rk_counter_restore";
    argv[argc++] = nkeys;
    for (size_t s = 0; s < nk; s++) {
        sub_key(c, (int)s, w->label, keys[s]);
        argv[argc++] = keys[s];
    }
    argv[argc++] = tot;
    argv[argc++] = exp;
    redisReply *rep = NULL;
    if ((rc = rstore_command(r, argc, argv, NULL, &rep, st)) != RK_OK) goto out;
    *set = rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
    freeReplyObject(rep);
out:
    free(keys);
    free(argv);
    return rc;
}

int cstore_add_once(rstore *r, const counter *c, const char *label, int64_t expire_at, int64_t gen, int64_t delta,
                    rk_status *st) {
    char mark[CKEY_MAX], key[CKEY_MAX], d[24], exp[24];
    snprintf(mark, sizeof(mark), "rk:{c:%s:%s:0}:replay:%s:%" PRId64, c->game, c->name, label, gen);
    sub_key(c, 0, label, key);
    i64(d, delta);
    i64(exp, expire_at);
    const char *argv[] = {"FCALL", "rk_counter_add", "2", mark, key, d, REPLAY_MARK_TTL_S, exp};
    redisReply *rep = NULL;
    int rc = rstore_command(r, 8, argv, NULL, &rep, st);
    if (rc == RK_OK) freeReplyObject(rep);
    return rc;
}

int cstore_set_live(rstore *r, const counter *c, rk_status *st) {
    if (rstore_get_layout() != RSTORE_SPLIT) return RK_OK;
    for (int s = 0; s < c->shards; s++) {
        char key[CKEY_MAX];
        live_key(c, s, key);
        const char *argv[] = {"SET", key, "1"};
        redisReply *rep = NULL;
        int rc = rstore_command(r, 3, argv, NULL, &rep, st);
        if (rc != RK_OK) return rc;
        freeReplyObject(rep);
    }
    return RK_OK;
}

/* ---------------------------------------------------------------- PostgreSQL */

#define COUNTER_COLS "game, name, shards, stale_ms, extract(epoch FROM created_at)::bigint"

static void fill(PGresult *r, int row, counter *c) {
    snprintf(c->game, sizeof(c->game), "%s", PQgetvalue(r, row, 0));
    snprintf(c->name, sizeof(c->name), "%s", PQgetvalue(r, row, 1));
    c->shards = atoi(PQgetvalue(r, row, 2));
    c->stale_ms = atoi(PQgetvalue(r, row, 3));
    c->created_at = strtoll(PQgetvalue(r, row, 4), NULL, 10);
}

int cstore_pg_create(pgstore *p, counter *c, rk_status *st) {
    char sh[24], stale[24];
    i64(sh, c->shards);
    i64(stale, c->stale_ms);
    const char *params[] = {c->game, c->name, sh, stale};
    PGresult *r = NULL;
    int rc = pgstore_exec(p,
                          "INSERT INTO counters (game, name, shards, stale_ms) VALUES ($1, $2, $3::integer, "
                          "$4::integer) RETURNING " COUNTER_COLS,
                          4, params, &r, st);
    if (rc == RK_ALREADY_EXISTS) return rk_status_set(st, rc, "counter %s of game %s already exists", c->name, c->game);
    if (rc != RK_OK) return rc;
    fill(r, 0, c);
    PQclear(r);
    return RK_OK;
}

int cstore_pg_list(pgstore *p, const char *game, counter **out, size_t *n, rk_status *st) {
    const char *params[] = {game ? game : ""};
    PGresult *r = NULL;
    int rc = pgstore_exec(p, "SELECT " COUNTER_COLS " FROM counters WHERE $1 = '' OR game = $1 ORDER BY game, name", 1,
                          params, &r, st);
    if (rc != RK_OK) return rc;
    int rows = PQntuples(r);
    *out = calloc(rows ? (size_t)rows : 1, sizeof(**out));
    if (*out == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (int i = 0; i < rows; i++) fill(r, i, &(*out)[i]);
    *n = (size_t)rows;
    PQclear(r);
    return RK_OK;
}

int cstore_pg_get(pgstore *p, const char *game, const char *name, counter *c, rk_status *st) {
    const char *params[] = {game, name};
    PGresult *r = NULL;
    int rc = pgstore_exec(p, "SELECT " COUNTER_COLS " FROM counters WHERE game = $1 AND name = $2", 2, params, &r, st);
    if (rc != RK_OK) return rc;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return rk_status_set(st, RK_NOT_FOUND, "counter %s of game %s not found", name, game);
    }
    fill(r, 0, c);
    PQclear(r);
    return RK_OK;
}

static int rollback(pgstore *p, int rc) {
    rk_status ignore;
    pgstore_exec(p, "ROLLBACK", 0, NULL, NULL, &ignore);
    return rc;
}

int cstore_pg_fold(pgstore *p, const counter *c, const cstore_window *w, size_t n, const int64_t *total,
                   const int *present, rk_status *st) {
    int rc;
    if ((rc = pgstore_exec(p, "BEGIN", 0, NULL, NULL, st)) != RK_OK) return rc;
    if ((rc = pgstore_exec(p, "SELECT pg_advisory_xact_lock(" FOLD_LOCK ")", 0, NULL, NULL, st)) != RK_OK)
        return rollback(p, rc);
    for (size_t i = 0; i < n; i++) {
        if (!present[i]) continue;
        char tot[24], exp[24];
        i64(tot, total[i]);
        i64(exp, w[i].expire_at);
        const char *params[] = {c->game, c->name, w[i].label, tot, exp};
        rc = pgstore_exec(p,
                          "INSERT INTO counter_totals (game, name, label, folded, expire_at) "
                          "VALUES ($1, $2, $3, $4::bigint, $5::bigint) ON CONFLICT (game, name, label) "
                          "DO UPDATE SET folded = EXCLUDED.folded, updated_at = now() "
                          "WHERE counter_totals.folded <> EXCLUDED.folded",
                          5, params, NULL, st);
        if (rc != RK_OK) return rollback(p, rc);
    }
    return pgstore_exec(p, "COMMIT", 0, NULL, NULL, st);
}

int cstore_pg_add(pgstore *p, const counter *c, int64_t delta, const char *idem, const cstore_window *now4,
                  int *replayed, rk_status *st) {
    int rc;
    *replayed = 0;
    if ((rc = pgstore_exec(p, "BEGIN", 0, NULL, NULL, st)) != RK_OK) return rc;
    char d[24];
    i64(d, delta);
    if (idem) {
        const char *params[] = {c->game, c->name, idem, d};
        PGresult *r = NULL;
        /* The second of two callers with one key waits on the first's row,
         * then reads it: a retry is a replay, another delta is refused (a
         * key names one increment, as rk_counter_incr holds it). */
        rc = pgstore_exec(p,
                          "INSERT INTO counter_idem (game, name, key, delta) VALUES ($1, $2, $3, $4::bigint) "
                          "ON CONFLICT DO NOTHING RETURNING 1",
                          4, params, &r, st);
        if (rc != RK_OK) return rollback(p, rc);
        *replayed = PQntuples(r) == 0;
        PQclear(r);
        if (*replayed) {
            rc = pgstore_exec(p,
                              "SELECT coalesce(delta::text, '') FROM counter_idem WHERE game = $1 AND name = $2 AND "
                              "key = $3",
                              3, params, &r, st);
            if (rc != RK_OK) return rollback(p, rc);
            const char *was = PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "";
            if (was[0] && strcmp(was, d) != 0) {
                *replayed = 0;
                rk_status_set(st, RK_INVALID_ARGUMENT,
                              "this idempotency key was used for another increment of the counter (delta %s); use a "
                              "new key for each increment",
                              was);
                PQclear(r);
                return rollback(p, RK_INVALID_ARGUMENT);
            }
            PQclear(r);
            return pgstore_exec(p, "COMMIT", 0, NULL, NULL, st);
        }
    }
    for (int k = 0; k < WINDOW_KINDS; k++) {
        char exp[24];
        i64(exp, now4[k].expire_at);
        const char *params[] = {c->game, c->name, now4[k].label, d, exp};
        /* folded + pending stays within +-2^53 as a sub-key in Redis does;
         * the CHECK names the limit when it does not. */
        PGresult *r = NULL;
        rc = pgstore_exec(p,
                          "INSERT INTO counter_totals AS t (game, name, label, pending, expire_at) "
                          "VALUES ($1, $2, $3, $4::bigint, $5::bigint) ON CONFLICT (game, name, label) "
                          "DO UPDATE SET pending = t.pending + EXCLUDED.pending, updated_at = now() "
                          "RETURNING abs(folded + pending) <= 9007199254740992",
                          5, params, &r, st);
        if (rc != RK_OK) return rollback(p, rc);
        int in_range = PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        if (!in_range)
            return rollback(p, rk_status_set(st, RK_OUT_OF_RANGE, "the counter would leave the exact range of +-2^53"));
    }
    return pgstore_exec(p, "COMMIT", 0, NULL, NULL, st);
}

int cstore_pg_totals(pgstore *p, const counter *c, const cstore_window *w, size_t n, int64_t *total, rk_status *st) {
    /* Every window in one statement: labels are window_label's, letters,
     * digits, ':' and '-' only, so they go into the array as they are. */
    char labels[CSTORE_FOLD_WINDOWS * (WINDOW_LABEL_MAX + 3) + 3];
    size_t len = 0;
    if (n > CSTORE_FOLD_WINDOWS) return rk_status_set(st, RK_INTERNAL, "%zu windows asked at once", n);
    labels[len++] = '{';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(labels + len, sizeof(labels) - len, "%s\"%s\"", i ? "," : "", w[i].label);
    snprintf(labels + len, sizeof(labels) - len, "}");
    const char *params[] = {c->game, c->name, labels};
    PGresult *r = NULL;
    int rc = pgstore_exec(p,
                          "SELECT label, folded + pending FROM counter_totals WHERE game = $1 AND name = $2 "
                          "AND label = ANY($3::text[])",
                          3, params, &r, st);
    if (rc != RK_OK) return rc;
    for (size_t i = 0; i < n; i++) {
        total[i] = 0; /* a window never counted */
        for (int row = 0; row < PQntuples(r); row++)
            if (strcmp(PQgetvalue(r, row, 0), w[i].label) == 0) total[i] = strtoll(PQgetvalue(r, row, 1), NULL, 10);
    }
    PQclear(r);
    return RK_OK;
}

int cstore_pg_rows(pgstore *p, const counter *c, time_t now, cstore_row **out, size_t *n, rk_status *st) {
    char t[24];
    i64(t, (int64_t)now);
    const char *params[] = {c->game, c->name, t};
    PGresult *r = NULL;
    int rc = pgstore_exec(p,
                          "SELECT label, folded, pending, gen, expire_at FROM counter_totals WHERE game = $1 AND "
                          "name = $2 AND (expire_at = 0 OR expire_at > $3::bigint) ORDER BY label",
                          3, params, &r, st);
    if (rc != RK_OK) return rc;
    int rows = PQntuples(r);
    *out = calloc(rows ? (size_t)rows : 1, sizeof(**out));
    if (*out == NULL) {
        PQclear(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (int i = 0; i < rows; i++) {
        cstore_row *row = &(*out)[i];
        snprintf(row->label, sizeof(row->label), "%s", PQgetvalue(r, i, 0));
        row->folded = strtoll(PQgetvalue(r, i, 1), NULL, 10);
        row->pending = strtoll(PQgetvalue(r, i, 2), NULL, 10);
        row->gen = strtoll(PQgetvalue(r, i, 3), NULL, 10);
        row->expire_at = strtoll(PQgetvalue(r, i, 4), NULL, 10);
    }
    *n = (size_t)rows;
    PQclear(r);
    return RK_OK;
}

/* One window's pending into Redis: the marker of (label, gen) makes the
 * Redis side happen once even when this transaction dies after it, and
 * the new generation makes the next replay of the row a new one. */
static int replay_row(pgstore *p, rstore *r, const counter *c, const char *label, int *moved, rk_status *st) {
    int rc;
    const char *params[] = {c->game, c->name, label};
    PGresult *res = NULL;
    if ((rc = pgstore_exec(p, "BEGIN", 0, NULL, NULL, st)) != RK_OK) return rc;
    if ((rc = pgstore_exec(p, "SELECT pg_advisory_xact_lock(" FOLD_LOCK ")", 0, NULL, NULL, st)) != RK_OK ||
        (rc = pgstore_exec(p,
                           "SELECT pending, gen, expire_at FROM counter_totals WHERE game = $1 AND name = $2 "
                           "AND label = $3 FOR UPDATE",
                           3, params, &res, st)) != RK_OK)
        return rollback(p, rc);
    if (PQntuples(res) != 1 || strtoll(PQgetvalue(res, 0, 0), NULL, 10) == 0) {
        PQclear(res);
        return rollback(p, RK_OK);
    }
    int64_t pending = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    int64_t gen = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    int64_t expire_at = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    PQclear(res);
    if ((rc = cstore_add_once(r, c, label, expire_at, gen, pending, st)) != RK_OK) return rollback(p, rc);
    char d[24];
    i64(d, pending);
    const char *upd[] = {c->game, c->name, label, d};
    if ((rc = pgstore_exec(p,
                           "UPDATE counter_totals SET pending = pending - $4::bigint, folded = folded + $4::bigint, "
                           "gen = gen + 1, updated_at = now() WHERE game = $1 AND name = $2 AND label = $3",
                           4, upd, NULL, st)) != RK_OK)
        return rollback(p, rc);
    if ((rc = pgstore_exec(p, "COMMIT", 0, NULL, NULL, st)) != RK_OK) return rc;
    (*moved)++;
    return RK_OK;
}

int cstore_pg_replay(pgstore *p, rstore *r, const counter *c, int *moved, rk_status *st) {
    const char *params[] = {c->game, c->name};
    PGresult *res = NULL;
    int rc = pgstore_exec(p,
                          "SELECT label FROM counter_totals WHERE game = $1 AND name = $2 AND pending <> 0 "
                          "ORDER BY label",
                          2, params, &res, st);
    if (rc != RK_OK) return rc;
    for (int i = 0; rc == RK_OK && i < PQntuples(res); i++) rc = replay_row(p, r, c, PQgetvalue(res, i, 0), moved, st);
    PQclear(res);
    return rc;
}

int cstore_pg_idem_expire(pgstore *p, int64_t max_age_s, rk_status *st) {
    char age[24];
    i64(age, max_age_s);
    const char *params[] = {age};
    return pgstore_exec(p, "DELETE FROM counter_idem WHERE at < now() - make_interval(secs => $1::bigint)", 1, params,
                        NULL, st);
}
