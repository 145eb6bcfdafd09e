/*
 * bench_workload.c - random choices and the operation mix for rank-bench.
 *
 * The zipf sampler follows the rejection-inversion method: it inverts the
 * integral H of the continuous hat function h(x) = x^-s, rounds the result
 * to the nearest integer k, and accepts k when the drawn point falls under
 * the true probability of k. Acceptance is above 90% for every s and n, and
 * nothing depends on n but two constants, which is what lets rank-bench
 * aim a hot-key workload at a ten-million-player board.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_workload.h"

static const char *const op_names[BW_NOPS] = {
    [BW_SUBMIT] = "submit",      [BW_PSUBMIT] = "psubmit", [BW_BATCH] = "batch",     [BW_TOP] = "top",
    [BW_RANK] = "rank",          [BW_AROUND] = "around",   [BW_RANKS] = "ranks",     [BW_COUNT] = "count",
    [BW_REPORT] = "report",      [BW_INCR] = "incr",       [BW_PCTL] = "percentile", [BW_HIST] = "distribution",
    [BW_SRANGE] = "score-range", [BW_STAND] = "standing",
};

const char *bw_op_name(bw_op op) { return (unsigned)op < BW_NOPS ? op_names[op] : "?"; }

/* ---------------------------------------------------------------- random numbers */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void bw_rng_seed(bw_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t bw_rng_next(bw_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t bw_rng_below(bw_rng *r, uint64_t n) {
    /* Rejects the short top slice so every value is equally likely. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = bw_rng_next(r);
    } while (x >= limit);
    return x % n;
}

double bw_rng_unit(bw_rng *r) { return (double)(bw_rng_next(r) >> 11) * 0x1.0p-53; }

/* ---------------------------------------------------------------- zipf */

/* log1p(x)/x and expm1(x)/x, with their series near 0 where the division
 * would lose every digit. */
static double log1p_over(double x) {
    if (fabs(x) > 1e-8) return log1p(x) / x;
    return 1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x));
}

static double expm1_over(double x) {
    if (fabs(x) > 1e-8) return expm1(x) / x;
    return 1.0 + x * 0.5 * (1.0 + x / 3.0 * (1.0 + 0.25 * x));
}

/* h(x) = x^-s; H(x) = integral of h, written so that s == 1 needs no case. */
static double zh(double s, double x) { return exp(-s * log(x)); }

static double zH(double s, double x) {
    double lx = log(x);
    return expm1_over((1.0 - s) * lx) * lx;
}

static double zH_inv(double s, double y) {
    double t = y * (1.0 - s);
    if (t < -1.0) t = -1.0; /* rounding can push it past the pole */
    return exp(log1p_over(t) * y);
}

int bw_zipf_init(bw_zipf *z, uint64_t n, double s, rk_status *st) {
    if (n == 0) return rk_status_set(st, RK_INVALID_ARGUMENT, "zipf needs at least one element");
    if (!(s >= 0.0) || s > 10.0) return rk_status_set(st, RK_INVALID_ARGUMENT, "zipf exponent must be in 0..10");
    z->n = n;
    z->s = s;
    /* Ranks are 1-based inside the method, 0-based outside. */
    z->h_x1 = zH(s, 1.5) - 1.0;
    z->h_n = zH(s, (double)n + 0.5);
    z->threshold = 2.0 - zH_inv(s, zH(s, 2.5) - zh(s, 2.0));
    return RK_OK;
}

uint64_t bw_zipf_next(const bw_zipf *z, bw_rng *r) {
    if (z->s == 0.0 || z->n == 1) return bw_rng_below(r, z->n);
    for (;;) {
        double u = z->h_n + bw_rng_unit(r) * (z->h_x1 - z->h_n);
        double x = zH_inv(z->s, u);
        double kd = floor(x + 0.5);
        if (kd < 1.0) kd = 1.0;
        if (kd > (double)z->n) kd = (double)z->n;
        if (kd - x <= z->threshold || u >= zH(z->s, kd + 0.5) - zh(z->s, kd)) return (uint64_t)kd - 1;
    }
}

/* ---------------------------------------------------------------- the mix */

int bw_mix_parse(bw_mix *m, const char *text, rk_status *st) {
    memset(m, 0, sizeof(*m));
    const char *p = text;
    while (*p) {
        const char *eq = strchr(p, '='), *comma = strchr(p, ',');
        if (comma == NULL) comma = p + strlen(p);
        if (eq == NULL || eq > comma)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "mix: expected NAME=WEIGHT at \"%.*s\"", (int)(comma - p), p);
        int op = -1;
        for (int i = 0; i < BW_NOPS; i++)
            if (strlen(op_names[i]) == (size_t)(eq - p) && strncmp(op_names[i], p, (size_t)(eq - p)) == 0) op = i;
        if (op < 0)
            return rk_status_set(st, RK_INVALID_ARGUMENT,
                                 "mix: unknown operation \"%.*s\" (known: submit, psubmit, batch, top, rank, around, "
                                 "ranks, count, report, incr, percentile, distribution, score-range, standing)",
                                 (int)(eq - p), p);
        char *end;
        unsigned long w = strtoul(eq + 1, &end, 10);
        if (end == eq + 1 || end != comma || w > 1000000)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "mix: weight of %s must be an integer in 0..1000000",
                                 op_names[op]);
        m->weight[op] = (unsigned)w;
        p = *comma ? comma + 1 : comma;
    }
    for (int i = 0; i < BW_NOPS; i++) m->total += m->weight[i];
    if (m->total == 0) return rk_status_set(st, RK_INVALID_ARGUMENT, "mix: at least one weight must be positive");
    return RK_OK;
}

bw_op bw_mix_pick(const bw_mix *m, bw_rng *r) {
    uint64_t x = bw_rng_below(r, m->total);
    for (int i = 0; i < BW_NOPS; i++) {
        if (x < m->weight[i]) return (bw_op)i;
        x -= m->weight[i];
    }
    return BW_SUBMIT; /* not reached: weights sum to total */
}

void bw_mix_format(const bw_mix *m, char *buf, size_t cap) {
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < BW_NOPS && len < cap; i++) {
        if (m->weight[i] == 0) continue;
        int w = snprintf(buf + len, cap - len, "%s%s=%u", len ? "," : "", op_names[i], m->weight[i]);
        if (w < 0) break;
        len += (size_t)w;
    }
}
