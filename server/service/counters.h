/*
 * counters.h - live counters: definitions, increments, cached totals.
 *
 * Definitions are cached like boards (a miss is looked up in PostgreSQL
 * once, so a counter created through another rankd is found). Increments
 * go to Redis while it serves, else into PostgreSQL's pending column;
 * reads sum the sub-keys and keep the totals for the counter's stale_ms,
 * so a hot counter read by many costs one round trip per stale_ms per
 * process. The fold job keeps PostgreSQL's copy (docs/ARCHITECTURE.md,
 * "Counters").
 */
#ifndef RANKD_COUNTERS_H
#define RANKD_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

#include <rankd/status.h>

#include "counter.h"
#include "store_pg.h"
#include "store_redis.h"
#include "window.h"

typedef struct counters counters;
struct recovery;

typedef struct counter_totals {
    int64_t total[WINDOW_KINDS];
    char label[WINDOW_KINDS][WINDOW_LABEL_MAX];
    int64_t read_at_us; /* wall clock, when the sub-keys were summed */
} counter_totals;

int counters_open(counters **out, rk_status *st);
void counters_close(counters *c);
int counters_load(counters *c, pgstore *pg, rk_status *st);

/* Creates def in PostgreSQL (RK_ALREADY_EXISTS when it is) and caches it. */
int counters_create(counters *c, pgstore *pg, counter *def, rk_status *st);
/* The definition, from memory or PostgreSQL; RK_NOT_FOUND when none.
 * With pg NULL only memory is asked: a miss is RK_WOULD_BLOCK (st
 * untouched). */
int counters_get(counters *c, pgstore *pg, const char *game, const char *name, counter *out, rk_status *st);

/* Adds delta. idem: the scoped idempotency key, or NULL. *degraded is 1
 * when it was counted in PostgreSQL (Redis could not serve). */
int counters_incr(counters *c, struct recovery *rec, rstore *r, pgstore *pg, const counter *def, int64_t delta,
                  const char *idem, int64_t idem_ttl, int64_t retention, int *replayed, int *degraded, rk_status *st);

/* The event loops' half of counters_incr: the command to send, or
 * RK_WOULD_BLOCK when Redis does not serve (the workers count it in
 * PostgreSQL). */
struct cincr_cmd;
int counters_incr_prepare(counters *c, const struct recovery *rec, const counter *def, int64_t delta, const char *idem,
                          int64_t idem_ttl, int64_t retention, struct cincr_cmd *cmd);

/* 1 with *out set when totals no older than def->stale_ms are in memory
 * (and Redis serves), so a read needs no round trip. */
int counters_cached(counters *c, const struct recovery *rec, const counter *def, counter_totals *out);

/* The four totals of now, at most def->stale_ms old (from PostgreSQL,
 * *degraded 1, while Redis cannot serve). */
int counters_read(counters *c, struct recovery *rec, rstore *r, pgstore *pg, const counter *def, counter_totals *out,
                  int *degraded, rk_status *st);

/* Memory only, never a round trip (the HTTP handlers): the counters of
 * game ("" or NULL: all), sorted, with the totals this process last read
 * of each (has[i] 0: none read yet). The three arrays are malloc'ed. */
int counters_seen(counters *c, const char *game, counter **defs, counter_totals **totals, int **has, size_t *n,
                  rk_status *st);

/* ---- for the jobs */

/* Every counter's windows put back into a Redis that lost them (the
 * recovery job, before rk:live). */
int counters_restore(counters *c, rstore *r, pgstore *pg, int64_t retention, rk_status *st);
/* Replays what was counted without Redis, then records Redis's totals in
 * PostgreSQL (the fold job, while Redis serves). */
int counters_fold(counters *c, rstore *r, pgstore *pg, int64_t retention, rk_status *st);
/* Calls fn for each counter whose totals differ from what the last call
 * saw (the events job). */
int counters_changed(counters *c, rstore *r, void (*fn)(void *arg, const counter *, const counter_totals *), void *arg,
                     rk_status *st);

#endif
