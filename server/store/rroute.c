/*
 * rroute.c - blocking commands routed over a Redis Cluster; see rroute.h.
 *
 * One call is rounds of: every command not yet answered is appended to
 * its master's connection; every connection written to is flushed before
 * any is read, so the masters work in parallel; the replies are read in
 * the order written; redirections and refusals decide which commands go
 * round again. The commands' order within one master is kept, which is
 * what a pipeline promised on a standalone Redis.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "clock.h"
#include "metrics.h"
#include "rmap.h"
#include "rroute.h"
#include "rslot.h"

#define CONNECT_TIMEOUT_S 2
#define IO_TIMEOUT_S 5
#define REDIRECTS_MAX 8 /* a slot bouncing between nodes longer is a broken cluster */
#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 200

typedef struct link {
    rnode node;
    redisContext *ctx; /* NULL until needed, and after a failure */
} link;

struct rroute {
    rnode seeds[RNODE_SEEDS_MAX];
    size_t nseeds;
    link links[RMAP_NODES_MAX];
    int nlinks;
    int64_t budget_us;
    rmap map;
};

/* ---------------------------------------------------------------- connections */

static link *link_for(rroute *r, const rnode *n) {
    for (int i = 0; i < r->nlinks; i++)
        if (rnode_same(&r->links[i].node, n)) return &r->links[i];
    if (r->nlinks == RMAP_NODES_MAX) return NULL;
    link *l = &r->links[r->nlinks++];
    *l = (link){.node = *n};
    return l;
}

static void link_drop(link *l) {
    if (l->ctx) redisFree(l->ctx);
    l->ctx = NULL;
}

static redisContext *link_ctx(link *l, rk_status *st) {
    if (l->ctx && !l->ctx->err) return l->ctx;
    link_drop(l);
    struct timeval tv = {CONNECT_TIMEOUT_S, 0};
    redisContext *c = redisConnectWithTimeout(l->node.host, l->node.port, tv);
    if (c == NULL || c->err) {
        rk_status_set(st, RK_UNAVAILABLE, "Redis Cluster node %s:%d is unreachable: %s", l->node.host, l->node.port,
                      c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    struct timeval io = {IO_TIMEOUT_S, 0};
    redisSetTimeout(c, io);
    l->ctx = c;
    return c;
}

/* Reads the map from the first node that answers: the masters known, then
 * the seeds. */
static int refresh(rroute *r, rk_status *st) {
    rnode cand[RMAP_NODES_MAX + RNODE_SEEDS_MAX];
    size_t n = rmap_masters(&r->map, cand, RMAP_NODES_MAX);
    for (size_t i = 0; i < r->nseeds; i++) cand[n++] = r->seeds[i];
    int rc = rk_status_set(st, RK_UNAVAILABLE, "no Redis Cluster node answers");
    for (size_t i = 0; i < n; i++) {
        link *l = link_for(r, &cand[i]);
        redisContext *c = l ? link_ctx(l, st) : NULL;
        if (c == NULL) continue;
        redisReply *rep = redisCommand(c, "CLUSTER SLOTS");
        if (rep == NULL) {
            rk_status_set(st, RK_UNAVAILABLE, "Redis Cluster node %s:%d: %s", l->node.host, l->node.port, c->errstr);
            link_drop(l);
            continue;
        }
        if (rep->type == REDIS_REPLY_ERROR)
            rc =
                rk_status_set(st, RK_UNAVAILABLE, "Redis Cluster node %s:%d: %s", l->node.host, l->node.port, rep->str);
        else
            rc = rmap_parse_slots(&r->map, rep, &l->node, st);
        freeReplyObject(rep);
        if (rc == RK_OK) return RK_OK;
    }
    return rc;
}

int rroute_open(rroute **out, const rnode *seeds, size_t nseeds, int64_t budget_ms, rk_status *st) {
    rroute *r = calloc(1, sizeof(*r));
    if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    memcpy(r->seeds, seeds, nseeds * sizeof(*seeds));
    r->nseeds = nseeds;
    r->budget_us = budget_ms * 1000;
    rmap_init(&r->map);
    *out = r;
    return refresh(r, st);
}

void rroute_close(rroute *r) {
    if (r == NULL) return;
    for (int i = 0; i < r->nlinks; i++) link_drop(&r->links[i]);
    free(r);
}

/* ---------------------------------------------------------------- keys */

void rroute_owner_of(rroute *r, const char *key, size_t len, char *out, size_t cap) {
    const rnode *n = rmap_owner(&r->map, rslot_of(key, len));
    if (n)
        rnode_format(n, out, cap);
    else if (cap)
        out[0] = '\0';
}

/* ---------------------------------------------------------------- calls */

typedef struct job {
    int slot;   /* -1: any master */
    link *to;   /* where it was written this round; NULL: not written */
    int asking; /* the next write goes to ask_to behind ASKING */
    link *ask_to;
    int redirects;
    int retry; /* TRYAGAIN or CLUSTERDOWN: wait, then again */
    int done;
    link *answered; /* where the final reply came from */
    redisReply *reply;
} job;

static int is_word(const redisReply *rep, const char *word) {
    size_t n = strlen(word);
    return rep->type == REDIS_REPLY_ERROR && rep->len >= n && strncmp(rep->str, word, n) == 0 &&
           (rep->len == n || rep->str[n] == ' ');
}

static link *any_master(rroute *r) {
    rnode m[1];
    if (rmap_masters(&r->map, m, 1) == 1) return link_for(r, &m[0]);
    return r->nseeds ? link_for(r, &r->seeds[0]) : NULL;
}

static void sleep_ms(int64_t ms) {
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A master that has just restarted answers CLUSTERDOWN to commands with
 * keys while it loads (it has not heard from the cluster yet), and
 * LOADING only to those without. Each job that a master answered
 * CLUSTERDOWN is asked again as a PING, all of one master's in one write:
 * if the master is loading, each job's final reply is its LOADING, so the
 * call fails at once as on a standalone Redis that loads, rather than
 * waiting out its budget (and holding up every call queued behind it).
 * Returns how many jobs that settled. */
static int loading_answers(rroute *r, job *jobs, size_t n) {
    int settled = 0;
    for (int k = 0; k < r->nlinks; k++) {
        link *l = &r->links[k];
        size_t asked = 0;
        for (size_t i = 0; i < n; i++)
            if (jobs[i].retry && jobs[i].to == l) asked++;
        if (asked == 0 || l->ctx == NULL) continue;
        for (size_t i = 0; i < asked; i++) redisAppendCommand(l->ctx, "PING");
        int loading = 0, ok = 1;
        for (size_t i = 0; ok && i < n; i++) {
            job *j = &jobs[i];
            if (!j->retry || j->to != l) continue;
            void *p = NULL;
            if (redisGetReply(l->ctx, &p) != REDIS_OK || p == NULL) {
                ok = 0; /* the next round finds the master unreachable */
                break;
            }
            redisReply *rep = p;
            loading = rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "LOADING", 7) == 0;
            if (!loading) {
                freeReplyObject(rep);
                continue;
            }
            freeReplyObject(j->reply);
            j->reply = rep;
            j->retry = 0;
            j->done = 1;
            j->answered = l;
            settled++;
        }
        if (!ok) link_drop(l);
    }
    return settled;
}

/* rroute_exec, and with final non-NULL the link each final reply came
 * from (NULL where none did). */
static int run(rroute *r, size_t n, const int *argc, const char *const *const *argv, const size_t *const *lens,
               redisReply **replies, link **final, rk_status *st) {
    job *jobs = calloc(n ? n : 1, sizeof(*jobs));
    if (jobs == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < n; i++) jobs[i].slot = rslot_of_command(argc[i], argv[i], lens ? lens[i] : NULL);
    int64_t deadline = server_now_us() + r->budget_us, backoff = BACKOFF_MIN_MS;
    int rc = RK_OK;
    for (;;) {
        int unreachable = 0, waiting = 0, lost = 0;
        int64_t t0 = server_now_us();
        /* Write every command still owed to its master. */
        for (size_t i = 0; i < n; i++) {
            job *j = &jobs[i];
            j->to = NULL;
            if (j->done) continue;
            link *l;
            if (j->asking)
                l = j->ask_to;
            else if (j->slot < 0)
                l = any_master(r);
            else {
                const rnode *owner = rmap_owner(&r->map, j->slot);
                l = owner ? link_for(r, owner) : NULL;
            }
            redisContext *c = l ? link_ctx(l, st) : NULL;
            if (c == NULL) {
                if (l == NULL)
                    rk_status_set(st, RK_UNAVAILABLE, "no Redis Cluster master is known for slot %d", j->slot);
                unreachable++;
                continue;
            }
            if (j->asking) redisAppendCommand(c, "ASKING");
            redisAppendCommandArgv(c, argc[i], (const char **)argv[i], lens ? lens[i] : NULL);
            j->to = l;
        }
        /* Flush them all before reading, so the masters work at once. */
        for (int k = 0; k < r->nlinks; k++) {
            link *l = &r->links[k];
            int done = 0;
            while (l->ctx && !done)
                if (redisBufferWrite(l->ctx, &done) != REDIS_OK) {
                    rk_status_set(st, RK_UNAVAILABLE, "Redis connection to %s:%d failed: %s", l->node.host,
                                  l->node.port, l->ctx->errstr);
                    link_drop(l);
                }
        }
        /* Read in the order written: each connection answers in order. */
        for (size_t i = 0; i < n; i++) {
            job *j = &jobs[i];
            if (j->to == NULL) continue;
            void *p = NULL;
            int ok = j->to->ctx != NULL;
            if (ok && j->asking) {
                ok = redisGetReply(j->to->ctx, &p) == REDIS_OK && p != NULL;
                if (p) freeReplyObject(p);
                p = NULL;
            }
            if (ok) ok = redisGetReply(j->to->ctx, &p) == REDIS_OK && p != NULL;
            if (!ok) {
                if (j->to->ctx)
                    rk_status_set(st, RK_UNAVAILABLE, "Redis connection to %s:%d failed: %s", j->to->node.host,
                                  j->to->node.port, j->to->ctx->errstr);
                link_drop(j->to);
                lost++;
                continue;
            }
            if (j->reply) freeReplyObject(j->reply);
            j->reply = p;
            j->asking = 0;
            j->retry = 0;
            rmap_redirect rd;
            const redisReply *rep = p;
            if (rep->type == REDIS_REPLY_ERROR)
                rmap_parse_redirect(rep->str, rep->len, &j->to->node, &rd);
            else
                rd.kind = RMAP_NONE;
            if (rd.kind != RMAP_NONE && j->redirects++ < REDIRECTS_MAX) {
                if (rd.kind == RMAP_MOVED) rmap_set(&r->map, rd.slot, &rd.to);
                if (rd.kind == RMAP_ASK && (j->ask_to = link_for(r, &rd.to)) != NULL) j->asking = 1;
                continue;
            }
            if (is_word(rep, "TRYAGAIN") || is_word(rep, "CLUSTERDOWN")) {
                j->retry = 1;
                waiting++;
                continue;
            }
            j->done = 1;
            j->answered = j->to;
        }
        if (waiting && !lost) waiting -= loading_answers(r, jobs, n);
        metrics_redis_call(server_now_us() - t0);
        if (lost) {
            /* Written, never answered: not sent again (see rroute.h). */
            rk_status ignore;
            refresh(r, &ignore);
            rc = RK_UNAVAILABLE;
            break;
        }
        size_t left = 0;
        for (size_t i = 0; i < n; i++) left += !jobs[i].done;
        if (left == 0) break;
        if (unreachable == 0 && waiting == 0) continue; /* redirected: straight on */
        if (server_now_us() + backoff * 1000 > deadline) {
            if (unreachable) {
                rc = RK_UNAVAILABLE;
                break;
            }
            /* The cluster's own refusal is the answer once time is up. */
            for (size_t i = 0; i < n; i++) jobs[i].done = 1;
            break;
        }
        sleep_ms(backoff);
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
        if (unreachable) {
            rk_status ignore;
            refresh(r, &ignore);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (final) final[i] = rc == RK_OK ? jobs[i].answered : NULL;
        if (rc == RK_OK) {
            replies[i] = jobs[i].reply;
        } else {
            replies[i] = NULL;
            if (jobs[i].reply) freeReplyObject(jobs[i].reply);
        }
    }
    free(jobs);
    return rc;
}

int rroute_exec(rroute *r, size_t n, const int *argc, const char *const *const *argv, const size_t *const *lens,
                redisReply **replies, rk_status *st) {
    return run(r, n, argc, argv, lens, replies, NULL, st);
}

int rroute_exec_wait(rroute *r, size_t n, const int *argc, const char *const *const *argv, const size_t *const *lens,
                     redisReply **replies, int64_t replicas, int64_t timeout_ms, long long *acked, rk_status *st) {
    link **final = calloc(n ? n : 1, sizeof(*final));
    if (final == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    int rc = run(r, n, argc, argv, lens, replies, final, st);
    for (size_t i = 0; i < n; i++) acked[i] = -1;
    if (rc != RK_OK) goto out;
    /* One WAIT per master that answered, on the connection the commands
     * went over (WAIT counts what this connection wrote); all are written
     * before any is read, so the masters wait at once, not in turn. */
    char nrep[24], ms[24];
    snprintf(nrep, sizeof(nrep), "%lld", (long long)replicas);
    snprintf(ms, sizeof(ms), "%lld", (long long)timeout_ms);
    int sent[RMAP_NODES_MAX] = {0};
    long long got[RMAP_NODES_MAX];
    for (size_t i = 0; i < n; i++) {
        int k = final[i] ? (int)(final[i] - r->links) : -1;
        if (k < 0 || sent[k] || final[i]->ctx == NULL) continue;
        sent[k] = redisAppendCommand(final[i]->ctx, "WAIT %s %s", nrep, ms) == REDIS_OK;
    }
    for (int k = 0; k < r->nlinks; k++) {
        got[k] = -1;
        if (!sent[k]) continue;
        void *p = NULL;
        if (r->links[k].ctx && redisGetReply(r->links[k].ctx, &p) == REDIS_OK && p != NULL) {
            const redisReply *rep = p;
            if (rep->type == REDIS_REPLY_INTEGER) got[k] = rep->integer;
            freeReplyObject(p);
        } else {
            /* Taken, but not known to be replicated: the caller says so. */
            link_drop(&r->links[k]);
        }
    }
    for (size_t i = 0; i < n; i++)
        if (final[i]) acked[i] = got[final[i] - r->links];
out:
    free(final);
    return rc;
}

int rroute_each_master(rroute *r, int argc, const char *const *argv, const size_t *lens, rroute_reply_fn each,
                       void *arg, rk_status *st) {
    rnode masters[RMAP_NODES_MAX];
    size_t n = rmap_masters(&r->map, masters, RMAP_NODES_MAX);
    if (n == 0 && refresh(r, st) != RK_OK) return st->code;
    if (n == 0) n = rmap_masters(&r->map, masters, RMAP_NODES_MAX);
    for (size_t i = 0; i < n; i++) {
        link *l = link_for(r, &masters[i]);
        redisContext *c = l ? link_ctx(l, st) : NULL;
        if (c == NULL) return RK_UNAVAILABLE;
        redisReply *rep = redisCommandArgv(c, argc, (const char **)argv, lens);
        if (rep == NULL) {
            rk_status_set(st, RK_UNAVAILABLE, "Redis connection to %s:%d failed: %s", l->node.host, l->node.port,
                          c->errstr);
            link_drop(l);
            return RK_UNAVAILABLE;
        }
        int err = rep->type == REDIS_REPLY_ERROR;
        if (err)
            rk_status_set(st, RK_INTERNAL, "Redis Cluster node %s:%d: %.*s", l->node.host, l->node.port,
                          (int)(rep->len > 200 ? 200 : rep->len), rep->str);
        if (each) {
            char node[RNODE_ADDR_MAX];
            rnode_format(&l->node, node, sizeof(node));
            each(arg, node, rep);
        }
        freeReplyObject(rep);
        if (err) return RK_INTERNAL;
    }
    return RK_OK;
}
