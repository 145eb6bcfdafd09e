/*
 * banset.c - banned players, a sorted array under one mutex. See banset.h.
 *
 * Bans are few (an admin types each one), and every submission asks, so
 * a lookup is a binary search over ids; an unbanned user keeps their row
 * (banned 0) so that an older ban line arriving late cannot bring the ban
 * back.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "banset.h"

typedef struct ban {
    int64_t user_id;
    int64_t gen; /* the token generation the state is as of */
    int banned;
    char reason[BANSET_REASON_MAX + 1];
} ban;

struct banset {
    pthread_mutex_t mu;
    ban *rows; /* sorted by user_id */
    size_t n, cap;
};

int banset_open(banset **out, rk_status *st) {
    banset *b = calloc(1, sizeof(*b));
    if (b == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    pthread_mutex_init(&b->mu, NULL);
    *out = b;
    return RK_OK;
}

void banset_close(banset *b) {
    if (b == NULL) return;
    pthread_mutex_destroy(&b->mu);
    free(b->rows);
    free(b);
}

/* The index of user_id, or where it would go (*hit 0). Under the lock. */
static size_t find(const banset *b, int64_t user_id, int *hit) {
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (b->rows[mid].user_id < user_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    *hit = lo < b->n && b->rows[lo].user_id == user_id;
    return lo;
}

int banset_apply(banset *b, int64_t user_id, int64_t gen, int banned, const char *reason, rk_status *st) {
    int hit = 0, rc = RK_OK;
    pthread_mutex_lock(&b->mu);
    size_t at = find(b, user_id, &hit);
    if (hit && b->rows[at].gen >= gen) goto out;
    if (!hit) {
        if (b->n == b->cap) {
            size_t cap = b->cap ? b->cap * 2 : 16;
            ban *rows = realloc(b->rows, cap * sizeof(*rows));
            if (rows == NULL) {
                rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
                goto out;
            }
            b->rows = rows;
            b->cap = cap;
        }
        memmove(&b->rows[at + 1], &b->rows[at], (b->n - at) * sizeof(*b->rows));
        b->n++;
        b->rows[at].user_id = user_id;
    }
    b->rows[at].gen = gen;
    b->rows[at].banned = banned;
    snprintf(b->rows[at].reason, sizeof(b->rows[at].reason), "%s", banned && reason ? reason : "");
out:
    pthread_mutex_unlock(&b->mu);
    return rc;
}

int banset_check(banset *b, int64_t user_id, char *why, size_t cap) {
    int hit = 0, banned = 0;
    pthread_mutex_lock(&b->mu);
    size_t at = find(b, user_id, &hit);
    if (hit && b->rows[at].banned) {
        banned = 1;
        if (why && cap) snprintf(why, cap, "%s", b->rows[at].reason);
    }
    pthread_mutex_unlock(&b->mu);
    return banned;
}
