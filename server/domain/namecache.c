/*
 * namecache.c - see namecache.h.
 *
 * Entries live in one array allocated at open; a bucket array of twice as
 * many heads chains them by hash (indices, not pointers, so the table is
 * two allocations whatever its size). Eviction is the clock algorithm: a
 * hit sets the entry's `used` bit; the hand clears bits as it passes and
 * takes the first entry whose bit was already clear. No entry is ever
 * removed otherwise, because a username never changes its id.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "namecache.h"

#define NIL UINT32_MAX

typedef struct nc_entry {
    char name[NAMECACHE_NAME_MAX];
    char canon[NAMECACHE_NAME_MAX];
    int64_t id;
    uint32_t next; /* next entry in the same bucket, or NIL */
    uint8_t used;  /* hit since the hand last passed */
} nc_entry;

struct namecache {
    pthread_mutex_t mu;
    nc_entry *e;
    uint32_t cap, n, hand;
    uint32_t *heads;
    uint32_t nheads; /* a power of two */
};

static uint32_t hash(const char *s) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

int namecache_open(namecache **out, size_t capacity, rk_status *st) {
    *out = NULL;
    if (capacity < 1 || capacity > UINT32_MAX / 4)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "name cache size must be 1..%u", UINT32_MAX / 4);
    namecache *c = calloc(1, sizeof(*c));
    uint32_t nh = 1;
    while (nh < 2 * capacity) nh <<= 1;
    if (c) {
        c->e = calloc(capacity, sizeof(*c->e));
        c->heads = malloc(nh * sizeof(*c->heads));
    }
    if (c == NULL || c->e == NULL || c->heads == NULL) {
        namecache_close(c);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory for a name cache of %zu entries", capacity);
    }
    for (uint32_t i = 0; i < nh; i++) c->heads[i] = NIL;
    c->cap = (uint32_t)capacity;
    c->nheads = nh;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return RK_OK;
}

void namecache_close(namecache *c) {
    if (c == NULL) return;
    if (c->e && c->heads) pthread_mutex_destroy(&c->mu);
    free(c->e);
    free(c->heads);
    free(c);
}

/* Index of name's entry, or NIL. Caller holds mu. */
static uint32_t find(namecache *c, const char *name, uint32_t bucket) {
    for (uint32_t i = c->heads[bucket]; i != NIL; i = c->e[i].next)
        if (strcmp(c->e[i].name, name) == 0) return i;
    return NIL;
}

int namecache_get(namecache *c, const char *name, int64_t *id, char *canon) {
    if (c == NULL || name == NULL) return 0;
    uint32_t b = hash(name) & (c->nheads - 1);
    pthread_mutex_lock(&c->mu);
    uint32_t i = find(c, name, b);
    if (i != NIL) {
        c->e[i].used = 1;
        *id = c->e[i].id;
        if (canon) memcpy(canon, c->e[i].canon, NAMECACHE_NAME_MAX);
    }
    pthread_mutex_unlock(&c->mu);
    return i != NIL;
}

/* Takes the entry at i out of its bucket's chain. Caller holds mu. */
static void unlink_entry(namecache *c, uint32_t i) {
    uint32_t *p = &c->heads[hash(c->e[i].name) & (c->nheads - 1)];
    while (*p != i) p = &c->e[*p].next;
    *p = c->e[i].next;
}

/* A free entry: the next unused one while the table fills, then the
 * clock's victim. Caller holds mu. */
static uint32_t victim(namecache *c) {
    if (c->n < c->cap) return c->n++;
    for (;;) {
        uint32_t i = c->hand;
        c->hand = (c->hand + 1) % c->cap;
        if (c->e[i].used) {
            c->e[i].used = 0;
            continue;
        }
        unlink_entry(c, i);
        return i;
    }
}

void namecache_put(namecache *c, const char *name, int64_t id, const char *canon) {
    if (c == NULL || name == NULL || canon == NULL) return;
    if (strlen(name) >= NAMECACHE_NAME_MAX || strlen(canon) >= NAMECACHE_NAME_MAX) return;
    uint32_t b = hash(name) & (c->nheads - 1);
    pthread_mutex_lock(&c->mu);
    uint32_t i = find(c, name, b);
    if (i == NIL) {
        i = victim(c);
        strcpy(c->e[i].name, name);
        c->e[i].next = c->heads[b];
        c->heads[b] = i;
        c->e[i].used = 0; /* a new entry must earn its second chance */
    }
    c->e[i].id = id;
    strcpy(c->e[i].canon, canon);
    pthread_mutex_unlock(&c->mu);
}

size_t namecache_size(namecache *c) {
    if (c == NULL) return 0;
    pthread_mutex_lock(&c->mu);
    size_t n = c->n;
    pthread_mutex_unlock(&c->mu);
    return n;
}
