/*
 * unit_hdr.c - the latency histogram: bucket arithmetic, percentiles of
 * known inputs within the promised precision, merging, and recording from
 * several threads at once.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "check.h"
#include "hdr.h"

/* Relative error of got against want. */
static double rel(uint64_t got, double want) { return fabs((double)got - want) / want; }

static hdr *new_hdr(void) {
    hdr *h = malloc(sizeof(*h));
    if (h) hdr_init(h);
    return h;
}

static void test_empty(void) {
    hdr *h = new_hdr();
    CHECK_INT(hdr_count(h), 0);
    CHECK_INT(hdr_percentile(h, 50), 0);
    CHECK_INT(hdr_min(h), 0);
    CHECK_INT(hdr_max(h), 0);
    CHECK(hdr_mean(h) == 0.0);
    free(h);
}

static void test_buckets(void) {
    /* Exact below 256; every bucket at most 1/128 of its low end wide;
     * consecutive buckets tile the range without gaps or overlaps. */
    uint64_t prev_high = 0;
    for (unsigned i = 0; i < HDR_BUCKETS; i++) {
        uint64_t lo, hi;
        hdr_bucket_range(i, &lo, &hi);
        if (i > 0) CHECK_INT(lo, prev_high + 1);
        CHECK_INT(hdr_index(lo), i);
        CHECK_INT(hdr_index(hi), i);
        if (i < HDR_EXACT)
            CHECK_INT(lo, hi);
        else
            CHECK((double)(hi - lo + 1) <= (double)lo / 128.0);
        prev_high = hi;
    }
    CHECK_INT(prev_high, HDR_HIGHEST);
    /* 1 us to 60 s in nanoseconds is covered without clamping. */
    CHECK(hdr_index(60000000000ull) < HDR_BUCKETS - 1);
    CHECK_INT(hdr_index(UINT64_MAX), HDR_BUCKETS - 1);
}

static void test_uniform_percentiles(void) {
    /* 1..100000 us in ns: the p-th percentile is p% of 100 ms. */
    hdr *h = new_hdr();
    for (uint64_t i = 1; i <= 100000; i++) hdr_record(h, i * 1000);
    CHECK_INT(hdr_count(h), 100000);
    CHECK_INT(hdr_min(h), 1000);
    CHECK_INT(hdr_max(h), 100000000);
    CHECK(rel(hdr_percentile(h, 50), 50e6) < 0.01);
    CHECK(rel(hdr_percentile(h, 90), 90e6) < 0.01);
    CHECK(rel(hdr_percentile(h, 99), 99e6) < 0.01);
    CHECK(rel(hdr_percentile(h, 99.9), 99.9e6) < 0.01);
    CHECK_INT(hdr_percentile(h, 100), 100000000);
    CHECK_INT(hdr_percentile(h, 0), 1000);
    CHECK(rel((uint64_t)hdr_mean(h), 50000.5e3) < 1e-6);
    free(h);
}

static void test_wide_range(void) {
    /* One value per decade from 1 us to 60 s: each comes back within 1%. */
    static const uint64_t v[] = {1000ull,      10000ull,      100000ull,      1000000ull,    10000000ull,
                                 100000000ull, 1000000000ull, 10000000000ull, 60000000000ull};
    const size_t n = sizeof(v) / sizeof(v[0]);
    hdr *h = new_hdr();
    for (size_t i = 0; i < n; i++) hdr_record(h, v[i]);
    for (size_t i = 0; i < n; i++) {
        double p = 100.0 * (double)(i + 1) / (double)n;
        uint64_t got = hdr_percentile(h, p - 0.001);
        if (rel(got, (double)v[i]) >= 0.01)
            fprintf(stderr, "  value %llu came back as %llu\n", (unsigned long long)v[i], (unsigned long long)got);
        CHECK(rel(got, (double)v[i]) < 0.01);
    }
    CHECK_INT(hdr_max(h), 60000000000ull);
    free(h);
}

static void test_small_exact(void) {
    hdr *h = new_hdr();
    for (int i = 0; i < 10; i++) hdr_record(h, 7);
    hdr_record(h, 200);
    CHECK_INT(hdr_percentile(h, 50), 7);
    CHECK_INT(hdr_percentile(h, 90), 7);
    CHECK_INT(hdr_percentile(h, 99), 200);
    free(h);
}

static void test_merge(void) {
    /* Odd values in one, even in the other: the merge equals one
     * histogram that saw them all. */
    hdr *a = new_hdr(), *b = new_hdr(), *all = new_hdr(), *m = new_hdr();
    for (uint64_t i = 1; i <= 20000; i++) {
        uint64_t v = i * 3517;
        hdr_record(i % 2 ? a : b, v);
        hdr_record(all, v);
    }
    hdr_merge(m, a);
    hdr_merge(m, b);
    CHECK_INT(hdr_count(m), 20000);
    CHECK_INT(hdr_min(m), hdr_min(all));
    CHECK_INT(hdr_max(m), hdr_max(all));
    CHECK(hdr_mean(m) == hdr_mean(all));
    static const double ps[] = {1, 25, 50, 75, 90, 99, 99.9, 99.99};
    for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
        CHECK_INT(hdr_percentile(m, ps[i]), hdr_percentile(all, ps[i]));
    /* Merging an empty histogram changes nothing. */
    hdr *e = new_hdr();
    hdr_merge(m, e);
    CHECK_INT(hdr_count(m), 20000);
    CHECK_INT(hdr_min(m), hdr_min(all));
    /* Reset empties. */
    hdr_reset(m);
    CHECK_INT(hdr_count(m), 0);
    CHECK_INT(hdr_percentile(m, 50), 0);
    free(a);
    free(b);
    free(all);
    free(m);
    free(e);
}

#define NTHREADS 4
#define PER_THREAD 50000

static void *recorder(void *arg) {
    hdr *h = arg;
    for (uint64_t i = 1; i <= PER_THREAD; i++) hdr_record(h, i * 100);
    return NULL;
}

static void test_concurrent(void) {
    hdr *h = new_hdr();
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) pthread_create(&t[i], NULL, recorder, h);
    for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
    CHECK_INT(hdr_count(h), NTHREADS * PER_THREAD);
    CHECK_INT(hdr_min(h), 100);
    CHECK_INT(hdr_max(h), PER_THREAD * 100);
    CHECK(rel(hdr_percentile(h, 50), PER_THREAD * 50.0) < 0.01);
    free(h);
}

int main(void) {
    RUN(test_empty);
    RUN(test_buckets);
    RUN(test_uniform_percentiles);
    RUN(test_wide_range);
    RUN(test_small_exact);
    RUN(test_merge);
    RUN(test_concurrent);
    return CHECK_SUMMARY();
}
