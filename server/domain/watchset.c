/*
 * watchset.c - a bounded table of watched boards; see watchset.h.
 *
 * An array searched linearly: it holds the boards with recent traffic,
 * normally a handful, and at most `max`. Dropping swaps the last state
 * into the hole, so the array stays dense and a drop is O(1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchset.h"

struct watchset {
    watch_state *s;
    size_t n, cap, max;
    uint64_t seq_floor; /* highest seq of a dropped state: where new ones start */
};

int watchset_open(watchset **out, size_t max, rk_status *st) {
    watchset *w = calloc(1, sizeof(*w));
    if (w == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    w->max = max ? max : 1;
    *out = w;
    return RK_OK;
}

void watchset_close(watchset *w) {
    if (w == NULL) return;
    free(w->s);
    free(w);
}

size_t watchset_count(const watchset *w) { return w->n; }
watch_state *watchset_at(watchset *w, size_t i) { return &w->s[i]; }

void watchset_drop(watchset *w, size_t i) {
    for (int k = 0; k < WINDOW_KINDS; k++)
        if (w->s[i].seq[k] > w->seq_floor) w->seq_floor = w->s[i].seq[k];
    w->s[i] = w->s[--w->n];
}

/* The least recently used state, preferring one that owes nothing. */
static size_t lru(const watchset *w) {
    size_t best = 0;
    for (size_t i = 1; i < w->n; i++) {
        const watch_state *a = &w->s[i], *b = &w->s[best];
        if ((!a->dirty && b->dirty) || (!a->dirty == !b->dirty && a->used_us < b->used_us)) best = i;
    }
    return best;
}

watch_state *watchset_get(watchset *w, const char *id, int64_t now) {
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->s[i].id, id) == 0) {
            w->s[i].used_us = now;
            return &w->s[i];
        }
    if (w->n >= w->max) watchset_drop(w, lru(w));
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        if (cap > w->max) cap = w->max;
        watch_state *s = realloc(w->s, cap * sizeof(*s));
        if (s == NULL) return NULL;
        w->s = s;
        w->cap = cap;
    }
    watch_state *s = &w->s[w->n++];
    memset(s, 0, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    for (int k = 0; k < WINDOW_KINDS; k++) s->seq[k] = w->seq_floor;
    s->used_us = now;
    return s;
}

void watchset_expire(watchset *w, int64_t now, int64_t idle_us) {
    for (size_t i = 0; i < w->n;)
        if (!w->s[i].dirty && now - w->s[i].used_us > idle_us)
            watchset_drop(w, i); /* the last one moved to i: look at i again */
        else
            i++;
}
