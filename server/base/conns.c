/*
 * conns.c - a pipe table per socket, a cap and an idle sweep; see conns.h.
 *
 * The table is open addressing with linear probing, keyed by pipe id (nng
 * never hands out id 0, which marks a free slot), sized at start to twice
 * the cap so it never fills and a lookup is a probe or two; removal
 * shifts the following run back instead of leaving tombstones. Memory is
 * fixed at start: 16 bytes a slot.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conns.h"
#include "log.h"

#define REFUSAL_LOG_US (10 * INT64_C(1000000)) /* at most one log line per 10 s */

typedef struct slot {
    uint32_t id;      /* pipe id; 0: free */
    int32_t inflight; /* messages received and not yet answered */
    int64_t last_us;  /* connected, last message completed, or last answer */
} slot;

struct conns {
    const char *what;
    int64_t max, idle_us;
    void (*on_change)(int delta);

    pthread_mutex_t mu;
    slot *slots;
    size_t mask; /* capacity - 1, a power of two */
    int64_t count;
    int64_t refused;     /* since the last log line */
    int64_t refused_log; /* when that line was written */

    pthread_t thread;
    int thread_started;
    pthread_cond_t cv; /* the idle thread sleeps here; conns_stop wakes it */
    int stopping;
    uint32_t *closing; /* ids the sweep closes, collected under mu */
};

static int64_t mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t home(const conns *c, uint32_t id) { return (size_t)(id * UINT32_C(2654435761)) & c->mask; }

/* The slot holding id, or NULL. Under mu. */
static slot *find(conns *c, uint32_t id) {
    for (size_t i = home(c, id);; i = (i + 1) & c->mask) {
        if (c->slots[i].id == id) return &c->slots[i];
        if (c->slots[i].id == 0) return NULL;
    }
}

/* Under mu, with count below capacity. */
static void insert(conns *c, uint32_t id, int64_t now) {
    size_t i = home(c, id);
    while (c->slots[i].id != 0 && c->slots[i].id != id) i = (i + 1) & c->mask;
    if (c->slots[i].id == 0) c->count++;
    c->slots[i] = (slot){.id = id, .inflight = 0, .last_us = now};
}

/* Under mu. 1 if id was there. */
static int erase(conns *c, uint32_t id) {
    slot *s = find(c, id);
    if (s == NULL) return 0;
    size_t i = (size_t)(s - c->slots);
    c->slots[i].id = 0;
    c->count--;
    /* Move back every entry of the run after i that may live at i. */
    for (size_t j = (i + 1) & c->mask; c->slots[j].id != 0; j = (j + 1) & c->mask) {
        size_t h = home(c, c->slots[j].id);
        /* j's entry may move to i unless its home lies in (i, j]. */
        int stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
        if (stays) continue;
        c->slots[i] = c->slots[j];
        c->slots[j].id = 0;
        i = j;
    }
    return 1;
}

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg) {
    conns *c = arg;
    uint32_t id = (uint32_t)nng_pipe_id(p);
    int64_t now = mono_us();
    if (ev == NNG_PIPE_EV_REM_POST) {
        pthread_mutex_lock(&c->mu);
        int was = erase(c, id);
        pthread_mutex_unlock(&c->mu);
        if (was && c->on_change) c->on_change(-1);
        return;
    }
    /* NNG_PIPE_EV_ADD_PRE */
    int64_t refused = 0;
    pthread_mutex_lock(&c->mu);
    int take = c->count < c->max;
    if (take) {
        insert(c, id, now);
    } else {
        c->refused++;
        if (now - c->refused_log >= REFUSAL_LOG_US) {
            refused = c->refused;
            c->refused = 0;
            c->refused_log = now;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (take) {
        if (c->on_change) c->on_change(1);
        return;
    }
    nng_pipe_close(p);
    if (refused)
        log_warn("connection refused: max-connections reached", "socket=%s max_connections=%lld refused=%lld", c->what,
                 (long long)c->max, (long long)refused);
}

void conns_begin(conns *c, nng_pipe p) {
    if (c == NULL) return;
    pthread_mutex_lock(&c->mu);
    slot *s = find(c, (uint32_t)nng_pipe_id(p));
    if (s) {
        s->inflight++;
        s->last_us = mono_us();
    }
    pthread_mutex_unlock(&c->mu);
}

void conns_end(conns *c, nng_pipe p) {
    if (c == NULL) return;
    pthread_mutex_lock(&c->mu);
    slot *s = find(c, (uint32_t)nng_pipe_id(p));
    if (s) {
        if (s->inflight > 0) s->inflight--;
        s->last_us = mono_us();
    }
    pthread_mutex_unlock(&c->mu);
}

int64_t conns_count(conns *c) {
    if (c == NULL) return 0;
    pthread_mutex_lock(&c->mu);
    int64_t n = c->count;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* Every tick: collect the idle pipes under mu, close them outside it. */
static void *idle_main(void *arg) {
    conns *c = arg;
    int64_t tick_us = c->idle_us / 4;
    if (tick_us < 50000) tick_us = 50000;
    if (tick_us > 1000000) tick_us = 1000000;
    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += tick_us / 1000000;
        until.tv_nsec += (long)(tick_us % 1000000) * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv, &c->mu, &until);
        if (c->stopping) break;
        int64_t now = mono_us();
        size_t n = 0;
        for (size_t i = 0; i <= c->mask; i++) {
            const slot *s = &c->slots[i];
            if (s->id != 0 && s->inflight == 0 && now - s->last_us > c->idle_us) c->closing[n++] = s->id;
        }
        pthread_mutex_unlock(&c->mu);
        for (size_t i = 0; i < n; i++) {
            nng_pipe p = NNG_PIPE_INITIALIZER;
            p.id = c->closing[i];
            if (nng_pipe_close(p) == NNG_ENOENT) {
                /* Gone without REM_POST reaching us: forget it. */
                pthread_mutex_lock(&c->mu);
                int was = erase(c, p.id);
                pthread_mutex_unlock(&c->mu);
                if (was && c->on_change) c->on_change(-1);
            }
        }
        if (n) log_debug("idle connections closed", "socket=%s closed=%zu", c->what, n);
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int conns_start(conns **out, nng_socket sock, const char *what, int64_t max, int64_t idle_ms,
                void (*on_change)(int delta), rk_status *st) {
    int rv;
    *out = NULL;
    conns *c = calloc(1, sizeof(*c));
    if (c == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    c->what = what;
    c->max = max > 0 ? max : 1;
    c->idle_us = idle_ms * 1000;
    c->on_change = on_change;
    c->refused_log = -REFUSAL_LOG_US;
    size_t cap = 16;
    while (cap < (size_t)c->max * 2) cap <<= 1;
    c->mask = cap - 1;
    c->slots = calloc(cap, sizeof(*c->slots));
    c->closing = idle_ms > 0 ? calloc(cap, sizeof(*c->closing)) : NULL;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    if (c->slots == NULL || (idle_ms > 0 && c->closing == NULL)) {
        conns_stop(c);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    if ((rv = nng_pipe_notify(sock, NNG_PIPE_EV_ADD_PRE, on_pipe, c)) != 0 ||
        (rv = nng_pipe_notify(sock, NNG_PIPE_EV_REM_POST, on_pipe, c)) != 0) {
        conns_stop(c);
        return rk_status_set(st, RK_INTERNAL, "cannot watch the %s socket's connections: %s", what, nng_strerror(rv));
    }
    if (idle_ms > 0) {
        if (pthread_create(&c->thread, NULL, idle_main, c) != 0) {
            conns_stop(c);
            return rk_status_set(st, RK_INTERNAL, "cannot start the idle-connection thread");
        }
        c->thread_started = 1;
    }
    *out = c;
    return RK_OK;
}

void conns_stop(conns *c) {
    if (c == NULL) return;
    pthread_mutex_lock(&c->mu);
    c->stopping = 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (c->thread_started) pthread_join(c->thread, NULL);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c->slots);
    free(c->closing);
    free(c);
}
