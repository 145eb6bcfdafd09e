/*
 * hdr.h - a high-dynamic-range latency histogram, in the manner of
 * HdrHistogram but small and our own.
 *
 * Values are unsigned integers (rank-bench records nanoseconds). Below 256
 * every value has its own bucket; above, each power of two is split into
 * HDR_SUB equal linear sub-buckets, so a bucket is never wider than 1/128
 * of its lower bound (0.78%), and a percentile read back as the bucket's
 * midpoint is within 0.4% of the true value. Buckets reach 2^36 - 1 (68.7 s
 * in nanoseconds); larger values land in the last bucket and only max
 * remembers them exactly. The whole histogram is a fixed array of 3840
 * counters (30 KB): no allocation, ever.
 *
 * Threads: hdr_record() may run concurrently from any number of threads on
 * one histogram (relaxed atomic increments: counts are exact, the order in
 * which they land does not matter). hdr_merge() adds one histogram into
 * another with the same atomics, so a reporter may merge per-thread
 * histograms while they are still being recorded into; the snapshot is then
 * "every value recorded before the merge began, and maybe some more".
 * hdr_init() and hdr_reset() must not race with anything.
 */
#ifndef RANKD_HDR_H
#define RANKD_HDR_H

#include <stdatomic.h>
#include <stdint.h>

#define HDR_SUB_BITS 7
#define HDR_SUB (1u << HDR_SUB_BITS) /* sub-buckets per power of two */
#define HDR_EXACT (2u * HDR_SUB)     /* values below this are exact */
#define HDR_MAX_MAG 35               /* highest power of two covered: 2^35..2^36-1 */
#define HDR_BUCKETS (HDR_EXACT + (HDR_MAX_MAG - HDR_SUB_BITS) * HDR_SUB)
#define HDR_HIGHEST ((UINT64_C(1) << (HDR_MAX_MAG + 1)) - 1)

typedef struct hdr {
    _Atomic uint64_t counts[HDR_BUCKETS];
    _Atomic uint64_t total;
    _Atomic uint64_t sum; /* of recorded values, for the mean; wraps after ~584 years of ns */
    _Atomic uint64_t min; /* UINT64_MAX while empty */
    _Atomic uint64_t max;
} hdr;

/* Empties h (also the way to initialise one). */
void hdr_init(hdr *h);
void hdr_reset(hdr *h);

/* Records one value. Thread-safe. */
void hdr_record(hdr *h, uint64_t v);

/* Adds every count of `from` into `into`. Thread-safe for concurrent
 * recording into either; merging two histograms into each other at once is
 * not meaningful. */
void hdr_merge(hdr *into, const hdr *from);

uint64_t hdr_count(const hdr *h);
uint64_t hdr_min(const hdr *h); /* 0 when empty */
uint64_t hdr_max(const hdr *h); /* 0 when empty */
double hdr_mean(const hdr *h);  /* 0 when empty */

/* The value at percentile p (0..100): the smallest recorded value v such
 * that at least p% of all values are <= v, reported as the midpoint of v's
 * bucket (clamped to [min, max]). p <= 0 gives min, p >= 100 gives max,
 * an empty histogram gives 0. */
uint64_t hdr_percentile(const hdr *h, double p);

/* Bucket arithmetic, exposed for the unit test: the bucket index of v and
 * the [low, high] range of values that share a bucket. */
unsigned hdr_index(uint64_t v);
void hdr_bucket_range(unsigned index, uint64_t *low, uint64_t *high);

#endif
