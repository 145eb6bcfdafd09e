/*
 * applier.c - board streams -> the global board and the aggregates
 * (applier.h). One thread, its own Redis connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applier.h"
#include "log.h"
#include "store_streams.h"

#define BATCH 500
/* A board with nothing new is read again after IDLE_MS, doubling while it
 * stays quiet up to QUIET_MS: an active board's change is applied within
 * a tick, a quiet one's first within QUIET_MS, and many quiet boards cost
 * few reads. */
#define IDLE_MS 20
#define QUIET_MS 250
#define RETRY_MS 200
#define LIST_EVERY_US 1000000LL

/* One board's stream, and the entry after which everything is applied to
 * every target (so the next read starts past it). */
#define TARGETS_MAX (BOARD_AGG_MAX + 1) /* the global board and a board's aggregates */
typedef char target_id[BOARD_ID_MAX + 1];

typedef struct source {
    rstore_stream stream;
    char after[RSTORE_ENTRY_ID_MAX];
    /* The targets it has fed (its mirror's fields): each is told of every
     * batch, so what it has applied passes entries that are not its (a
     * repeat that changed nothing), and the trim and the backlog with it. */
    target_id known[TARGETS_MAX];
    size_t nknown;
    int64_t due_us;  /* when it is read next */
    int64_t wait_ms; /* its wait after a read that found nothing */
} source;

typedef struct applier {
    server *srv;
    rstore *redis;
    source *src;
    size_t nsrc;
    int64_t last_list;
    unsigned long listed; /* rstore_streams_gen when last listed */
    int64_t logged_us;    /* the last "waiting" line, so a long wait logs once a minute */
} applier;

/* The board streams of the store's list (rk:wb, the one-key layout's, is
 * applied in rk_submit itself), keeping where each one stands. */
static void list_sources(applier *a) {
    rstore_stream *keys = NULL;
    size_t n = 0;
    rk_status st;
    if (rstore_streams(&keys, &n, &st) != RK_OK) return;
    source *s = calloc(n, sizeof(*s));
    size_t k = 0;
    for (size_t i = 1; s && i < n; i++) {
        source *x = &s[k++];
        x->stream = keys[i];
        snprintf(x->after, sizeof(x->after), "0-0");
        for (size_t j = 0; j < a->nsrc; j++)
            if (strcmp(a->src[j].stream.key, x->stream.key) == 0) *x = a->src[j];
        char low[RSTORE_ENTRY_ID_MAX];
        if (rstore_mirror_targets(a->redis, x->stream.board, x->known, TARGETS_MAX, &x->nknown, low, &st) != RK_OK)
            x->nknown = 0;
        /* A mirror behind where this applier stands (another rankd's copy
         * written after ours, or a target told to start again) would keep
         * its entries in the stream and in the backlog for as long as the
         * board stays quiet: read again from there, so the next apply
         * (which skips what each target has) writes the mirror anew. */
        else if (low[0] && rstore_entry_before(low, x->after))
            snprintf(x->after, sizeof(x->after), "%s", low);
    }
    free(keys);
    if (s == NULL) return;
    free(a->src);
    a->src = s;
    a->nsrc = k;
}

/* Whether the comma-separated list names t. */
static int names(const char *list, const char *t) {
    size_t n = strlen(t);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, t, n) == 0) return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* Applies one batch of s's entries to each target they name. 1: some
 * were there; 0: none; -1: a target could not take them now (the next
 * read starts where this one did; what a target took is skipped then). */
static int apply_batch(applier *a, source *s) {
    rk_status st;
    rstore_wb_batch b;
    if (rstore_wb_range(a->redis, &s->stream, s->after, BATCH, &b, &st) != RK_OK) return -1;
    if (b.n == 0) {
        rstore_wb_free(&b);
        return 0;
    }
    const rstore_wb_entry **mine = calloc(b.n, sizeof(*mine));
    /* The targets: those it fed before, then any the batch names first. */
    target_id t[TARGETS_MAX];
    size_t nt = 0;
    for (size_t k = 0; k < s->nknown; k++) snprintf(t[nt++], sizeof(t[0]), "%s", s->known[k]);
    for (size_t i = 0; i < b.n; i++)
        for (const char *p = b.entries[i].targets; p && *p;) {
            const char *end = strchr(p, ',');
            target_id one;
            snprintf(one, sizeof(one), "%.*s", (int)(end ? (size_t)(end - p) : strlen(p)), p);
            p = end ? end + 1 : NULL;
            int seen = 0;
            for (size_t k = 0; k < nt; k++) seen |= strcmp(t[k], one) == 0;
            if (!seen && nt < TARGETS_MAX) snprintf(t[nt++], sizeof(t[0]), "%s", one);
        }
    int rc = mine ? 1 : -1;
    const char *last = b.entries[b.n - 1].id;
    for (size_t k = 0; rc == 1 && k < nt; k++) {
        size_t n = 0;
        for (size_t i = 0; i < b.n; i++) {
            const rstore_wb_entry *e = &b.entries[i];
            if (!e->gone && e->targets && e->user && e->next && e->ts && names(e->targets, t[k])) mine[n++] = e;
        }
        char applied[RSTORE_ENTRY_ID_MAX];
        if (rstore_apply(a->redis, t[k], &s->stream, mine, n, last, applied, &st) != RK_OK) {
            int64_t now = server_now_us();
            if (now - a->logged_us > 60 * 1000000LL) {
                a->logged_us = now;
                log_warn("the applier is waiting: a board cannot take its sources' changes yet",
                         "target=%s source=%s error=\"%s\"", t[k], s->stream.board, st.message);
            }
            rc = -1;
        }
    }
    /* Every target took the batch: each has applied through `last`. */
    if (rc == 1) {
        snprintf(s->after, sizeof(s->after), "%s", last);
        memcpy(s->known, t, nt * sizeof(t[0]));
        s->nknown = nt;
    }
    free(mine);
    rstore_wb_free(&b);
    return rc;
}

static int64_t applier_tick(void *state, job *self) {
    (void)self;
    applier *a = state;
    if (rstore_get_layout() != RSTORE_SPLIT) return 1000;
    int64_t now = server_now_us();
    /* Again when a board is new, and every second for the targets each
     * board has fed (another rankd may have made an aggregate). */
    if (a->listed != rstore_streams_gen() || now - a->last_list > LIST_EVERY_US) {
        a->listed = rstore_streams_gen();
        a->last_list = now;
        list_sources(a);
    }
    int64_t next = now + QUIET_MS * 1000LL;
    for (size_t i = 0; i < a->nsrc; i++) {
        source *s = &a->src[i];
        if (s->due_us <= now) {
            int r = apply_batch(a, s);
            if (r > 0) {
                s->wait_ms = 0;
            } else if (r == 0) {
                s->wait_ms = s->wait_ms ? (s->wait_ms * 2 > QUIET_MS ? QUIET_MS : s->wait_ms * 2) : IDLE_MS;
            } else {
                s->wait_ms = RETRY_MS;
            }
            s->due_us = now + s->wait_ms * 1000LL;
        }
        if (s->due_us < next) next = s->due_us;
    }
    return next > now ? (next - now) / 1000 : 0;
}

static void applier_close(void *state) {
    applier *a = state;
    rstore_close(a->redis);
    free(a->src);
    free(a);
}

static int applier_open(void **out, server *srv, rk_status *st) {
    applier *a = calloc(1, sizeof(*a));
    if (a == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    a->srv = srv;
    rk_status ignore;
    rstore_open(&a->redis, srv->cfg.redis, &ignore);
    if (a->redis == NULL) {
        applier_close(a);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    *out = a;
    return RK_OK;
}

const job_ops applier_job = {.name = "applier", .start = applier_open, .tick = applier_tick, .stop = applier_close};
