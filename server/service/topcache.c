/*
 * topcache.c - a direct-mapped table of pages under one lock per slot,
 * and board versions in a fixed array of atomic counters indexed by a hash
 * of the board id (two boards sharing a counter only invalidate each other
 * more often than needed: never less).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server.h"
#include "topcache.h"

#define SLOTS 256
#define VERSIONS 1024
#define KEY_MAX (RSTORE_KEY_MAX + 64)

typedef struct page {
    pthread_mutex_t mu;
    char key[KEY_MAX]; /* zkey|offset|count|mode; "" when empty */
    uint64_t version;
    int64_t read_us;
    rank_row *rows;
    size_t n;
    int64_t size;
} page;

struct topcache {
    int64_t max_age_us;
    page slots[SLOTS];
    atomic_ullong versions[VERSIONS];
};

static uint32_t hash(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int topcache_open(topcache **out, int64_t max_age_ms, rk_status *st) {
    *out = NULL;
    if (max_age_ms <= 0) return RK_OK;
    topcache *c = calloc(1, sizeof(*c));
    if (c == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    c->max_age_us = max_age_ms * 1000;
    for (int i = 0; i < SLOTS; i++) pthread_mutex_init(&c->slots[i].mu, NULL);
    *out = c;
    return RK_OK;
}

void topcache_close(topcache *c) {
    if (c == NULL) return;
    for (int i = 0; i < SLOTS; i++) {
        free(c->slots[i].rows);
        pthread_mutex_destroy(&c->slots[i].mu);
    }
    free(c);
}

uint64_t topcache_version(topcache *c, const char *board_id) {
    return c ? atomic_load(&c->versions[hash(board_id) % VERSIONS]) : 0;
}

void topcache_invalidate(topcache *c, const char *board_id) {
    if (c) atomic_fetch_add(&c->versions[hash(board_id) % VERSIONS], 1);
}

void topcache_invalidate_sums(topcache *c, const board *b) {
    topcache_invalidate(c, b->id);
    if (board_in_global(b)) topcache_invalidate(c, BOARD_GLOBAL_ID);
    for (int i = 0; i < b->nfeeds; i++) topcache_invalidate(c, b->feeds[i]);
}

void topcache_invalidate_all(topcache *c) {
    if (c == NULL) return;
    for (int i = 0; i < VERSIONS; i++) atomic_fetch_add(&c->versions[i], 1);
}

static void page_key(char *out, const rview *v, int64_t offset, int64_t count, rank_mode mode) {
    snprintf(out, KEY_MAX, "%s|%lld|%lld|%d", v->zkey, (long long)offset, (long long)count, (int)mode);
}

int topcache_get(topcache *c, const char *board_id, const rview *v, int64_t offset, int64_t count, rank_mode mode,
                 rank_row **rows, size_t *n, int64_t *size) {
    if (c == NULL) return 0;
    char key[KEY_MAX];
    page_key(key, v, offset, count, mode);
    page *p = &c->slots[hash(key) % SLOTS];
    uint64_t now_version = topcache_version(c, board_id);
    int hit = 0;
    pthread_mutex_lock(&p->mu);
    if (strcmp(p->key, key) == 0 && p->version == now_version && server_now_us() - p->read_us < c->max_age_us) {
        rank_row *copy = rank_rows_copy(p->rows, p->n); /* the rows' metadata with them */
        if (copy) {
            *rows = copy;
            *n = p->n;
            *size = p->size;
            hit = 1;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return hit;
}

void topcache_put(topcache *c, const char *board_id, const rview *v, int64_t offset, int64_t count, rank_mode mode,
                  uint64_t version, const rank_row *rows, size_t n, int64_t size) {
    if (c == NULL || topcache_version(c, board_id) != version) return; /* changed meanwhile */
    char key[KEY_MAX];
    page_key(key, v, offset, count, mode);
    page *p = &c->slots[hash(key) % SLOTS];
    rank_row *copy = rank_rows_copy(rows, n);
    if (copy == NULL) return;
    pthread_mutex_lock(&p->mu);
    free(p->rows);
    snprintf(p->key, sizeof(p->key), "%s", key);
    p->version = version;
    p->read_us = server_now_us();
    p->rows = copy;
    p->n = n;
    p->size = size;
    pthread_mutex_unlock(&p->mu);
}
