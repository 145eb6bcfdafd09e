/*
 * store_redis.c - hiredis calls behind store_redis.h.
 *
 * Every command goes through the Argv forms (binary safe, no format
 * strings). Replies are checked for type before use: a reply of the wrong
 * shape is an RK_INTERNAL, never a crash. A connection error drops the
 * context so the next call reconnects.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "idem.h"
#include "log.h"
#include "metrics.h"
#include "rnode.h"
#include "rpipe.h"
#include "rroute.h"
#include "rslot.h"
#include "clock.h"
#include "redis_exec.h"
#include "store_redis.h"
#include "store_streams.h"
#include "validate.h"

extern const char rankd_lua_source[];
extern const size_t rankd_lua_source_len;

typedef char num_text[24]; /* an int64 in decimal */

#define NAMES_KEY "rk:names"
#define LIVE_KEY "rk:live" /* see rankd.lua */
#define UIDS_KEY "rk:uids"
#define STREAM_KEY "rk:wb"
#define CALL_TIMEOUT_S 5

/* Set once at start (store_redis.h), read by every builder after. */
static rstore_layout layout = RSTORE_ONE;

void rstore_set_layout(rstore_layout l) { layout = l; }

rstore_layout rstore_get_layout(void) { return layout; }

void rstore_stream_key(const char *board_id, char *out, size_t cap) {
    if (board_id == NULL)
        snprintf(out, cap, "%s", STREAM_KEY);
    else
        snprintf(out, cap, "rk:{%s}:wb", board_id);
}

struct rstore {
    redisContext *ctx; /* own connection: always without a pipe, on demand with one */
    rpipe *pipe;       /* shared pipeline, or NULL */
    rnode seeds[RNODE_SEEDS_MAX];
    size_t nseeds;
    size_t cur;    /* the seed connected to, or tried first next time */
    int asked;     /* INFO cluster has been answered once */
    rroute *route; /* a Redis Cluster: commands go by slot (ctx is then only for SUBSCRIBE) */
};

/* A call's retries on a cluster (redirections, TRYAGAIN, a failover) end
 * where a standalone call's socket timeout would. */
#define ROUTE_BUDGET_MS (CALL_TIMEOUT_S * 1000)

/* ---------------------------------------------------------------- connection */

/* Once per handle, at its first connection: a cluster node's handle
 * routes from then on. A standalone Redis sees this one INFO and nothing
 * else changes. */
static int ask_cluster(rstore *r, rk_status *st) {
    redisReply *rep = redisCommand(r->ctx, "INFO cluster");
    if (rep == NULL) {
        rk_status_set(st, RK_UNAVAILABLE, "Redis connection failed: %s", r->ctx->errstr);
        redisFree(r->ctx);
        r->ctx = NULL;
        return RK_UNAVAILABLE;
    }
    /* A refused INFO (a Redis that renamed it) is no cluster's: as before. */
    int cluster = rep->type == REDIS_REPLY_STRING && strstr(rep->str, "cluster_enabled:1") != NULL;
    freeReplyObject(rep);
    if (cluster && rroute_open(&r->route, r->seeds, r->nseeds, ROUTE_BUDGET_MS, st) != RK_OK) {
        rroute_close(r->route);
        r->route = NULL;
        /* Asked again with the next connection, not used unrouted. */
        redisFree(r->ctx);
        r->ctx = NULL;
        return RK_UNAVAILABLE;
    }
    r->asked = 1;
    return RK_OK;
}

/* Connects to the seed that answered last, else to the next that does: a
 * list of one is exactly one address, as always. */
static int reconnect(rstore *r, rk_status *st) {
    if (r->ctx && !r->ctx->err) return RK_OK;
    if (r->ctx) redisFree(r->ctx);
    r->ctx = NULL;
    for (size_t i = 0; i < r->nseeds; i++) {
        const rnode *n = &r->seeds[(r->cur + i) % r->nseeds];
        struct timeval tv = {2, 0};
        redisContext *c = redisConnectWithTimeout(n->host, n->port, tv);
        if (c == NULL || c->err) {
            rk_status_set(st, RK_UNAVAILABLE, "Redis at %s:%d is unreachable: %s", n->host, n->port,
                          c ? c->errstr : "out of memory");
            if (c) redisFree(c);
            continue;
        }
        struct timeval ct = {CALL_TIMEOUT_S, 0};
        redisSetTimeout(c, ct);
        r->ctx = c;
        r->cur = (r->cur + i) % r->nseeds;
        return r->asked ? RK_OK : ask_cluster(r, st);
    }
    return RK_UNAVAILABLE;
}

static int open_handle(rstore **out, rpipe *pipe, const char *addr, rk_status *st) {
    rstore *r = calloc(1, sizeof(*r));
    if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    int rc = rnode_parse_list(addr, r->seeds, &r->nseeds, st);
    if (rc != RK_OK) {
        free(r);
        return rc;
    }
    r->pipe = pipe;
    *out = r;
    return RK_OK;
}

int rstore_open(rstore **out, const char *addr, rk_status *st) {
    int rc = open_handle(out, NULL, addr, st);
    return rc == RK_OK ? reconnect(*out, st) : rc;
}

int rstore_open_piped(rstore **out, rpipe *pipe, const char *addr, rk_status *st) {
    return open_handle(out, pipe, addr, st);
}

void rstore_close(rstore *r) {
    if (r == NULL) return;
    rroute_close(r->route);
    if (r->ctx) redisFree(r->ctx);
    free(r);
}

/* ---------------------------------------------------------------- error replies */

/* What an error reply's first word means. Redis's own words here say the
 * command was not run because Redis cannot serve it just now: Redis is
 * away for a moment, as when it cannot be reached, so they are
 * RK_UNAVAILABLE. A restarted Redis answers LOADING to nearly every
 * command until its data set is in memory; that is "not up yet", never
 * "up and empty". The other words are rankd.lua's own. */
static const struct reply_error {
    const char *word;
    int code;
    const char *message; /* NULL: the reply's text after the word */
    const char *prefix;  /* set: this, then the reply's whole text */
} reply_errors[] = {
    {.word = "LOADING", .code = RK_UNAVAILABLE, .message = "Redis is loading its data set; retry shortly"},
    {.word = "BUSY", .code = RK_UNAVAILABLE, .message = "Redis is busy running a script; retry shortly"},
    {.word = "MASTERDOWN", .code = RK_UNAVAILABLE, .message = "Redis has lost its link to its master; retry shortly"},
    {.word = "TRYAGAIN", .code = RK_UNAVAILABLE, .message = "Redis is moving the keys of a slot; retry shortly"},
    /* A Redis Cluster's own refusals. A redirection reaching a caller
     * (the right master not connected yet, or a slot bouncing between
     * nodes) was not run: it may be sent again once the map settles. */
    {.word = "MOVED", .code = RK_UNAVAILABLE, .prefix = "Redis Cluster: another node serves the keys: "},
    {.word = "ASK", .code = RK_UNAVAILABLE, .prefix = "Redis Cluster: another node serves the keys: "},
    {.word = "CROSSSLOT",
     .code = RK_FAILED_PRECONDITION,
     .prefix = "Redis Cluster refused a call whose keys are in different slots: "},
    {.word = "CLUSTERDOWN", .code = RK_UNAVAILABLE, .prefix = "Redis Cluster is down: "},
    {.word = "UNAVAILABLE", .code = RK_UNAVAILABLE},
    {.word = "INVALID_ARGUMENT", .code = RK_INVALID_ARGUMENT},
    {.word = "OUT_OF_RANGE", .code = RK_OUT_OF_RANGE},
    {.word = "NO_USER", .code = RK_NOT_FOUND},
    {.word = "RATE_LIMITED", .code = RK_RESOURCE_EXHAUSTED},
};

int rstore_reply_error(const redisReply *rep, rk_status *st) {
    const char *text = rep->str ? rep->str : "";
    size_t len = strcspn(text, " ");
    for (size_t i = 0; i < sizeof(reply_errors) / sizeof(reply_errors[0]); i++) {
        const struct reply_error *e = &reply_errors[i];
        if (strlen(e->word) != len || strncmp(text, e->word, len) != 0) continue;
        if (e->message) return rk_status_set(st, e->code, "%s", e->message);
        if (e->prefix) return rk_status_set(st, e->code, "%s%s", e->prefix, text);
        rk_status_set(st, e->code, "%s", text[len] ? text + len + 1 : text);
        /* A rate limit says when ("...; retry in N s"): callers get it as a
         * number too. */
        const char *when = e->code == RK_RESOURCE_EXHAUSTED ? strstr(text, "retry in ") : NULL;
        long long secs = 0;
        if (when && sscanf(when, "retry in %lld s", &secs) == 1 && secs > 0 && st) st->retry_after_ms = secs * 1000;
        return e->code;
    }
    return rk_status_set(st, RK_INTERNAL, "Redis: %s", text);
}

/* One command over a cluster. FUNCTION commands go to every master:
 * each node keeps its own functions. */
static int routed(rstore *r, int argc, const char **argv, const size_t *lens, redisReply **reply, rk_status *st) {
    if (strcmp(argv[0], "FUNCTION") == 0) {
        int rc = rroute_each_master(r->route, argc, argv, lens, NULL, NULL, st);
        *reply = NULL;
        return rc;
    }
    const char *const *av = argv;
    const size_t *const lv[] = {lens};
    redisReply *rep = NULL;
    int rc = rroute_exec(r->route, 1, &argc, &av, lens ? lv : NULL, &rep, st);
    if (rc != RK_OK) return rc;
    if (rep->type == REDIS_REPLY_ERROR) {
        rc = rstore_reply_error(rep, st);
        freeReplyObject(rep);
        return rc;
    }
    *reply = rep;
    return RK_OK;
}

/* Runs one command; *reply is owned by the caller on RK_OK. An error
 * reply becomes the code rstore_reply_error gives it. */
static int command(rstore *r, int argc, const char **argv, const size_t *lens, redisReply **reply, rk_status *st) {
    int rc;
    if (r->pipe && lens == NULL) {
        const char *const *av = argv;
        redisReply *rep = NULL;
        if ((rc = rpipe_exec(r->pipe, 1, &argc, &av, &rep, st)) != RK_OK) return rc;
        if (rep->type == REDIS_REPLY_ERROR) {
            rc = rstore_reply_error(rep, st);
            freeReplyObject(rep);
            return rc;
        }
        *reply = rep;
        return RK_OK;
    }
    if (r->route == NULL && (rc = reconnect(r, st)) != RK_OK) return rc;
    if (r->route) return routed(r, argc, argv, lens, reply, st);
    int64_t t0 = server_now_us();
    redisReply *rep = redisCommandArgv(r->ctx, argc, argv, lens);
    metrics_redis_call(server_now_us() - t0);
    if (rep == NULL) {
        rk_status_set(st, RK_UNAVAILABLE, "Redis connection failed: %s", r->ctx->errstr);
        redisFree(r->ctx);
        r->ctx = NULL;
        return RK_UNAVAILABLE;
    }
    if (rep->type == REDIS_REPLY_ERROR) {
        rc = rstore_reply_error(rep, st);
        freeReplyObject(rep);
        return rc;
    }
    *reply = rep;
    return RK_OK;
}

int rstore_command(rstore *r, int argc, const char **argv, const size_t *lens, redisReply **reply, rk_status *st) {
    return command(r, argc, argv, lens, reply, st);
}

/* A ranked read. While its board is being rebuilt it waits (up to
 * REBUILD_WAIT_MS) rather than answer from a half-built board. */
#define REBUILD_WAIT_MS 5000
static int read_command(rstore *r, int argc, const char **argv, redisReply **reply, rk_status *st) {
    for (int waited = 0;; waited += 50) {
        int rc = command(r, argc, argv, NULL, reply, st);
        /* No functions: Redis restarted empty, and rankd has not yet
         * loaded them again (rk:live is missing too, then). */
        if (rc != RK_INTERNAL ||
            (strstr(st->message, "REBUILDING") == NULL && strstr(st->message, "Function not found") == NULL))
            return rc;
        if (waited >= REBUILD_WAIT_MS)
            return rk_status_set(st, RK_UNAVAILABLE, "the board is being rebuilt from PostgreSQL; retry shortly");
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
        rk_status_clear(st); /* a later success must not carry this error */
    }
}

int rstore_read_command(rstore *r, int argc, const char **argv, redisReply **reply, rk_status *st) {
    return read_command(r, argc, argv, reply, st);
}

static int many(rstore *r, size_t n, const int *argcs, const char *const *const *argvs, redisReply **replies,
                rk_status *st);

static int simple(rstore *r, int argc, const char **argv, rk_status *st) {
    redisReply *rep = NULL;
    int rc = command(r, argc, argv, NULL, &rep, st);
    if (rep) freeReplyObject(rep);
    return rc;
}

int rstore_ping(rstore *r, rk_status *st) {
    const char *argv[] = {"PING"};
    int rc = r->pipe ? RK_OK : reconnect(r, st);
    if (rc != RK_OK) return rc;
    /* A cluster answers only when every master does: the seed alone says
     * nothing of the slots the others hold. */
    if (r->route) return rroute_each_master(r->route, 1, argv, NULL, NULL, NULL, st);
    return simple(r, 1, argv, st);
}

int rstore_cluster_enabled(rstore *r, int *yes, rk_status *st) {
    const char *argv[] = {"INFO", "cluster"};
    redisReply *rep = NULL;
    int rc = command(r, 2, argv, NULL, &rep, st);
    if (rc != RK_OK) return rc;
    *yes = rep->type == REDIS_REPLY_STRING && strstr(rep->str, "cluster_enabled:1") != NULL;
    freeReplyObject(rep);
    return RK_OK;
}

_Static_assert(RSTORE_ADDR_MAX >= RNODE_ADDR_MAX, "RSTORE_ADDR_MAX holds any node's address");

/* The smallest hash-max-listpack-entries seen, and on which node. */
typedef struct least_listpack {
    long long n;
    char *node;
    size_t cap;
} least_listpack;

static void keep_least(void *arg, const char *node, const redisReply *rep) {
    least_listpack *l = arg;
    if (rep->type == REDIS_REPLY_ERROR) return; /* the walk fails on it */
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[1]->type != REDIS_REPLY_STRING) return;
    long long n = strtoll(rep->element[1]->str, NULL, 10);
    if (l->n >= 0 && n >= l->n) return;
    l->n = n;
    snprintf(l->node, l->cap, "%s", node);
}

int rstore_listpack_entries(rstore *r, long long *n, char *node, size_t cap, rk_status *st) {
    const char *argv[] = {"CONFIG", "GET", "hash-max-listpack-entries"};
    least_listpack least = {.n = -1, .node = node, .cap = cap};
    *n = -1;
    if (cap) node[0] = '\0';
    int rc = r->pipe ? RK_OK : reconnect(r, st);
    if (rc != RK_OK) return rc;
    if (r->route) {
        rc = rroute_each_master(r->route, 3, argv, NULL, keep_least, &least, st);
    } else {
        redisReply *rep = NULL;
        if ((rc = command(r, 3, argv, NULL, &rep, st)) == RK_OK) {
            char addr[RNODE_ADDR_MAX];
            rstore_addr(r, addr, sizeof(addr));
            keep_least(&least, addr, rep);
            freeReplyObject(rep);
        }
    }
    if (rc == RK_INTERNAL) {
        /* An error reply: CONFIG is not for us here. */
        rk_status_clear(st);
        return RK_OK;
    }
    if (rc == RK_OK) *n = least.n;
    return rc;
}

void rstore_addr(const rstore *r, char *out, size_t cap) { rnode_format(&r->seeds[r->cur], out, cap); }

/* The hash tag of b's keys (b NULL: the global board's). */
static const char *tag_of(const board *b, char *buf) {
    if (b == NULL) return BOARD_GLOBAL_ID;
    board_tag(b, buf, BOARD_TAG_MAX + 1);
    return buf;
}

/* The live marker of one tag (NULL: the global board's). */
static int set_tag_live(rstore *r, const char *tag, rk_status *st) {
    if (layout != RSTORE_SPLIT) return RK_OK;
    char key[RSTORE_KEY_MAX];
    snprintf(key, sizeof(key), "rk:{%s}:live", tag ? tag : BOARD_GLOBAL_ID);
    const char *argv[] = {"SET", key, "1"};
    return simple(r, 3, argv, st);
}

int rstore_set_board_live(rstore *r, const board *b, rk_status *st) {
    char tag[BOARD_TAG_MAX + 1];
    int rc = RK_OK;
    if (b == NULL) return set_tag_live(r, NULL, st);
    for (int k = 0; rc == RK_OK && k < board_shards(b); k++) {
        board at = board_at_shard(b, k);
        rc = set_tag_live(r, tag_of(&at, tag), st);
    }
    return rc;
}

/* The split layout's sentinels: RSTORE_SENTINELS keys, one per equal range
 * of slots (rslot_sentinel), set with rk:live. On a Redis Cluster every
 * master then holds some, so a master that restarted without its data is
 * seen (rstore_probe) though rk:live's own master kept its. */
#define RSTORE_SENTINELS 256
static char sentinels[RSTORE_SENTINELS][32];
static pthread_once_t sentinels_once = PTHREAD_ONCE_INIT;
static void sentinels_init(void) {
    for (int j = 0; j < RSTORE_SENTINELS; j++) rslot_sentinel(j, RSTORE_SENTINELS, sentinels[j], sizeof(sentinels[j]));
}

/* argv0 (SET ... 1, or EXISTS) on rk:live and, in the split layout, every
 * sentinel: one round trip per master. replies[0] is rk:live's; *n how
 * many there are (the caller frees them). */
static int on_markers(rstore *r, const char *argv0, redisReply **replies, size_t *n, rk_status *st) {
    static const char *one = "1";
    const char *argvs_room[1 + RSTORE_SENTINELS][3];
    const char *const *argvs[1 + RSTORE_SENTINELS];
    int argcs[1 + RSTORE_SENTINELS];
    int set = strcmp(argv0, "SET") == 0;
    pthread_once(&sentinels_once, sentinels_init);
    *n = layout == RSTORE_SPLIT ? 1 + RSTORE_SENTINELS : 1;
    for (size_t i = 0; i < *n; i++) {
        argvs_room[i][0] = argv0;
        argvs_room[i][1] = i == 0 ? LIVE_KEY : sentinels[i - 1];
        argvs_room[i][2] = one;
        argcs[i] = set ? 3 : 2;
        argvs[i] = argvs_room[i];
    }
    /* rk:live last when setting (on a cluster only within its master's
     * round trip; a probe that finds it before a sentinel elsewhere sees
     * the master empty and restores once more, which does no harm). */
    if (set && *n > 1) {
        argvs[0] = argvs_room[*n - 1];
        argvs[*n - 1] = argvs_room[0];
    }
    return many(r, *n, argcs, argvs, replies, st);
}

int rstore_set_live(rstore *r, rk_status *st) {
    /* The split layout's markers first (each board's slot has one), so a
     * rankd that sees rk:live finds every board live. */
    rstore_stream *s = NULL;
    size_t n = 0;
    int rc = layout == RSTORE_SPLIT ? rstore_streams(&s, &n, st) : RK_OK;
    if (rc == RK_OK && layout == RSTORE_SPLIT) rc = set_tag_live(r, NULL, st);
    for (size_t i = 1; rc == RK_OK && i < n; i++) rc = set_tag_live(r, s[i].board, st);
    free(s);
    if (rc != RK_OK) return rc;
    redisReply *reps[1 + RSTORE_SENTINELS];
    if ((rc = on_markers(r, "SET", reps, &n, st)) != RK_OK) return rc;
    for (size_t i = 0; i < n; i++) {
        if (rc == RK_OK && reps[i]->type == REDIS_REPLY_ERROR) rc = rstore_reply_error(reps[i], st);
        freeReplyObject(reps[i]);
    }
    return rc;
}

int rstore_is_live(rstore *r, int *live, rk_status *st) {
    const char *argv[] = {"EXISTS", LIVE_KEY};
    redisReply *rep = NULL;
    int rc = command(r, 2, argv, NULL, &rep, st);
    if (rc == RK_OK) {
        *live = rep->type == REDIS_REPLY_INTEGER && rep->integer != 0;
        freeReplyObject(rep);
    }
    return rc;
}

static void note_loading(void *arg, const char *node, const redisReply *rep) {
    (void)node;
    if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "LOADING", 7) == 0) *(int *)arg = 1;
}

rstore_probe_result rstore_probe(rstore *r) {
    rk_status st;
    if (r->pipe) return RSTORE_GONE;
    if (r->route == NULL && reconnect(r, &st) != RK_OK) return RSTORE_GONE;
    if (r->route) {
        /* A master that has just restarted answers commands with keys
         * CLUSTERDOWN while it loads (it has not heard from the cluster
         * yet), and LOADING only to those without: PING tells. It also
         * finds a master that is away at once, where the markers would
         * wait out the call's budget. */
        const char *ping[] = {"PING"};
        int loading = 0;
        int rc = rroute_each_master(r->route, 1, ping, NULL, note_loading, &loading, &st);
        if (loading) return RSTORE_LOADING;
        if (rc != RK_OK) return RSTORE_GONE;
    }
    redisReply *reps[1 + RSTORE_SENTINELS];
    size_t n = 0;
    if (on_markers(r, "EXISTS", reps, &n, &st) != RK_OK) return RSTORE_GONE;
    /* The worst answer of any master: gone (any refusal but LOADING:
     * BUSY, MASTERDOWN), loading, empty (a marker missing), live. */
    rstore_probe_result out = RSTORE_LIVE;
    for (size_t i = 0; i < n; i++) {
        const redisReply *rep = reps[i];
        rstore_probe_result one = RSTORE_GONE;
        if (rep->type == REDIS_REPLY_INTEGER)
            one = rep->integer ? RSTORE_LIVE : RSTORE_EMPTY;
        else if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "LOADING", 7) == 0)
            one = RSTORE_LOADING;
        if (one < out) out = one;
        freeReplyObject(reps[i]);
    }
    return out;
}

int rstore_load_functions(rstore *r, rk_status *st) {
    const char *argv[] = {"FUNCTION", "LOAD", "REPLACE", rankd_lua_source};
    size_t lens[] = {8, 4, 7, rankd_lua_source_len};
    redisReply *rep = NULL;
    int rc = command(r, 4, argv, lens, &rep, st);
    if (rep) freeReplyObject(rep);
    return rc;
}

/* ---------------------------------------------------------------- keys */

void rstore_view(const board *b, window_kind k, time_t now, rview *v) {
    char label[WINDOW_LABEL_MAX], tag[BOARD_TAG_MAX + 1];
    const char *t = tag_of(b, tag);
    window_label(b ? k : WINDOW_ALL, now, label);
    snprintf(v->zkey, sizeof(v->zkey), "rk:{%s}:%s", t, label);
    snprintf(v->mkey, sizeof(v->mkey), "rk:{%s}:%s:m", t, label);
    v->desc = b ? b->higher_is_better : 1;
    rstore_rebuild_flag(b, v->flag, sizeof(v->flag));
    v->xkey[0] = '\0';
    if (b && k == WINDOW_ALL) rstore_meta_key(t, v->xkey, sizeof(v->xkey));
}

void rstore_meta_key(const char *board_id, char *out, size_t cap) { snprintf(out, cap, "rk:{%s}:meta", board_id); }

void rstore_feeds_list(const board *b, char *out, size_t cap) {
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; i < b->nfeeds && at < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%s", i ? "," : "", b->feeds[i]);
}

void rstore_rebuild_flag(const board *b, char *out, size_t cap) {
    char tag[BOARD_TAG_MAX + 1];
    snprintf(out, cap, "rk:{%s}:rebuilding", tag_of(b, tag));
}

/* ---------------------------------------------------------------- reply helpers */

static int64_t as_int(const redisReply *e) {
    if (e == NULL) return 0;
    if (e->type == REDIS_REPLY_INTEGER) return e->integer;
    if (e->type == REDIS_REPLY_STRING) return strtoll(e->str, NULL, 10);
    return 0;
}

static void as_str(const redisReply *e, char *out, size_t cap) {
    out[0] = '\0';
    if (e && e->type == REDIS_REPLY_STRING) snprintf(out, cap, "%.*s", (int)e->len, e->str);
}

/* ---------------------------------------------------------------- submit */

int rsubmit_parse(const redisReply *rep, rstore_submit_out *o) {
    rk_status_clear(&o->status);
    if (rep->type == REDIS_REPLY_ERROR) {
        /* No functions: Redis restarted empty and rankd has not loaded them yet. */
        if (strstr(rep->str, "Function not found") != NULL)
            return rk_status_set(&o->status, RK_UNAVAILABLE,
                                 "Redis has lost its data; the live view is being restored");
        return rstore_reply_error(rep, &o->status);
    }
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 9)
        return rk_status_set(&o->status, RK_INTERNAL, "unexpected reply from rk_submit");
    o->score = as_int(rep->element[0]);
    o->rank = as_int(rep->element[1]);
    o->personal_best = as_int(rep->element[2]) != 0;
    o->board_size = as_int(rep->element[3]);
    o->replayed = as_int(rep->element[4]) != 0;
    as_str(rep->element[5], o->entry_id, sizeof(o->entry_id));
    o->previous_rank = as_int(rep->element[7]);
    o->previous_score = o->previous_rank > 0 ? as_int(rep->element[6]) : 0;
    o->held = as_int(rep->element[8]) != 0;
    return RK_OK;
}

typedef rsubmit_cmd submit_cmd;

/* The longest key name rankd writes is a board's idempotency record: a
 * name cut short would make two keys one. */
_Static_assert(RSTORE_KEY_MAX > sizeof("rk:{}:idem:") + BOARD_ID_MAX + IDEM_SCOPE_MAX + IDEMPOTENCY_KEY_MAX,
               "RSTORE_KEY_MAX cannot hold the longest idempotency record's name");

/* Where a board keeps the first answer to an idempotency key. */
static void idem_key(const char *board_id, const char *key, char *out, size_t cap) {
    snprintf(out, cap, "rk:{%s}:idem:%s", board_id, key ? key : "");
}

/* The free end of a command's pool, with room for one key. */
static char *key_room(rsubmit_cmd *c) { return c->pool + c->used; }

/* Takes what key_room was given (a string) into the pool. */
static const char *key_taken(rsubmit_cmd *c) {
    const char *k = c->pool + c->used;
    c->used += strlen(k) + 1;
    return k;
}

void rsubmit_build(const rstore_submit_in *s, int64_t idem_ttl, int64_t retention, rsubmit_cmd *c) {
    static const char *const policies[] = {"best", "best", "latest", "sum"};
    /* A hot board's submission goes to its player's shard, whose keys are
     * a whole board's under the shard's tag. */
    board shard;
    const board *b = s->b;
    if (b->shards > 1) {
        shard = board_for_player(s->b, s->user_id);
        b = &shard;
    }
    const char *tag = c->tag;
    board_tag(b, c->tag, sizeof(c->tag));
    const char *keys[RSUBMIT_KEYS];
    int nkeys = 0;
    rview g, v;
    time_t now = (time_t)(s->ts_us / 1000000);
    int split = layout == RSTORE_SPLIT;
    c->used = 0;
    rstore_view(NULL, WINDOW_ALL, now, &g);
    /* The split layout names, where the one-key layout's keys of other
     * slots would be, a key of the board's slot that is never written. */
    char unused[RSTORE_KEY_MAX];
    snprintf(unused, sizeof(unused), "rk:{%s}:-", tag);
    rstore_stream_key(split ? tag : NULL, key_room(c), RSTORE_KEY_MAX);
    keys[nkeys++] = key_taken(c);
    idem_key(tag, s->idem_key, key_room(c), RSTORE_KEY_MAX);
    keys[nkeys++] = key_taken(c);
    if (split)
        rstore_mirror_key(tag, key_room(c), RSTORE_KEY_MAX);
    else
        snprintf(key_room(c), RSTORE_KEY_MAX, "%s", g.zkey);
    keys[nkeys++] = key_taken(c);
    snprintf(key_room(c), RSTORE_KEY_MAX, "%s", split ? unused : g.mkey);
    keys[nkeys++] = key_taken(c);
    snprintf(key_room(c), RSTORE_KEY_MAX, "rk:{%s}:pb", tag);
    keys[nkeys++] = key_taken(c);
    rstore_rebuild_flag(b, key_room(c), RSTORE_KEY_MAX);
    keys[nkeys++] = key_taken(c);
    if (split)
        snprintf(key_room(c), RSTORE_KEY_MAX, "rk:{%s}:hold", tag);
    else
        rstore_rebuild_flag(NULL, key_room(c), RSTORE_KEY_MAX);
    keys[nkeys++] = key_taken(c);
    snprintf(key_room(c), RSTORE_KEY_MAX, "%s", split ? unused : NAMES_KEY);
    keys[nkeys++] = key_taken(c);
    if (split)
        snprintf(key_room(c), RSTORE_KEY_MAX, "rk:{%s}:live", tag);
    else
        snprintf(key_room(c), RSTORE_KEY_MAX, "%s", LIVE_KEY);
    keys[nkeys++] = key_taken(c);
    for (int k = 0; k < WINDOW_KINDS; k++) {
        if (!(b->windows & WINDOW_BIT(k))) continue;
        rstore_view(b, (window_kind)k, now, &v);
        snprintf(key_room(c), RSTORE_KEY_MAX, "%s", v.zkey);
        keys[nkeys++] = key_taken(c);
        snprintf(key_room(c), RSTORE_KEY_MAX, "%s", v.mkey);
        keys[nkeys++] = key_taken(c);
    }
    /* Moderation's keys (RSUBMIT_MOD_KEYS), after the windows. */
    snprintf(key_room(c), RSTORE_KEY_MAX, "rk:{%s}:rl:%" PRId64, tag, s->user_id);
    keys[nkeys++] = key_taken(c);
    snprintf(key_room(c), RSTORE_KEY_MAX, "rk:{%s}:ls", tag);
    keys[nkeys++] = key_taken(c);
    /* Record metadata's key (RSUBMIT_META_KEYS), after moderation's. */
    rstore_meta_key(tag, key_room(c), RSTORE_KEY_MAX);
    keys[nkeys++] = key_taken(c);
    rstore_season_key(b, key_room(c), RSTORE_KEY_MAX);
    keys[nkeys++] = key_taken(c);
    snprintf(key_room(c), RSTORE_KEY_MAX, "rk:{%s}:agg", tag);
    keys[nkeys++] = key_taken(c);
    for (int i = 0; !split && i < b->nfeeds; i++) {
        board a = {0};
        snprintf(a.id, sizeof(a.id), "%s", b->feeds[i]);
        rstore_view(&a, WINDOW_ALL, now, &v);
        snprintf(key_room(c), RSTORE_KEY_MAX, "%s", v.zkey);
        keys[nkeys++] = key_taken(c);
        snprintf(key_room(c), RSTORE_KEY_MAX, "%s", v.mkey);
        keys[nkeys++] = key_taken(c);
        snprintf(key_room(c), RSTORE_KEY_MAX, "%s", v.flag);
        keys[nkeys++] = key_taken(c);
    }
    rstore_feeds_list(b, key_room(c), BOARD_AGG_MAX * (BOARD_ID_MAX + 1) + 1);
    const char *feeds = key_taken(c);
    snprintf(c->nums[0], 32, "%d", nkeys);
    snprintf(c->nums[1], 32, "%" PRId64, s->user_id);
    snprintf(c->nums[2], 32, "%" PRId64, s->score);
    snprintf(c->nums[3], 32, "%" PRId64, s->ts_us);
    snprintf(c->nums[4], 32, "%" PRId64, idem_ttl);
    snprintf(c->nums[5], 32, "%" PRId64, retention);
    int argc = 0;
    c->argv[argc++] = "FCALL";
    c->argv[argc++] = "rk_submit";
    c->argv[argc++] = c->nums[0];
    for (int k = 0; k < nkeys; k++) c->argv[argc++] = keys[k];
    c->argv[argc++] = c->nums[1];
    c->argv[argc++] = c->nums[2];
    c->argv[argc++] = c->nums[3];
    c->argv[argc++] = policies[b->policy];
    c->argv[argc++] = b->higher_is_better ? "1" : "0";
    c->argv[argc++] = s->idem_key ? "1" : "0";
    c->argv[argc++] = c->nums[4];
    c->argv[argc++] = tag; /* the board, or its shard: "<id>~<k>" */
    c->argv[argc++] = board_in_global(b) ? "1" : "0";
    c->argv[argc++] = s->idem_key ? s->idem_key : "";
    c->argv[argc++] = c->nums[5];
    c->argv[argc++] = s->history_done ? "1" : "0";
    for (int k = 1, e = 6; k < WINDOW_KINDS; k++) {
        if (!(b->windows & WINDOW_BIT(k))) continue;
        int64_t start, end;
        window_bounds((window_kind)k, now, &start, &end);
        snprintf(c->nums[e], 32, "%" PRId64, end);
        c->argv[argc++] = c->nums[e++];
    }
    /* Moderation's arguments: a submission already taken (a replay of
     * what PostgreSQL took without Redis) is neither limited again nor
     * held. */
    int again = s->history_done;
    snprintf(c->mods[0], 32, "%" PRId64, again ? 0 : b->rate_limit);
    snprintf(c->mods[1], 32, "%" PRId64, again ? 0 : b->max_step);
    snprintf(c->mods[2], 32, "%" PRId64, again ? 0 : b->max_rate);
    for (int i = 0; i < RSUBMIT_MOD_ARGS; i++) c->argv[argc++] = c->mods[i];
    c->argv[argc++] = s->meta ? s->meta : ""; /* RSUBMIT_META_ARGS */
    c->argv[argc++] = split ? "s" : "1";
    c->argv[argc++] = feeds;
    snprintf(c->nums[6 + WINDOW_KINDS], 32, "%d", split ? 0 : b->nfeeds);
    c->argv[argc++] = c->nums[6 + WINDOW_KINDS];
    c->argc = argc;
}

/* An item Redis took, once WAIT has said how many replicas have it (got
 * < 0: not known, the WAIT's connection failed). */
static void waited(const rstore_wait *wait, long long got, rstore_submit_out *out) {
    if (got >= wait->replicas || out->status.code != RK_OK) return;
    if (got < 0)
        rk_status_set(&out->status, RK_UNAVAILABLE,
                      "Redis took the submission, but the connection failed before its replicas (redis-wait-replicas) "
                      "were counted; retry with the same idempotency key");
    else
        rk_status_set(&out->status, RK_UNAVAILABLE,
                      "Redis took the submission, but %lld of the %lld replicas asked for (redis-wait-replicas) had it "
                      "within %lld ms; retry with the same idempotency key",
                      got, (long long)wait->replicas, (long long)wait->timeout_ms);
}

int rstore_submit(rstore *r, const rstore_submit_in *in, size_t n, int64_t idem_ttl, int64_t retention,
                  const rstore_wait *wait, rstore_submit_out *out, rk_status *st) {
    int rc = RK_OK;
    char wait_n[24], wait_ms[24];
    const char *wait_argv[] = {"WAIT", wait_n, wait_ms};
    /* One WAIT behind the batch on the same connection; on a cluster one
     * per master the batch reached (rroute_exec_wait). */
    int want_wait = wait && wait->replicas > 0;
    size_t nw = want_wait && !r->route ? 1 : 0;
    long long *acked = NULL;
    /* Not calloc: a command is written before it is read, and zeroing a
     * batch's worth of them would touch every page of the array. */
    submit_cmd *cmds = malloc((n ? n : 1) * sizeof(*cmds));
    redisReply **replies = calloc(n + nw + 1, sizeof(*replies));
    int *argcs = calloc(n + nw + 1, sizeof(*argcs));
    const char *const **argvs = calloc(n + nw + 1, sizeof(*argvs));
    if (!cmds || !replies || !argcs || !argvs) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        rsubmit_build(&in[i], idem_ttl, retention, &cmds[i]);
        argcs[i] = cmds[i].argc;
        argvs[i] = cmds[i].argv;
    }
    if (nw) {
        snprintf(wait_n, sizeof(wait_n), "%" PRId64, wait->replicas);
        snprintf(wait_ms, sizeof(wait_ms), "%" PRId64, wait->timeout_ms);
        argcs[n] = 3;
        argvs[n] = wait_argv;
    }
    if (r->pipe && !want_wait) {
        /* One group: the whole batch goes in one round trip. (A waited
         * batch takes the handle's own connection: a WAIT on a shared one
         * would hold every other worker's commands behind it, and on a
         * cluster must go to each master the batch reached.) */
        if ((rc = rpipe_exec(r->pipe, n, argcs, argvs, replies, st)) != RK_OK) goto done;
    } else if (r->route || (rc = reconnect(r, st)) != RK_OK || r->route) {
        /* A cluster: one round trip per master the batch reaches (a
         * handle learns it is on a cluster here). */
        nw = 0;
        if (rc != RK_OK) goto done;
        if (!want_wait) {
            if ((rc = rroute_exec(r->route, n, argcs, argvs, NULL, replies, st)) != RK_OK) goto done;
        } else {
            if ((acked = malloc((n ? n : 1) * sizeof(*acked))) == NULL) {
                rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
                goto done;
            }
            if ((rc = rroute_exec_wait(r->route, n, argcs, argvs, NULL, replies, wait->replicas, wait->timeout_ms,
                                       acked, st)) != RK_OK)
                goto done;
        }
    } else {
        int64_t t0 = server_now_us();
        for (size_t i = 0; i < n + nw; i++)
            if (redisAppendCommandArgv(r->ctx, argcs[i], (const char **)argvs[i], NULL) != REDIS_OK) {
                rc = rk_status_set(st, RK_INTERNAL, "cannot queue Redis command");
                goto done;
            }
        for (size_t i = 0; i < n + nw; i++) {
            void *p = NULL;
            if (redisGetReply(r->ctx, &p) != REDIS_OK || p == NULL) {
                rc = rk_status_set(st, RK_UNAVAILABLE, "Redis connection failed: %s", r->ctx->errstr);
                redisFree(r->ctx);
                r->ctx = NULL;
                goto done;
            }
            replies[i] = p;
        }
        metrics_redis_call(server_now_us() - t0);
    }
    for (size_t i = 0; i < n; i++) rsubmit_parse(replies[i], &out[i]);
    if (nw) {
        const redisReply *w = replies[n];
        long long got = w && w->type == REDIS_REPLY_INTEGER ? w->integer : 0;
        for (size_t i = 0; i < n; i++) waited(wait, got, &out[i]);
    }
    for (size_t i = 0; acked && i < n; i++) waited(wait, acked[i], &out[i]);
done:
    free(acked);
    for (size_t i = 0; replies && i < n + nw; i++)
        if (replies[i]) freeReplyObject(replies[i]);
    free(cmds);
    free(replies);
    free(argcs);
    free(argvs);
    return rc;
}

/* ---------------------------------------------------------------- reads */

/* Rows and their metadata texts in one allocation (rank_row.meta): the
 * rows first, then each text with its NUL. */
static rank_row *rows_alloc(size_t count, size_t text_bytes) {
    return calloc(1, (count ? count : 1) * sizeof(rank_row) + text_bytes);
}

/* Copies text (len bytes) to *pool and points row->meta at it; "" stays
 * NULL. */
static void row_meta(rank_row *row, const redisReply *e, char **pool) {
    if (e == NULL || e->type != REDIS_REPLY_STRING || e->len == 0) return;
    memcpy(*pool, e->str, e->len);
    (*pool)[e->len] = '\0';
    row->meta = *pool;
    *pool += e->len + 1;
}

/* The bytes the texts of every `stride`-th element from `at` take. */
static size_t meta_bytes(const redisReply *rep, size_t at, size_t stride, size_t count) {
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        const redisReply *e = rep->element[at + stride * i];
        if (e->type == REDIS_REPLY_STRING && e->len > 0) total += e->len + 1;
    }
    return total;
}

rank_row *rank_rows_copy(const rank_row *rows, size_t n) {
    size_t text = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i].meta) text += strlen(rows[i].meta) + 1;
    rank_row *out = rows_alloc(n, text);
    if (out == NULL) return NULL;
    char *pool = (char *)(out + (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        out[i] = rows[i];
        if (rows[i].meta) {
            size_t len = strlen(rows[i].meta);
            memcpy(pool, rows[i].meta, len + 1);
            out[i].meta = pool;
            pool += len + 1;
        }
    }
    return out;
}

/* Parses {uid, score, name, meta}* starting at element `from` of rep. */
static int parse_rows(const redisReply *rep, size_t from, rank_row **rows, size_t *n, rk_status *st) {
    size_t count = (rep->elements - from) / 4;
    rank_row *out = rows_alloc(count, meta_bytes(rep, from + 3, 4, count));
    if (out == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    char *pool = (char *)(out + (count ? count : 1));
    for (size_t i = 0; i < count; i++) {
        out[i].user_id = as_int(rep->element[from + 4 * i]);
        out[i].score = as_int(rep->element[from + 4 * i + 1]);
        out[i].ranked = 1;
        as_str(rep->element[from + 4 * i + 2], out[i].username, sizeof(out[i].username));
        row_meta(&out[i], rep->element[from + 4 * i + 3], &pool);
    }
    *rows = out;
    *n = count;
    return RK_OK;
}

static void assign(rank_row *rows, size_t n, rank_mode mode, int64_t offset, int64_t comp, int64_t dense) {
    int64_t *scores = calloc(3 * (n ? n : 1), sizeof(*scores));
    if (scores == NULL) {
        for (size_t i = 0; i < n; i++) /* degrade to unique */
            rows[i].rank = rows[i].competition = offset + (int64_t)i + 1;
        return;
    }
    int64_t *ranks = scores + n, *comps = scores + 2 * n;
    for (size_t i = 0; i < n; i++) scores[i] = rows[i].score;
    ranks_assign(scores, n, mode, offset, comp, dense, ranks);
    ranks_assign(scores, n, RANK_COMPETITION, offset, comp, dense, comps);
    for (size_t i = 0; i < n; i++) {
        rows[i].rank = ranks[i];
        rows[i].competition = comps[i];
        rows[i].position = offset + (int64_t)i + 1;
    }
    free(scores);
}

/* ---------------------------------------------------------------- reads as commands */

void rread_done(rread *q) {
    if (q->argv != q->fixed) free(q->argv);
    free(q->heap_nums);
    q->argv = NULL;
    q->heap_nums = NULL;
}

/* Copies a read's head (FCALL_RO, name, numkeys, keys) into out and, on
 * an all-time view, adds the board's metadata key as the last key (the
 * numkeys at head[2] is "4" or "5" and goes up by one). Returns the
 * arguments written. */
static int with_meta_key(const char **out, const char *const *head, int n, const rview *v) {
    static const char *const plus_one[] = {"1", "2", "3", "4", "5", "6", "7", "8"};
    memcpy(out, head, (size_t)n * sizeof(*out));
    if (v->xkey[0] == '\0') return n;
    out[2] = plus_one[atoi(head[2])];
    out[n++] = v->xkey;
    return n;
}

/* The view's slot's names for the user directory and the live marker
 * (rread's names and live). */
static void read_keys(rread *q, const rview *v) {
    const char *open = strchr(v->zkey, '{'), *close = open ? strchr(open, '}') : NULL;
    rstore_view_live(v, q->live, sizeof(q->live));
    if (layout != RSTORE_SPLIT || close == NULL) {
        snprintf(q->names, sizeof(q->names), "%s", NAMES_KEY);
        return;
    }
    int tag = (int)(close - v->zkey + 1); /* "rk:{b}" */
    snprintf(q->names, sizeof(q->names), "%.*s:-", tag, v->zkey);
}

void rstore_view_live(const rview *v, char *out, size_t cap) {
    const char *open = strchr(v->zkey, '{'), *close = open ? strchr(open, '}') : NULL;
    if (layout != RSTORE_SPLIT || close == NULL)
        snprintf(out, cap, "%s", LIVE_KEY);
    else
        snprintf(out, cap, "%.*s:live", (int)(close - v->zkey + 1), v->zkey);
}

void rread_top(rread *q, const rview *v, int64_t offset, int64_t count, rank_mode mode) {
    memset(q, 0, sizeof(*q));
    read_keys(q, v);
    q->kind = RREAD_TOP;
    q->mode = mode;
    q->offset = offset;
    q->count = count;
    snprintf(q->nums[0], sizeof(q->nums[0]), "%" PRId64, offset);
    snprintf(q->nums[1], sizeof(q->nums[1]), "%" PRId64, count);
    const char *argv[] = {"FCALL_RO", "rk_top", "4", v->zkey, q->names, v->flag, q->live};
    q->argc = with_meta_key(q->fixed, argv, 7, v);
    q->fixed[q->argc++] = v->desc ? "1" : "0";
    q->fixed[q->argc++] = q->nums[0];
    q->fixed[q->argc++] = q->nums[1];
    q->fixed[q->argc++] = mode == RANK_DENSE ? "1" : "0";
    q->argv = q->fixed;
}

void rread_around(rread *q, const rview *v, int64_t user_id, int64_t above, int64_t below, rank_mode mode) {
    memset(q, 0, sizeof(*q));
    read_keys(q, v);
    q->kind = RREAD_AROUND;
    q->mode = mode;
    q->user_id = user_id;
    q->above = above;
    q->below = below;
    snprintf(q->nums[0], sizeof(q->nums[0]), "%" PRId64, user_id);
    snprintf(q->nums[1], sizeof(q->nums[1]), "%" PRId64, above);
    snprintf(q->nums[2], sizeof(q->nums[2]), "%" PRId64, below);
    const char *argv[] = {"FCALL_RO", "rk_around", "5", v->zkey, v->mkey, q->names, v->flag, q->live};
    q->argc = with_meta_key(q->fixed, argv, 8, v);
    q->fixed[q->argc++] = v->desc ? "1" : "0";
    q->fixed[q->argc++] = q->nums[0];
    q->fixed[q->argc++] = q->nums[1];
    q->fixed[q->argc++] = q->nums[2];
    q->fixed[q->argc++] = mode == RANK_DENSE ? "1" : "0";
    q->argv = q->fixed;
}

int rread_ranks(rread *q, const rview *v, const int64_t *uids, size_t nuids, rank_mode mode, rk_status *st) {
    memset(q, 0, sizeof(*q));
    read_keys(q, v);
    q->kind = RREAD_RANKS;
    q->mode = mode;
    q->uids = uids;
    q->nuids = nuids;
    q->argv = calloc(11 + nuids, sizeof(*q->argv));
    q->heap_nums = calloc(nuids ? nuids : 1, sizeof(*q->heap_nums));
    if (!q->argv || !q->heap_nums) {
        rread_done(q);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    const char *head[] = {"FCALL_RO", "rk_ranks", "5", v->zkey, v->mkey, q->names, v->flag, q->live};
    int at = with_meta_key(q->argv, head, 8, v);
    q->argv[at++] = v->desc ? "1" : "0";
    q->argv[at++] = mode == RANK_DENSE ? "1" : "0";
    for (size_t i = 0; i < nuids; i++) {
        snprintf(q->heap_nums[i], sizeof(q->heap_nums[i]), "%" PRId64, uids[i]);
        q->argv[at + (int)i] = q->heap_nums[i];
    }
    q->argc = at + (int)nuids;
    return RK_OK;
}

void rread_count(rread *q, const rview *v) {
    memset(q, 0, sizeof(*q));
    read_keys(q, v);
    q->kind = RREAD_COUNT;
    const char *argv[] = {"FCALL_RO", "rk_count", "3", v->zkey, v->flag, q->live};
    q->argc = 6;
    memcpy(q->fixed, argv, sizeof(argv));
    q->argv = q->fixed;
}

void rread_range(rread *q, const rview *v, const score_bounds *r, int64_t offset, int64_t count, rank_mode mode) {
    memset(q, 0, sizeof(*q));
    read_keys(q, v);
    q->kind = RREAD_RANGE;
    q->mode = mode;
    q->range = *r;
    q->offset = offset;
    q->count = count;
    /* Whole numbers within +-2^53: exact as Redis's doubles. */
    if (r->has_min)
        snprintf(q->nums[0], sizeof(q->nums[0]), "%" PRId64, r->min);
    else
        snprintf(q->nums[0], sizeof(q->nums[0]), "-inf");
    if (r->has_max)
        snprintf(q->nums[1], sizeof(q->nums[1]), "%" PRId64, r->max);
    else
        snprintf(q->nums[1], sizeof(q->nums[1]), "+inf");
    snprintf(q->nums[2], sizeof(q->nums[2]), "%" PRId64, offset);
    snprintf(q->nums[3], sizeof(q->nums[3]), "%" PRId64, count);
    const char *argv[] = {"FCALL_RO", "rk_range", "4", v->zkey, q->names, v->flag, q->live};
    q->argc = with_meta_key(q->fixed, argv, 7, v);
    q->fixed[q->argc++] = v->desc ? "1" : "0";
    for (int i = 0; i < 4; i++) q->fixed[q->argc++] = q->nums[i];
    q->fixed[q->argc++] = mode == RANK_DENSE ? "1" : "0";
    q->argv = q->fixed;
}

void rread_percentile(rread *q, const rview *v, int by_score, int64_t score, double pct) {
    memset(q, 0, sizeof(*q));
    read_keys(q, v);
    q->kind = RREAD_PERCENTILE;
    q->by_score = by_score;
    q->score = score;
    q->pct = pct;
    if (by_score)
        snprintf(q->nums[0], sizeof(q->nums[0]), "%" PRId64, score);
    else
        snprintf(q->nums[0], sizeof(q->nums[0]), "%.17g", pct); /* the double itself, read back exactly */
    const char *argv[] = {"FCALL_RO",          "rk_percentile",      "3",       v->zkey, v->flag, q->live,
                          v->desc ? "1" : "0", by_score ? "s" : "p", q->nums[0]};
    q->argc = 9;
    memcpy(q->fixed, argv, sizeof(argv));
    q->argv = q->fixed;
}

void rread_histogram(rread *q, const rview *v, const score_bounds *r, int64_t n, int64_t mark_uid) {
    memset(q, 0, sizeof(*q));
    read_keys(q, v);
    q->kind = RREAD_HISTOGRAM;
    q->range = *r;
    q->nbuckets = n;
    q->mark_uid = mark_uid;
    if (r->has_min) snprintf(q->nums[0], sizeof(q->nums[0]), "%" PRId64, r->min);
    if (r->has_max) snprintf(q->nums[1], sizeof(q->nums[1]), "%" PRId64, r->max);
    snprintf(q->nums[2], sizeof(q->nums[2]), "%" PRId64, n);
    if (mark_uid > 0) snprintf(q->nums[3], sizeof(q->nums[3]), "%" PRId64, mark_uid);
    const char *argv[] = {"FCALL_RO", "rk_histogram", "4",        v->zkey,    v->flag,    q->live,
                          v->mkey,    q->nums[0],     q->nums[1], q->nums[2], q->nums[3], v->desc ? "1" : "0"};
    q->argc = 12;
    memcpy(q->fixed, argv, sizeof(argv));
    q->argv = q->fixed;
}

int rread_retry_later(const redisReply *rep) {
    /* No functions: Redis restarted empty, and rankd has not yet loaded
     * them again (rk:live is missing too, then). */
    return rep->type == REDIS_REPLY_ERROR &&
           (strstr(rep->str, "REBUILDING") != NULL || strstr(rep->str, "Function not found") != NULL);
}

int rread_is_error(const redisReply *rep) { return rep->type == REDIS_REPLY_ERROR; }

static int parse_top(const redisReply *rep, const rread *q, rread_result *out, rk_status *st) {
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 || (rep->elements - 3) % 4)
        return rk_status_set(st, RK_INTERNAL, "unexpected reply from rk_top");
    out->size = as_int(rep->element[0]);
    int rc = parse_rows(rep, 3, &out->rows, &out->n, st);
    if (rc == RK_OK) assign(out->rows, out->n, q->mode, q->offset, as_int(rep->element[1]), as_int(rep->element[2]));
    return rc;
}

static int parse_around(const redisReply *rep, const rread *q, rread_result *out, rk_status *st) {
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 2)
        return rk_status_set(st, RK_INTERNAL, "unexpected reply from rk_around");
    out->size = as_int(rep->element[0]);
    int64_t offset = as_int(rep->element[1]);
    if (offset < 0) return rk_status_set(st, RK_NOT_FOUND, "user %" PRId64 " has no score on this board", q->user_id);
    if (rep->elements < 4 || (rep->elements - 4) % 4)
        return rk_status_set(st, RK_INTERNAL, "unexpected reply from rk_around");
    int rc = parse_rows(rep, 4, &out->rows, &out->n, st);
    if (rc == RK_OK) assign(out->rows, out->n, q->mode, offset, as_int(rep->element[2]), as_int(rep->element[3]));
    return rc;
}

static int parse_range(const redisReply *rep, const rread *q, rread_result *out, rk_status *st) {
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 5 || (rep->elements - 5) % 4)
        return rk_status_set(st, RK_INTERNAL, "unexpected reply from rk_range");
    out->size = as_int(rep->element[0]);
    out->in_range = as_int(rep->element[1]);
    out->before = as_int(rep->element[2]);
    int rc = parse_rows(rep, 5, &out->rows, &out->n, st);
    if (rc == RK_OK)
        assign(out->rows, out->n, q->mode, out->before + q->offset, as_int(rep->element[3]), as_int(rep->element[4]));
    return rc;
}

static int parse_percentile(const redisReply *rep, rread_result *out, rk_status *st) {
    if (rep->type != REDIS_REPLY_ARRAY || (rep->elements != 1 && rep->elements != 3))
        return rk_status_set(st, RK_INTERNAL, "unexpected reply from rk_percentile");
    out->size = as_int(rep->element[0]);
    out->rows = calloc(1, sizeof(*out->rows));
    if (out->rows == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if (rep->elements == 3) {
        out->n = 1;
        out->rows[0].ranked = 1;
        out->rows[0].score = as_int(rep->element[1]);
        out->rows[0].rank = out->rows[0].competition = as_int(rep->element[2]);
    }
    return RK_OK;
}

static int parse_histogram(const redisReply *rep, const rread *q, rread_result *out, rk_status *st) {
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements < 3 || (rep->elements - 3) % 3)
        return rk_status_set(st, RK_INTERNAL, "unexpected reply from rk_histogram");
    out->size = as_int(rep->element[0]);
    out->marked.user_id = q->mark_uid;
    if (as_int(rep->element[2]) > 0) {
        out->marked.ranked = 1;
        out->marked.score = as_int(rep->element[1]);
        out->marked.rank = out->marked.competition = as_int(rep->element[2]);
    }
    size_t n = (rep->elements - 3) / 3;
    out->buckets = calloc(n ? n : 1, sizeof(*out->buckets));
    if (out->buckets == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < n; i++) {
        out->buckets[i].min = as_int(rep->element[3 + 3 * i]);
        out->buckets[i].max = as_int(rep->element[4 + 3 * i]);
        out->buckets[i].count = as_int(rep->element[5 + 3 * i]);
    }
    out->nbuckets = n;
    return RK_OK;
}

static int parse_ranks(const redisReply *rep, const rread *q, rread_result *out, rk_status *st) {
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 1 + 7 * q->nuids)
        return rk_status_set(st, RK_INTERNAL, "unexpected reply from rk_ranks");
    rank_row *rows = rows_alloc(q->nuids, meta_bytes(rep, 1 + 6, 7, q->nuids));
    if (rows == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    char *pool = (char *)(rows + (q->nuids ? q->nuids : 1));
    out->size = as_int(rep->element[0]);
    for (size_t i = 0; i < q->nuids; i++) {
        redisReply **e = rep->element + 1 + 7 * i;
        row_meta(&rows[i], e[6], &pool);
        rows[i].user_id = q->uids[i];
        rows[i].ranked = e[1]->type == REDIS_REPLY_STRING;
        if (rows[i].ranked) {
            rows[i].score = as_int(e[1]);
            rows[i].position = as_int(e[4]);
            rows[i].competition = as_int(e[2]);
            rows[i].rank = q->mode == RANK_DENSE ? as_int(e[3]) : q->mode == RANK_UNIQUE ? as_int(e[4]) : as_int(e[2]);
        }
        as_str(e[5], rows[i].username, sizeof(rows[i].username));
    }
    out->rows = rows;
    out->n = q->nuids;
    return RK_OK;
}

int rread_parse(const rread *q, const redisReply *rep, rread_result *out, rk_status *st) {
    memset(out, 0, sizeof(*out));
    if (rep->type == REDIS_REPLY_ERROR) return rstore_reply_error(rep, st);
    switch (q->kind) {
        case RREAD_TOP: return parse_top(rep, q, out, st);
        case RREAD_AROUND: return parse_around(rep, q, out, st);
        case RREAD_RANKS: return parse_ranks(rep, q, out, st);
        case RREAD_COUNT: out->size = as_int(rep); return RK_OK;
        case RREAD_RANGE: return parse_range(rep, q, out, st);
        case RREAD_PERCENTILE: return parse_percentile(rep, out, st);
        case RREAD_HISTOGRAM: return parse_histogram(rep, q, out, st);
    }
    return rk_status_set(st, RK_INTERNAL, "unknown read");
}

/* A ranked read with its own round trip. */
int rstore_read(rstore *r, rread *q, rread_result *out, rk_status *st) {
    redisReply *rep = NULL;
    int rc = read_command(r, q->argc, q->argv, &rep, st);
    if (rc == RK_OK) {
        rc = rread_parse(q, rep, out, st);
        freeReplyObject(rep);
    }
    rread_done(q);
    return rc;
}

int rstore_top(rstore *r, const rview *v, int64_t offset, int64_t count, rank_mode mode, rank_row **rows, size_t *n,
               int64_t *size, rk_status *st) {
    rread q;
    rread_result res;
    rread_top(&q, v, offset, count, mode);
    int rc = rstore_read(r, &q, &res, st);
    if (rc != RK_OK) return rc;
    *rows = res.rows;
    *n = res.n;
    *size = res.size;
    return RK_OK;
}

int rstore_around(rstore *r, const rview *v, int64_t user_id, int64_t above, int64_t below, rank_mode mode,
                  rank_row **rows, size_t *n, int64_t *size, rk_status *st) {
    rread q;
    rread_result res;
    rread_around(&q, v, user_id, above, below, mode);
    int rc = rstore_read(r, &q, &res, st);
    if (rc != RK_OK) return rc;
    *rows = res.rows;
    *n = res.n;
    *size = res.size;
    return RK_OK;
}

int rstore_ranks(rstore *r, const rview *v, const int64_t *uids, size_t nuids, rank_mode mode, rank_row **rows,
                 int64_t *size, rk_status *st) {
    rread q;
    rread_result res;
    int rc = rread_ranks(&q, v, uids, nuids, mode, st);
    if (rc == RK_OK) rc = rstore_read(r, &q, &res, st);
    if (rc != RK_OK) return rc;
    *rows = res.rows;
    *size = res.size;
    return RK_OK;
}

int rstore_count(rstore *r, const rview *v, int64_t *count, rk_status *st) {
    rread q;
    rread_result res;
    rread_count(&q, v);
    int rc = rstore_read(r, &q, &res, st);
    if (rc == RK_OK) *count = res.size;
    return rc;
}

/* ---------------------------------------------------------------- boards, users, tokens */

void rstore_season_key(const board *b, char *out, size_t cap) {
    char tag[BOARD_TAG_MAX + 1];
    snprintf(out, cap, "rk:{%s}:season", tag_of(b, tag));
}

int rstore_set_season(rstore *r, const board *b, int64_t since_us, rk_status *st) {
    char key[RSTORE_KEY_MAX], since[24];
    int rc = RK_OK;
    snprintf(since, sizeof(since), "%" PRId64, since_us);
    for (int k = 0; rc == RK_OK && k < board_shards(b); k++) {
        board at = board_at_shard(b, k);
        rstore_season_key(&at, key, sizeof(key));
        const char *set[] = {"SET", key, since}, *del[] = {"DEL", key};
        /* A hot board's shards keep the key even at 0: it is how a restart
         * sees that each of them, on whichever master, still holds its
         * part (rebuild_missing). */
        rc = since_us > 0 || board_shards(b) > 1 ? simple(r, 3, set, st) : simple(r, 2, del, st);
    }
    return rc;
}

static int drop_shard(rstore *r, const board *b, rk_status *st);

int rstore_drop_board(rstore *r, const board *b, rk_status *st) {
    int rc = RK_OK;
    for (int k = 0; rc == RK_OK && k < board_shards(b); k++) {
        board at = board_at_shard(b, k);
        rc = drop_shard(r, &at, st);
    }
    return rc;
}

/* One shard of a board (the whole of a plain one): its functions' keys,
 * then everything else under its tag. */
static int drop_shard(rstore *r, const board *b, rk_status *st) {
    rview all, g;
    char ts[32], pattern[RSTORE_KEY_MAX], cursor[32] = "0";
    int rc;
    snprintf(ts, sizeof(ts), "%" PRId64, server_wall_us());
    rstore_view(b, WINDOW_ALL, 0, &all);
    /* The split layout leaves the global board to a rebuild (rebuild.h):
     * the call names only the board's keys. */
    int split = layout == RSTORE_SPLIT;
    rstore_view(split ? b : NULL, WINDOW_ALL, 0, &g);
    const char *argv[] = {"FCALL",  "rk_drop_board", "4",    all.zkey,
                          all.mkey, g.zkey,          g.mkey, board_in_global(b) && !split ? "1" : "0",
                          ts};
    if ((rc = simple(r, 9, argv, st)) != RK_OK) return rc;

    /* Every key of the board shares the {id} tag; SCAN finds the windows. */
    char tag[BOARD_TAG_MAX + 1];
    snprintf(pattern, sizeof(pattern), "rk:{%s}:*", tag_of(b, tag));
    do {
        const char *sargv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
        redisReply *rep = NULL;
        if ((rc = command(r, 6, sargv, NULL, &rep, st)) != RK_OK) return rc;
        if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(rep);
            return rk_status_set(st, RK_INTERNAL, "unexpected reply from SCAN");
        }
        as_str(rep->element[0], cursor, sizeof(cursor));
        redisReply *keys = rep->element[1];
        for (size_t i = 0; i < keys->elements && rc == RK_OK; i++) {
            const char *uargv[] = {"UNLINK", keys->element[i]->str};
            rc = simple(r, 2, uargv, st);
        }
        freeReplyObject(rep);
    } while (rc == RK_OK && strcmp(cursor, "0") != 0);
    return rc;
}

int rstore_remove_entry(rstore *r, const board *board_in, const rview *views, size_t nviews, const board *others,
                        size_t nothers, int64_t user_id, int *found, rk_status *st) {
    rview g;
    char uid[24], nwin[24], pb[RSTORE_KEY_MAX], nkeys[24], live[RSTORE_KEY_MAX], tag[BOARD_TAG_MAX + 1];
    board shard = board_for_player(board_in, user_id);
    const board *b = &shard;
    board_tag(b, tag, sizeof(tag));
    /* The split layout leaves the global board to a rebuild (rebuild.h):
     * the call names only the board's keys. */
    int split = layout == RSTORE_SPLIT;
    if (split) nothers = 0;
    size_t nk = 4 + 2 * nviews + nothers, at = 0;
    rview *all = calloc(nothers + 1, sizeof(*all));
    const char **argv = calloc(3 + nk + 4, sizeof(*argv));
    int rc;
    if (all == NULL || argv == NULL) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto out;
    }
    rstore_view(split ? b : NULL, WINDOW_ALL, 0, &g);
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    snprintf(nwin, sizeof(nwin), "%zu", nviews);
    snprintf(pb, sizeof(pb), "rk:{%s}:pb", tag);
    snprintf(nkeys, sizeof(nkeys), "%zu", nk);
    if (split)
        snprintf(live, sizeof(live), "rk:{%s}:live", tag);
    else
        snprintf(live, sizeof(live), "%s", LIVE_KEY);
    argv[at++] = "FCALL";
    argv[at++] = "rk_remove";
    argv[at++] = nkeys;
    argv[at++] = g.zkey;
    argv[at++] = g.mkey;
    argv[at++] = pb;
    argv[at++] = live;
    for (size_t i = 0; i < nviews; i++) {
        argv[at++] = views[i].zkey;
        argv[at++] = views[i].mkey;
    }
    for (size_t i = 0; i < nothers; i++) {
        rstore_view(&others[i], WINDOW_ALL, 0, &all[i]);
        argv[at++] = all[i].mkey;
    }
    argv[at++] = uid;
    argv[at++] = nwin;
    argv[at++] = board_in_global(b) && !split ? "1" : "0";
    argv[at++] = tag;
    redisReply *rep = NULL;
    if ((rc = command(r, (int)at, argv, NULL, &rep, st)) != RK_OK) goto out;
    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2 || rep->element[0]->type != REDIS_REPLY_INTEGER)
        rc = rk_status_set(st, RK_INTERNAL, "unexpected reply from rk_remove");
    else
        *found = rep->element[0]->integer != 0;
    freeReplyObject(rep);
    /* The entry is gone, and its record with it; under the board's
     * rebuild flag, so no submission comes between the two. */
    if (rc == RK_OK) rc = rstore_meta_set(r, b, user_id, NULL, st);
out:
    free(all);
    free(argv);
    return rc;
}

int rstore_restore_entry(rstore *r, const rview *v, const rview *global, const char *announce,
                         const rstore_load_row *row, int64_t ttl_s, rk_status *st) {
    char uid[24], val[24], tie[24], last[24], ttl[24];
    snprintf(uid, sizeof(uid), "%" PRId64, row->user_id);
    snprintf(val, sizeof(val), "%" PRId64, row->value);
    snprintf(tie, sizeof(tie), "%" PRId64, row->reached_us);
    snprintf(last, sizeof(last), "%" PRId64, row->last_us);
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_s > 0 ? ttl_s : 0);
    const char *argv[14];
    int argc = 0;
    argv[argc++] = "FCALL";
    argv[argc++] = "rk_restore";
    argv[argc++] = global ? "4" : "2";
    argv[argc++] = v->zkey;
    argv[argc++] = v->mkey;
    if (global) {
        argv[argc++] = global->zkey;
        argv[argc++] = global->mkey;
    }
    argv[argc++] = v->desc ? "1" : "0";
    argv[argc++] = uid;
    argv[argc++] = val;
    argv[argc++] = tie;
    argv[argc++] = last;
    argv[argc++] = ttl;
    argv[argc++] = announce ? announce : "";
    return simple(r, argc, argv, st);
}

int rstore_set_names(rstore *r, const int64_t *uids, char *const *names, size_t n, rk_status *st) {
    if (n == 0) return RK_OK;
    const char **a = calloc(2 + 2 * n, sizeof(*a)), **b = calloc(2 + 2 * n, sizeof(*b));
    num_text *nums = calloc(n, sizeof(*nums));
    int rc;
    if (!a || !b || !nums) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    a[0] = b[0] = "HSET";
    a[1] = NAMES_KEY;
    b[1] = UIDS_KEY;
    for (size_t i = 0; i < n; i++) {
        snprintf(nums[i], sizeof(nums[i]), "%" PRId64, uids[i]);
        a[2 + 2 * i] = b[3 + 2 * i] = nums[i];
        a[3 + 2 * i] = b[2 + 2 * i] = names[i];
    }
    if ((rc = simple(r, (int)(2 + 2 * n), a, st)) == RK_OK) rc = simple(r, (int)(2 + 2 * n), b, st);
done:
    free(a);
    free(b);
    free(nums);
    return rc;
}

/* HMGET key fields... into a reply the caller frees. */
static int hmget(rstore *r, const char *key, const char **fields, size_t n, redisReply **rep, rk_status *st) {
    const char **argv = calloc(n + 2, sizeof(*argv));
    if (argv == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    argv[0] = "HMGET";
    argv[1] = key;
    memcpy(argv + 2, fields, n * sizeof(*fields));
    int rc = command(r, (int)(n + 2), argv, NULL, rep, st);
    free(argv);
    if (rc == RK_OK && ((*rep)->type != REDIS_REPLY_ARRAY || (*rep)->elements != n)) {
        freeReplyObject(*rep);
        return rk_status_set(st, RK_INTERNAL, "unexpected reply from HMGET");
    }
    return rc;
}

int rstore_fill_names(rstore *r, rank_row *rows, size_t n, rk_status *st) {
    const char **ids = calloc(n ? n : 1, sizeof(*ids));
    num_text *nums = calloc(n ? n : 1, sizeof(*nums));
    size_t *at = calloc(n ? n : 1, sizeof(*at)), k = 0;
    int rc = ids && nums && at ? RK_OK : rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; rc == RK_OK && i < n; i++) {
        if (rows[i].username[0] || rows[i].user_id <= 0) continue;
        snprintf(nums[k], sizeof(nums[k]), "%" PRId64, rows[i].user_id);
        ids[k] = nums[k];
        at[k++] = i;
    }
    redisReply *rep = NULL;
    if (rc == RK_OK && k && (rc = hmget(r, NAMES_KEY, ids, k, &rep, st)) == RK_OK) {
        for (size_t j = 0; j < k; j++)
            if (rep->element[j]->type == REDIS_REPLY_STRING)
                as_str(rep->element[j], rows[at[j]].username, RSTORE_NAME_MAX);
        freeReplyObject(rep);
    }
    free(ids);
    free(nums);
    free(at);
    return rc;
}

int rstore_resolve_users(rstore *r, int64_t *ids, const char *const *names, size_t n, int *found,
                         char (*out_names)[RSTORE_NAME_MAX], rk_status *st) {
    const char **by_id = calloc(n ? n : 1, sizeof(*by_id)), **by_name = calloc(n ? n : 1, sizeof(*by_name));
    size_t *id_at = calloc(n ? n : 1, sizeof(*id_at)), *name_at = calloc(n ? n : 1, sizeof(*name_at));
    num_text *nums = calloc(n ? n : 1, sizeof(*nums));
    size_t ni = 0, nn = 0;
    redisReply *rep = NULL;
    int rc = RK_OK;
    if (!by_id || !by_name || !id_at || !name_at || !nums) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        found[i] = 0;
        if (ids[i] > 0) {
            snprintf(nums[i], sizeof(nums[i]), "%" PRId64, ids[i]);
            by_id[ni] = nums[i];
            id_at[ni++] = i;
        } else if (names[i] && names[i][0]) {
            by_name[nn] = names[i];
            name_at[nn++] = i;
        }
    }
    if (ni && (rc = hmget(r, NAMES_KEY, by_id, ni, &rep, st)) == RK_OK) {
        for (size_t j = 0; j < ni; j++) {
            redisReply *e = rep->element[j];
            if (e->type != REDIS_REPLY_STRING) continue;
            found[id_at[j]] = 1;
            as_str(e, out_names[id_at[j]], RSTORE_NAME_MAX);
        }
        freeReplyObject(rep);
    }
    if (rc == RK_OK && nn && (rc = hmget(r, UIDS_KEY, by_name, nn, &rep, st)) == RK_OK) {
        for (size_t j = 0; j < nn; j++) {
            redisReply *e = rep->element[j];
            if (e->type != REDIS_REPLY_STRING) continue;
            size_t i = name_at[j];
            found[i] = 1;
            ids[i] = as_int(e);
            snprintf(out_names[i], RSTORE_NAME_MAX, "%s", names[i]);
        }
        freeReplyObject(rep);
    }
done:
    free(by_id);
    free(by_name);
    free(id_at);
    free(name_at);
    free(nums);
    return rc;
}

int rstore_set_feeds(rstore *r, const board *b, rk_status *st) {
    char key[RSTORE_KEY_MAX], list[BOARD_AGG_MAX * (BOARD_ID_MAX + 1) + 1], tag[BOARD_TAG_MAX + 1];
    int rc = RK_OK;
    rstore_feeds_list(b, list, sizeof(list));
    for (int k = 0; rc == RK_OK && k < board_shards(b); k++) {
        board at = board_at_shard(b, k);
        snprintf(key, sizeof(key), "rk:{%s}:agg", tag_of(&at, tag));
        const char *set[] = {"SET", key, list}, *del[] = {"DEL", key};
        rc = list[0] ? simple(r, 3, set, st) : simple(r, 2, del, st);
    }
    return rc;
}

int rstore_stale_board(const rk_status *st) {
    return st->code == RK_UNAVAILABLE && strstr(st->message, "STALE_BOARD") != NULL;
}

int rstore_publish(rstore *r, const char *line, rk_status *st) {
    const char *argv[] = {"PUBLISH", "rk:ev", line};
    return simple(r, 3, argv, st);
}

/* The keys of an account (its name lower-cased: names differ by more
 * than case) and of a client address. */
static void login_keys(const char *username, const char *peer, char *ukey, char *akey, size_t cap) {
    int n = snprintf(ukey, cap, "rk:{login}:u:");
    for (const char *p = username; *p && (size_t)n + 1 < cap; p++, n++)
        ukey[n] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    ukey[n] = '\0';
    snprintf(akey, cap, "rk:{login}:a:%s", peer && peer[0] ? peer : "unknown");
}

/* Redis restarted empty and nobody has loaded the functions yet. */
static int login_unavailable(int rc, rk_status *st) {
    if (rc == RK_INTERNAL && strstr(st->message, "Function not found") != NULL)
        return rk_status_set(st, RK_UNAVAILABLE, "Redis's functions are being restored");
    return rc;
}

int rstore_login_try(rstore *r, const char *username, const char *peer, const rstore_throttle *t, int64_t *wait_ms,
                     rk_status *st) {
    char ukey[128], akey[128], w[24], uf[24], uc[24], af[24], ac[24];
    login_keys(username, peer, ukey, akey, sizeof(ukey));
    snprintf(w, sizeof(w), "%" PRId64, t->window_s);
    snprintf(uf, sizeof(uf), "%" PRId64, t->account_free);
    snprintf(uc, sizeof(uc), "%" PRId64, t->account_cap_ms);
    snprintf(af, sizeof(af), "%" PRId64, t->address_free);
    snprintf(ac, sizeof(ac), "%" PRId64, t->address_cap_ms);
    const char *argv[] = {"FCALL", "rk_login_try", "2", ukey, akey, w, uf, uc, af, ac};
    redisReply *rep = NULL;
    int rc = command(r, 10, argv, NULL, &rep, st);
    if (rc != RK_OK) return login_unavailable(rc, st);
    *wait_ms = as_int(rep);
    freeReplyObject(rep);
    return RK_OK;
}

int rstore_login_ok(rstore *r, const char *username, const char *peer, rk_status *st) {
    char ukey[128], akey[128];
    login_keys(username, peer, ukey, akey, sizeof(ukey));
    const char *argv[] = {"FCALL", "rk_login_ok", "2", ukey, akey};
    return login_unavailable(simple(r, 5, argv, st), st);
}

int rstore_lock_once(rstore *r, const char *key, int64_t ttl_s, int *taken, rk_status *st) {
    num_text ttl;
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_s);
    const char *argv[] = {"SET", key, "1", "NX", "EX", ttl};
    redisReply *rep = NULL;
    *taken = 0;
    int rc = command(r, 6, argv, NULL, &rep, st);
    if (rc == RK_OK) {
        *taken = rep->type == REDIS_REPLY_STATUS; /* "OK"; nil when someone holds it */
        freeReplyObject(rep);
    }
    return rc;
}

int rstore_idem_present(rstore *r, const board *b, const int64_t *uids, const char *const *keys, size_t n, int *present,
                        rk_status *st) {
    enum { CHUNK = 500 };
    const char **argv = calloc(CHUNK + 1, sizeof(*argv));
    char(*names)[RSTORE_KEY_MAX] = calloc(CHUNK, sizeof(*names));
    size_t *which = calloc(CHUNK, sizeof(*which));
    char tag[BOARD_TAG_MAX + 1];
    int rc = RK_OK;
    if (!argv || !names || !which) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    /* One MGET per shard (and CHUNK keys): a shard's keys share its tag. */
    for (int k = 0; rc == RK_OK && k < board_shards(b); k++) {
        board at = board_at_shard(b, k);
        tag_of(&at, tag);
        for (size_t i = 0; rc == RK_OK && i < n;) {
            size_t m = 0;
            argv[0] = "MGET";
            for (; i < n && m < CHUNK; i++) {
                if (board_shard_of(b, uids[i]) != k) continue;
                idem_key(tag, keys[i], names[m], RSTORE_KEY_MAX);
                argv[1 + m] = names[m];
                which[m++] = i;
            }
            if (m == 0) break;
            redisReply *rep = NULL;
            if ((rc = command(r, (int)(1 + m), argv, NULL, &rep, st)) != RK_OK) break;
            if (rep->type != REDIS_REPLY_ARRAY || rep->elements != m)
                rc = rk_status_set(st, RK_INTERNAL, "unexpected reply from MGET");
            for (size_t j = 0; rc == RK_OK && j < m; j++) present[which[j]] = rep->element[j]->type != REDIS_REPLY_NIL;
            freeReplyObject(rep);
        }
    }
    free(argv);
    free(names);
    free(which);
    return rc;
}

/* ---------------------------------------------------------------- rebuild primitives */

#define LOAD_CHUNK 300

int rstore_load(rstore *r, const char *zkey, const char *mkey, int desc, const rstore_load_row *rows, size_t n,
                rk_status *st) {
    const char **argv = calloc(6 + 4 * LOAD_CHUNK, sizeof(*argv));
    num_text *nums = calloc(4 * LOAD_CHUNK, sizeof(*nums));
    int rc = RK_OK;
    if (!argv || !nums) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t at = 0; rc == RK_OK && at < n; at += LOAD_CHUNK) {
        size_t m = n - at < LOAD_CHUNK ? n - at : LOAD_CHUNK, argc = 0;
        argv[argc++] = "FCALL";
        argv[argc++] = "rk_load";
        argv[argc++] = "2";
        argv[argc++] = zkey;
        argv[argc++] = mkey;
        argv[argc++] = desc ? "1" : "0";
        for (size_t i = 0; i < m; i++) {
            const rstore_load_row *row = &rows[at + i];
            snprintf(nums[4 * i], sizeof(nums[0]), "%" PRId64, row->user_id);
            snprintf(nums[4 * i + 1], sizeof(nums[0]), "%" PRId64, row->value);
            snprintf(nums[4 * i + 2], sizeof(nums[0]), "%" PRId64, row->reached_us);
            snprintf(nums[4 * i + 3], sizeof(nums[0]), "%" PRId64, row->last_us);
            for (int f = 0; f < 4; f++) argv[argc++] = nums[4 * i + f];
        }
        rc = simple(r, (int)argc, argv, st);
    }
    free(argv);
    free(nums);
    return rc;
}

int rstore_hset_ints(rstore *r, const char *key, const int64_t *fields, const int64_t *values, size_t n,
                     rk_status *st) {
    const char **argv = calloc(2 + 2 * LOAD_CHUNK, sizeof(*argv));
    num_text *nums = calloc(2 * LOAD_CHUNK, sizeof(*nums));
    int rc = RK_OK;
    if (!argv || !nums) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t at = 0; rc == RK_OK && at < n; at += LOAD_CHUNK) {
        size_t m = n - at < LOAD_CHUNK ? n - at : LOAD_CHUNK, argc = 0;
        argv[argc++] = "HSET";
        argv[argc++] = key;
        for (size_t i = 0; i < m; i++) {
            snprintf(nums[2 * i], sizeof(nums[0]), "%" PRId64, fields[at + i]);
            snprintf(nums[2 * i + 1], sizeof(nums[0]), "%" PRId64, values[at + i]);
            argv[argc++] = nums[2 * i];
            argv[argc++] = nums[2 * i + 1];
        }
        rc = simple(r, (int)argc, argv, st);
    }
    free(argv);
    free(nums);
    return rc;
}

int rstore_hset_texts(rstore *r, const char *key, const int64_t *fields, const char *const *values, size_t n,
                      rk_status *st) {
    const char **argv = calloc(2 + 2 * LOAD_CHUNK, sizeof(*argv));
    num_text *nums = calloc(LOAD_CHUNK, sizeof(*nums));
    int rc = RK_OK;
    if (!argv || !nums) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t at = 0; rc == RK_OK && at < n; at += LOAD_CHUNK) {
        size_t m = n - at < LOAD_CHUNK ? n - at : LOAD_CHUNK, argc = 0;
        argv[argc++] = "HSET";
        argv[argc++] = key;
        for (size_t i = 0; i < m; i++) {
            snprintf(nums[i], sizeof(nums[0]), "%" PRId64, fields[at + i]);
            argv[argc++] = nums[i];
            argv[argc++] = values[at + i];
        }
        rc = simple(r, (int)argc, argv, st);
    }
    free(argv);
    free(nums);
    return rc;
}

int rstore_meta_set(rstore *r, const board *b, int64_t user_id, const char *meta, rk_status *st) {
    char tag[BOARD_TAG_MAX + 1];
    board shard = board_for_player(b, user_id);
    const char *board_id = tag_of(&shard, tag);
    char key[RSTORE_KEY_MAX], uid[24];
    rstore_meta_key(board_id, key, sizeof(key));
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    if (meta == NULL || meta[0] == '\0') {
        const char *argv[] = {"HDEL", key, uid};
        return simple(r, 3, argv, st);
    }
    const char *argv[] = {"HSET", key, uid, meta};
    return simple(r, 4, argv, st);
}

int rstore_swap(rstore *r, const char *const *keys, const int64_t *ttl_s, size_t npairs, rk_status *st) {
    const char **argv = calloc(3 + 3 * npairs, sizeof(*argv));
    num_text *ttls = calloc(npairs + 1, sizeof(*ttls));
    char nkeys[24];
    int rc = RK_OK;
    if (!argv || !ttls) rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if (rc == RK_OK) {
        size_t argc = 0;
        snprintf(nkeys, sizeof(nkeys), "%zu", 2 * npairs);
        argv[argc++] = "FCALL";
        argv[argc++] = "rk_swap";
        argv[argc++] = nkeys;
        for (size_t i = 0; i < 2 * npairs; i++) argv[argc++] = keys[i];
        for (size_t i = 0; i < npairs; i++) {
            snprintf(ttls[i], sizeof(ttls[i]), "%" PRId64, ttl_s[i] > 0 ? ttl_s[i] : 0);
            argv[argc++] = ttls[i];
        }
        rc = simple(r, (int)argc, argv, st);
    }
    free(argv);
    free(ttls);
    return rc;
}

int rstore_del(rstore *r, const char *const *keys, size_t n, rk_status *st) {
    if (n == 0) return RK_OK;
    const char **argv = calloc(n + 3, sizeof(*argv));
    char nkeys[24];
    if (argv == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    /* rk_del: a member hash goes with its buckets (rankd.lua). */
    snprintf(nkeys, sizeof(nkeys), "%zu", n);
    argv[0] = "FCALL";
    argv[1] = "rk_del";
    argv[2] = nkeys;
    memcpy(argv + 3, keys, n * sizeof(*keys));
    int rc = simple(r, (int)(n + 3), argv, st);
    free(argv);
    return rc;
}

int rstore_view_outdated(rstore *r, const rview *v, int *old, rk_status *st) {
    int present = 0, rc = rstore_exists(r, v->zkey, &present, st);
    *old = 0;
    if (rc != RK_OK || !present) return rc;
    const char *argv[] = {"HEXISTS", v->mkey, "hi"};
    redisReply *rep = NULL;
    if ((rc = command(r, 3, argv, NULL, &rep, st)) != RK_OK) return rc;
    *old = rep->type == REDIS_REPLY_INTEGER && rep->integer == 0;
    freeReplyObject(rep);
    return RK_OK;
}

int rstore_exists(rstore *r, const char *key, int *yes, rk_status *st) {
    const char *argv[] = {"EXISTS", key};
    redisReply *rep = NULL;
    int rc = command(r, 2, argv, NULL, &rep, st);
    if (rc == RK_OK) {
        *yes = rep->type == REDIS_REPLY_INTEGER && rep->integer != 0;
        freeReplyObject(rep);
    }
    return rc;
}

int rstore_flag_take(rstore *r, const char *flag, const char *owner, int64_t ttl_s, int *won, rk_status *st) {
    char ttl[24];
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_s);
    const char *argv[] = {"SET", flag, owner, "NX", "EX", ttl};
    redisReply *rep = NULL;
    int rc = command(r, 6, argv, NULL, &rep, st);
    if (rc == RK_OK) {
        *won = rep->type == REDIS_REPLY_STATUS; /* OK; nil when taken */
        freeReplyObject(rep);
    }
    return rc;
}

int rstore_hold(rstore *r, const char *board_id, const char *target, const char *owner, int on, int64_t ttl_s,
                rk_status *st) {
    char key[RSTORE_KEY_MAX], ttl[24];
    snprintf(key, sizeof(key), "rk:{%s}:hold", board_id);
    snprintf(ttl, sizeof(ttl), "%" PRId64, ttl_s);
    if (!on) {
        const char *argv[] = {"HDEL", key, target};
        return simple(r, 3, argv, st);
    }
    const char *argv[] = {"HSET", key, target, owner};
    const char *expire[] = {"EXPIRE", key, ttl};
    int rc = simple(r, 4, argv, st);
    return rc == RK_OK ? simple(r, 3, expire, st) : rc;
}

int rstore_applied_reset(rstore *r, const char *target, const char *board_id, rk_status *st) {
    char stream[RSTORE_KEY_MAX], ap[RSTORE_KEY_MAX], mirror[RSTORE_KEY_MAX], last[RSTORE_ENTRY_ID_MAX] = "0-0";
    rstore_stream_key(board_id, stream, sizeof(stream));
    rstore_applied_key(target, ap, sizeof(ap));
    rstore_mirror_key(board_id, mirror, sizeof(mirror));
    const char *argv[] = {"XREVRANGE", stream, "+", "-", "COUNT", "1"};
    redisReply *rep = NULL;
    int rc = command(r, 6, argv, NULL, &rep, st);
    if (rc != RK_OK) return rc;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 && rep->element[0]->type == REDIS_REPLY_ARRAY &&
        rep->element[0]->elements >= 1 && rep->element[0]->element[0]->type == REDIS_REPLY_STRING)
        snprintf(last, sizeof(last), "%s", rep->element[0]->element[0]->str);
    freeReplyObject(rep);
    const char *set[] = {"HSET", ap, stream, last};
    const char *copy[] = {"HSET", mirror, target, last};
    if ((rc = simple(r, 4, set, st)) != RK_OK) return rc;
    return simple(r, 4, copy, st);
}

int rstore_flag_clear(rstore *r, const char *flag, const char *owner, rk_status *st) {
    const char *argv[] = {"FCALL", "rk_unflag", "1", flag, owner};
    return simple(r, 5, argv, st);
}

/* n commands in one round trip (on a cluster one per master they go to:
 * one, when they share a slot); replies[i] each command's, the caller's
 * to free, all NULL on a failure. */
static int many(rstore *r, size_t n, const int *argcs, const char *const *const *argvs, redisReply **replies,
                rk_status *st) {
    int rc = r->route ? RK_OK : reconnect(r, st);
    for (size_t i = 0; i < n; i++) replies[i] = NULL;
    if (rc != RK_OK) return rc;
    if (r->route) return rroute_exec(r->route, n, argcs, argvs, NULL, replies, st);
    for (size_t i = 0; i < n; i++) redisAppendCommandArgv(r->ctx, argcs[i], (const char **)argvs[i], NULL);
    for (size_t i = 0; i < n; i++) {
        void *rep = NULL;
        if (redisGetReply(r->ctx, &rep) != REDIS_OK || rep == NULL) {
            rc = rk_status_set(st, RK_UNAVAILABLE, "Redis connection failed: %s", r->ctx->errstr);
            redisFree(r->ctx);
            r->ctx = NULL;
            for (size_t k = 0; k < i; k++) {
                freeReplyObject(replies[k]);
                replies[k] = NULL;
            }
            return rc;
        }
        replies[i] = rep;
    }
    return RK_OK;
}

int rstore_read_many(rstore *r, size_t n, const int *argcs, const char *const *const *argvs, redisReply **replies,
                     rk_status *st) {
    for (int waited = 0;; waited += 50) {
        int rc = r->pipe ? rpipe_exec(r->pipe, n, argcs, argvs, replies, st) : many(r, n, argcs, argvs, replies, st);
        if (rc != RK_OK) return rc;
        size_t bad = n;
        int busy = 0;
        for (size_t i = 0; i < n; i++) {
            if (replies[i]->type != REDIS_REPLY_ERROR) continue;
            const char *e = replies[i]->str ? replies[i]->str : "";
            if (strstr(e, "REBUILDING") || strstr(e, "Function not found"))
                busy = 1;
            else if (bad == n)
                bad = i;
        }
        if (bad < n) rc = rstore_reply_error(replies[bad], st);
        if (rc == RK_OK && !busy) return RK_OK;
        for (size_t i = 0; i < n; i++) {
            freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
        if (rc != RK_OK) return rc;
        /* As read_command: a shard being rebuilt is waited for a while. */
        if (waited >= REBUILD_WAIT_MS)
            return rk_status_set(st, RK_UNAVAILABLE, "the board is being rebuilt from PostgreSQL; retry shortly");
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

int rstore_pair(rstore *r, int argc0, const char **argv0, int argc1, const char **argv1, rk_status *st) {
    int argcs[] = {argc0, argc1};
    const char *const *argvs[] = {argv0, argv1};
    redisReply *reps[2];
    int rc = many(r, 2, argcs, argvs, reps, st);
    for (int i = 0; i < 2 && rc == RK_OK; i++)
        if (reps[i]->type == REDIS_REPLY_ERROR) rc = rstore_reply_error(reps[i], st);
    for (int i = 0; i < 2; i++)
        if (reps[i]) freeReplyObject(reps[i]);
    return rc;
}

/* ---------------------------------------------------------------- the events channel */

#define EVENTS_CHANNEL "rk:ev" /* see rankd.lua */

int rstore_sub_open(rstore *r, rk_status *st) {
    int rc = reconnect(r, st);
    if (rc != RK_OK) return rc;
    int done = 0;
    if (redisAppendCommand(r->ctx, "SUBSCRIBE %s", EVENTS_CHANNEL) != REDIS_OK) done = -1;
    while (done == 0)
        if (redisBufferWrite(r->ctx, &done) != REDIS_OK) done = -1;
    if (done < 0) {
        rk_status_set(st, RK_UNAVAILABLE, "cannot subscribe: %s", r->ctx->errstr);
        redisFree(r->ctx);
        r->ctx = NULL;
        return RK_UNAVAILABLE;
    }
    return RK_OK;
}

int rstore_sub_poll(rstore *r, int timeout_ms, void (*fn)(void *arg, int subscribed, char *line), void *arg,
                    rk_status *st) {
    if (r->ctx == NULL) return rk_status_set(st, RK_UNAVAILABLE, "not subscribed");
    struct pollfd pfd = {.fd = r->ctx->fd, .events = POLLIN};
    if (poll(&pfd, 1, timeout_ms) <= 0) return RK_OK;
    if (redisBufferRead(r->ctx) != REDIS_OK) {
        rk_status_set(st, RK_UNAVAILABLE, "%s", r->ctx->errstr);
        redisFree(r->ctx);
        r->ctx = NULL;
        return RK_UNAVAILABLE;
    }
    void *p = NULL;
    while (redisGetReplyFromReader(r->ctx, &p) == REDIS_OK && p) {
        redisReply *m = p;
        if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 && m->element[0]->type == REDIS_REPLY_STRING) {
            if (strcmp(m->element[0]->str, "message") == 0 && m->element[2]->type == REDIS_REPLY_STRING)
                fn(arg, 0, m->element[2]->str);
            else if (strcmp(m->element[0]->str, "subscribe") == 0)
                fn(arg, 1, NULL);
        }
        freeReplyObject(m);
        p = NULL;
    }
    return RK_OK;
}
