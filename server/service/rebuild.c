/*
 * rebuild.c - history -> temporary keys -> one atomic swap. See rebuild.h.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "degraded.h"
#include "log.h"
#include "rebuild.h"
#include "report.h"
#include "server.h"
#include "store_streams.h"

#define DRAIN_WAIT_MS 10000
#define FLAG_TTL_S 600
#define TMP_KEY_MAX (RSTORE_KEY_MAX + 16)

/* RK_DEADLINE_EXCEEDED once deadline_us (CLOCK_MONOTONIC; 0: none) has
 * passed, saying what the rebuild was doing. */
static int past(int64_t deadline_us, const char *doing, rk_status *st) {
    if (deadline_us > 0 && server_now_us() >= deadline_us)
        return rk_status_set(st, RK_DEADLINE_EXCEEDED, "deadline exceeded %s; nothing was swapped in", doing);
    return RK_OK;
}

/* Sleeps 100 ms, or less when the deadline comes sooner. */
static void pause_until(int64_t deadline_us) {
    int64_t us = 100000;
    if (deadline_us > 0) {
        int64_t left = deadline_us - server_now_us();
        if (left < us) us = left > 0 ? left : 0;
    }
    struct timespec ts = {0, (long)us * 1000L};
    nanosleep(&ts, NULL);
}

/* Waits until the write-behind has copied everything to PostgreSQL. */
static int drain(rstore *r, int64_t deadline_us, rk_status *st) {
    for (int64_t start = server_now_us();;) {
        int64_t n = 0;
        int rc = rstore_backlog(r, &n, NULL, st);
        if (rc != RK_OK) return rc;
        if (n == 0) return RK_OK;
        if ((rc = past(deadline_us, "waiting for the write-behind to catch up", st)) != RK_OK) return rc;
        if (server_now_us() - start >= DRAIN_WAIT_MS * 1000LL)
            return rk_status_set(
                st, RK_UNAVAILABLE,
                "%" PRId64 " submissions are not yet in PostgreSQL; rebuild when the write-behind has caught up", n);
        pause_until(deadline_us);
    }
}

/* A hot board's shard is built from its own players' rows: keeps those
 * of rows (n of them) that b's shard holds, in order; n their number.
 * Nothing on a plain board. A macro, for the history's rows of entries,
 * personal bests and metadata alike (each has a user_id). Each shard's
 * build reads the board's history again: S reads for S shards. */
#define KEEP_SHARD(b, rows, n)                                                                           \
    do {                                                                                                 \
        if ((b) != NULL && (b)->shards > 1) {                                                            \
            size_t kept_ = 0;                                                                            \
            for (size_t i_ = 0; i_ < (n); i_++)                                                          \
                if (board_shard_of((b), (rows)[i_].user_id) == (b)->shard) (rows)[kept_++] = (rows)[i_]; \
            (n) = kept_;                                                                                 \
        }                                                                                                \
    } while (0)

/* Writes rows into a temporary sorted set and member hash. */
static int load(rstore *r, const char *zkey, const char *mkey, int desc, const report_row *rows, size_t n,
                rk_status *st) {
    rstore_load_row *lr = calloc(n + 1, sizeof(*lr));
    if (lr == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < n; i++)
        lr[i] = (rstore_load_row){.user_id = rows[i].user_id,
                                  .value = rows[i].value,
                                  .reached_us = rows[i].reached_us,
                                  .last_us = rows[i].last_us};
    int rc = rstore_load(r, zkey, mkey, desc, lr, n, st);
    free(lr);
    return rc;
}

/* The keys of one rebuild: temporary and live pairs, swapped together. */
#define SWAP_PAIRS (2 + 2 * 120) /* pb, meta + (zset, hash) per window */
typedef struct swap_set {
    char keys[2 * SWAP_PAIRS][TMP_KEY_MAX];
    int64_t ttls[SWAP_PAIRS];
    size_t n; /* pairs */
} swap_set;

static void add_pair(swap_set *s, const char *tmp, const char *live, int64_t ttl) {
    snprintf(s->keys[2 * s->n], TMP_KEY_MAX, "%s", tmp);
    snprintf(s->keys[2 * s->n + 1], TMP_KEY_MAX, "%s", live);
    s->ttls[s->n] = ttl > 0 ? ttl : 0;
    s->n++;
}

/* Deletes the temporary keys of a rebuild that will not swap them in, so
 * the next one does not build on top of them. */
static void discard(rstore *r, const swap_set *s) {
    rk_status ignore;
    for (size_t i = 0; i < s->n; i++) {
        const char *key = s->keys[2 * i];
        rstore_del(r, &key, 1, &ignore);
    }
}

/* ---------------------------------------------------------------- record metadata */

/* The board's record metadata (rk:{b}:meta) built aside from the history,
 * for the swap: the same record per player as rk_submit keeps. */
static int build_meta(rstore *r, pgstore *pg, const board *b, const char *replayed, swap_set *s, rk_status *st) {
    char live[RSTORE_KEY_MAX], tmp[TMP_KEY_MAX];
    report_meta *rows = NULL;
    size_t n = 0;
    char tag[BOARD_TAG_MAX + 1];
    board_tag(b, tag, sizeof(tag));
    rstore_meta_key(tag, live, sizeof(live));
    snprintf(tmp, sizeof(tmp), "%s:rebuild", live);
    const char *tmp_key = tmp;
    int rc = rstore_del(r, &tmp_key, 1, st);
    if (rc == RK_OK) rc = report_metas(pg, b, replayed, NULL, 0, &rows, &n, st);
    if (rc == RK_OK) KEEP_SHARD(b, rows, n);
    int64_t *ids = rc == RK_OK ? calloc(n + 1, sizeof(*ids)) : NULL;
    const char **texts = rc == RK_OK ? calloc(n + 1, sizeof(*texts)) : NULL;
    if (rc == RK_OK && (!ids || !texts)) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        ids[i] = rows[i].user_id;
        texts[i] = rows[i].meta;
    }
    if (rc == RK_OK) rc = rstore_hset_texts(r, tmp, ids, texts, n, st);
    /* None at all: the missing temporary key clears the live one. */
    if (rc == RK_OK) add_pair(s, tmp, live, 0);
    free(ids);
    free(texts);
    free(rows);
    return rc;
}

/* One player's record metadata put back from the history (an unban, an
 * approval), or removed when the record has none. */
static int restore_meta(rstore *r, pgstore *pg, const board *b, int64_t user_id, rk_status *st) {
    report_meta *rows = NULL;
    size_t n = 0;
    int rc = report_metas(pg, b, NULL, &user_id, 1, &rows, &n, st);
    if (rc == RK_OK) rc = rstore_meta_set(r, b, user_id, n ? rows[0].meta : NULL, st);
    free(rows);
    return rc;
}

static int swap(rstore *r, swap_set *s, rk_status *st) {
    const char **keys = calloc(2 * s->n + 1, sizeof(*keys));
    if (keys == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < 2 * s->n; i++) keys[i] = s->keys[i];
    int rc = rstore_swap(r, keys, s->ttls, s->n, st);
    free(keys);
    return rc;
}

/* Ranks one window of the history and loads it under temporary keys. */
static int build_view(rstore *r, pgstore *pg, const board *b, window_kind k, int64_t start_s, int64_t retention_s,
                      const char *replayed, swap_set *s, int64_t *entries, rk_status *st) {
    rview live;
    int64_t from, to;
    char tz[TMP_KEY_MAX], tm[TMP_KEY_MAX];
    window_bounds(k, (time_t)start_s, &from, &to);
    rstore_view(b, k, (time_t)start_s, &live);
    snprintf(tz, sizeof(tz), "%s:rebuild", live.zkey);
    snprintf(tm, sizeof(tm), "%s:rebuild", live.mkey);

    report_query q = {.b = b,
                      .from_us = k == WINDOW_ALL ? REPORT_UNBOUNDED : from * 1000000,
                      .to_us = k == WINDOW_ALL ? REPORT_UNBOUNDED : to * 1000000,
                      .limit = -1,
                      .replayed = replayed};
    report_row *rows = NULL;
    size_t n = 0;
    int64_t size = 0;
    /* Temporary keys left by a rebuild that died half-way (its process
     * killed) must not be built on. */
    const char *tmp_keys[] = {tz, tm};
    int rc = rstore_del(r, tmp_keys, 2, st);
    if (rc == RK_OK) rc = report_run(pg, &q, &rows, &n, &size, st);
    if (rc == RK_OK) KEEP_SHARD(b, rows, n);
    if (rc == RK_OK) rc = load(r, tz, tm, live.desc, rows, n, st);
    free(rows);
    if (rc != RK_OK) {
        rk_status ignore;
        const char *keys[] = {tz, tm};
        rstore_del(r, keys, 2, &ignore);
        return rc;
    }
    int64_t ttl = k == WINDOW_ALL ? 0 : to + retention_s - (int64_t)server_time();
    add_pair(s, tz, live.zkey, ttl);
    add_pair(s, tm, live.mkey, ttl);
    *entries += (int64_t)n;
    return RK_OK;
}

/* Starts (Unix seconds) of the board's windows of kind k that have
 * history within the retention, plus the current one. */
static int window_starts(pgstore *pg, const board *b, window_kind k, int64_t retention_s, int64_t **out, size_t *n,
                         rk_status *st) {
    static const char *const units[] = {"", "day", "week", "month"};
    int64_t *found = NULL, cur, end;
    size_t m = 0;
    int rc = pgstore_window_starts(pg, b->id, units[k], retention_s, (int64_t)server_time(), &found, &m, st);
    if (rc != RK_OK) return rc;
    int64_t *starts = calloc(m + 1, sizeof(*starts));
    if (starts == NULL) {
        free(found);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    window_bounds(k, server_time(), &cur, &end);
    size_t j = 0;
    starts[j++] = cur;
    for (size_t i = 0; i < m; i++)
        if (found[i] != cur) starts[j++] = found[i];
    free(found);
    *out = starts;
    *n = j;
    return RK_OK;
}

/* The rebuild flag is also a lock: two rebuilds of one board (an operator's
 * and the one a returning Redis starts, or two rankd processes) would load
 * the same temporary keys and swap each other's halves in. The second one
 * waits for the first to finish, then does its own. */
#define LOCK_WAIT_MS 120000
static int set_flag_one(rstore *r, const board *b, int on, const char *owner, int64_t deadline_us, int64_t wait_ms,
                        rk_status *st) {
    char flag[RSTORE_KEY_MAX];
    rstore_rebuild_flag(b, flag, sizeof(flag));
    if (!on) return rstore_flag_clear(r, flag, owner, st);
    for (int64_t start = server_now_us();;) {
        int won = 0;
        int rc = rstore_flag_take(r, flag, owner, FLAG_TTL_S, &won, st);
        if (rc != RK_OK) return rc;
        if (won) return RK_OK;
        if ((rc = past(deadline_us, "waiting for another rebuild of the board", st)) != RK_OK) return rc;
        if (server_now_us() - start >= wait_ms * 1000LL)
            return rk_status_set(st, RK_ABORTED, "board %s is being rebuilt by someone else",
                                 b ? b->id : BOARD_GLOBAL_ID);
        pause_until(deadline_us);
    }
}

/* The flag of b's shard (the one b names: a player's, for what changes
 * one player's entry), or with all_shards every shard's, taken in order
 * so two rebuilds of a hot board never wait for each other's half. A
 * shard's flag refuses its submissions and holds its reads. */
static int set_flags(rstore *r, const board *b, int all_shards, int on, const char *owner, int64_t deadline_us,
                     int64_t wait_ms, rk_status *st) {
    if (b == NULL || !all_shards || board_shards(b) == 1)
        return set_flag_one(r, b, on, owner, deadline_us, wait_ms, st);
    int rc = RK_OK, k = 0;
    rk_status ignore;
    for (; k < board_shards(b); k++) {
        board at = board_at_shard(b, k);
        int one = set_flag_one(r, &at, on, owner, deadline_us, wait_ms, on ? st : &ignore);
        if (one != RK_OK && rc == RK_OK) {
            rc = one;
            if (!on) *st = ignore;
        }
        if (on && one != RK_OK) break;
    }
    for (int j = 0; on && rc != RK_OK && j < k; j++) {
        board at = board_at_shard(b, j);
        set_flag_one(r, &at, 0, owner, 0, 0, &ignore);
    }
    return rc;
}
#define set_flag(r, b, on, owner, deadline, wait, st) set_flags((r), (b), 0, (on), (owner), (deadline), (wait), (st))

/* A name no other rebuild uses: this process and thread, and a counter. */
static void owner_name(char *out, size_t cap) {
    static atomic_long next;
    snprintf(out, cap, "%ld:%lu:%ld", (long)getpid(), (unsigned long)pthread_self(), atomic_fetch_add(&next, 1));
}

/* ---------------------------------------------------------------- the split layout's targets */

/* In the split layout a target's flag (the global board's, an
 * aggregate's) is in another slot than its sources, so rk_submit cannot
 * see it: while the target is rebuilt, each source holds its submissions
 * instead (rstore_hold), and once the target is built from a history that
 * has everything its sources' streams hold, it is told it has applied all
 * of it (rstore_applied_reset), so rk_apply takes only what comes after.
 * A split target's build therefore sees what the one-key layout's does. */
typedef struct held_set {
    board *src; /* the target's sources */
    size_t n;
    const char *target; /* its id */
    const char *owner;
    int held; /* sources holding */
} held_set;

/* The tag of shard k of source b: each shard of a hot board has its own
 * stream and hold (a plain board's one is its id). */
static const char *source_tag(const board *b, int k, char *tag) {
    board at = board_at_shard(b, k);
    board_tag(&at, tag, BOARD_TAG_MAX + 1);
    return tag;
}

/* Holds the sources of target t (NULL: the global board): an aggregate's,
 * or every board that counts toward the global board. Nothing in the
 * one-key layout. */
static int hold_sources(rstore *r, pgstore *pg, const board *t, const char *owner, held_set *h, rk_status *st) {
    memset(h, 0, sizeof(*h));
    if (rstore_get_layout() != RSTORE_SPLIT) return RK_OK;
    h->target = t ? t->id : BOARD_GLOBAL_ID;
    h->owner = owner;
    char tag[BOARD_TAG_MAX + 1];
    int rc = pgstore_board_list(pg, &h->src, &h->n, st);
    if (rc != RK_OK) return rc;
    size_t k = 0;
    for (size_t i = 0; i < h->n; i++) {
        int in = t == NULL && board_in_global(&h->src[i]);
        for (int j = 0; t && j < t->nsources; j++) in |= strcmp(h->src[i].id, t->sources[j]) == 0;
        if (in) h->src[k++] = h->src[i];
    }
    h->n = k;
    h->held = 1;
    for (size_t i = 0; rc == RK_OK && i < h->n; i++)
        for (int k = 0; rc == RK_OK && k < board_shards(&h->src[i]); k++)
            rc = rstore_hold(r, source_tag(&h->src[i], k, tag), h->target, owner, 1, FLAG_TTL_S, st);
    return rc;
}

/* Ends the hold; built: the rebuild succeeded, so the target is told
 * first that it has applied everything its sources' streams hold. */
static int release_sources(rstore *r, held_set *h, int built, rk_status *st) {
    int rc = RK_OK;
    /* The totals it kept aside are the history's now. */
    char exact[RSTORE_KEY_MAX];
    const char *key = exact;
    if (built && h->held) {
        rstore_exact_key(h->target, exact, sizeof(exact));
        rc = rstore_del(r, &key, 1, st);
    }
    char tag[BOARD_TAG_MAX + 1];
    for (size_t i = 0; built && rc == RK_OK && i < h->n; i++)
        for (int k = 0; rc == RK_OK && k < board_shards(&h->src[i]); k++)
            rc = rstore_applied_reset(r, h->target, source_tag(&h->src[i], k, tag), st);
    rk_status ignore;
    for (size_t i = 0; h->held && i < h->n; i++)
        for (int k = 0; k < board_shards(&h->src[i]); k++)
            rstore_hold(r, source_tag(&h->src[i], k, tag), h->target, h->owner, 0, 0, &ignore);
    free(h->src);
    memset(h, 0, sizeof(*h));
    return rc;
}

/* Writes rk:{b}:agg of the board (of each source, for an aggregate) as
 * PostgreSQL has it, under the rebuild's flag: from then on a rankd that
 * read the board before an aggregate of it came or went is refused and
 * reads it again, so every submission the rebuild does not see (taken
 * later) moves the aggregates PostgreSQL names. */
static int write_feeds(rstore *r, pgstore *pg, const board *b, rk_status *st) {
    int rc = RK_OK;
    board fresh;
    if (b->nsources == 0) {
        if ((rc = pgstore_board_get(pg, b->id, &fresh, st)) == RK_OK) rc = rstore_set_feeds(r, &fresh, st);
        return rc;
    }
    for (int i = 0; rc == RK_OK && i < b->nsources; i++)
        if ((rc = pgstore_board_get(pg, b->sources[i], &fresh, st)) == RK_OK) rc = rstore_set_feeds(r, &fresh, st);
    return rc;
}

/* The deadline is kept until the first swap: up to there giving up
 * leaves the board as it was (its temporary keys deleted); once part of
 * it is swapped in, the rest is built and swapped too, however late. */
/* Builds every view of the board and swaps them in; the caller holds the
 * board's flag and has drained the write-behind. */
static int build_board(rstore *r, pgstore *pg, const board *b, int64_t retention_s, int64_t deadline_us,
                       const char *replayed, int64_t *entries, rk_status *st) {
    swap_set *s = calloc(1, sizeof(*s));
    const char *building = "while the board was being built";
    int rc = RK_OK;
    if (s == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");

    for (int k = 0; rc == RK_OK && k < WINDOW_KINDS; k++) {
        if (!(b->windows & WINDOW_BIT(k))) continue;
        if ((rc = past(deadline_us, building, st)) != RK_OK) break;
        if (k == WINDOW_ALL) {
            rc = build_view(r, pg, b, WINDOW_ALL, 0, retention_s, replayed, s, entries, st);
            continue;
        }
        int64_t *starts = NULL;
        size_t n = 0;
        if ((rc = window_starts(pg, b, (window_kind)k, retention_s, &starts, &n, st)) != RK_OK) break;
        for (size_t i = 0; rc == RK_OK && i < n; i++) {
            if (s->n + 4 > sizeof(s->ttls) / sizeof(s->ttls[0])) {
                /* Full: put what is built in place and go on. */
                if ((rc = swap(r, s, st)) != RK_OK) break;
                s->n = 0;
                deadline_us = 0; /* swapping has begun: finish */
            }
            if ((rc = past(deadline_us, building, st)) != RK_OK) break;
            rc = build_view(r, pg, b, (window_kind)k, starts[i], retention_s, replayed, s, entries, st);
        }
        free(starts);
    }
    if (rc == RK_OK) rc = past(deadline_us, building, st);
    if (rc == RK_OK && b->policy != POLICY_BEST && b->nsources == 0) {
        /* Personal bests of latest and sum boards (an aggregate has none:
         * no submission of its own). */
        report_row *rows = NULL;
        size_t n = 0;
        char live[RSTORE_KEY_MAX], tmp[TMP_KEY_MAX], tag[BOARD_TAG_MAX + 1];
        board_tag(b, tag, sizeof(tag));
        snprintf(live, sizeof(live), "rk:{%s}:pb", tag);
        snprintf(tmp, sizeof(tmp), "%s:rebuild", live);
        const char *tmp_key = tmp;
        if ((rc = rstore_del(r, &tmp_key, 1, st)) == RK_OK &&
            (rc = report_personal_bests(pg, b, replayed, &rows, &n, st)) == RK_OK) {
            KEEP_SHARD(b, rows, n);
            /* A few hundred players per command, not one each. */
            int64_t *ids = calloc(n + 1, sizeof(*ids)), *vals = calloc(n + 1, sizeof(*vals));
            if (!ids || !vals) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
            for (size_t i = 0; rc == RK_OK && i < n; i++) {
                ids[i] = rows[i].user_id;
                vals[i] = rows[i].value;
            }
            if (rc == RK_OK) rc = rstore_hset_ints(r, tmp, ids, vals, n, st);
            free(ids);
            free(vals);
            add_pair(s, tmp, live, 0);
        }
        free(rows);
    }
    if (rc == RK_OK) rc = build_meta(r, pg, b, replayed, s, st);
    if (rc == RK_OK) rc = past(deadline_us, building, st);
    if (rc == RK_OK) rc = swap(r, s, st);
    if (rc == RK_OK) log_info("board rebuilt", "board=%s shard=%d keys=%zu", b->id, b->shard, s->n);
    if (rc != RK_OK) discard(r, s);
    free(s);
    return rc;
}

/* Builds each shard of b (the one set of a plain board), then its season
 * key in each: the season's start, for rk_submit's check (a Redis that
 * lost its data lost it too; PostgreSQL's is the record), written last
 * so rebuild_missing finds a half-built board again. */
static int build_shards(rstore *r, pgstore *pg, const board *b, int64_t retention_s, int64_t deadline_us,
                        const char *replayed, int64_t *entries, rk_status *st) {
    int rc = RK_OK;
    for (int k = 0; rc == RK_OK && k < board_shards(b); k++) {
        board at = board_at_shard(b, k);
        rc = build_board(r, pg, &at, retention_s, deadline_us, replayed, entries, st);
    }
    board now;
    if (rc == RK_OK && (rc = pgstore_board_get(pg, b->id, &now, st)) == RK_OK)
        rc = rstore_set_season(r, b, now.season_started_us, st);
    return rc;
}

static int board_ex(rstore *r, pgstore *pg, const board *b, int64_t retention_s, int64_t deadline_us, int64_t wait_ms,
                    int64_t *entries, rk_status *st) {
    char owner[64], *replayed = NULL;
    int rc;
    owner_name(owner, sizeof(owner));
    if ((rc = set_flags(r, b, 1, 1, owner, deadline_us, wait_ms, st)) != RK_OK) return rc;
    /* An aggregate's sources learn of it before the drain, so what a rankd
     * that has not heard of it took is in the history the build reads; a
     * plain board's list only needs to be there again (after Redis lost
     * it), and the drain is what waits out a PostgreSQL away. */
    int agg = b->nsources > 0;
    held_set h = {0};
    if ((!agg || (rc = hold_sources(r, pg, b, owner, &h, st)) == RK_OK) &&
        (!agg || (rc = write_feeds(r, pg, b, st)) == RK_OK) && (rc = drain(r, deadline_us, st)) == RK_OK &&
        (agg || (rc = write_feeds(r, pg, b, st)) == RK_OK) &&
        /* Under the flag, so no replay can change the answer meanwhile (an
         * aggregate's flag holds off its sources' replays: every board's). */
        (rc = degraded_replayed(r, pg, agg ? NULL : b->id, &replayed, st)) == RK_OK)
        rc = build_shards(r, pg, b, retention_s, deadline_us, replayed, entries, st);
    rk_status ignore;
    if (agg) {
        int released = release_sources(r, &h, rc == RK_OK, rc == RK_OK ? st : &ignore);
        if (rc == RK_OK) rc = released;
    }
    set_flags(r, b, 1, 0, owner, 0, 0, rc == RK_OK ? st : &ignore);
    free(replayed);
    return rc;
}

int rebuild_board(rstore *r, pgstore *pg, const board *b, int64_t retention_s, int64_t deadline_us, int64_t *entries,
                  rk_status *st) {
    return board_ex(r, pg, b, retention_s, deadline_us, LOCK_WAIT_MS, entries, st);
}

static int global_ex(rstore *r, pgstore *pg, int64_t deadline_us, int64_t wait_ms, int64_t *entries, rk_status *st) {
    swap_set *s = calloc(1, sizeof(*s));
    char owner[64];
    int rc;
    if (s == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    owner_name(owner, sizeof(owner));
    char *replayed = NULL;
    if ((rc = set_flag(r, NULL, 1, owner, deadline_us, wait_ms, st)) == RK_OK) {
        /* The global flag holds off every submission, so every board's
         * replays too (in the split layout, the holds do). */
        held_set h;
        if ((rc = hold_sources(r, pg, NULL, owner, &h, st)) == RK_OK && (rc = drain(r, deadline_us, st)) == RK_OK &&
            (rc = degraded_replayed(r, pg, NULL, &replayed, st)) == RK_OK &&
            (rc = build_view(r, pg, NULL, WINDOW_ALL, 0, 0, replayed, s, entries, st)) == RK_OK &&
            (rc = past(deadline_us, "while the global board was being built", st)) == RK_OK)
            rc = swap(r, s, st);
        if (rc != RK_OK) discard(r, s);
        rk_status ignore;
        int released = release_sources(r, &h, rc == RK_OK, rc == RK_OK ? st : &ignore);
        if (rc == RK_OK) rc = released;
        set_flag(r, NULL, 0, owner, 0, 0, rc == RK_OK ? st : &ignore);
    }
    free(replayed);
    free(s);
    return rc;
}

int rebuild_global(rstore *r, pgstore *pg, int64_t deadline_us, int64_t *entries, rk_status *st) {
    return global_ex(r, pg, deadline_us, LOCK_WAIT_MS, entries, st);
}

int rebuild_aggregates(rstore *r, pgstore *pg, boards_cache *cache, const board *b, int64_t retention_s,
                       int64_t deadline_us, rk_status *st) {
    board *all = NULL;
    size_t n = 0;
    int64_t entries = 0;
    int rc = boards_list(cache, NULL, &all, &n, st);
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        int fed = b == NULL && all[i].nsources > 0;
        for (int j = 0; b && j < all[i].nsources; j++) fed |= strcmp(all[i].sources[j], b->id) == 0;
        if (fed) rc = board_ex(r, pg, &all[i], retention_s, deadline_us, LOCK_WAIT_MS, &entries, st);
    }
    free(all);
    return rc;
}

/* ---------------------------------------------------------------- the end of a season */

int rebuild_season_end(rstore *r, pgstore *pg, const rebuild_season *se, rebuild_season_result *out, rk_status *st) {
    const board *b = se->b;
    char owner[64], *replayed = NULL;
    report_row *rows = NULL;
    pg_rank_row *put = NULL;
    size_t n = 0;
    int64_t size = 0, entries = 0;
    int rc;
    memset(out, 0, sizeof(*out));
    owner_name(owner, sizeof(owner));
    /* The board's flag holds off its submissions, and with the
     * write-behind drained PostgreSQL has every one taken before: the
     * final standings and the new season's board both come from it, split
     * at one instant, so each submission counts in exactly one season. */
    if ((rc = set_flags(r, b, 1, 1, owner, se->deadline_us, se->try_only ? 0 : LOCK_WAIT_MS, st)) != RK_OK) {
        if (se->try_only && rc == RK_ABORTED) {
            rk_status_clear(st);
            return RK_OK; /* someone else works on the board: the next tick looks again */
        }
        return rc;
    }
    board cur;
    if ((rc = pgstore_board_get(pg, b->id, &cur, st)) != RK_OK) goto unflag;
    out->board = cur;
    if (cur.season != se->season) goto unflag; /* ended already, by someone else */
    int64_t ended_us = se->ended_us;
    if (ended_us <= cur.season_started_us) ended_us = cur.season_started_us + 1;
    if ((rc = drain(r, se->deadline_us, st)) != RK_OK) goto unflag;
    if ((rc = degraded_replayed(r, pg, b->id, &replayed, st)) != RK_OK) goto unflag;
    report_query q = {.b = &cur,
                      .from_us = REPORT_UNBOUNDED,
                      .to_us = ended_us,
                      .limit = se->top_n,
                      .mode = RANK_COMPETITION,
                      .replayed = replayed};
    if ((rc = report_run(pg, &q, &rows, &n, &size, st)) != RK_OK) goto unflag;
    if ((rc = past(se->deadline_us, "while the final standings were read", st)) != RK_OK) goto unflag;
    put = calloc(n + 1, sizeof(*put));
    if (put == NULL) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto unflag;
    }
    for (size_t i = 0; i < n; i++)
        put[i] = (pg_rank_row){.user_id = rows[i].user_id, .score = rows[i].value, .rank = rows[i].competition};
    pg_season_end e = {.board_id = cur.id,
                       .season = cur.season,
                       .ended_us = ended_us,
                       .board_size = size,
                       .ended_by = se->ended_by,
                       .reason = se->reason,
                       .rows = put,
                       .n = n};
    if ((rc = pgstore_season_end(pg, &e, &out->ended, st)) != RK_OK || !out->ended) goto unflag;
    out->ended_us = ended_us;
    out->board_size = size;
    if ((rc = pgstore_board_get(pg, b->id, &out->board, st)) != RK_OK) goto redis_behind;
    /* From here on the season has ended for good: Redis follows, however
     * late (no deadline). The plausibility rule's previous submissions
     * go, so a season's first score is judged as a first score. */
    if ((rc = rstore_set_season(r, &out->board, ended_us, st)) != RK_OK) goto redis_behind;
    for (int k = 0; k < board_shards(&out->board); k++) {
        board at = board_at_shard(&out->board, k);
        char ls[RSTORE_KEY_MAX], tag[BOARD_TAG_MAX + 1];
        board_tag(&at, tag, sizeof(tag));
        snprintf(ls, sizeof(ls), "rk:{%s}:ls", tag);
        const char *lsk = ls;
        if ((rc = build_board(r, pg, &at, se->retention_s, 0, replayed, &entries, st)) != RK_OK ||
            (rc = rstore_del(r, &lsk, 1, st)) != RK_OK)
            goto redis_behind;
    }
    if (board_in_global(&cur) && (rc = global_ex(r, pg, 0, LOCK_WAIT_MS, &entries, st)) != RK_OK) goto redis_behind;
    log_info("season ended", "board=%s season=%" PRId64 " players=%" PRId64 " by=%s", cur.id, cur.season, size,
             se->ended_by);
    goto unflag;
redis_behind:;
    char why[sizeof(st->message)];
    snprintf(why, sizeof(why), "%s", st->message);
    rk_status_set(st, rc,
                  "season %" PRId64 " of board %s ended and its standings are kept, but Redis could not start the "
                  "new season (%s); rebuild the board (and the global board)",
                  cur.season, cur.id, why);
unflag:;
    rk_status ignore;
    set_flags(r, b, 1, 0, owner, 0, 0, rc == RK_OK ? st : &ignore);
    free(rows);
    free(put);
    free(replayed);
    return rc;
}

/* ---------------------------------------------------------------- one player's entry */

/* Every window key of the board a player may hold an entry in: all-time,
 * and each kept window's periods within the retention (the ones a
 * rebuild writes). *views is malloc'ed, all-time first. */
#define MAX_VIEWS (sizeof(((swap_set *)0)->ttls) / sizeof(((swap_set *)0)->ttls[0]))
typedef struct view_at {
    window_kind k;
    int64_t start_s; /* the period's start (0 for all-time) */
} view_at;
static int board_views(pgstore *pg, const board *b, int64_t retention_s, rview **views, view_at **at, size_t *n,
                       rk_status *st) {
    rview *v = calloc(MAX_VIEWS, sizeof(*v));
    view_at *a = calloc(MAX_VIEWS, sizeof(*a));
    size_t m = 0;
    int rc = RK_OK;
    if (v == NULL || a == NULL) {
        free(v);
        free(a);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    a[m] = (view_at){.k = WINDOW_ALL};
    rstore_view(b, WINDOW_ALL, 0, &v[m++]);
    for (int k = 1; rc == RK_OK && k < WINDOW_KINDS; k++) {
        if (!(b->windows & WINDOW_BIT(k))) continue;
        int64_t *starts = NULL;
        size_t ns = 0;
        if ((rc = window_starts(pg, b, (window_kind)k, retention_s, &starts, &ns, st)) != RK_OK) break;
        for (size_t i = 0; i < ns && m < MAX_VIEWS; i++) {
            a[m] = (view_at){.k = (window_kind)k, .start_s = starts[i]};
            rstore_view(b, (window_kind)k, (time_t)starts[i], &v[m++]);
        }
        free(starts);
    }
    if (rc != RK_OK) {
        free(v);
        free(a);
        return rc;
    }
    *views = v;
    if (at)
        *at = a;
    else
        free(a);
    *n = m;
    return RK_OK;
}

/* The boards other than b that feed the global board (higher is better). */
static int global_feeders(boards_cache *cache, const board *b, board **out, size_t *n, rk_status *st) {
    board *all = NULL;
    size_t m = 0, k = 0;
    int rc = boards_list(cache, NULL, &all, &m, st);
    if (rc != RK_OK) return rc;
    for (size_t i = 0; i < m; i++)
        if (board_in_global(&all[i]) && strcmp(all[i].id, b->id) != 0) all[k++] = all[i];
    *out = all;
    *n = k;
    return RK_OK;
}

int rebuild_global_after(rstore *r, pgstore *pg, const board *b, int64_t deadline_us, rk_status *st) {
    if (rstore_get_layout() != RSTORE_SPLIT || (b && !board_in_global(b))) return RK_OK;
    int64_t entries = 0;
    return rebuild_global(r, pg, deadline_us, &entries, st);
}

int rebuild_remove_entry(rstore *r, pgstore *pg, boards_cache *cache, const rebuild_removal *rm, int64_t *marked,
                         int *found, rk_status *st) {
    /* What changes one player's entry works on their shard of a hot board. */
    board at_player = board_for_player(rm->b, rm->user_id);
    const board *b = &at_player;
    char owner[64];
    rview *views = NULL;
    board *others = NULL;
    size_t nviews = 0, nothers = 0;
    int64_t removal_id = 0;
    int rc;
    *marked = 0;
    *found = 0;
    owner_name(owner, sizeof(owner));
    /* Under the board's flag no submission to it is taken, and once the
     * write-behind has drained, PostgreSQL holds every one taken before:
     * what is marked removed there is exactly what leaves Redis. */
    if ((rc = set_flag(r, b, 1, owner, rm->deadline_us, LOCK_WAIT_MS, st)) != RK_OK) return rc;
    if ((rc = drain(r, rm->deadline_us, st)) != RK_OK) goto unflag;
    if ((rc = board_views(pg, b, rm->retention_s, &views, NULL, &nviews, st)) != RK_OK) goto unflag;
    if ((rc = global_feeders(cache, b, &others, &nothers, st)) != RK_OK) goto unflag;
    /* PostgreSQL first: if Redis then fails, a retry finds the rows marked
     * and takes the entry out of Redis; a rebuild meanwhile leaves it out. */
    if ((rc = pgstore_remove_entry(pg, b->id, rm->user_id, rm->actor_id, rm->reason, &removal_id, marked, st)) != RK_OK)
        goto unflag;
    rc = rstore_remove_entry(r, b, views, nviews, others, nothers, rm->user_id, found, st);
    if (rc == RK_OK)
        log_info("entry removed", "board=%s user_id=%" PRId64 " submissions=%" PRId64 " removal=%" PRId64, b->id,
                 rm->user_id, *marked, removal_id);
unflag:;
    rk_status ignore;
    set_flag(r, b, 0, owner, 0, 0, rc == RK_OK ? st : &ignore);
    free(views);
    free(others);
    /* An aggregate's total is a sum over its sources: it is built again
     * from the history, which now leaves the entry out. */
    if (rc == RK_OK) rc = rebuild_aggregates(r, pg, cache, b, rm->retention_s, rm->deadline_us, st);
    if (rc == RK_OK) rc = rebuild_global_after(r, pg, b, rm->deadline_us, st);
    return rc;
}

/* ---------------------------------------------------------------- a banned player */

int rebuild_ban_player(rstore *r, pgstore *pg, boards_cache *cache, int64_t user_id, int64_t retention_s,
                       int64_t deadline_us, int64_t *boards, rk_status *st) {
    board *all = NULL;
    size_t n = 0;
    int rc = boards_list(cache, NULL, &all, &n, st);
    *boards = 0;
    /* Every board, not only those PostgreSQL has the player on: Redis may
     * hold submissions the write-behind has not copied yet. */
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        board at_player = board_for_player(&all[i], user_id);
        const board *b = &at_player;
        char owner[64];
        rview *views = NULL;
        board *others = NULL;
        size_t nviews = 0, nothers = 0;
        int found = 0;
        owner_name(owner, sizeof(owner));
        /* Under the flag, a submission that a rankd took before it heard
         * of the ban either is in Redis already (and leaves with the rest)
         * or is refused and retried (and then refused as banned). */
        if ((rc = set_flag(r, b, 1, owner, deadline_us, LOCK_WAIT_MS, st)) != RK_OK) break;
        if ((rc = board_views(pg, b, retention_s, &views, NULL, &nviews, st)) == RK_OK &&
            (rc = global_feeders(cache, b, &others, &nothers, st)) == RK_OK &&
            (rc = rstore_remove_entry(r, b, views, nviews, others, nothers, user_id, &found, st)) == RK_OK && found)
            (*boards)++;
        rk_status ignore;
        set_flag(r, b, 0, owner, 0, 0, rc == RK_OK ? st : &ignore);
        free(views);
        free(others);
    }
    free(all);
    if (rc == RK_OK && *boards > 0) rc = rebuild_global_after(r, pg, NULL, deadline_us, st);
    return rc;
}

/* One view's entry of the player from the history, put back in Redis. */
static int restore_view(rstore *r, pgstore *pg, const board *b, const rview *v, const rview *global, const view_at *at,
                        int64_t user_id, int64_t retention_s, int64_t *entries, rk_status *st) {
    int64_t from = 0, to = 0, size = 0, ttl = 0;
    report_row row;
    report_query q = {.b = b, .from_us = REPORT_UNBOUNDED, .to_us = REPORT_UNBOUNDED, .limit = -1};
    if (at->k != WINDOW_ALL) {
        window_bounds(at->k, (time_t)at->start_s, &from, &to);
        q.from_us = from * 1000000;
        q.to_us = to * 1000000;
        ttl = to + retention_s - (int64_t)server_time();
        if (ttl <= 0) return RK_OK; /* a period Redis no longer keeps */
    }
    int rc = report_places(pg, &q, &user_id, 1, &row, &size, st);
    if (rc != RK_OK || row.user_id == 0) return rc;
    rstore_load_row lr = {.user_id = user_id, .value = row.value, .reached_us = row.reached_us, .last_us = row.last_us};
    if ((rc = rstore_restore_entry(r, v, global, b ? b->id : NULL, &lr, ttl, st)) == RK_OK) (*entries)++;
    return rc;
}

int rebuild_restore_player(rstore *r, pgstore *pg, boards_cache *cache, int64_t user_id, int64_t retention_s,
                           int64_t deadline_us, int64_t *entries, rk_status *st) {
    char(*ids)[BOARD_ID_MAX + 1] = NULL;
    size_t n = 0;
    int rc;
    *entries = 0;
    /* PostgreSQL must hold every submission of the player's: the ones
     * taken before the ban may still be on their way. */
    if ((rc = drain(r, deadline_us, st)) != RK_OK) return rc;
    if ((rc = pgstore_player_boards(pg, user_id, &ids, &n, st)) != RK_OK) return rc;
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        board b;
        rview *views = NULL;
        view_at *at = NULL;
        size_t nviews = 0;
        rk_status ignore;
        if (boards_get(cache, pg, ids[i], &b, &ignore) != RK_OK) continue; /* deleted since */
        b = board_for_player(&b, user_id);
        if ((rc = board_views(pg, &b, retention_s, &views, &at, &nviews, st)) != RK_OK) break;
        for (size_t j = 0; rc == RK_OK && j < nviews; j++)
            rc = restore_view(r, pg, &b, &views[j], NULL, &at[j], user_id, retention_s, entries, st);
        free(views);
        free(at);
        if (rc == RK_OK && b.policy != POLICY_BEST) {
            int found = 0;
            int64_t best = 0;
            char pb[RSTORE_KEY_MAX], tag[BOARD_TAG_MAX + 1];
            board_tag(&b, tag, sizeof(tag));
            snprintf(pb, sizeof(pb), "rk:{%s}:pb", tag);
            if ((rc = pgstore_personal_best(pg, &b, user_id, &found, &best, st)) == RK_OK && found)
                rc = rstore_hset_ints(r, pb, &user_id, &best, 1, st);
        }
        if (rc == RK_OK) rc = restore_meta(r, pg, &b, user_id, st);
    }
    free(ids);
    if (rc == RK_OK && rstore_get_layout() != RSTORE_SPLIT) {
        rview g;
        view_at all = {.k = WINDOW_ALL};
        rstore_view(NULL, WINDOW_ALL, 0, &g);
        rc = restore_view(r, pg, NULL, &g, NULL, &all, user_id, 0, entries, st);
    }
    if (rc == RK_OK) rc = rebuild_aggregates(r, pg, cache, NULL, retention_s, deadline_us, st);
    if (rc == RK_OK) rc = rebuild_global_after(r, pg, NULL, deadline_us, st);
    return rc;
}

/* ---------------------------------------------------------------- an approved submission */

int rebuild_approve_held(rstore *r, pgstore *pg, boards_cache *cache, const pg_held *h, int64_t retention_s,
                         int64_t deadline_us, int64_t *entries, rk_status *st) {
    board b;
    char owner[64];
    rview *views = NULL;
    view_at *at = NULL;
    size_t nviews = 0;
    int rc;
    *entries = 0;
    if ((rc = boards_get(cache, pg, h->board_id, &b, st)) != RK_OK) return rc;
    b = board_for_player(&b, h->user_id);
    owner_name(owner, sizeof(owner));
    /* Under the board's flag with the write-behind drained, PostgreSQL
     * holds every submission of the player's to the board, so the entry
     * computed from it with the approved one counted is the whole truth;
     * the global total moves by the change, as a submission moves it. */
    if ((rc = set_flag(r, &b, 1, owner, deadline_us, LOCK_WAIT_MS, st)) != RK_OK) return rc;
    if ((rc = drain(r, deadline_us, st)) != RK_OK) goto unflag;
    if ((rc = board_views(pg, &b, retention_s, &views, &at, &nviews, st)) != RK_OK) goto unflag;
    /* PostgreSQL first: if Redis fails now, a rebuild of the board puts
     * the approved submission where it belongs. */
    if ((rc = pgstore_held_decide(pg, h->entry_id, 1, st)) != RK_OK) goto unflag;
    rview g;
    rstore_view(NULL, WINDOW_ALL, 0, &g);
    int with_global = board_in_global(&b) && rstore_get_layout() != RSTORE_SPLIT;
    for (size_t j = 0; rc == RK_OK && j < nviews; j++)
        rc = restore_view(r, pg, &b, &views[j], at[j].k == WINDOW_ALL && with_global ? &g : NULL, &at[j], h->user_id,
                          retention_s, entries, st);
    if (rc == RK_OK && b.policy != POLICY_BEST) {
        int found = 0;
        int64_t best = 0;
        char pb[RSTORE_KEY_MAX], tag[BOARD_TAG_MAX + 1];
        board_tag(&b, tag, sizeof(tag));
        snprintf(pb, sizeof(pb), "rk:{%s}:pb", tag);
        if ((rc = pgstore_personal_best(pg, &b, h->user_id, &found, &best, st)) == RK_OK && found)
            rc = rstore_hset_ints(r, pb, &h->user_id, &best, 1, st);
    }
    if (rc == RK_OK) rc = restore_meta(r, pg, &b, h->user_id, st);
unflag:;
    rk_status ignore;
    set_flag(r, &b, 0, owner, 0, 0, rc == RK_OK ? st : &ignore);
    free(views);
    free(at);
    if (rc == RK_OK) rc = rebuild_aggregates(r, pg, cache, &b, retention_s, deadline_us, st);
    if (rc == RK_OK) rc = rebuild_global_after(r, pg, &b, deadline_us, st);
    return rc;
}

/* The user directory goes back a chunk of users at a time (two commands
 * per chunk), not two round trips per user. */
#define NAMES_CHUNK 1000
typedef struct names_batch {
    rstore *r;
    size_t n;
    int64_t ids[NAMES_CHUNK];
    char names[NAMES_CHUNK][PG_NAME_MAX];
    char *ptrs[NAMES_CHUNK];
    rk_status st;
} names_batch;

static int names_flush(names_batch *nb) {
    int rc = rstore_set_names(nb->r, nb->ids, nb->ptrs, nb->n, &nb->st);
    nb->n = 0;
    return rc;
}

static int add_name(void *arg, int64_t id, const char *name) {
    names_batch *nb = arg;
    nb->ids[nb->n] = id;
    snprintf(nb->names[nb->n], sizeof(nb->names[0]), "%s", name);
    nb->ptrs[nb->n] = nb->names[nb->n];
    return ++nb->n == NAMES_CHUNK ? names_flush(nb) : RK_OK;
}

int rebuild_names(rstore *r, pgstore *pg, rk_status *st) {
    names_batch *nb = calloc(1, sizeof(*nb));
    if (nb == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    nb->r = r;
    rk_status_clear(&nb->st);
    int rc = pgstore_users_each(pg, add_name, nb, st);
    if (rc == RK_OK && nb->n > 0) rc = names_flush(nb);
    if (rc != RK_OK && nb->st.code != RK_OK) *st = nb->st; /* Redis's error, not the walk's */
    free(nb);
    return rc;
}

int rebuild_all(rstore *r, pgstore *pg, boards_cache *cache, int64_t retention_s, int64_t deadline_us, int64_t *nboards,
                int64_t *entries, rk_status *st) {
    board *all = NULL;
    size_t n = 0;
    int rc = rebuild_names(r, pg, st);
    if (rc == RK_OK) rc = boards_list(cache, NULL, &all, &n, st);
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        if ((rc = rebuild_board(r, pg, &all[i], retention_s, deadline_us, entries, st)) == RK_OK) (*nboards)++;
    }
    free(all);
    if (rc == RK_OK) rc = rebuild_global(r, pg, deadline_us, entries, st);
    if (rc == RK_DEADLINE_EXCEEDED && *nboards > 0)
        rk_status_set(st, rc, "deadline exceeded after %" PRId64 " of %zu boards; rebuild again for the rest", *nboards,
                      n);
    return rc;
}

int rebuild_missing(rstore *r, pgstore *pg, boards_cache *cache, int64_t retention_s, int64_t wait_ms, rk_status *st) {
    board *all = NULL;
    size_t n = 0;
    int rc = boards_list(cache, NULL, &all, &n, st), rebuilt = 0;
    int64_t entries = 0;
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        rview v;
        int history = 0;
        int present = 0;
        rstore_view(&all[i], WINDOW_ALL, 0, &v);
        int outdated = 0;
        if ((rc = rstore_view_outdated(r, &v, &outdated, st)) != RK_OK) break;
        if (outdated) {
            /* Written by an older release: its member hash is one hash. */
            log_warn("Redis holds a board in an older layout; rebuilding it from PostgreSQL", "board=%s", all[i].id);
            rc = board_ex(r, pg, &all[i], retention_s, 0, wait_ms, &entries, st);
            rebuilt++;
            continue;
        }
        if (all[i].shards > 1) {
            /* A shard may have no players yet, so no set: each shard's
             * season key (CreateBoard and every rebuild write it) says
             * Redis still holds it. */
            present = 1;
            for (int k = 0; rc == RK_OK && present && k < all[i].shards; k++) {
                char season[RSTORE_KEY_MAX];
                board at = board_at_shard(&all[i], k);
                rstore_season_key(&at, season, sizeof(season));
                rc = rstore_exists(r, season, &present, st);
            }
            if (rc != RK_OK) break;
            if (present) continue;
        } else if ((rc = rstore_exists(r, v.zkey, &present, st)) != RK_OK || present) {
            continue;
        }
        if (all[i].season > 1) {
            /* A season that has no submissions yet has no all-time set;
             * its season key says Redis still holds the board. */
            char season[RSTORE_KEY_MAX];
            rstore_season_key(&all[i], season, sizeof(season));
            if ((rc = rstore_exists(r, season, &present, st)) != RK_OK || present) continue;
        }
        /* An aggregate has history when one of its sources has. */
        for (int j = 0; rc == RK_OK && !history && j < all[i].nsources; j++)
            rc = pgstore_has_history(pg, all[i].sources[j], &history, st);
        if (rc != RK_OK) break;
        if (all[i].nsources == 0 && (rc = pgstore_has_history(pg, all[i].id, &history, st)) != RK_OK) break;
        if (!history) continue;
        log_warn("Redis has lost a board; rebuilding it from PostgreSQL", "board=%s", all[i].id);
        rc = board_ex(r, pg, &all[i], retention_s, 0, wait_ms, &entries, st);
        rebuilt++;
    }
    free(all);
    if (rc != RK_OK) return rc;
    rview g;
    int history = 0;
    int present = 0;
    rstore_view(NULL, WINDOW_ALL, 0, &g);
    int outdated = 0;
    if ((rc = rstore_exists(r, g.zkey, &present, st)) != RK_OK ||
        (rc = rstore_view_outdated(r, &g, &outdated, st)) != RK_OK)
        return rc;
    if (rebuilt || !present || outdated) {
        if ((rc = pgstore_has_history(pg, NULL, &history, st)) != RK_OK) return rc;
        if (rebuilt || history) rc = global_ex(r, pg, 0, wait_ms, &entries, st);
    }
    if (rc == RK_OK && (rebuilt || entries)) log_info("rebuild done", "boards=%d entries=%" PRId64, rebuilt, entries);
    return rc;
}
