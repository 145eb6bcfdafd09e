/*
 * rpipe.c - one thread per connection draining a queue of command groups.
 *
 * A worker's group lives on the worker's stack; the worker sleeps on its
 * own condition variable until the connection thread marks it done, so the
 * group is never touched after it is signalled.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "rnode.h"
#include "rpipe.h"
#include "rroute.h"
#include "clock.h"

#define ROUND_MAX 512 /* commands written in one round trip, at most */

typedef struct group {
    size_t n;
    const int *argc;
    const char *const *const *argv;
    redisReply **replies;
    int code; /* RK_OK or RK_UNAVAILABLE */
    char message[RK_STATUS_MSG_MAX];
    int done;
    pthread_cond_t cv;
    struct group *next;
} group;

typedef struct conn {
    struct rpipe *pipe;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* work arrived, or stop */
    group *head, *tail;
    atomic_size_t queued; /* groups waiting: pick the least busy connection */
    redisContext *ctx;
    int asked;     /* INFO cluster answered on this connection's first link */
    rroute *route; /* a Redis Cluster: a connection per master instead of ctx */
} conn;

#define ROUTE_BUDGET_MS 5000 /* as long as a standalone round trip may take */

struct rpipe {
    rnode seeds[RNODE_SEEDS_MAX]; /* tried in turn, from the one that answered last */
    size_t nseeds;
    atomic_size_t cur;
    conn *conns;
    int nconns;
    atomic_uint next;
    atomic_int stop;
};

static redisContext *connect_redis(rpipe *p, char *err, size_t cap) {
    size_t cur = atomic_load(&p->cur);
    for (size_t i = 0; i < p->nseeds; i++) {
        const rnode *n = &p->seeds[(cur + i) % p->nseeds];
        struct timeval tv = {2, 0};
        redisContext *c = redisConnectWithTimeout(n->host, n->port, tv);
        if (c == NULL || c->err) {
            snprintf(err, cap, "Redis at %s:%d is unreachable: %s", n->host, n->port, c ? c->errstr : "out of memory");
            if (c) redisFree(c);
            continue;
        }
        struct timeval io = {5, 0};
        redisSetTimeout(c, io);
        atomic_store(&p->cur, (cur + i) % p->nseeds);
        return c;
    }
    return NULL;
}

/* Once per connection thread, at its first link: on a cluster the thread
 * routes from then on; a standalone Redis sees this one INFO. */
static void ask_cluster(conn *c) {
    redisReply *rep = redisCommand(c->ctx, "INFO cluster");
    if (rep == NULL) return; /* the round trip finds the connection broken */
    rk_status st;
    c->asked = 1; /* a refused INFO (renamed) is no cluster's: as before */
    if (rep->type == REDIS_REPLY_STRING && strstr(rep->str, "cluster_enabled:1") &&
        rroute_open(&c->route, c->pipe->seeds, c->pipe->nseeds, ROUTE_BUDGET_MS, &st) != RK_OK) {
        rroute_close(c->route);
        c->route = NULL;
        c->asked = 0;
        /* Asked again with the next connection, not used unrouted. */
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    freeReplyObject(rep);
}

/* The batch over a cluster: each command to its slot's master. */
static void routed_trip(conn *c, group *batch) {
    size_t n = 0;
    for (group *g = batch; g; g = g->next) n += g->n;
    int *argc = calloc(n ? n : 1, sizeof(*argc));
    const char *const **argv = calloc(n ? n : 1, sizeof(*argv));
    redisReply **replies = calloc(n ? n : 1, sizeof(*replies));
    rk_status st;
    int rc = argc && argv && replies ? RK_OK : rk_status_set(&st, RK_RESOURCE_EXHAUSTED, "out of memory");
    size_t k = 0;
    for (group *g = batch; rc == RK_OK && g; g = g->next)
        for (size_t i = 0; i < g->n; i++, k++) {
            argc[k] = g->argc[i];
            argv[k] = g->argv[i];
        }
    if (rc == RK_OK) rc = rroute_exec(c->route, n, argc, argv, NULL, replies, &st);
    pthread_mutex_lock(&c->mu);
    k = 0;
    for (group *g = batch; g; g = g->next) {
        for (size_t i = 0; i < g->n; i++, k++) g->replies[i] = rc == RK_OK ? replies[k] : NULL;
        if (rc != RK_OK) {
            g->code = rc;
            snprintf(g->message, sizeof(g->message), "%s", st.message);
        }
        g->done = 1;
        pthread_cond_signal(&g->cv);
    }
    pthread_mutex_unlock(&c->mu);
    free(argc);
    free(argv);
    free(replies);
}

/* One round trip for every group in `batch`. */
static void round_trip(conn *c, group *batch) {
    char err[512] = "";
    int ok = 1;
    if (c->route) {
        routed_trip(c, batch);
        return;
    }
    if (c->ctx == NULL && (c->ctx = connect_redis(c->pipe, err, sizeof(err))) == NULL) ok = 0;
    if (ok && !c->asked) {
        ask_cluster(c);
        if (c->route) {
            redisFree(c->ctx);
            c->ctx = NULL;
            routed_trip(c, batch);
            return;
        }
        if (c->ctx == NULL) {
            snprintf(err, sizeof(err), "Redis Cluster: no node answers with the slot map");
            ok = 0;
        }
    }
    int64_t t0 = server_now_us();
    for (group *g = batch; ok && g; g = g->next)
        for (size_t i = 0; ok && i < g->n; i++)
            if (redisAppendCommandArgv(c->ctx, g->argc[i], (const char **)g->argv[i], NULL) != REDIS_OK) ok = 0;
    for (group *g = batch; ok && g; g = g->next)
        for (size_t i = 0; ok && i < g->n; i++) {
            void *r = NULL;
            if (redisGetReply(c->ctx, &r) != REDIS_OK || r == NULL) {
                ok = 0;
                break;
            }
            g->replies[i] = r;
        }
    if (ok) metrics_redis_call(server_now_us() - t0);
    if (!ok && c->ctx) {
        snprintf(err, sizeof(err), "Redis connection failed: %s", c->ctx->errstr);
        redisFree(c->ctx);
        c->ctx = NULL;
    }
    pthread_mutex_lock(&c->mu);
    for (group *g = batch; g; g = g->next) {
        if (!ok) {
            for (size_t i = 0; i < g->n; i++)
                if (g->replies[i]) {
                    freeReplyObject(g->replies[i]);
                    g->replies[i] = NULL;
                }
            g->code = RK_UNAVAILABLE;
            snprintf(g->message, sizeof(g->message), "%s", err);
        }
        g->done = 1;
        pthread_cond_signal(&g->cv);
    }
    pthread_mutex_unlock(&c->mu);
}

static void *conn_main(void *arg) {
    conn *c = arg;
    rpipe *p = c->pipe;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        while (c->head == NULL && !atomic_load(&p->stop)) pthread_cond_wait(&c->cv, &c->mu);
        if (c->head == NULL) {
            pthread_mutex_unlock(&c->mu);
            break;
        }
        /* Everything queued since the last round trip, up to ROUND_MAX commands. */
        group *batch = c->head, *last = c->head;
        size_t cmds = last->n;
        c->queued--;
        while (last->next && cmds + last->next->n <= ROUND_MAX) {
            last = last->next;
            cmds += last->n;
            c->queued--;
        }
        c->head = last->next;
        if (c->head == NULL) c->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&c->mu);
        round_trip(c, batch);
    }
    if (c->ctx) redisFree(c->ctx);
    rroute_close(c->route);
    return NULL;
}

int rpipe_open(rpipe **out, const char *addr, int conns, rk_status *st) {
    rpipe *p = calloc(1, sizeof(*p));
    if (p == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    int rc = rnode_parse_list(addr, p->seeds, &p->nseeds, st);
    if (rc != RK_OK) {
        free(p);
        return rc;
    }
    p->conns = calloc((size_t)conns, sizeof(*p->conns));
    if (p->conns == NULL) {
        free(p);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    *out = p;
    for (int i = 0; i < conns; i++) {
        conn *c = &p->conns[i];
        c->pipe = p;
        pthread_mutex_init(&c->mu, NULL);
        pthread_cond_init(&c->cv, NULL);
        if (pthread_create(&c->thread, NULL, conn_main, c) != 0)
            return rk_status_set(st, RK_INTERNAL, "cannot start a Redis pipeline thread");
        p->nconns++;
    }
    return RK_OK;
}

void rpipe_close(rpipe *p) {
    if (p == NULL) return;
    atomic_store(&p->stop, 1);
    for (int i = 0; i < p->nconns; i++) {
        conn *c = &p->conns[i];
        pthread_mutex_lock(&c->mu);
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->cv);
    }
    free(p->conns);
    free(p);
}

int rpipe_exec(rpipe *p, size_t n, const int *argc, const char *const *const *argv, redisReply **replies,
               rk_status *st) {
    group g = {.n = n, .argc = argc, .argv = argv, .replies = replies, .code = RK_OK};
    memset(replies, 0, n * sizeof(*replies));
    pthread_cond_init(&g.cv, NULL);
    /* The connection with the shortest queue, starting from a rotating one. */
    unsigned start = atomic_fetch_add(&p->next, 1);
    conn *c = &p->conns[start % (unsigned)p->nconns];
    for (int i = 1; i < p->nconns; i++) {
        conn *o = &p->conns[(start + (unsigned)i) % (unsigned)p->nconns];
        if (atomic_load(&o->queued) < atomic_load(&c->queued)) c = o;
    }
    pthread_mutex_lock(&c->mu);
    if (c->tail)
        c->tail->next = &g;
    else
        c->head = &g;
    c->tail = &g;
    c->queued++;
    pthread_cond_signal(&c->cv);
    while (!g.done) pthread_cond_wait(&g.cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    pthread_cond_destroy(&g.cv);
    if (g.code != RK_OK) return rk_status_set(st, g.code, "%s", g.message);
    return RK_OK;
}
