/*
 * bench_workload.h - what rank-bench sends: the operation mix, and the
 * random choices behind each request (which operation, which board, which
 * player, which score).
 *
 * Everything here is pure and deterministic given a seed, so the unit test
 * can pin it down and two runs with the same seed send the same requests.
 * Each bench thread owns its own bw_rng; nothing here is shared or locked.
 */
#ifndef RANKD_BENCH_WORKLOAD_H
#define RANKD_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <rankd/status.h>

/* The operations, in the order reports list them. */
typedef enum bw_op {
    BW_SUBMIT,  /* Scores/Submit, one score, with the API key */
    BW_PSUBMIT, /* Scores/Submit, one score, with the player's own login token */
    BW_BATCH,   /* Scores/SubmitBatch, batch_size scores */
    BW_TOP,     /* Ranking/Top, the first 10 */
    BW_RANK,    /* Ranking/Rank of one player */
    BW_AROUND,  /* Ranking/Around one player, 5 above and 5 below */
    BW_RANKS,   /* Ranking/RanksOf a list of players */
    BW_COUNT,   /* Ranking/Count */
    BW_REPORT,  /* History/Report of the last 24 hours, the first 10 */
    BW_INCR,    /* Counters/Incr of the counter bench_counter_name names, by 1 */
    BW_PCTL,    /* Ranking/Percentile: the lowest score in the top 10% */
    BW_HIST,    /* Ranking/Distribution in 10 buckets */
    BW_SRANGE,  /* Ranking/ScoreRange: the first 10 in the upper half of the score range */
    BW_STAND,   /* Ranking/Standing of one player on every board */
    BW_NOPS
} bw_op;

/* "submit", "batch", ... as written in --mix and in reports. */
const char *bw_op_name(bw_op op);

/* ---------------------------------------------------------------- random numbers */

/* xoshiro256** seeded through splitmix64: fast, and good enough for
 * choosing requests. */
typedef struct bw_rng {
    uint64_t s[4];
} bw_rng;

void bw_rng_seed(bw_rng *r, uint64_t seed);
uint64_t bw_rng_next(bw_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t bw_rng_below(bw_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double bw_rng_unit(bw_rng *r);

/* ---------------------------------------------------------------- zipf */

/* Zipf-distributed ranks 0..n-1 with P(k) proportional to 1/(k+1)^s, by
 * rejection-inversion (Hörmann and Derflinger, 1996): O(1) per sample and
 * no table, so a board of ten million players costs nothing to set up.
 * s == 0 gives uniform choices. Rank 0 is the hottest player. */
typedef struct bw_zipf {
    uint64_t n;
    double s;
    double h_x1, h_n, threshold; /* constants of the method */
} bw_zipf;

int bw_zipf_init(bw_zipf *z, uint64_t n, double s, rk_status *st);
uint64_t bw_zipf_next(const bw_zipf *z, bw_rng *r);

/* ---------------------------------------------------------------- the mix */

typedef struct bw_mix {
    unsigned weight[BW_NOPS];
    unsigned total;
} bw_mix;

/* Parses "submit=70,batch=5,top=10" (weights are non-negative integers;
 * operations not named get 0; at least one weight must be positive). */
int bw_mix_parse(bw_mix *m, const char *text, rk_status *st);

/* One operation drawn by weight. */
bw_op bw_mix_pick(const bw_mix *m, bw_rng *r);

/* Writes the mix back as text ("submit=70,top=30") into buf. */
void bw_mix_format(const bw_mix *m, char *buf, size_t cap);

#endif
