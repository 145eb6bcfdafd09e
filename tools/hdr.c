/*
 * hdr.c - the log-linear latency histogram behind hdr.h.
 *
 * Layout of the counters: index v for v < HDR_EXACT (256); then, for each
 * magnitude m = floor(log2 v) from 8 to HDR_MAX_MAG, HDR_SUB buckets of
 * width 2^(m - HDR_SUB_BITS). The index is computed with one count of
 * leading zeros and a shift: recording costs a few instructions and one
 * atomic add, cheap enough to run inside an RPC completion callback.
 */
#include <math.h>
#include <string.h>

#include "hdr.h"

unsigned hdr_index(uint64_t v) {
    if (v < HDR_EXACT) return (unsigned)v;
    if (v > HDR_HIGHEST) v = HDR_HIGHEST;
    unsigned m = 63u - (unsigned)__builtin_clzll(v); /* >= HDR_SUB_BITS + 1 */
    unsigned shift = m - HDR_SUB_BITS;
    unsigned sub = (unsigned)(v >> shift) - HDR_SUB; /* 0 .. HDR_SUB - 1 */
    return HDR_EXACT + (m - HDR_SUB_BITS - 1) * HDR_SUB + sub;
}

void hdr_bucket_range(unsigned index, uint64_t *low, uint64_t *high) {
    if (index < HDR_EXACT) {
        *low = *high = index;
        return;
    }
    unsigned k = index - HDR_EXACT;
    unsigned m = k / HDR_SUB + HDR_SUB_BITS + 1;
    unsigned sub = k % HDR_SUB;
    unsigned shift = m - HDR_SUB_BITS;
    *low = (uint64_t)(HDR_SUB + sub) << shift;
    *high = *low + (UINT64_C(1) << shift) - 1;
}

void hdr_init(hdr *h) {
    for (unsigned i = 0; i < HDR_BUCKETS; i++) atomic_init(&h->counts[i], 0);
    atomic_init(&h->total, 0);
    atomic_init(&h->sum, 0);
    atomic_init(&h->min, UINT64_MAX);
    atomic_init(&h->max, 0);
}

void hdr_reset(hdr *h) { hdr_init(h); }

static void store_min(_Atomic uint64_t *a, uint64_t v) {
    uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while (v < cur && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed, memory_order_relaxed)) {
    }
}

static void store_max(_Atomic uint64_t *a, uint64_t v) {
    uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed, memory_order_relaxed)) {
    }
}

void hdr_record(hdr *h, uint64_t v) {
    atomic_fetch_add_explicit(&h->counts[hdr_index(v)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum, v, memory_order_relaxed);
    store_min(&h->min, v);
    store_max(&h->max, v);
    /* Last, so a reader that sees the total sees (nearly) every count. */
    atomic_fetch_add_explicit(&h->total, 1, memory_order_release);
}

void hdr_merge(hdr *into, const hdr *from) {
    uint64_t n = 0;
    for (unsigned i = 0; i < HDR_BUCKETS; i++) {
        uint64_t c = atomic_load_explicit(&from->counts[i], memory_order_relaxed);
        if (c == 0) continue;
        atomic_fetch_add_explicit(&into->counts[i], c, memory_order_relaxed);
        n += c;
    }
    if (n == 0) return;
    atomic_fetch_add_explicit(&into->sum, atomic_load_explicit(&from->sum, memory_order_relaxed), memory_order_relaxed);
    store_min(&into->min, atomic_load_explicit(&from->min, memory_order_relaxed));
    store_max(&into->max, atomic_load_explicit(&from->max, memory_order_relaxed));
    /* The bucket counts, not from->total: the two agree once recording has
     * stopped, and while it runs the buckets are what percentiles walk. */
    atomic_fetch_add_explicit(&into->total, n, memory_order_release);
}

uint64_t hdr_count(const hdr *h) { return atomic_load_explicit(&h->total, memory_order_acquire); }

uint64_t hdr_min(const hdr *h) {
    uint64_t v = atomic_load_explicit(&h->min, memory_order_relaxed);
    return v == UINT64_MAX ? 0 : v;
}

uint64_t hdr_max(const hdr *h) { return atomic_load_explicit(&h->max, memory_order_relaxed); }

double hdr_mean(const hdr *h) {
    uint64_t n = hdr_count(h);
    return n ? (double)atomic_load_explicit(&h->sum, memory_order_relaxed) / (double)n : 0.0;
}

uint64_t hdr_percentile(const hdr *h, double p) {
    uint64_t n = hdr_count(h);
    if (n == 0) return 0;
    uint64_t lo = hdr_min(h), hi = hdr_max(h);
    if (p <= 0.0) return lo;
    if (p >= 100.0) return hi;
    uint64_t want = (uint64_t)ceil(p / 100.0 * (double)n);
    if (want < 1) want = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HDR_BUCKETS; i++) {
        seen += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        if (seen < want) continue;
        uint64_t low, high;
        hdr_bucket_range(i, &low, &high);
        uint64_t mid = low + (high - low) / 2;
        if (mid < lo) mid = lo;
        if (mid > hi) mid = hi;
        return mid;
    }
    return hi; /* counts still landing while we walked */
}
