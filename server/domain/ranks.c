/*
 * ranks.c - rank numbers for a sorted listing; see ranks.h for the rules.
 */
#include "ranks.h"

void ranks_assign(const int64_t *scores, size_t n, rank_mode mode, int64_t offset, int64_t first_competition,
                  int64_t first_dense, int64_t *out) {
    for (size_t i = 0; i < n; i++) {
        int same = i > 0 && scores[i] == scores[i - 1];
        switch (mode) {
            case RANK_UNIQUE: out[i] = offset + (int64_t)i + 1; break;
            case RANK_DENSE: out[i] = i == 0 ? first_dense : out[i - 1] + (same ? 0 : 1); break;
            case RANK_COMPETITION:
            default: out[i] = i == 0 ? first_competition : same ? out[i - 1] : offset + (int64_t)i + 1; break;
        }
    }
}

void ranks_around_page(int64_t pos, int64_t size, int64_t above, int64_t below, int64_t *first, int64_t *count) {
    int64_t want = above + below + 1;
    if (want > size) want = size;
    int64_t from = pos - above;
    if (from + want > size) from = size - want; /* short below: take more above */
    if (from < 0) from = 0;                     /* short above: more below */
    *first = from;
    *count = want;
}

double ranks_percentile(int64_t competition, int64_t size) {
    return size > 0 ? 100.0 * (double)competition / (double)size : 0.0;
}

void ranks_buckets(int64_t lo, int64_t hi, int64_t n, int64_t *width, int64_t *count) {
    int64_t span = hi - lo + 1; /* scores lie within +-2^53: no overflow */
    int64_t w = span / n + (span % n != 0);
    *width = w;
    *count = span / w + (span % w != 0);
}
