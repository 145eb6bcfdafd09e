/*
 * rank-bench.c - load generator for rankd: drives a running server through
 * the client library and reports throughput and latency.
 *
 * Design. Concurrency is threads x in-flight: each bench thread owns one
 * rk_client (one connection) and K request slots, and keeps every free
 * slot busy with an asynchronous call (the generated *_async stubs). The
 * completion callback, which runs on the library's threads, records the
 * latency into the owning thread's histograms and hands the slot back.
 * Nothing is shared between bench threads but the stop flag and the
 * request counter; the reporter merges the per-thread histograms.
 *
 * Closed loop (no --rate): a slot is refilled as soon as its answer comes
 * back, and latency is measured from the real send. Open loop (--rate R):
 * each thread has a schedule of intended send times, R/threads per second;
 * latency is measured from the intended time, so when the server stalls,
 * the requests that should have gone out meanwhile are charged the wait
 * instead of silently not being sent (no coordinated omission).
 *
 * Requests sent during the warm-up are not counted. With --requests N,
 * exactly N requests are counted (sent after the warm-up), so the per-
 * operation counts add up to N; with --duration, requests whose send time
 * falls in the window are counted, and the run ends when the last answers.
 *
 * What it must never do: retry. A failed call is counted under its status
 * code and the slot moves on, so errors stay visible.
 */
#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <rankd/client.h>

#include "bench.h"

#define DEFAULT_URL "tcp://127.0.0.1:7400"
#define DEFAULT_MIX "submit=70,batch=5,top=10,rank=10,around=3,ranks=2"
#define NAME_MAX_LEN 80
#define IDLE_WAIT_NS 10000000ull /* re-check the stop flag at least this often */
#define POLL_NS 50000000ull      /* the reporter looks this often */

/* ---------------------------------------------------------------- run state */

struct bthread;

/* One request slot: at most one call in flight at a time. */
typedef struct bslot {
    struct bthread *t;
    bw_op op;
    int measured;
    uint64_t start_ns; /* send time, or intended send time in open loop */
    struct bslot *next_free;
} bslot;

typedef struct run {
    const bench_cfg *cfg;
    const char *key;
    const bench_tokens *tokens; /* psubmit's players, each with its login token */
    bw_zipf players, token_players;
    uint64_t t0_ns, measure_ns, end_ns; /* end_ns: UINT64_MAX with --requests */
    _Atomic uint64_t claimed;           /* measured requests handed out */
    _Atomic int stop;
    _Atomic uint64_t last_done_ns; /* completion time of the last measured call */
    _Atomic unsigned finished;     /* threads that have drained */
} run;

typedef struct bthread {
    run *r;
    unsigned idx;
    pthread_t tid;
    rk_client *client;
    bw_rng rng;
    bench_stats *stats;
    _Atomic uint64_t completed; /* every call, warm-up included, for the progress line */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bslot *slots, *free;
    unsigned inflight;
    /* Request scratch, used only by the issuing thread. */
    Rankd__BatchEntry *entries;
    Rankd__BatchEntry **entry_ptrs;
    char (*names)[NAME_MAX_LEN];
    char **name_ptrs;
} bthread;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void store_max(_Atomic uint64_t *a, uint64_t v) {
    uint64_t cur = atomic_load(a);
    while (v > cur && !atomic_compare_exchange_weak(a, &cur, v)) {
    }
}

/* ---------------------------------------------------------------- completions */

static void release_slot(bthread *t, bslot *s) {
    pthread_mutex_lock(&t->mu);
    s->next_free = t->free;
    t->free = s;
    t->inflight--;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

/* Records one finished call; `items` scores were accepted. */
static void complete(bslot *s, int code, uint64_t items) {
    bthread *t = s->t;
    uint64_t now = now_ns();
    if (s->measured) {
        bench_stats *st = t->stats;
        if (code < 0 || code >= BENCH_CODES) code = RK_UNKNOWN;
        if (code == RK_OK) hdr_record(&st->lat[s->op], now - s->start_ns);
        atomic_fetch_add(&st->items[s->op], items);
        atomic_fetch_add(&st->codes[s->op][code], 1);
        atomic_fetch_add(&st->done[s->op], 1);
        store_max(&t->r->last_done_ns, now);
    }
    atomic_fetch_add(&t->completed, 1);
    release_slot(t, s);
}

static void on_submit(const rk_status *st, Rankd__SubmitReply *reply, void *arg) {
    rk_reply_free(reply);
    complete(arg, st->code, st->code == RK_OK);
}

/* A batch call can succeed while entries fail: the call then counts under
 * the first failing entry's code, and only the accepted scores as items. */
static void on_batch(const rk_status *st, Rankd__SubmitBatchReply *reply, void *arg) {
    int code = st->code;
    uint64_t ok = 0;
    if (reply)
        for (size_t i = 0; i < reply->n_results; i++) {
            int c = reply->results[i]->has_code ? reply->results[i]->code : RK_OK;
            if (c == RK_OK)
                ok++;
            else if (code == RK_OK)
                code = c;
        }
    rk_reply_free(reply);
    complete(arg, code, ok);
}

static void on_list(const rk_status *st, Rankd__RankListReply *reply, void *arg) {
    rk_reply_free(reply);
    complete(arg, st->code, 0);
}

static void on_rank(const rk_status *st, Rankd__RankReply *reply, void *arg) {
    rk_reply_free(reply);
    complete(arg, st->code, 0);
}

static void on_count(const rk_status *st, Rankd__CountReply *reply, void *arg) {
    rk_reply_free(reply);
    complete(arg, st->code, 0);
}

static void on_report(const rk_status *st, Rankd__ReportReply *reply, void *arg) {
    rk_reply_free(reply);
    complete(arg, st->code, 0);
}

static void on_pctl(const rk_status *st, Rankd__PercentileReply *reply, void *arg) {
    rk_reply_free(reply);
    complete(arg, st->code, 0);
}

static void on_hist(const rk_status *st, Rankd__DistributionReply *reply, void *arg) {
    rk_reply_free(reply);
    complete(arg, st->code, 0);
}

static void on_stand(const rk_status *st, Rankd__StandingReply *reply, void *arg) {
    rk_reply_free(reply);
    complete(arg, st->code, 0);
}

static void on_incr(const rk_status *st, Rankd__IncrReply *reply, void *arg) {
    rk_reply_free(reply);
    complete(arg, st->code, 0);
}

/* ---------------------------------------------------------------- requests */

static char *pick_player(bthread *t, char *buf) {
    const run *r = t->r;
    bench_player_name(r->cfg, bw_zipf_next(&r->players, &t->rng), buf, NAME_MAX_LEN);
    return buf;
}

/* With --ids, calls name the player by user id instead (psubmit does not). */
static int64_t pick_id(bthread *t) { return t->r->cfg->ids[bw_zipf_next(&t->r->players, &t->rng)]; }

static int64_t pick_score(bthread *t) { return (int64_t)bw_rng_below(&t->rng, (uint64_t)t->r->cfg->score_max); }

/* Each issues one call of its kind for slot s on `board`; the requests live
 * on the stack because the library packs them before returning. */
typedef int (*issue_fn)(bthread *t, bslot *s, char *board);

static int issue_submit(bthread *t, bslot *s, char *board) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    char name[NAME_MAX_LEN];
    rk_call_opts o = {.token = t->r->key};
    req.board_id = board;
    if (t->r->cfg->ids) {
        req.has_user_id = 1;
        req.user_id = pick_id(t);
    } else {
        req.username = pick_player(t, name);
    }
    req.has_score = 1;
    req.score = pick_score(t);
    return rk_scores_submit_async(t->client, &req, &o, on_submit, s);
}

/* The same call as issue_submit, authenticated as the player it names. */
static int issue_psubmit(bthread *t, bslot *s, char *board) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    char name[NAME_MAX_LEN];
    uint64_t i = bw_zipf_next(&t->r->token_players, &t->rng);
    rk_call_opts o = {.token = t->r->tokens->token[i]};
    bench_player_name(t->r->cfg, i, name, sizeof(name));
    req.board_id = board;
    req.username = name;
    req.has_score = 1;
    req.score = pick_score(t);
    return rk_scores_submit_async(t->client, &req, &o, on_submit, s);
}

static int issue_batch(bthread *t, bslot *s, char *board) {
    Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    rk_call_opts o = {.token = t->r->key};
    unsigned n = t->r->cfg->batch_size;
    for (unsigned i = 0; i < n; i++) {
        Rankd__BatchEntry e = RANKD__BATCH_ENTRY__INIT;
        e.board_id = board;
        if (t->r->cfg->ids) {
            e.has_user_id = 1;
            e.user_id = pick_id(t);
        } else {
            e.username = pick_player(t, t->names[i]);
        }
        e.has_score = 1;
        e.score = pick_score(t);
        t->entries[i] = e;
        t->entry_ptrs[i] = &t->entries[i];
    }
    req.n_entries = n;
    req.entries = t->entry_ptrs;
    return rk_scores_submit_batch_async(t->client, &req, &o, on_batch, s);
}

static int issue_top(bthread *t, bslot *s, char *board) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    req.board_id = board;
    req.has_limit = 1;
    req.limit = 10;
    return rk_ranking_top_async(t->client, &req, NULL, on_list, s);
}

static int issue_rank(bthread *t, bslot *s, char *board) {
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    char name[NAME_MAX_LEN];
    req.board_id = board;
    if (t->r->cfg->ids) {
        req.has_user_id = 1;
        req.user_id = pick_id(t);
    } else {
        req.username = pick_player(t, name);
    }
    return rk_ranking_rank_async(t->client, &req, NULL, on_rank, s);
}

static int issue_around(bthread *t, bslot *s, char *board) {
    Rankd__AroundRequest req = RANKD__AROUND_REQUEST__INIT;
    char name[NAME_MAX_LEN];
    req.board_id = board;
    if (t->r->cfg->ids) {
        req.has_user_id = 1;
        req.user_id = pick_id(t);
    } else {
        req.username = pick_player(t, name);
    }
    req.has_above = req.has_below = 1;
    req.above = req.below = 5;
    return rk_ranking_around_async(t->client, &req, NULL, on_list, s);
}

static int issue_ranks(bthread *t, bslot *s, char *board) {
    Rankd__RanksOfRequest req = RANKD__RANKS_OF_REQUEST__INIT;
    unsigned n = t->r->cfg->list_size;
    int64_t ids[1000]; /* --list-size is at most 1000 */
    req.board_id = board;
    if (t->r->cfg->ids) {
        for (unsigned i = 0; i < n; i++) ids[i] = pick_id(t);
        req.n_user_ids = n;
        req.user_ids = ids;
    } else {
        for (unsigned i = 0; i < n; i++) t->name_ptrs[i] = pick_player(t, t->names[i]);
        req.n_usernames = n;
        req.usernames = t->name_ptrs;
    }
    return rk_ranking_ranks_of_async(t->client, &req, NULL, on_list, s);
}

static int issue_count(bthread *t, bslot *s, char *board) {
    Rankd__CountRequest req = RANKD__COUNT_REQUEST__INIT;
    req.board_id = board;
    return rk_ranking_count_async(t->client, &req, NULL, on_count, s);
}

/* The last 24 hours: PostgreSQL's history, unless that is exactly a window Redis holds. */
static int issue_report(bthread *t, bslot *s, char *board) {
    Rankd__ReportRequest req = RANKD__REPORT_REQUEST__INIT;
    int64_t now = (int64_t)time(NULL);
    req.board_id = board;
    req.has_from = req.has_to = req.has_limit = 1;
    req.from = now - 86400;
    req.to = now + 1;
    req.limit = 10;
    return rk_history_report_async(t->client, &req, NULL, on_report, s);
}

/* One hot counter of the game, whatever the board: the load this
 * measures is many game servers counting the same thing. */
static int issue_incr(bthread *t, bslot *s, char *board) {
    (void)board;
    Rankd__IncrRequest req = RANKD__INCR_REQUEST__INIT;
    char name[NAME_MAX_LEN];
    rk_call_opts o = {.token = t->r->key};
    bench_counter_name(t->r->cfg, name, sizeof(name));
    req.game = (char *)t->r->cfg->game;
    req.name = name;
    req.has_delta = 1;
    req.delta = 1;
    return rk_counters_incr_async(t->client, &req, &o, on_incr, s);
}

static int issue_pctl(bthread *t, bslot *s, char *board) {
    Rankd__PercentileRequest req = RANKD__PERCENTILE_REQUEST__INIT;
    req.board_id = board;
    req.has_percentile = 1;
    req.percentile = 10;
    return rk_ranking_percentile_async(t->client, &req, NULL, on_pctl, s);
}

static int issue_hist(bthread *t, bslot *s, char *board) {
    Rankd__DistributionRequest req = RANKD__DISTRIBUTION_REQUEST__INIT;
    req.board_id = board;
    req.has_buckets = 1;
    req.buckets = 10;
    return rk_ranking_distribution_async(t->client, &req, NULL, on_hist, s);
}

/* Scores are uniform in [0, score-max): the upper half holds about half
 * the players, so the page is always full. */
static int issue_srange(bthread *t, bslot *s, char *board) {
    Rankd__ScoreRangeRequest req = RANKD__SCORE_RANGE_REQUEST__INIT;
    req.board_id = board;
    req.has_min_score = req.has_limit = 1;
    req.min_score = t->r->cfg->score_max / 2;
    req.limit = 10;
    return rk_ranking_score_range_async(t->client, &req, NULL, on_list, s);
}

static int issue_stand(bthread *t, bslot *s, char *board) {
    (void)board;
    Rankd__StandingRequest req = RANKD__STANDING_REQUEST__INIT;
    char name[NAME_MAX_LEN];
    if (t->r->cfg->ids) {
        req.has_user_id = 1;
        req.user_id = pick_id(t);
    } else {
        req.username = pick_player(t, name);
    }
    return rk_ranking_standing_async(t->client, &req, NULL, on_stand, s);
}

static const issue_fn issuers[BW_NOPS] = {
    [BW_SUBMIT] = issue_submit, [BW_PSUBMIT] = issue_psubmit, [BW_BATCH] = issue_batch, [BW_TOP] = issue_top,
    [BW_RANK] = issue_rank,     [BW_AROUND] = issue_around,   [BW_RANKS] = issue_ranks, [BW_COUNT] = issue_count,
    [BW_REPORT] = issue_report, [BW_INCR] = issue_incr,       [BW_PCTL] = issue_pctl,   [BW_HIST] = issue_hist,
    [BW_SRANGE] = issue_srange, [BW_STAND] = issue_stand,
};

static void issue(bthread *t, bslot *s) {
    char board[NAME_MAX_LEN];
    const bench_cfg *cfg = t->r->cfg;
    s->op = bw_mix_pick(&cfg->mix, &t->rng);
    bench_board_id(cfg, (unsigned)bw_rng_below(&t->rng, cfg->boards), board, sizeof(board));
    int rc = issuers[s->op](t, s, board);
    if (rc != RK_OK) complete(s, rc, 0); /* the call never started: count it here */
}

/* ---------------------------------------------------------------- bench threads */

static void wait_until(bthread *t, uint64_t deadline_ns) {
    struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000ull),
                          .tv_nsec = (long)(deadline_ns % 1000000000ull)};
    pthread_cond_timedwait(&t->cv, &t->mu, &ts);
}

/* Takes a free slot when one is free and the schedule allows; NULL once
 * the run is over. Called with t->mu held. */
static bslot *next_slot(bthread *t, double next_ns) {
    run *r = t->r;
    for (;;) {
        if (atomic_load(&r->stop)) return NULL;
        uint64_t now = now_ns();
        if (now >= r->end_ns) {
            atomic_store(&r->stop, 1);
            return NULL;
        }
        uint64_t idle = now + IDLE_WAIT_NS;
        if (next_ns > 0 && (double)now < next_ns) {
            wait_until(t, (uint64_t)next_ns < idle ? (uint64_t)next_ns : idle);
            continue;
        }
        if (t->free) {
            bslot *s = t->free;
            t->free = s->next_free;
            t->inflight++;
            return s;
        }
        wait_until(t, idle);
    }
}

static void *thread_main(void *arg) {
    bthread *t = arg;
    run *r = t->r;
    const bench_cfg *cfg = r->cfg;
    double period = cfg->rate > 0 ? 1e9 * cfg->threads / cfg->rate : 0;
    /* Threads' schedules are staggered so their sends interleave. */
    double next = period > 0 ? (double)r->t0_ns + period * t->idx / cfg->threads : 0;

    for (;;) {
        pthread_mutex_lock(&t->mu);
        bslot *s = next_slot(t, next);
        pthread_mutex_unlock(&t->mu);
        if (s == NULL) break;
        uint64_t sent = period > 0 ? (uint64_t)next : now_ns();
        if (period > 0) next += period;
        if (sent >= r->end_ns) {
            release_slot(t, s);
            atomic_store(&r->stop, 1);
            break;
        }
        s->measured = sent >= r->measure_ns;
        if (s->measured && cfg->requests && atomic_fetch_add(&r->claimed, 1) >= cfg->requests) {
            release_slot(t, s);
            atomic_store(&r->stop, 1);
            break;
        }
        s->start_ns = sent;
        issue(t, s);
    }
    pthread_mutex_lock(&t->mu);
    while (t->inflight > 0) pthread_cond_wait(&t->cv, &t->mu);
    pthread_mutex_unlock(&t->mu);
    atomic_fetch_add(&r->finished, 1);
    return NULL;
}

static int thread_init(bthread *t, run *r, unsigned idx, rk_status *st) {
    const bench_cfg *cfg = r->cfg;
    unsigned scratch = cfg->batch_size > cfg->list_size ? cfg->batch_size : cfg->list_size;
    pthread_condattr_t ca;
    memset(t, 0, sizeof(*t));
    t->r = r;
    t->idx = idx;
    atomic_init(&t->completed, 0);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&t->mu, NULL);
    bw_rng_seed(&t->rng, cfg->seed * 1000003u + idx);
    t->stats = malloc(sizeof(*t->stats));
    t->slots = calloc(cfg->inflight, sizeof(*t->slots));
    t->entries = calloc(scratch, sizeof(*t->entries));
    t->entry_ptrs = calloc(scratch, sizeof(*t->entry_ptrs));
    t->names = calloc(scratch, sizeof(*t->names));
    t->name_ptrs = calloc(scratch, sizeof(*t->name_ptrs));
    if (!t->stats || !t->slots || !t->entries || !t->entry_ptrs || !t->names || !t->name_ptrs)
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    bench_stats_init(t->stats);
    for (unsigned i = 0; i < cfg->inflight; i++) {
        t->slots[i].t = t;
        t->slots[i].next_free = t->free;
        t->free = &t->slots[i];
    }
    int rc = rk_client_open_tls(&t->client, cfg->url, &cfg->tls, st);
    if (rc == RK_OK) rk_client_set_deadline(t->client, cfg->deadline_ms);
    return rc;
}

static void thread_free(bthread *t) {
    rk_client_close(t->client);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t->stats);
    free(t->slots);
    free(t->entries);
    free(t->entry_ptrs);
    free(t->names);
    free(t->name_ptrs);
}

/* ---------------------------------------------------------------- the server's use of the machine */

/* CPU seconds (utime + stime of the whole process) and context switches
 * (summed over its threads; /proc/PID/status alone has the main thread's)
 * of a local process, now. Returns 0, or -1 when /proc cannot tell. */
static int server_sample(long pid, bench_server_use *out) {
    char path[64], line[512];
    unsigned long long ut, st;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return -1;
    char *ok = fgets(line, sizeof(line), f);
    fclose(f);
    char *p = ok ? strrchr(line, ')') : NULL; /* the command name may hold spaces */
    /* After ") ": state, then fields 4..13, then utime (14) and stime (15). */
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return -1;
    out->cpu_s = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    out->switches = 0;
    snprintf(path, sizeof(path), "/proc/%ld/task", pid);
    DIR *d = opendir(path);
    if (d == NULL) return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        char tpath[320];
        snprintf(tpath, sizeof(tpath), "/proc/%ld/task/%s/status", pid, e->d_name);
        FILE *t = fopen(tpath, "r");
        if (t == NULL) continue; /* the thread ended meanwhile */
        unsigned long long n;
        while (fgets(line, sizeof(line), t))
            if (sscanf(line, "voluntary_ctxt_switches: %llu", &n) == 1 ||
                sscanf(line, "nonvoluntary_ctxt_switches: %llu", &n) == 1)
                out->switches += n;
        fclose(t);
    }
    closedir(d);
    out->valid = 1;
    return 0;
}

/* ---------------------------------------------------------------- the run */

static void sleep_until(uint64_t ns) {
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
    }
}

static uint64_t total_completed(bthread *ts, unsigned n) {
    uint64_t c = 0;
    for (unsigned i = 0; i < n; i++) c += atomic_load(&ts[i].completed);
    return c;
}

/* Runs the load and reports it; returns the process exit status. */
static int bench_run(const bench_cfg *cfg, const char *key, const bench_tokens *tokens) {
    run r;
    rk_status st;
    int status = 1;
    unsigned started = 0;
    memset(&r, 0, sizeof(r));
    r.cfg = cfg;
    r.key = key;
    r.tokens = tokens;
    atomic_init(&r.claimed, 0);
    atomic_init(&r.stop, 0);
    atomic_init(&r.last_done_ns, 0);
    atomic_init(&r.finished, 0);
    if (bw_zipf_init(&r.players, cfg->players ? cfg->players : 1, cfg->zipf, &st) != RK_OK ||
        bw_zipf_init(&r.token_players, tokens->n ? tokens->n : 1, cfg->zipf, &st) != RK_OK) {
        fprintf(stderr, "rank-bench: %s\n", st.message);
        return 2;
    }
    bthread *ts = calloc(cfg->threads, sizeof(*ts));
    bench_stats *sum = malloc(sizeof(*sum));
    if (ts == NULL || sum == NULL) {
        fprintf(stderr, "rank-bench: out of memory\n");
        free(ts);
        free(sum);
        return 2;
    }
    for (unsigned i = 0; i < cfg->threads; i++)
        if (thread_init(&ts[i], &r, i, &st) != RK_OK) {
            fprintf(stderr, "rank-bench: %s: %s\n", rk_code_name(st.code), st.message);
            goto done;
        }

    bench_server_use server_before = {0}, server_use = {0};
    if (cfg->server_pid > 0 && server_sample(cfg->server_pid, &server_before) != 0)
        fprintf(stderr, "rank-bench: cannot read /proc of server pid %ld\n", cfg->server_pid);
    r.t0_ns = now_ns();
    r.measure_ns = r.t0_ns + (uint64_t)(cfg->warmup_s * 1e9);
    r.end_ns = cfg->requests ? UINT64_MAX : r.measure_ns + (uint64_t)(cfg->duration_s * 1e9);
    for (; started < cfg->threads; started++)
        if (pthread_create(&ts[started].tid, NULL, thread_main, &ts[started]) != 0) {
            fprintf(stderr, "rank-bench: cannot start thread %u\n", started);
            atomic_store(&r.stop, 1);
            break;
        }

    /* Progress once a second until every thread has drained. */
    uint64_t tick = r.t0_ns + 1000000000ull, prev = 0;
    while (atomic_load(&r.finished) < started) {
        sleep_until(now_ns() + POLL_NS);
        if (now_ns() < tick) continue;
        uint64_t c = total_completed(ts, started);
        if (!cfg->quiet) {
            uint64_t done = 0, errors = 0;
            bench_stats_init(sum);
            for (unsigned i = 0; i < started; i++) bench_stats_merge(sum, ts[i].stats);
            for (int op = 0; op < BW_NOPS; op++) {
                done += atomic_load(&sum->done[op]);
                errors += atomic_load(&sum->done[op]) - atomic_load(&sum->codes[op][RK_OK]);
            }
            bench_progress(((double)tick - (double)r.measure_ns) / 1e9, (double)(c - prev), done, errors, sum);
        }
        prev = c;
        tick += 1000000000ull;
    }
    for (unsigned i = 0; i < started; i++) pthread_join(ts[i].tid, NULL);
    if (started < cfg->threads) goto done;
    if (server_before.valid && server_sample(cfg->server_pid, &server_use) == 0) {
        server_use.cpu_s -= server_before.cpu_s;
        server_use.switches -= server_before.switches;
    }

    bench_stats_init(sum);
    for (unsigned i = 0; i < cfg->threads; i++) bench_stats_merge(sum, ts[i].stats);
    uint64_t last = atomic_load(&r.last_done_ns);
    double elapsed = last > r.measure_ns ? (double)(last - r.measure_ns) / 1e9 : 0.0;
    double ratio = bench_report(cfg, sum, elapsed, total_completed(ts, cfg->threads), &server_use);
    status = ratio > cfg->max_errors ? 1 : 0;
    if (status && !cfg->quiet)
        fprintf(stderr, "rank-bench: error ratio %.4f is above --max-errors %.4f\n", ratio, cfg->max_errors);
done:
    for (unsigned i = 0; i < cfg->threads; i++)
        if (ts[i].r) thread_free(&ts[i]);
    free(ts);
    free(sum);
    return status;
}

/* ---------------------------------------------------------------- command line */

static void usage(FILE *f) {
    fprintf(f, "usage: rank-bench [options]\n"
               "\n"
               "Load:\n"
               "  --url URL            rankd address(es) (default $RANKD_URL, else " DEFAULT_URL ")\n"
               "  --tls-ca FILE        CA certificate of tls+tcp:// servers (default $RANKD_TLS_CA)\n"
               "  --tls-cert FILE      client certificate, for servers that want one (default $RANKD_TLS_CERT)\n"
               "  --tls-key FILE       its private key (default $RANKD_TLS_KEY)\n"
               "  --tls-server-name N  name the server's certificate must carry (default $RANKD_TLS_SERVER_NAME,\n"
               "                       else the address's host)\n"
               "  --threads T          bench threads, one connection each (default 2)\n"
               "  --inflight K         calls in flight per thread (default 16)\n"
               "  --duration S         measure for S seconds (default 10)\n"
               "  --requests N         measure exactly N requests instead\n"
               "  --warmup S           run S seconds before measuring (default 1)\n"
               "  --rate R             open loop: R requests/s in all, latency from the intended send\n"
               "                       time (default: closed loop, as fast as possible)\n"
               "  --deadline-ms MS     per-call deadline (default 5000)\n"
               "Workload:\n"
               "  --mix LIST           weights, default " DEFAULT_MIX "\n"
               "                       (operations: submit psubmit batch top rank around ranks count report\n"
               "                       incr percentile distribution score-range standing; psubmit is submit\n"
               "                       with the player's own login token, incr adds 1 to the counter\n"
               "                       bench-s<N> of the game, N its --counter-shards)\n"
               "  --counter-shards N   sub-keys of the counter incr increments, 1..64 (default 1)\n"
               "  --batch-size N       scores per batch submit (default 100)\n"
               "  --list-size N        players per ranks-of call (default 10)\n"
               "  --players N          players bench-p0.. (default 1000)\n"
               "  --boards N           boards bench-0.. (default 1)\n"
               "  --board-shards S     boards set up are hot boards of S shards, 1..16 (default 1: plain)\n"
               "  --zipf S             player popularity exponent, 0 = uniform (default 0)\n"
               "  --score-max N        scores are uniform in [0, N) (default 1000000)\n"
               "  --seed N             random seed (default 1)\n"
               "  --board-prefix P     (default bench-)   --player-prefix P (default bench-p)\n"
               "  --ids FILE           name players by user id, not username: line i of FILE is player\n"
               "                       i's id (every operation but psubmit, which names the player\n"
               "                       its token belongs to)\n"
               "  --game G             game of the boards and the API key (default bench)\n"
               "  --windows LIST       extra windows of new boards: daily,weekly,monthly (default none)\n"
               "Setup:\n"
               "  --admin USER         admin for setup (default $RANKD_ADMIN_USER)\n"
               "  --admin-password P   (default $RANKD_ADMIN_PASSWORD)\n"
               "  --key KEY            API key to submit with (default: create one as the admin)\n"
               "  --reuse              boards and players exist: skip creating and seeding them\n"
               "  --no-seed            do not give every player a score at setup\n"
               "  --player-submit      boards set up accept players' own scores (needed by psubmit)\n"
               "  --token-players N    players psubmit logs in as, bench-p0.. (default 100)\n"
               "  --setup-only         set up, then exit\n"
               "Output:\n"
               "  --json               one JSON object on stdout\n"
               "  --quiet              no progress lines\n"
               "  --max-errors F       exit 1 when errors/requests > F (default 0.01)\n"
               "  --server-pid PID     also report this local server's CPU time and context switches\n"
               "                       per request (from /proc, read when the load starts and ends)\n"
               "\n"
               "Sign-up hashes every password with scrypt: start rankd with --scrypt-n 1024\n"
               "for benchmarks with many players.\n");
}

static int num(const char *opt, const char *v, double lo, double hi, double *out) {
    char *end;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || !(d >= lo && d <= hi)) {
        fprintf(stderr, "rank-bench: %s must be a number in %g..%g, not \"%s\"\n", opt, lo, hi, v);
        return -1;
    }
    *out = d;
    return 0;
}

enum {
    O_URL = 256,
    O_THREADS,
    O_INFLIGHT,
    O_DURATION,
    O_REQUESTS,
    O_WARMUP,
    O_RATE,
    O_MIX,
    O_BATCH,
    O_LIST,
    O_COUNTER_SHARDS,
    O_PLAYERS,
    O_BOARDS,
    O_ZIPF,
    O_SCOREMAX,
    O_SEED,
    O_DEADLINE,
    O_BPREFIX,
    O_PPREFIX,
    O_GAME,
    O_WINDOWS,
    O_ADMIN,
    O_ADMINPW,
    O_KEY,
    O_REUSE,
    O_NOSEED,
    O_PSUBMIT,
    O_TOKENS,
    O_SETUP,
    O_JSON,
    O_QUIET,
    O_MAXERR,
    O_SERVERPID,
    O_IDS,
    O_TLS_CA,
    O_TLS_CERT,
    O_TLS_KEY,
    O_TLS_NAME,
    O_BOARD_SHARDS,
    O_HELP
};

static const struct option long_opts[] = {
    {"url", 1, 0, O_URL},
    {"threads", 1, 0, O_THREADS},
    {"inflight", 1, 0, O_INFLIGHT},
    {"duration", 1, 0, O_DURATION},
    {"requests", 1, 0, O_REQUESTS},
    {"warmup", 1, 0, O_WARMUP},
    {"rate", 1, 0, O_RATE},
    {"mix", 1, 0, O_MIX},
    {"batch-size", 1, 0, O_BATCH},
    {"list-size", 1, 0, O_LIST},
    {"counter-shards", 1, 0, O_COUNTER_SHARDS},
    {"players", 1, 0, O_PLAYERS},
    {"boards", 1, 0, O_BOARDS},
    {"board-shards", 1, 0, O_BOARD_SHARDS},
    {"zipf", 1, 0, O_ZIPF},
    {"score-max", 1, 0, O_SCOREMAX},
    {"seed", 1, 0, O_SEED},
    {"deadline-ms", 1, 0, O_DEADLINE},
    {"board-prefix", 1, 0, O_BPREFIX},
    {"player-prefix", 1, 0, O_PPREFIX},
    {"game", 1, 0, O_GAME},
    {"windows", 1, 0, O_WINDOWS},
    {"admin", 1, 0, O_ADMIN},
    {"admin-password", 1, 0, O_ADMINPW},
    {"key", 1, 0, O_KEY},
    {"reuse", 0, 0, O_REUSE},
    {"no-seed", 0, 0, O_NOSEED},
    {"player-submit", 0, 0, O_PSUBMIT},
    {"token-players", 1, 0, O_TOKENS},
    {"setup-only", 0, 0, O_SETUP},
    {"json", 0, 0, O_JSON},
    {"quiet", 0, 0, O_QUIET},
    {"max-errors", 1, 0, O_MAXERR},
    {"server-pid", 1, 0, O_SERVERPID},
    {"ids", 1, 0, O_IDS},
    {"tls-ca", 1, 0, O_TLS_CA},
    {"tls-cert", 1, 0, O_TLS_CERT},
    {"tls-key", 1, 0, O_TLS_KEY},
    {"tls-server-name", 1, 0, O_TLS_NAME},
    {"help", 0, 0, O_HELP},
    {0, 0, 0, 0},
};

/* Fills cfg from argv; returns 0, 1 after --help, or -1 on a usage error. */
static int parse_args(int argc, char **argv, bench_cfg *cfg) {
    const char *mix = DEFAULT_MIX;
    double d;
    rk_status st;
    *cfg = (bench_cfg){.url = getenv("RANKD_URL") ? getenv("RANKD_URL") : DEFAULT_URL,
                       .threads = 2,
                       .inflight = 16,
                       .duration_s = 10,
                       .warmup_s = 1,
                       .batch_size = 100,
                       .list_size = 10,
                       .counter_shards = 1,
                       .players = 1000,
                       .boards = 1,
                       .board_shards = 1,
                       .score_max = 1000000,
                       .seed = 1,
                       .deadline_ms = 5000,
                       .board_prefix = "bench-",
                       .player_prefix = "bench-p",
                       .game = "bench",
                       .windows = "",
                       .admin_user = getenv("RANKD_ADMIN_USER"),
                       .admin_password = getenv("RANKD_ADMIN_PASSWORD"),
                       .token_players = 100,
                       .seed_scores = 1,
                       .max_errors = 0.01,
                       .tls = {.ca_file = getenv("RANKD_TLS_CA"),
                               .cert_file = getenv("RANKD_TLS_CERT"),
                               .key_file = getenv("RANKD_TLS_KEY"),
                               .server_name = getenv("RANKD_TLS_SERVER_NAME")}};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
            case O_URL: cfg->url = optarg; break;
            case O_MIX: mix = optarg; break;
            case O_BPREFIX: cfg->board_prefix = optarg; break;
            case O_PPREFIX: cfg->player_prefix = optarg; break;
            case O_GAME: cfg->game = optarg; break;
            case O_WINDOWS: cfg->windows = optarg; break;
            case O_ADMIN: cfg->admin_user = optarg; break;
            case O_ADMINPW: cfg->admin_password = optarg; break;
            case O_KEY: cfg->key = optarg; break;
            case O_IDS: cfg->ids_file = optarg; break;
            case O_TLS_CA: cfg->tls.ca_file = optarg; break;
            case O_TLS_CERT: cfg->tls.cert_file = optarg; break;
            case O_TLS_KEY: cfg->tls.key_file = optarg; break;
            case O_TLS_NAME: cfg->tls.server_name = optarg; break;
            case O_REUSE: cfg->reuse = 1; break;
            case O_NOSEED: cfg->seed_scores = 0; break;
            case O_PSUBMIT: cfg->player_submit = 1; break;
            case O_SETUP: cfg->setup_only = 1; break;
            case O_JSON: cfg->json = 1; break;
            case O_QUIET: cfg->quiet = 1; break;
            case O_HELP: usage(stdout); return 1;
            case O_THREADS:
                if (num("--threads", optarg, 1, 256, &d)) return -1;
                cfg->threads = (unsigned)d;
                break;
            case O_INFLIGHT:
                if (num("--inflight", optarg, 1, 1024, &d)) return -1;
                cfg->inflight = (unsigned)d;
                break;
            case O_DURATION:
                if (num("--duration", optarg, 0.1, 86400, &d)) return -1;
                cfg->duration_s = d;
                break;
            case O_REQUESTS:
                if (num("--requests", optarg, 1, 1e12, &d)) return -1;
                cfg->requests = (uint64_t)d;
                break;
            case O_WARMUP:
                if (num("--warmup", optarg, 0, 3600, &d)) return -1;
                cfg->warmup_s = d;
                break;
            case O_RATE:
                if (num("--rate", optarg, 0, 1e8, &d)) return -1;
                cfg->rate = d;
                break;
            case O_COUNTER_SHARDS:
                if (num("--counter-shards", optarg, 1, 64, &d)) return -1;
                cfg->counter_shards = (unsigned)d;
                break;
            case O_BATCH:
                if (num("--batch-size", optarg, 1, 1000, &d)) return -1;
                cfg->batch_size = (unsigned)d;
                break;
            case O_TOKENS:
                if (num("--token-players", optarg, 1, 100000, &d)) return -1;
                cfg->token_players = (unsigned)d;
                break;
            case O_LIST:
                if (num("--list-size", optarg, 1, 1000, &d)) return -1;
                cfg->list_size = (unsigned)d;
                break;
            case O_PLAYERS:
                if (num("--players", optarg, 0, 1e10, &d)) return -1;
                cfg->players = (uint64_t)d;
                break;
            case O_BOARDS:
                if (num("--boards", optarg, 1, 100000, &d)) return -1;
                cfg->boards = (unsigned)d;
                break;
            case O_BOARD_SHARDS:
                if (num("--board-shards", optarg, 1, 16, &d)) return -1;
                cfg->board_shards = (unsigned)d;
                break;
            case O_ZIPF:
                if (num("--zipf", optarg, 0, 10, &d)) return -1;
                cfg->zipf = d;
                break;
            case O_SCOREMAX:
                if (num("--score-max", optarg, 1, 9007199254740992.0, &d)) return -1;
                cfg->score_max = (int64_t)d;
                break;
            case O_SEED:
                if (num("--seed", optarg, 0, 1e18, &d)) return -1;
                cfg->seed = (uint64_t)d;
                break;
            case O_DEADLINE:
                if (num("--deadline-ms", optarg, 1, 600000, &d)) return -1;
                cfg->deadline_ms = (uint32_t)d;
                break;
            case O_SERVERPID:
                if (num("--server-pid", optarg, 1, 4194304, &d)) return -1;
                cfg->server_pid = (long)d;
                break;
            case O_MAXERR:
                if (num("--max-errors", optarg, 0, 1, &d)) return -1;
                cfg->max_errors = d;
                break;
            default: fprintf(stderr, "rank-bench: unknown option or missing value: %s\n", argv[optind - 1]); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rank-bench: unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    if (bw_mix_parse(&cfg->mix, mix, &st) != RK_OK) {
        fprintf(stderr, "rank-bench: %s\n", st.message);
        return -1;
    }
    if (cfg->players == 0) {
        int needs_players = 0;
        for (int op = 0; op < BW_NOPS; op++)
            if (op != BW_TOP && op != BW_COUNT && op != BW_REPORT && op != BW_INCR && op != BW_PCTL && op != BW_HIST &&
                op != BW_SRANGE && cfg->mix.weight[op])
                needs_players = 1;
        if (needs_players && !cfg->setup_only) {
            fprintf(stderr, "rank-bench: --players 0 leaves nobody to submit or rank\n");
            return -1;
        }
    }
    return 0;
}

/* Reads cfg->ids_file into cfg->ids (the caller frees it): one decimal
 * user id a line, at least cfg->players of them. Returns 0 or -1 with the
 * reason on stderr. */
static int read_ids(bench_cfg *cfg) {
    FILE *f = fopen(cfg->ids_file, "r");
    char line[64];
    size_t cap = 0;
    if (!f) {
        fprintf(stderr, "rank-bench: --ids %s: cannot open it\n", cfg->ids_file);
        return -1;
    }
    while (fgets(line, sizeof(line), f)) {
        char *end;
        long long v = strtoll(line, &end, 10);
        if (end == line || (*end != '\n' && *end != '\0') || v <= 0) {
            fprintf(stderr, "rank-bench: --ids %s: line %" PRIu64 " is not a user id\n", cfg->ids_file, cfg->n_ids + 1);
            fclose(f);
            return -1;
        }
        if (cfg->n_ids == cap) {
            cap = cap ? 2 * cap : 1024;
            int64_t *grown = realloc(cfg->ids, cap * sizeof(*grown));
            if (!grown) {
                fclose(f);
                fprintf(stderr, "rank-bench: out of memory\n");
                return -1;
            }
            cfg->ids = grown;
        }
        cfg->ids[cfg->n_ids++] = v;
    }
    fclose(f);
    if (cfg->n_ids < cfg->players) {
        fprintf(stderr, "rank-bench: --ids %s has %" PRIu64 " ids for %" PRIu64 " players\n", cfg->ids_file, cfg->n_ids,
                cfg->players);
        return -1;
    }
    return 0;
}

static int bench_main(int argc, char **argv) {
    bench_cfg cfg;
    rk_status st;
    char *key = NULL;
    bench_tokens tokens;
    int rc = parse_args(argc, argv, &cfg);
    if (rc != 0) {
        if (rc < 0) fprintf(stderr, "(rank-bench --help lists the options)\n");
        return rc < 0 ? 2 : 0;
    }
    if (cfg.ids_file && read_ids(&cfg) != 0) {
        free(cfg.ids);
        return 2;
    }
    if (bench_setup(&cfg, &key, &tokens, &st) != RK_OK) {
        fprintf(stderr, "rank-bench: setup: %s: %s\n", rk_code_name(st.code), st.message);
        return 2;
    }
    if (cfg.setup_only) {
        if (key) printf("%s\n", key); /* so a script can reuse it with --key */
        free(key);
        free(cfg.ids);
        bench_tokens_free(&tokens);
        return 0;
    }
    rc = bench_run(&cfg, key, &tokens);
    free(key);
    free(cfg.ids);
    bench_tokens_free(&tokens);
    return rc;
}

int main(int argc, char **argv) {
    int rc = bench_main(argc, argv);
    /* nng frees closed connections on its own thread; waiting for that
     * here keeps a leak checker from reporting them at exit. */
    nng_fini();
    return rc;
}
