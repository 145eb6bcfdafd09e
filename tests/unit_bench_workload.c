/*
 * unit_bench_workload.c - rank-bench's workload pieces: the --mix parser,
 * drawing by weight, and the zipf sampler's distribution.
 */
#include <math.h>
#include <stdlib.h>

#include "bench_workload.h"
#include "check.h"

static void test_mix_parse(void) {
    bw_mix m;
    rk_status st;
    CHECK_INT(bw_mix_parse(&m, "submit=70,batch=5,top=10,rank=10,around=3,ranks=2", &st), RK_OK);
    CHECK_INT(m.total, 100);
    CHECK_INT(m.weight[BW_SUBMIT], 70);
    CHECK_INT(m.weight[BW_COUNT], 0);
    char buf[256];
    bw_mix_format(&m, buf, sizeof(buf));
    CHECK_STR(buf, "submit=70,batch=5,top=10,rank=10,around=3,ranks=2");

    CHECK_INT(bw_mix_parse(&m, "bogus=1", &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "bogus") != NULL);
    CHECK_INT(bw_mix_parse(&m, "top", &st), RK_INVALID_ARGUMENT);
    CHECK_INT(bw_mix_parse(&m, "top=x", &st), RK_INVALID_ARGUMENT);
    CHECK_INT(bw_mix_parse(&m, "top=0", &st), RK_INVALID_ARGUMENT);
    CHECK_INT(bw_mix_parse(&m, "", &st), RK_INVALID_ARGUMENT);
    CHECK_INT(bw_mix_parse(&m, "count=1", &st), RK_OK);
}

static void test_mix_pick(void) {
    bw_mix m;
    rk_status st;
    bw_rng r;
    unsigned seen[BW_NOPS] = {0};
    bw_rng_seed(&r, 42);
    CHECK_INT(bw_mix_parse(&m, "submit=3,top=1", &st), RK_OK);
    for (int i = 0; i < 40000; i++) seen[bw_mix_pick(&m, &r)]++;
    CHECK_INT(seen[BW_SUBMIT] + seen[BW_TOP], 40000);
    CHECK(fabs(seen[BW_SUBMIT] / 40000.0 - 0.75) < 0.01);
}

static void test_rng(void) {
    bw_rng a, b;
    bw_rng_seed(&a, 7);
    bw_rng_seed(&b, 7);
    for (int i = 0; i < 100; i++) CHECK(bw_rng_next(&a) == bw_rng_next(&b));
    for (int i = 0; i < 10000; i++) {
        CHECK(bw_rng_below(&a, 13) < 13);
        double u = bw_rng_unit(&a);
        CHECK(u >= 0.0 && u < 1.0);
    }
}

/* Observed frequencies of the first ranks against 1/(k+1)^s / H(n, s). */
static void zipf_matches(uint64_t n, double s) {
    bw_zipf z;
    bw_rng r;
    rk_status st;
    enum { DRAWS = 400000, SHOWN = 5 };
    uint64_t counts[SHOWN] = {0};
    CHECK_INT(bw_zipf_init(&z, n, s, &st), RK_OK);
    bw_rng_seed(&r, 1);
    for (int i = 0; i < DRAWS; i++) {
        uint64_t k = bw_zipf_next(&z, &r);
        CHECK(k < n);
        if (k < SHOWN) counts[k]++;
    }
    double norm = 0;
    for (uint64_t k = 1; k <= n; k++) norm += pow((double)k, -s);
    for (int k = 0; k < SHOWN; k++) {
        double want = pow(k + 1.0, -s) / norm;
        double got = (double)counts[k] / DRAWS;
        if (fabs(got - want) > 0.01 * want + 0.002)
            fprintf(stderr, "  n=%llu s=%.2f rank %d: %.4f, expected %.4f\n", (unsigned long long)n, s, k, got, want);
        CHECK(fabs(got - want) <= 0.01 * want + 0.002);
    }
}

static void test_zipf(void) {
    zipf_matches(1000, 1.0);
    zipf_matches(1000, 0.8);
    zipf_matches(100000, 1.2);
    zipf_matches(10, 2.0);
    /* s = 0 is uniform; n = 1 always gives 0. */
    bw_zipf z;
    bw_rng r;
    rk_status st;
    bw_rng_seed(&r, 3);
    CHECK_INT(bw_zipf_init(&z, 1, 1.0, &st), RK_OK);
    CHECK_INT(bw_zipf_next(&z, &r), 0);
    CHECK_INT(bw_zipf_init(&z, 4, 0.0, &st), RK_OK);
    unsigned seen[4] = {0};
    for (int i = 0; i < 40000; i++) seen[bw_zipf_next(&z, &r)]++;
    for (int k = 0; k < 4; k++) CHECK(fabs(seen[k] / 40000.0 - 0.25) < 0.01);
    CHECK_INT(bw_zipf_init(&z, 0, 1.0, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(bw_zipf_init(&z, 10, -1.0, &st), RK_INVALID_ARGUMENT);
    /* Ten million players cost nothing to set up. */
    CHECK_INT(bw_zipf_init(&z, 10000000, 1.1, &st), RK_OK);
    CHECK(bw_zipf_next(&z, &r) < 10000000);
}

int main(void) {
    RUN(test_mix_parse);
    RUN(test_mix_pick);
    RUN(test_rng);
    RUN(test_zipf);
    return CHECK_SUMMARY();
}
