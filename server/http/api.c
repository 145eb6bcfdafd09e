/*
 * api.c - the live page's player view and score distribution over HTTP.
 *
 * The other routes of http.c answer from memory; these need Redis (a rank,
 * a histogram) or PostgreSQL (the submissions), and nng's HTTP threads must
 * not wait on either. So a handler here only reads and checks the query on
 * nng's thread and queues it; one thread of this module's own, with its
 * own store connections, runs the read and finishes nng's aio. One thread
 * is enough for people looking at a page (each read is one round trip);
 * the queue is bounded (API_QUEUE_MAX) and a request beyond it is answered
 * 503 at once, so anonymous viewers cannot pile up work or memory.
 *
 * The reads are the service layer's, the same the RPCs Rank, Distribution
 * and History make: boards_get for the board, users_resolve for the name,
 * ranking_read for rank, percentile and histogram (Redis, or the history
 * when Redis cannot answer), and the history's page of one player's
 * submissions. Nothing here speaks to a driver.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>

#include "api.h"
#include "boards.h"
#include "log.h"
#include "query.h"
#include "reply.h"
#include "ranking.h"
#include "ranks.h"
#include "users.h"
#include "validate.h"

#define HISTORY_LIMIT_DEFAULT 100
#define HISTORY_LIMIT_MAX 1000 /* History's own maximum */
#define BUCKETS_DEFAULT 20
#define BUCKETS_MAX 100        /* Distribution's own maximum */
#define REPLY_MAX (256 * 1024) /* far above 1000 submissions' JSON */

static const char *const window_names[WINDOW_KINDS] = {"all", "daily", "weekly", "monthly"};

/* One queued request: its query, read and checked on nng's thread. */
typedef struct api_req {
    api_kind kind;
    nng_aio *aio;
    char board[BOARD_ID_MAX + 1];
    char name[USERNAME_MAX + 1]; /* "" when none (distribution) */
    window_kind window;
    int64_t limit;   /* history */
    int64_t buckets; /* distribution */
} api_req;

struct api {
    server *srv;
    worker w; /* this thread's stores and arena, as a worker pool's thread has */
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    api_req queue[API_QUEUE_MAX]; /* a ring: head is the oldest */
    size_t head, len;
    int stopping;
};

/* ---------------------------------------------------------------- JSON out */

/* A reply being written: malloc'ed, grown as needed up to REPLY_MAX; a
 * write past it sets bad, and the reply becomes a 500. */
typedef struct jbuf {
    char *s;
    size_t n, cap;
    int bad;
} jbuf;

static void jb_grow(jbuf *j, size_t need) {
    if (j->bad || j->n + need < j->cap) return;
    size_t cap = j->cap ? j->cap : 1024;
    while (cap <= j->n + need) cap *= 2;
    char *s = cap <= REPLY_MAX ? realloc(j->s, cap) : NULL;
    if (s == NULL) {
        j->bad = 1;
        return;
    }
    j->s = s;
    j->cap = cap;
}

__attribute__((format(printf, 2, 3))) static void jb_printf(jbuf *j, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len < 0) j->bad = 1;
    jb_grow(j, (size_t)len + 1);
    if (j->bad) return;
    va_start(ap, fmt);
    vsnprintf(j->s + j->n, j->cap - j->n, fmt, ap);
    va_end(ap);
    j->n += (size_t)len;
}

/* s as a JSON string. */
static void jb_str(jbuf *j, const char *s) {
    jb_printf(j, "\"");
    for (; *s && !j->bad; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            jb_printf(j, "\\%c", c);
        else if (c < 0x20)
            jb_printf(j, "\\u%04x", c);
        else
            jb_printf(j, "%c", c);
    }
    jb_printf(j, "\"");
}

/* ---------------------------------------------------------------- answers */

static void answer(nng_aio *aio, uint16_t status, const char *body, size_t len) {
    http_reply(aio, status, "application/json", body, len);
}

/* The HTTP status of each canonical code a read can end with; 500 for the
 * rest. */
static const uint16_t http_of[] = {
    [RK_INVALID_ARGUMENT] = 400,  [RK_FAILED_PRECONDITION] = 400, [RK_OUT_OF_RANGE] = 400,       [RK_NOT_FOUND] = 404,
    [RK_DEADLINE_EXCEEDED] = 504, [RK_UNAVAILABLE] = 503,         [RK_RESOURCE_EXHAUSTED] = 503,
};

static void answer_error(nng_aio *aio, const rk_status *st) {
    uint16_t status = 500;
    if (st->code > 0 && (size_t)st->code < sizeof(http_of) / sizeof(http_of[0]) && http_of[st->code])
        status = http_of[st->code];
    jbuf j = {0};
    jb_printf(&j, "{\"ok\":false,\"error\":");
    jb_str(&j, st->message[0] ? st->message : "internal error");
    jb_printf(&j, "}\n");
    if (j.bad)
        answer(aio, 500, "{\"ok\":false,\"error\":\"out of memory\"}\n", 37);
    else
        answer(aio, status, j.s, j.n);
    free(j.s);
}

/* ---------------------------------------------------------------- the query */

/* A count in [lo, hi]: digits only; "" gives def. */
static int count_of(const char *field, const char *s, int64_t lo, int64_t hi, int64_t def, int64_t *out,
                    rk_status *st) {
    if (s[0] == '\0') {
        *out = def;
        return RK_OK;
    }
    int64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > hi)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "%s must be a number from %lld to %lld", field, (long long)lo,
                                 (long long)hi);
        v = v * 10 + (*p - '0');
    }
    if (v < lo || v > hi)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "%s must be a number from %lld to %lld", field, (long long)lo,
                             (long long)hi);
    *out = v;
    return RK_OK;
}

/* Reads the query of uri into r. Values are cut one byte past their
 * longest legal form, so a longer one fails its check instead of passing
 * cut short. */
static int parse(api_kind kind, const char *uri, api_req *r, rk_status *st) {
    char board[BOARD_ID_MAX + 2], name[USERNAME_MAX + 2], win[16], num[16];
    int rc;
    query_value(uri, "board", board, sizeof(board));
    if ((rc = validate_id("board", board, st)) != RK_OK) return rc;
    memcpy(r->board, board, sizeof(r->board) - 1);
    r->board[sizeof(r->board) - 1] = '\0';

    query_value(uri, "name", name, sizeof(name));
    if ((name[0] || kind != API_DISTRIBUTION) && (rc = validate_username(name, st)) != RK_OK)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "name: %s", st->message);
    memcpy(r->name, name, sizeof(r->name) - 1);
    r->name[sizeof(r->name) - 1] = '\0';

    query_value(uri, "window", win, sizeof(win));
    int k = 0;
    while (k < WINDOW_KINDS && strcmp(win[0] ? win : "all", window_names[k]) != 0) k++;
    if (k == WINDOW_KINDS)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "window must be all, daily, weekly or monthly");
    r->window = (window_kind)k;

    query_value(uri, "limit", num, sizeof(num));
    if ((rc = count_of("limit", num, 1, HISTORY_LIMIT_MAX, HISTORY_LIMIT_DEFAULT, &r->limit, st)) != RK_OK) return rc;
    query_value(uri, "buckets", num, sizeof(num));
    if ((rc = count_of("buckets", num, 1, BUCKETS_MAX, BUCKETS_DEFAULT, &r->buckets, st)) != RK_OK) return rc;
    r->kind = kind;
    return RK_OK;
}

/* ---------------------------------------------------------------- the reads */

/* What every read starts from: the board (NULL: the global board) and its
 * window, and the player when one is named. */
typedef struct api_ctx {
    api *a;
    const api_req *r;
    rpc_call call; /* for users_resolve: this thread's stores, no caller */
    board b;
    const board *bp;
    int64_t uid;
    char username[USER_NAME_MAX];
} api_ctx;

static int board_of(api_ctx *c, rk_status *st) {
    const api_req *r = c->r;
    if (strcmp(r->board, BOARD_GLOBAL_ID) == 0) {
        if (r->window != WINDOW_ALL)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "the global board has only the all-time window");
        c->bp = NULL;
        return RK_OK;
    }
    int rc = boards_get(c->a->srv->boards, c->a->w.pg, r->board, &c->b, st);
    if (rc == RK_NOT_FOUND) return rk_status_set(st, RK_NOT_FOUND, "no board %s", r->board);
    if (rc != RK_OK) return rc;
    if (!(c->b.windows & WINDOW_BIT(r->window)))
        return rk_status_set(st, RK_INVALID_ARGUMENT, "board %s keeps no %s window", r->board, window_names[r->window]);
    c->bp = &c->b;
    return RK_OK;
}

static int player_of(api_ctx *c, rk_status *st) {
    int64_t ids[1] = {0};
    const char *names[1] = {c->r->name};
    int found = 0;
    char resolved[1][USER_NAME_MAX];
    int rc = users_resolve(&c->call, ids, names, 1, &found, resolved, st);
    if (rc != RK_OK) return rc;
    if (!found) return rk_status_set(st, RK_NOT_FOUND, "no player %s", c->r->name);
    c->uid = ids[0];
    snprintf(c->username, sizeof(c->username), "%s", resolved[0]);
    return RK_OK;
}

static void head_json(jbuf *j, const api_ctx *c) {
    jb_printf(j, "{\"ok\":true,\"board\":");
    jb_str(j, c->r->board);
    jb_printf(j, ",\"window\":\"%s\"", window_names[c->r->window]);
}

/* GET /api/player: rank, score and "top x%" on the board's window. */
static int run_player(api_ctx *c, jbuf *out, rk_status *st) {
    int rc, history = 0;
    if ((rc = board_of(c, st)) != RK_OK || (rc = player_of(c, st)) != RK_OK) return rc;
    rview v;
    rread q;
    rread_result res;
    rstore_view(c->bp, c->r->window, server_time(), &v);
    if ((rc = rread_ranks(&q, &v, &c->uid, 1, RANK_COMPETITION, st)) != RK_OK) return rc;
    if ((rc = ranking_read(c->a->w.redis, c->a->w.pg, c->a->srv->recovery, c->bp, c->r->window, server_time(), &q, 0,
                           &res, &history, st)) != RK_OK)
        return rc;
    const rank_row *row = res.n ? &res.rows[0] : NULL;
    if (row == NULL || !row->ranked) {
        free(res.rows);
        return rk_status_set(st, RK_NOT_FOUND, "%s has no score on board %s (%s)", c->username, c->r->board,
                             window_names[c->r->window]);
    }
    head_json(out, c);
    jb_printf(out, ",\"user_id\":%lld,\"username\":", (long long)c->uid);
    jb_str(out, c->username);
    jb_printf(out, ",\"rank\":%lld,\"score\":%lld,\"percentile\":%.6g,\"board_size\":%lld,\"from_history\":%s",
              (long long)row->rank, (long long)row->score, ranks_percentile(row->competition, res.size),
              (long long)res.size, history ? "true" : "false");
    /* The entry's metadata: a JSON object's text rankd checked when it
     * was submitted, so it goes in as it is. The page shows every key of
     * "meta" and nothing when it is absent. */
    if (row->meta && row->meta[0]) jb_printf(out, ",\"meta\":%s", row->meta);
    jb_printf(out, "}\n");
    free(res.rows);
    return RK_OK;
}

/* GET /api/history: the player's latest `limit` submissions, oldest first
 * (the order a chart draws them in). */
static int run_history(api_ctx *c, jbuf *out, rk_status *st) {
    int rc;
    if (strcmp(c->r->board, BOARD_GLOBAL_ID) == 0)
        return rk_status_set(st, RK_INVALID_ARGUMENT,
                             "the global board keeps no submissions of its own; ask for one of the game's boards");
    if ((rc = board_of(c, st)) != RK_OK || (rc = player_of(c, st)) != RK_OK) return rc;
    pg_history_row *rows = NULL;
    size_t n = 0;
    int64_t total = 0;
    if ((rc = pgstore_history_page(c->a->w.pg, c->b.id, c->uid, PG_UNBOUNDED, PG_UNBOUNDED, 0, c->r->limit, &rows, &n,
                                   &total, st)) != RK_OK)
        return rc;
    head_json(out, c);
    jb_printf(out, ",\"user_id\":%lld,\"username\":", (long long)c->uid);
    jb_str(out, c->username);
    jb_printf(out, ",\"order\":\"%s\",\"total\":%lld,\"entries\":[", c->b.higher_is_better ? "higher" : "lower",
              (long long)total);
    for (size_t i = n; i-- > 0;) { /* the store gives newest first */
        const pg_history_row *h = &rows[i];
        jb_printf(out, "%s{\"score\":%lld,\"at_us\":%lld", i + 1 == n ? "" : ",", (long long)h->score,
                  (long long)h->submitted_at_us);
        /* Only what does not count is marked: removed by an admin, or held
         * for review (or rejected there). */
        if (h->removal_id) jb_printf(out, ",\"removed\":true");
        if (h->held) jb_printf(out, ",\"held\":\"%s\"", h->held == 1 ? "held" : "rejected");
        jb_printf(out, "}");
    }
    jb_printf(out, "]}\n");
    free(rows);
    return RK_OK;
}

/* GET /api/distribution: the histogram of the window's scores, with the
 * named player's bucket when they have a score in it. */
static int run_distribution(api_ctx *c, jbuf *out, rk_status *st) {
    int rc, history = 0;
    if ((rc = board_of(c, st)) != RK_OK) return rc;
    if (c->r->name[0] && (rc = player_of(c, st)) != RK_OK) return rc;
    rview v;
    rread q;
    rread_result res;
    score_bounds all = {0};
    rstore_view(c->bp, c->r->window, server_time(), &v);
    rread_histogram(&q, &v, &all, c->r->buckets, c->uid);
    if ((rc = ranking_read(c->a->w.redis, c->a->w.pg, c->a->srv->recovery, c->bp, c->r->window, server_time(), &q, 0,
                           &res, &history, st)) != RK_OK)
        return rc;
    head_json(out, c);
    jb_printf(out, ",\"board_size\":%lld,\"from_history\":%s,\"buckets\":[", (long long)res.size,
              history ? "true" : "false");
    int64_t mark = -1;
    for (size_t i = 0; i < res.nbuckets; i++) {
        const rread_bucket *k = &res.buckets[i];
        jb_printf(out, "%s{\"min\":%lld,\"max\":%lld,\"count\":%lld}", i ? "," : "", (long long)k->min,
                  (long long)k->max, (long long)k->count);
        if (c->uid && res.marked.ranked && k->min <= res.marked.score && res.marked.score <= k->max) mark = (int64_t)i;
    }
    jb_printf(out, "]");
    if (c->uid) {
        jb_printf(out, ",\"player\":{\"user_id\":%lld,\"username\":", (long long)c->uid);
        jb_str(out, c->username);
        if (res.marked.ranked)
            jb_printf(out, ",\"score\":%lld,\"rank\":%lld,\"percentile\":%.6g,\"bucket\":%lld",
                      (long long)res.marked.score, (long long)res.marked.competition,
                      ranks_percentile(res.marked.competition, res.size), (long long)mark);
        jb_printf(out, "}");
    }
    jb_printf(out, "}\n");
    free(res.rows);
    free(res.buckets);
    return RK_OK;
}

static int (*const runs[API_KINDS])(api_ctx *, jbuf *, rk_status *) = {
    [API_PLAYER] = run_player,
    [API_HISTORY] = run_history,
    [API_DISTRIBUTION] = run_distribution,
};

static void run(api *a, const api_req *r) {
    rk_status st;
    rk_status_clear(&st);
    api_ctx c = {.a = a, .r = r};
    c.call.w = &a->w;
    c.call.srv = a->srv;
    c.call.deadline_us = server_now_us() + (int64_t)a->srv->cfg.default_deadline_ms * 1000;
    jbuf out = {0};
    int rc = runs[r->kind](&c, &out, &st);
    if (rc == RK_OK && out.bad) rc = rk_status_set(&st, RK_INTERNAL, "the answer is too large");
    if (rc == RK_OK)
        answer(r->aio, 200, out.s, out.n);
    else
        answer_error(r->aio, &st);
    free(out.s);
    arena_reset(&a->w.arena);
}

/* ---------------------------------------------------------------- the thread */

static void *api_main(void *arg) {
    api *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (a->len == 0 && !a->stopping) pthread_cond_wait(&a->cv, &a->mu);
        if (a->stopping) break;
        api_req r = a->queue[a->head];
        a->head = (a->head + 1) % API_QUEUE_MAX;
        a->len--;
        pthread_mutex_unlock(&a->mu);
        run(a, &r);
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

void api_ask(api *a, api_kind kind, nng_aio *aio) {
    nng_http_req *req = nng_aio_get_input(aio, 0);
    api_req r = {.aio = aio};
    rk_status st;
    rk_status_clear(&st);
    if (parse(kind, nng_http_req_get_uri(req), &r, &st) != RK_OK) {
        answer_error(aio, &st);
        return;
    }
    pthread_mutex_lock(&a->mu);
    int queued = !a->stopping && a->len < API_QUEUE_MAX;
    if (queued) {
        a->queue[(a->head + a->len) % API_QUEUE_MAX] = r;
        a->len++;
        pthread_cond_signal(&a->cv);
    }
    pthread_mutex_unlock(&a->mu);
    if (!queued) {
        rk_status_set(&st, RK_UNAVAILABLE, "too many requests waiting; try again in a moment");
        answer_error(aio, &st);
    }
}

int api_start(api **out, server *srv, rk_status *st) {
    *out = NULL;
    api *a = calloc(1, sizeof(*a));
    if (a == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    rk_status ignore;
    a->srv = srv;
    a->w.srv = srv;
    arena_init(&a->w.arena);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    *out = a;
    /* A store that is down now is retried on each request. */
    rstore_open(&a->w.redis, srv->cfg.redis, &ignore);
    pgstore_open(&a->w.pg, srv->cfg.postgres, &ignore);
    if (a->w.redis == NULL || a->w.pg == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if (pthread_create(&a->thread, NULL, api_main, a) != 0)
        return rk_status_set(st, RK_INTERNAL, "cannot start the page's API thread");
    a->started = 1;
    return RK_OK;
}

void api_stop(api *a) {
    if (a == NULL) return;
    pthread_mutex_lock(&a->mu);
    a->stopping = 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (a->started) pthread_join(a->thread, NULL);
    a->started = 0;
    /* Nothing takes the queue any more: what waits in it is answered now,
     * or nng would wait for it forever. */
    rk_status st;
    rk_status_set(&st, RK_UNAVAILABLE, "rankd is stopping");
    pthread_mutex_lock(&a->mu);
    for (; a->len > 0; a->len--, a->head = (a->head + 1) % API_QUEUE_MAX) answer_error(a->queue[a->head].aio, &st);
    pthread_mutex_unlock(&a->mu);
}

void api_free(api *a) {
    if (a == NULL) return;
    rstore_close(a->w.redis);
    pgstore_close(a->w.pg);
    arena_free(&a->w.arena);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->cv);
    free(a);
}
