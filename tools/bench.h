/*
 * bench.h - what the pieces of rank-bench share: the settings, the
 * per-thread statistics, and the three phases (setup, run, report).
 *
 * rank-bench.c parses the command line and drives the load; bench_setup.c
 * creates (or finds) the boards, players and API key; bench_report.c turns
 * the statistics into the progress line, the final table and the JSON
 * document. Statistics are recorded from RPC completion callbacks, which
 * run on the client library's threads, so every counter is atomic.
 */
#ifndef RANKD_BENCH_H
#define RANKD_BENCH_H

#include <stdatomic.h>
#include <stdint.h>

#include <rankd/status.h>
#include <rankd/tls.h>

#include "bench_workload.h"
#include "hdr.h"

#define BENCH_CODES 17 /* canonical codes 0..16; anything else counts as UNKNOWN */

typedef struct bench_cfg {
    const char *url;
    rk_tls_opts tls; /* for tls+tcp:// addresses */
    unsigned threads, inflight;
    double duration_s; /* used when requests == 0 */
    uint64_t requests; /* measured requests in all; 0: run for duration_s */
    double warmup_s;
    double rate; /* requests per second in all; 0: as fast as possible */
    bw_mix mix;
    unsigned batch_size;     /* scores per SubmitBatch */
    unsigned list_size;      /* players per RanksOf */
    unsigned counter_shards; /* sub-keys of the counter incr increments */
    uint64_t players;
    unsigned boards;
    unsigned board_shards; /* boards set up are hot boards of this many shards (1: plain) */
    double zipf;
    int64_t score_max;
    uint64_t seed;
    uint32_t deadline_ms;
    const char *board_prefix, *player_prefix, *game, *windows;
    const char *admin_user, *admin_password, *key;
    unsigned token_players; /* players psubmit logs in and submits as */
    const char *ids_file;   /* --ids: one user id a line, line i player i's; NULL: by username */
    int64_t *ids;           /* read from ids_file by rank-bench.c, which frees it; NULL: by username */
    uint64_t n_ids;
    long server_pid;   /* > 0: report this local process's CPU time and context switches */
    int player_submit; /* boards set up let players submit their own scores */
    int reuse, setup_only, seed_scores, json, quiet;
    double max_errors;
} bench_cfg;

/* Counters of one bench thread (or, merged, of the whole run). Only
 * requests sent after the warm-up are counted. */
typedef struct bench_stats {
    hdr lat[BW_NOPS];                             /* latency of OK calls, ns */
    _Atomic uint64_t done[BW_NOPS];               /* calls completed */
    _Atomic uint64_t codes[BW_NOPS][BENCH_CODES]; /* completions by status code */
    _Atomic uint64_t items[BW_NOPS];              /* scores accepted by submit and batch */
} bench_stats;

void bench_stats_init(bench_stats *s);
/* Adds `from` into `into`; safe while `from` is still being recorded into. */
void bench_stats_merge(bench_stats *into, const bench_stats *from);

/* ---------------------------------------------------------------- setup (bench_setup.c) */

/* Login tokens for psubmit: token[i] is player i's. Owned by the struct;
 * bench_tokens_free frees every token and the array. */
typedef struct bench_tokens {
    char **token;
    size_t n;
} bench_tokens;

void bench_tokens_free(bench_tokens *t);

/* Creates the boards "<board_prefix>0".., the players "<player_prefix>0"..
 * (sign-up, several in flight), one score per player per board, and an API
 * key for game cfg->game, as cfg->admin_user. ALREADY_EXISTS is fine
 * everywhere, so a second run over the same server works. With cfg->reuse
 * only the API key is made (and only when cfg->key is NULL and the mix
 * writes). On RK_OK *key is a key to submit with, or NULL when none is
 * needed; the caller frees it. When the mix has psubmit, the first
 * cfg->token_players players (at most cfg->players) log in, reused or not,
 * and *tokens holds their tokens (the caller frees them with
 * bench_tokens_free). Progress goes to stderr unless cfg->quiet. */
int bench_setup(const bench_cfg *cfg, char **key, bench_tokens *tokens, rk_status *st);

/* The name of player i ("bench-p42") into buf. */
void bench_player_name(const bench_cfg *cfg, uint64_t i, char *buf, size_t cap);
/* The id of board i ("bench-0") into buf. */
void bench_board_id(const bench_cfg *cfg, unsigned i, char *buf, size_t cap);
/* The counter incr increments: "<board_prefix>s<counter_shards>", so runs
 * with different shard counts never share one. */
void bench_counter_name(const bench_cfg *cfg, char *buf, size_t cap);

/* ---------------------------------------------------------------- report (bench_report.c) */

/* What the server process used while the load ran (cfg->server_pid), from
 * /proc: CPU time (utime + stime) and context switches (voluntary and
 * nonvoluntary, summed over its threads). */
typedef struct bench_server_use {
    int valid;
    double cpu_s;
    uint64_t switches;
} bench_server_use;

/* One progress line on stderr: seconds since the measurement began (zero or
 * negative during warm-up, which prints only the rate), requests per second
 * over the last interval, errors so far, and p50/p99 so far. */
void bench_progress(double t, double interval_rate, uint64_t done, uint64_t errors, const bench_stats *sofar);

/* The final report of `total`, measured over `elapsed_s`: a table on stdout,
 * or with cfg->json one JSON object. `all_calls` counts every call that
 * completed, warm-up included (what the server saw; JSON "all_requests"),
 * and `server` is divided by it. Returns the error ratio. */
double bench_report(const bench_cfg *cfg, const bench_stats *total, double elapsed_s, uint64_t all_calls,
                    const bench_server_use *server);

#endif
