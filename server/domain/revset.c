/*
 * revset.c - see revset.h.
 *
 * Two open-addressing tables with linear probing, kept at most half full
 * and doubled when they reach it: jti -> expiry, and user id -> generation.
 * Nothing is deleted one by one (so there are no tombstones): pruning
 * rebuilds the jti table without the expired entries. A read-write lock
 * lets every worker check at once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "revset.h"

#define JTI_MAX 65
#define MIN_SLOTS 64

typedef struct jti_slot {
    char jti[JTI_MAX]; /* "" : empty */
    int64_t expires_at;
} jti_slot;

typedef struct gen_slot {
    int64_t user_id; /* 0: empty */
    int64_t gen;
} gen_slot;

struct revset {
    pthread_rwlock_t mu;
    jti_slot *j;
    size_t jcap, jn;
    gen_slot *g;
    size_t gcap, gn;
};

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static uint64_t hash_id(int64_t id) {
    uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ull;
    return x ^ (x >> 29);
}

int revset_open(revset **out, rk_status *st) {
    revset *r = calloc(1, sizeof(*r));
    if (r) {
        r->j = calloc(MIN_SLOTS, sizeof(*r->j));
        r->g = calloc(MIN_SLOTS, sizeof(*r->g));
    }
    if (r == NULL || r->j == NULL || r->g == NULL) {
        if (r) free(r->j), free(r->g);
        free(r);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    r->jcap = r->gcap = MIN_SLOTS;
    pthread_rwlock_init(&r->mu, NULL);
    *out = r;
    return RK_OK;
}

void revset_close(revset *r) {
    if (r == NULL) return;
    pthread_rwlock_destroy(&r->mu);
    free(r->j);
    free(r->g);
    free(r);
}

/* ---------------------------------------------------------------- jti */

static jti_slot *jti_find(jti_slot *t, size_t cap, const char *jti) {
    size_t i = hash_str(jti) & (cap - 1);
    while (t[i].jti[0] && strcmp(t[i].jti, jti) != 0) i = (i + 1) & (cap - 1);
    return &t[i];
}

/* Moves every entry alive after `now` into a table of cap slots. */
static int jti_rehash(revset *r, size_t cap, int64_t now) {
    jti_slot *t = calloc(cap, sizeof(*t));
    if (t == NULL) return -1;
    size_t n = 0;
    for (size_t i = 0; i < r->jcap; i++) {
        if (!r->j[i].jti[0] || r->j[i].expires_at <= now) continue;
        *jti_find(t, cap, r->j[i].jti) = r->j[i];
        n++;
    }
    free(r->j);
    r->j = t;
    r->jcap = cap;
    r->jn = n;
    return 0;
}

int revset_revoke(revset *r, const char *jti, int64_t expires_at, rk_status *st) {
    if (jti == NULL || jti[0] == '\0' || strlen(jti) >= JTI_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "a token id is 1..%d bytes", JTI_MAX - 1);
    int rc = RK_OK;
    pthread_rwlock_wrlock(&r->mu);
    if (2 * (r->jn + 1) > r->jcap && jti_rehash(r, 2 * r->jcap, INT64_MIN) != 0) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory for revoked tokens");
    } else {
        jti_slot *s = jti_find(r->j, r->jcap, jti);
        if (!s->jti[0]) {
            strcpy(s->jti, jti);
            s->expires_at = expires_at;
            r->jn++;
        } else if (expires_at > s->expires_at) {
            s->expires_at = expires_at;
        }
    }
    pthread_rwlock_unlock(&r->mu);
    return rc;
}

void revset_prune(revset *r, int64_t now) {
    pthread_rwlock_wrlock(&r->mu);
    size_t alive = 0;
    for (size_t i = 0; i < r->jcap; i++) alive += r->j[i].jti[0] && r->j[i].expires_at > now;
    if (alive != r->jn) {
        size_t cap = MIN_SLOTS;
        while (cap < 2 * alive) cap <<= 1;
        jti_rehash(r, cap, now); /* out of memory: the old table stays, whole */
    }
    pthread_rwlock_unlock(&r->mu);
}

/* ---------------------------------------------------------------- generations */

static gen_slot *gen_find(gen_slot *t, size_t cap, int64_t user_id) {
    size_t i = hash_id(user_id) & (cap - 1);
    while (t[i].user_id && t[i].user_id != user_id) i = (i + 1) & (cap - 1);
    return &t[i];
}

int revset_raise_gen(revset *r, int64_t user_id, int64_t gen, rk_status *st) {
    if (user_id == 0 || gen <= 0) return RK_OK; /* 0 is every user's generation already */
    int rc = RK_OK;
    pthread_rwlock_wrlock(&r->mu);
    if (2 * (r->gn + 1) > r->gcap) {
        size_t cap = 2 * r->gcap;
        gen_slot *t = calloc(cap, sizeof(*t));
        if (t == NULL) {
            rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory for token generations");
            goto done;
        }
        for (size_t i = 0; i < r->gcap; i++)
            if (r->g[i].user_id) *gen_find(t, cap, r->g[i].user_id) = r->g[i];
        free(r->g);
        r->g = t;
        r->gcap = cap;
    }
    gen_slot *s = gen_find(r->g, r->gcap, user_id);
    if (!s->user_id) {
        s->user_id = user_id;
        r->gn++;
    }
    if (gen > s->gen) s->gen = gen;
done:
    pthread_rwlock_unlock(&r->mu);
    return rc;
}

/* ---------------------------------------------------------------- reads */

void revset_check(revset *r, const char *jti, int64_t user_id, int *revoked, int64_t *gen) {
    pthread_rwlock_rdlock(&r->mu);
    *revoked = jti && jti[0] && strlen(jti) < JTI_MAX && jti_find(r->j, r->jcap, jti)->jti[0];
    *gen = user_id ? gen_find(r->g, r->gcap, user_id)->gen : 0;
    pthread_rwlock_unlock(&r->mu);
}

void revset_counts(revset *r, size_t *revoked, size_t *gens) {
    pthread_rwlock_rdlock(&r->mu);
    if (revoked) *revoked = r->jn;
    if (gens) *gens = r->gn;
    pthread_rwlock_unlock(&r->mu);
}
