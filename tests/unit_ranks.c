/* The tie rules: competition, dense and unique ranks over sorted listings,
 * including listings that start in the middle of a run of equal scores. */
#include "check.h"
#include "ranks.h"

static void competition_shares_and_skips(void) {
    int64_t s[] = {100, 90, 90, 80}, r[4];
    ranks_assign(s, 4, RANK_COMPETITION, 0, 1, 1, r);
    CHECK_INT(r[0], 1);
    CHECK_INT(r[1], 2);
    CHECK_INT(r[2], 2);
    CHECK_INT(r[3], 4);
}

static void dense_shares_without_gaps(void) {
    int64_t s[] = {100, 90, 90, 80}, r[4];
    ranks_assign(s, 4, RANK_DENSE, 0, 1, 1, r);
    CHECK_INT(r[0], 1);
    CHECK_INT(r[1], 2);
    CHECK_INT(r[2], 2);
    CHECK_INT(r[3], 3);
}

static void unique_is_the_position(void) {
    int64_t s[] = {100, 90, 90, 80}, r[4];
    ranks_assign(s, 4, RANK_UNIQUE, 0, 1, 1, r);
    for (int i = 0; i < 4; i++) CHECK_INT(r[i], i + 1);
}

static void page_starting_inside_a_tie(void) {
    /* Board: 100, 90, 90, 90, 70. Page from offset 2: 90, 90, 70. */
    int64_t s[] = {90, 90, 70}, r[3];
    ranks_assign(s, 3, RANK_COMPETITION, 2, 2, 2, r);
    CHECK_INT(r[0], 2);
    CHECK_INT(r[1], 2);
    CHECK_INT(r[2], 5);
    ranks_assign(s, 3, RANK_DENSE, 2, 2, 2, r);
    CHECK_INT(r[2], 3);
    ranks_assign(s, 3, RANK_UNIQUE, 2, 2, 2, r);
    CHECK_INT(r[0], 3);
    CHECK_INT(r[2], 5);
}

static void all_equal(void) {
    int64_t s[] = {5, 5, 5}, r[3];
    ranks_assign(s, 3, RANK_COMPETITION, 0, 1, 1, r);
    CHECK_INT(r[2], 1);
    ranks_assign(s, 3, RANK_DENSE, 0, 1, 1, r);
    CHECK_INT(r[2], 1);
}

static void around_page_stays_full_at_both_ends(void) {
    int64_t first, count;
    /* 12 players: the leader asking for 5 and 5 gets the 10 below. */
    ranks_around_page(0, 12, 5, 5, &first, &count);
    CHECK_INT(first, 0);
    CHECK_INT(count, 11);
    /* The last one, the 10 above. */
    ranks_around_page(11, 12, 5, 5, &first, &count);
    CHECK_INT(first, 1);
    CHECK_INT(count, 11);
    /* In the middle: exactly 5 each side. */
    ranks_around_page(6, 12, 5, 5, &first, &count);
    CHECK_INT(first, 1);
    CHECK_INT(count, 11);
    /* Second from the top: one above, the rest below. */
    ranks_around_page(1, 12, 5, 5, &first, &count);
    CHECK_INT(first, 0);
    /* A board smaller than the page: all of it. */
    ranks_around_page(2, 4, 5, 5, &first, &count);
    CHECK_INT(first, 0);
    CHECK_INT(count, 4);
    /* Nothing asked either way: the player alone. */
    ranks_around_page(7, 12, 0, 0, &first, &count);
    CHECK_INT(first, 7);
    CHECK_INT(count, 1);
}

static void percentile_is_top_x_percent(void) {
    /* Rank 48,210 of 1.2 million: top 4%. */
    double p = ranks_percentile(48210, 1200000);
    CHECK(p > 4.0174 && p < 4.0176);
    CHECK(ranks_percentile(1, 1000) == 0.1);
    CHECK(ranks_percentile(1000, 1000) == 100.0);
    CHECK(ranks_percentile(1, 0) == 0.0);
}

static void buckets_of_equal_width(void) {
    int64_t w, n;
    ranks_buckets(0, 99, 10, &w, &n); /* 0-9, 10-19, ..., 90-99 */
    CHECK_INT(w, 10);
    CHECK_INT(n, 10);
    ranks_buckets(0, 100, 10, &w, &n); /* 101 scores: width 11, 10 buckets, the last 99-100 */
    CHECK_INT(w, 11);
    CHECK_INT(n, 10);
    ranks_buckets(1, 5, 10, &w, &n); /* fewer scores than buckets */
    CHECK_INT(w, 1);
    CHECK_INT(n, 5);
    ranks_buckets(7, 7, 100, &w, &n);
    CHECK_INT(w, 1);
    CHECK_INT(n, 1);
    ranks_buckets(-9007199254740992LL, 9007199254740992LL, 100, &w, &n);
    CHECK_INT(n, 100);
    CHECK(-9007199254740992LL + 100 * w - 1 >= 9007199254740992LL);
}

int main(void) {
    RUN(competition_shares_and_skips);
    RUN(dense_shares_without_gaps);
    RUN(unique_is_the_position);
    RUN(page_starting_inside_a_tie);
    RUN(all_equal);
    RUN(around_page_stays_full_at_both_ends);
    RUN(percentile_is_top_x_percent);
    RUN(buckets_of_equal_width);
    return CHECK_SUMMARY();
}
