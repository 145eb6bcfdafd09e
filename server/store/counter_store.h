/*
 * counter_store.h - counters in Redis and in PostgreSQL.
 *
 * Redis holds each counter's live totals, spread over its sub-keys
 * (rankd.lua, "Counters"); PostgreSQL holds per window what Redis had at
 * the last fold (`folded`) and what was counted while Redis could not be
 * (`pending`, added to Redis once when it is back). A window's durable
 * total is folded + pending.
 */
#ifndef RANKD_COUNTER_STORE_H
#define RANKD_COUNTER_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <rankd/status.h>

#include "counter.h"
#include "store_pg.h"
#include "store_redis.h"
#include "window.h"

/* The windows a fold looks at: every window of now, and the daily,
 * weekly and monthly ones just before (so their last increments reach
 * PostgreSQL after they close). */
#define CSTORE_FOLD_WINDOWS 7

typedef struct cstore_window {
    window_kind kind;
    char label[WINDOW_LABEL_MAX]; /* window_label's */
    int64_t expire_at;            /* Unix s its keys expire at (end + retention); 0: never */
} cstore_window;

/* The windows of `now` (the four kinds in order), then, with fold, the
 * three before them. Returns how many it wrote. */
size_t cstore_windows(time_t now, int64_t retention, int fold, cstore_window *out);

/* ---- Redis */

/* Game and name are at most 64 bytes each, a scoped idempotency key at
 * most 128 plus its scope: keys stay far below this. */
#define CSTORE_KEY_MAX 512

/* One increment's FCALL, with the storage its argv points into, so that
 * both lanes send the same (the event loops through store_async.h). */
typedef struct cincr_cmd {
    char keys[2 + WINDOW_KINDS][CSTORE_KEY_MAX];
    char nums[1 + WINDOW_KINDS][24];
    const char *argv[3 + 2 + WINDOW_KINDS + 2 + WINDOW_KINDS];
    int argc;
} cincr_cmd;

/* Adds delta to shard `shard` of every window of now. idem (NULL: none)
 * is the scoped idempotency key: a repeat within idem_ttl counts nothing
 * and reads back as replayed. */
void cstore_incr_build(const counter *c, int shard, int64_t delta, const char *idem, int64_t idem_ttl,
                       const cstore_window *now4, cincr_cmd *cmd);
/* Its reply: RK_OUT_OF_RANGE when a sub-key would leave +-2^53,
 * RK_UNAVAILABLE when Redis lost its data (nothing counted then). */
int cstore_incr_parse(const struct redisReply *rep, int *replayed, rk_status *st);
/* Both, with a blocking round trip. */
int cstore_incr(rstore *r, const counter *c, int shard, int64_t delta, const char *idem, int64_t idem_ttl,
                const cstore_window *now4, int *replayed, rk_status *st);

/* Sums the sub-keys of n windows in one round trip (the split layout: one
 * per shard): total[i] and
 * present[i] (0: no sub-key of that window exists). */
int cstore_read(rstore *r, const counter *c, const cstore_window *w, size_t n, int64_t *total, int *present,
                rk_status *st);

/* Puts total back into a window whose sub-keys are all missing; *set 1
 * when it did. */
int cstore_restore(rstore *r, const counter *c, const cstore_window *w, int64_t total, int *set, rk_status *st);

/* The split layout's markers of c's shards (each in its shard's slot),
 * which its increments and reads check instead of rk:live: set after a
 * restore and when the counter is created. Nothing in the one-key layout. */
int cstore_set_live(rstore *r, const counter *c, rk_status *st);

/* Adds delta to a window once per replay generation `gen`. */
int cstore_add_once(rstore *r, const counter *c, const char *label, int64_t expire_at, int64_t gen, int64_t delta,
                    rk_status *st);

/* ---- PostgreSQL */

int cstore_pg_create(pgstore *p, counter *c, rk_status *st); /* sets created_at */
/* NULL or "" game: every counter. *out is malloc'ed (caller frees). */
int cstore_pg_list(pgstore *p, const char *game, counter **out, size_t *n, rk_status *st);
int cstore_pg_get(pgstore *p, const char *game, const char *name, counter *c, rk_status *st);

/* Records the totals Redis had (windows whose present[i] is 0 are left as
 * they are: an expired key is not a zero). One transaction, serialised
 * with cstore_pg_replay by an advisory lock across every rankd. */
int cstore_pg_fold(pgstore *p, const counter *c, const cstore_window *w, size_t n, const int64_t *total,
                   const int *present, rk_status *st);

/* Counts delta in PostgreSQL (Redis cannot): pending of each window of
 * now. idem as for cstore_incr, remembered in PostgreSQL. */
int cstore_pg_add(pgstore *p, const counter *c, int64_t delta, const char *idem, const cstore_window *now4,
                  int *replayed, rk_status *st);

/* folded + pending of n windows (0 for a window never counted). */
int cstore_pg_totals(pgstore *p, const counter *c, const cstore_window *w, size_t n, int64_t *total, rk_status *st);

/* A window's row, for restores and replays. */
typedef struct cstore_row {
    char label[WINDOW_LABEL_MAX];
    int64_t folded, pending, gen, expire_at;
} cstore_row;

/* The rows of c whose window has not expired at now (all-time included). */
int cstore_pg_rows(pgstore *p, const counter *c, time_t now, cstore_row **out, size_t *n, rk_status *st);

/* Moves every window's pending into Redis, exactly once each: per row,
 * under a row lock, cstore_add_once with the row's generation, then
 * pending and the generation move on. *moved: rows moved. */
int cstore_pg_replay(pgstore *p, rstore *r, const counter *c, int *moved, rk_status *st);

/* Forgets idempotency records older than max_age_s. */
int cstore_pg_idem_expire(pgstore *p, int64_t max_age_s, rk_status *st);

#endif
