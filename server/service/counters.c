/*
 * counters.c - a sorted array of counters, each with its cached totals,
 * under one mutex. Counters are few (a handful per game), so binary
 * search over an array is enough; the lock is held for lookups and
 * copies only, never across a round trip.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "boards.h" /* RK_WOULD_BLOCK */
#include "clock.h"
#include "counter_store.h"
#include "counters.h"
#include "recovery.h"

typedef struct slot {
    counter def;
    counter_totals cached; /* valid when cached.read_at_us > 0 */
    counter_totals seen;   /* what counters_changed last reported */
    int seen_valid;
} slot;

struct counters {
    pthread_mutex_t lock;
    slot *items;
    size_t n, cap;
    atomic_uint next_shard; /* increments without a key take turns */
};

int counters_open(counters **out, rk_status *st) {
    counters *c = calloc(1, sizeof(*c));
    if (c == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return RK_OK;
}

void counters_close(counters *c) {
    if (c == NULL) return;
    pthread_mutex_destroy(&c->lock);
    free(c->items);
    free(c);
}

static int cmp(const counter *a, const char *game, const char *name) {
    int r = strcmp(a->game, game);
    return r ? r : strcmp(a->name, name);
}

/* Index of (game, name), or where it would go (*found 0). Lock held. */
static size_t find(const counters *c, const char *game, const char *name, int *found) {
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = cmp(&c->items[mid].def, game, name);
        if (r == 0) {
            *found = 1;
            return mid;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static void put(counters *c, const counter *def) {
    int found;
    pthread_mutex_lock(&c->lock);
    size_t i = find(c, def->game, def->name, &found);
    if (found) {
        c->items[i].def = *def;
    } else {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 16;
            slot *items = realloc(c->items, cap * sizeof(*items));
            if (items == NULL) goto out; /* still found through PostgreSQL */
            c->items = items;
            c->cap = cap;
        }
        memmove(&c->items[i + 1], &c->items[i], (c->n - i) * sizeof(*c->items));
        memset(&c->items[i], 0, sizeof(c->items[i]));
        c->items[i].def = *def;
        c->n++;
    }
out:
    pthread_mutex_unlock(&c->lock);
}

int counters_load(counters *c, pgstore *pg, rk_status *st) {
    counter *all = NULL;
    size_t n = 0;
    int rc = cstore_pg_list(pg, NULL, &all, &n, st);
    if (rc != RK_OK) return rc;
    for (size_t i = 0; i < n; i++) put(c, &all[i]);
    free(all);
    return RK_OK;
}

int counters_create(counters *c, pgstore *pg, counter *def, rk_status *st) {
    int rc = cstore_pg_create(pg, def, st);
    if (rc == RK_OK) put(c, def);
    return rc;
}

int counters_get(counters *c, pgstore *pg, const char *game, const char *name, counter *out, rk_status *st) {
    int found;
    pthread_mutex_lock(&c->lock);
    size_t i = find(c, game, name, &found);
    if (found) *out = c->items[i].def;
    pthread_mutex_unlock(&c->lock);
    if (found) return RK_OK;
    if (pg == NULL) return RK_WOULD_BLOCK;
    int rc = cstore_pg_get(pg, game, name, out, st);
    if (rc == RK_OK) put(c, out);
    return rc;
}

/* FNV-1a: a keyed increment always goes to the same shard, so its retry
 * finds the idempotency record the first try left there. */
static int shard_of(counters *c, const counter *def, const char *idem) {
    if (def->shards <= 1) return 0;
    if (idem == NULL) return (int)(atomic_fetch_add(&c->next_shard, 1) % (unsigned)def->shards);
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)idem; *p; p++) h = (h ^ *p) * 16777619u;
    return (int)(h % (uint32_t)def->shards);
}

static int redis_serves(const recovery *rec) { return recovery_reads(rec) == RECOVERY_TO_REDIS; }

int counters_incr_prepare(counters *c, const recovery *rec, const counter *def, int64_t delta, const char *idem,
                          int64_t idem_ttl, int64_t retention, cincr_cmd *cmd) {
    if (!redis_serves(rec)) return RK_WOULD_BLOCK;
    cstore_window now4[CSTORE_FOLD_WINDOWS];
    cstore_windows(server_time(), retention, 0, now4);
    cstore_incr_build(def, shard_of(c, def, idem), delta, idem, idem_ttl, now4, cmd);
    return RK_OK;
}

int counters_incr(counters *c, recovery *rec, rstore *r, pgstore *pg, const counter *def, int64_t delta,
                  const char *idem, int64_t idem_ttl, int64_t retention, int *replayed, int *degraded, rk_status *st) {
    cstore_window now4[CSTORE_FOLD_WINDOWS];
    cstore_windows(server_time(), retention, 0, now4);
    *replayed = 0;
    *degraded = 0;
    /* Counting is order-free, so unlike submissions an increment does not
     * queue behind a replay: Redis takes it as soon as it serves reads. */
    if (redis_serves(rec))
        return cstore_incr(r, def, shard_of(c, def, idem), delta, idem, idem_ttl, now4, replayed, st);
    *degraded = 1;
    return cstore_pg_add(pg, def, delta, idem, now4, replayed, st);
}

static void cache(counters *c, const counter *def, const counter_totals *t) {
    int found;
    pthread_mutex_lock(&c->lock);
    size_t i = find(c, def->game, def->name, &found);
    if (found) c->items[i].cached = *t;
    pthread_mutex_unlock(&c->lock);
}

static int read_redis(rstore *r, const counter *def, counter_totals *out, rk_status *st) {
    cstore_window w[CSTORE_FOLD_WINDOWS];
    int present[WINDOW_KINDS];
    cstore_windows(server_time(), 0, 0, w);
    int64_t at = server_wall_us();
    int rc = cstore_read(r, def, w, WINDOW_KINDS, out->total, present, st);
    if (rc != RK_OK) return rc;
    for (int k = 0; k < WINDOW_KINDS; k++) memcpy(out->label[k], w[k].label, WINDOW_LABEL_MAX);
    out->read_at_us = at;
    return RK_OK;
}

int counters_cached(counters *c, const recovery *rec, const counter *def, counter_totals *out) {
    if (!redis_serves(rec)) return 0;
    int found;
    char label[WINDOW_LABEL_MAX];
    window_label(WINDOW_DAY, server_time(), label);
    pthread_mutex_lock(&c->lock);
    size_t i = find(c, def->game, def->name, &found);
    /* A cached day of yesterday is not today's, however fresh. */
    int fresh = found && c->items[i].cached.read_at_us > 0 &&
                server_wall_us() - c->items[i].cached.read_at_us <= (int64_t)def->stale_ms * 1000 &&
                strcmp(c->items[i].cached.label[WINDOW_DAY], label) == 0;
    if (fresh) *out = c->items[i].cached;
    pthread_mutex_unlock(&c->lock);
    return fresh;
}

int counters_read(counters *c, recovery *rec, rstore *r, pgstore *pg, const counter *def, counter_totals *out,
                  int *degraded, rk_status *st) {
    *degraded = 0;
    if (redis_serves(rec)) {
        if (counters_cached(c, rec, def, out)) return RK_OK;
        int rc = read_redis(r, def, out, st);
        if (rc == RK_OK) cache(c, def, out);
        return rc;
    }
    cstore_window w[CSTORE_FOLD_WINDOWS];
    cstore_windows(server_time(), 0, 0, w);
    *degraded = 1;
    out->read_at_us = server_wall_us();
    for (int k = 0; k < WINDOW_KINDS; k++) memcpy(out->label[k], w[k].label, WINDOW_LABEL_MAX);
    return cstore_pg_totals(pg, def, w, WINDOW_KINDS, out->total, st);
}

int counters_seen(counters *c, const char *game, counter **defs, counter_totals **totals, int **has, size_t *n,
                  rk_status *st) {
    pthread_mutex_lock(&c->lock);
    size_t cap = c->n ? c->n : 1, k = 0;
    *defs = malloc(cap * sizeof(**defs));
    *totals = malloc(cap * sizeof(**totals));
    *has = malloc(cap * sizeof(**has));
    if (*defs && *totals && *has)
        for (size_t i = 0; i < c->n; i++) {
            const slot *s = &c->items[i];
            if (game && game[0] && strcmp(s->def.game, game) != 0) continue;
            (*defs)[k] = s->def;
            /* The freshest of what the events thread and the readers saw. */
            (*has)[k] = s->cached.read_at_us > 0 || s->seen_valid;
            (*totals)[k] = s->cached.read_at_us >= s->seen.read_at_us ? s->cached : s->seen;
            k++;
        }
    pthread_mutex_unlock(&c->lock);
    *n = k;
    if (*defs && *totals && *has) return RK_OK;
    free(*defs);
    free(*totals);
    free(*has);
    *defs = NULL;
    *totals = NULL;
    *has = NULL;
    return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
}

/* A malloc'ed copy of every definition, so the jobs hold no lock across
 * their round trips. */
static int snapshot(counters *c, counter **out, size_t *n, rk_status *st) {
    pthread_mutex_lock(&c->lock);
    *n = c->n;
    *out = malloc((c->n ? c->n : 1) * sizeof(**out));
    if (*out != NULL)
        for (size_t i = 0; i < c->n; i++) (*out)[i] = c->items[i].def;
    pthread_mutex_unlock(&c->lock);
    return *out ? RK_OK : rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
}

int counters_restore(counters *c, rstore *r, pgstore *pg, int64_t retention, rk_status *st) {
    (void)retention;
    int rc;
    /* Counters created through other rankd processes too. */
    if ((rc = counters_load(c, pg, st)) != RK_OK) return rc;
    counter *defs = NULL;
    size_t n = 0;
    if ((rc = snapshot(c, &defs, &n, st)) != RK_OK) return rc;
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        cstore_row *rows = NULL;
        size_t nrows = 0;
        if ((rc = cstore_pg_rows(pg, &defs[i], server_time(), &rows, &nrows, st)) != RK_OK) break;
        for (size_t j = 0; rc == RK_OK && j < nrows; j++) {
            /* Only what Redis had (folded): pending is replayed after. */
            cstore_window w = {.expire_at = rows[j].expire_at};
            memcpy(w.label, rows[j].label, WINDOW_LABEL_MAX);
            int set = 0;
            rc = cstore_restore(r, &defs[i], &w, rows[j].folded, &set, st);
        }
        free(rows);
        if (rc == RK_OK) rc = cstore_set_live(r, &defs[i], st);
    }
    free(defs);
    return rc;
}

int counters_fold(counters *c, rstore *r, pgstore *pg, int64_t retention, rk_status *st) {
    counter *defs = NULL;
    size_t n = 0;
    int rc = snapshot(c, &defs, &n, st);
    if (rc != RK_OK) return rc;
    cstore_window w[CSTORE_FOLD_WINDOWS];
    size_t nw = cstore_windows(server_time(), retention, 1, w);
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        int moved = 0, present[CSTORE_FOLD_WINDOWS];
        int64_t total[CSTORE_FOLD_WINDOWS];
        if ((rc = cstore_pg_replay(pg, r, &defs[i], &moved, st)) != RK_OK) break;
        /* Read after the replay: the fold's lock orders the two across
         * processes, and a read taken before a replay would record a
         * total without what the replay just added. */
        if ((rc = cstore_read(r, &defs[i], w, nw, total, present, st)) != RK_OK) break;
        rc = cstore_pg_fold(pg, &defs[i], w, nw, total, present, st);
    }
    free(defs);
    return rc;
}

static int same(const counter_totals *a, const counter_totals *b) {
    for (int k = 0; k < WINDOW_KINDS; k++)
        if (a->total[k] != b->total[k] || strcmp(a->label[k], b->label[k]) != 0) return 0;
    return 1;
}

int counters_changed(counters *c, rstore *r, void (*fn)(void *arg, const counter *, const counter_totals *), void *arg,
                     rk_status *st) {
    counter *defs = NULL;
    size_t n = 0;
    int rc = snapshot(c, &defs, &n, st);
    if (rc != RK_OK) return rc;
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        counter_totals t;
        if ((rc = read_redis(r, &defs[i], &t, st)) != RK_OK) break;
        int found, changed = 0;
        pthread_mutex_lock(&c->lock);
        size_t j = find(c, defs[i].game, defs[i].name, &found);
        if (found) {
            slot *s = &c->items[j];
            changed = !s->seen_valid || !same(&s->seen, &t);
            s->seen = t;
            s->seen_valid = 1;
            s->cached = t; /* as fresh as any read */
        }
        pthread_mutex_unlock(&c->lock);
        if (changed) fn(arg, &defs[i], &t);
    }
    free(defs);
    return rc;
}
