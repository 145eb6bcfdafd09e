/*
 * boards.c - a sorted array under a read-write lock. Boards are few
 * (hundreds) and change rarely, so binary search over a copy-on-change
 * array is simpler than a hash table and just as fast.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "boards.h"
#include "store_redis.h"
#include "store_streams.h"

typedef struct entry {
    board b;
    int stale; /* read again from PostgreSQL at the next lookup that can */
} entry;

struct boards_cache {
    pthread_rwlock_t lock;
    entry *items;
    size_t n, cap;
};

int boards_open(boards_cache **out, rk_status *st) {
    boards_cache *c = calloc(1, sizeof(*c));
    if (c == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    pthread_rwlock_init(&c->lock, NULL);
    *out = c;
    return RK_OK;
}

void boards_close(boards_cache *c) {
    if (c == NULL) return;
    pthread_rwlock_destroy(&c->lock);
    free(c->items);
    free(c);
}

/* Index of id, or of where it would go (then *found = 0). Lock held. */
static size_t find(const boards_cache *c, const char *id, int *found) {
    size_t lo = 0, hi = c->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = strcmp(c->items[mid].b.id, id);
        if (cmp == 0) {
            *found = 1;
            return mid;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

void boards_put(boards_cache *c, const board *b) {
    rstore_streams_note(b);
    int found;
    pthread_rwlock_wrlock(&c->lock);
    size_t i = find(c, b->id, &found);
    if (found) {
        c->items[i] = (entry){.b = *b};
    } else {
        if (c->n == c->cap) {
            size_t cap = c->cap ? c->cap * 2 : 64;
            entry *items = realloc(c->items, cap * sizeof(*items));
            if (items == NULL) goto out; /* the board is still found through PostgreSQL */
            c->items = items;
            c->cap = cap;
        }
        memmove(&c->items[i + 1], &c->items[i], (c->n - i) * sizeof(*c->items));
        c->items[i] = (entry){.b = *b};
        c->n++;
    }
out:
    pthread_rwlock_unlock(&c->lock);
}

void boards_remove(boards_cache *c, const char *id) {
    int found;
    pthread_rwlock_wrlock(&c->lock);
    size_t i = find(c, id, &found);
    if (found) {
        memmove(&c->items[i], &c->items[i + 1], (c->n - i - 1) * sizeof(*c->items));
        c->n--;
    }
    pthread_rwlock_unlock(&c->lock);
}

void boards_stale(boards_cache *c, const char *id) {
    int found;
    pthread_rwlock_wrlock(&c->lock);
    size_t i = find(c, id, &found);
    if (found) c->items[i].stale = 1;
    pthread_rwlock_unlock(&c->lock);
}

int boards_load(boards_cache *c, pgstore *pg, rk_status *st) {
    board *all = NULL;
    size_t n = 0;
    int rc = pgstore_board_list(pg, &all, &n, st);
    if (rc != RK_OK) return rc;
    for (size_t i = 0; i < n; i++) boards_put(c, &all[i]);
    free(all);
    return RK_OK;
}

int boards_get(boards_cache *c, pgstore *pg, const char *id, board *out, rk_status *st) {
    int found;
    pthread_rwlock_rdlock(&c->lock);
    size_t i = find(c, id, &found);
    int stale = found && c->items[i].stale;
    if (found) *out = c->items[i].b;
    pthread_rwlock_unlock(&c->lock);
    if (found && (!stale || pg == NULL)) return stale ? RK_WOULD_BLOCK : RK_OK;
    if (pg == NULL) return RK_WOULD_BLOCK;
    int rc = pgstore_board_get(pg, id, out, st);
    if (rc == RK_OK) boards_put(c, out);
    return rc;
}

int boards_list(boards_cache *c, const char *game, board **out, size_t *n, rk_status *st) {
    pthread_rwlock_rdlock(&c->lock);
    board *items = malloc((c->n ? c->n : 1) * sizeof(*items));
    size_t k = 0;
    if (items)
        for (size_t i = 0; i < c->n; i++)
            if (game == NULL || game[0] == '\0' || strcmp(c->items[i].b.game, game) == 0) items[k++] = c->items[i].b;
    pthread_rwlock_unlock(&c->lock);
    if (items == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    *out = items;
    *n = k;
    return RK_OK;
}
