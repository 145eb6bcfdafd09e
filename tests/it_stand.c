/* Journey 13 (where do I stand?): a submission says where the player stood
 * before it, so a game can say "you climbed from 48th to 12th", and a
 * replay says it again, exactly; the players around anyone fill their
 * page, the leader's and the last one's included; players are counted and
 * listed by score; every ranked entry says "top x%", and a board answers
 * "what score is the top 10%", "what percentile is this score" and "how
 * are the scores spread"; one call says where a player stands on every
 * board. Everything again without Redis. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define PLAYERS 12

static rk_client *c;
static char *admin, *key;
static int64_t uid[PLAYERS];
static const char *const names[PLAYERS] = {"st-ann", "st-bob", "st-cat", "st-dan", "st-eve", "st-fay",
                                           "st-gus", "st-hal", "st-ivy", "st-jon", "st-kim", "st-lee"};

/* One submission; the reply is the caller's (rk_reply_free). */
static Rankd__SubmitReply *submit(const char *board, int who, int64_t score, const char *idem, rk_status *st) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_call_opts o = it_opts(key, idem);
    req.board_id = (char *)board;
    req.has_user_id = req.has_score = 1;
    req.user_id = uid[who];
    req.score = score;
    rk_scores_submit(c, &req, &rep, &o, st);
    return rep;
}

/* Until rankd answers from Redis again, after rk-redis-start. */
static void wait_for_redis(void) {
    int up = 0;
    for (int i = 0; i < 300 && !up; i++) {
        Rankd__CountRequest req = RANKD__COUNT_REQUEST__INIT;
        Rankd__CountReply *rep = NULL;
        rk_status st;
        req.board_id = "st-prev";
        up = rk_ranking_count(c, &req, &rep, NULL, &st) == RK_OK && !st.degraded;
        rk_reply_free(rep);
        if (!up) usleep(100000);
    }
    CHECK(up);
    CHECK(it_settled(c)); /* what was taken without Redis is applied too */
}

/* ---------------------------------------------------------------- previous rank */

static void submit_says_where_the_player_was(void) {
    rk_status st;
    /* ann 100, bob 90, cat 80 on a best board. */
    int64_t seed[3] = {100, 90, 80};
    for (int p = 0; p < 3; p++) {
        Rankd__SubmitReply *r = submit("st-prev", p, seed[p], NULL, &st);
        CHECK_CODE(st, RK_OK);
        /* A first score: nothing before it. */
        if (r) {
            CHECK_INT(r->has_previous_rank, 0);
            CHECK_INT(r->has_previous_score, 0);
        }
        rk_reply_free(r);
    }
    /* cat climbs from 3rd (80) to 1st (120). */
    Rankd__SubmitReply *r = submit("st-prev", 2, 120, "climb-1", &st);
    CHECK_CODE(st, RK_OK);
    if (r) {
        CHECK_INT(r->rank, 1);
        CHECK_INT(r->has_previous_rank, 1);
        CHECK_INT(r->previous_rank, 3);
        CHECK_INT(r->has_previous_score, 1);
        CHECK_INT(r->previous_score, 80);
    }
    rk_reply_free(r);
    /* A worse score on a best board changes nothing: bob was 3rd and is. */
    r = submit("st-prev", 1, 10, NULL, &st);
    CHECK_CODE(st, RK_OK);
    if (r) {
        CHECK_INT(r->rank, 3);
        CHECK_INT(r->previous_rank, 3);
        CHECK_INT(r->previous_score, 90);
        CHECK_INT(r->score, 90);
    }
    rk_reply_free(r);
    /* dan passes ann meanwhile; the replay still says what the first answer said. */
    rk_reply_free(submit("st-prev", 3, 110, NULL, &st));
    r = submit("st-prev", 2, 120, "climb-1", &st);
    CHECK_CODE(st, RK_OK);
    if (r) {
        CHECK_INT(r->replayed, 1);
        CHECK_INT(r->previous_rank, 3);
        CHECK_INT(r->previous_score, 80);
    }
    rk_reply_free(r);
}

static void batch_items_say_where_each_player_was(void) {
    rk_status st;
    Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    Rankd__BatchEntry e[2], *ep[2] = {&e[0], &e[1]};
    for (int i = 0; i < 2; i++) {
        rankd__batch_entry__init(&e[i]);
        e[i].board_id = "st-prev";
        e[i].has_user_id = e[i].has_score = 1;
    }
    /* ann (100, now 3rd behind cat 120 and dan 110) reaches 200; eve is new. */
    e[0].user_id = uid[0];
    e[0].score = 200;
    e[1].user_id = uid[4];
    e[1].score = 5;
    req.n_entries = 2;
    req.entries = ep;
    Rankd__SubmitBatchReply *rep = NULL;
    rk_call_opts o = it_opts(key, NULL);
    CHECK_INT(rk_scores_submit_batch(c, &req, &rep, &o, &st), RK_OK);
    if (rep && rep->n_results == 2 && rep->results[0]->reply && rep->results[1]->reply) {
        CHECK_INT(rep->results[0]->reply->rank, 1);
        CHECK_INT(rep->results[0]->reply->previous_rank, 3);
        CHECK_INT(rep->results[0]->reply->previous_score, 100);
        CHECK_INT(rep->results[1]->reply->has_previous_rank, 0);
        CHECK_INT(rep->results[1]->reply->has_previous_score, 0);
    } else {
        CHECK(!"batch replies missing");
    }
    rk_reply_free(rep);
}

/* Without Redis the previous place is not known (docs/PROTOCOL.md): the
 * reply leaves it out rather than guessing. */
static void degraded_submit_leaves_the_previous_place_out(void) {
    rk_status st;
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    Rankd__SubmitReply *r = submit("st-prev", 1, 300, "down-1", &st);
    CHECK_CODE(st, RK_OK);
    CHECK_INT(st.degraded, 1);
    if (r) {
        CHECK_INT(r->has_previous_rank, 0);
        CHECK_INT(r->has_previous_score, 0);
    }
    rk_reply_free(r);
    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    wait_for_redis();
}

/* ---------------------------------------------------------------- around */

static Rankd__RankListReply *top_all(const char *board, Rankd__RankMode mode) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_limit = req.has_rank_mode = 1;
    req.limit = 1000;
    req.rank_mode = mode;
    rk_ranking_top(c, &req, &rep, NULL, &st);
    return rep;
}

/* Around every player of the whole ranking, for a few page shapes: the
 * page holds above + below + 1 players wherever the board has that many,
 * a window cut short at one end taking the missing ones from the other. */
static void check_around_everyone(const char *board, int want_degraded) {
    static const uint32_t shapes[][2] = {{5, 5}, {2, 3}, {0, 4}, {3, 0}, {0, 0}, {100, 100}};
    Rankd__RankListReply *all = top_all(board, RANKD__RANK_MODE__RANK_COMPETITION);
    CHECK(all != NULL && all->n_entries >= 10);
    if (all == NULL) return;
    size_t n = all->n_entries;
    for (size_t sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++)
        for (size_t a = 0; a < n; a++) {
            Rankd__AroundRequest req = RANKD__AROUND_REQUEST__INIT;
            Rankd__RankListReply *page = NULL;
            rk_status st;
            req.board_id = (char *)board;
            req.has_user_id = req.has_above = req.has_below = 1;
            req.user_id = all->entries[a]->user_id;
            req.above = shapes[sh][0];
            req.below = shapes[sh][1];
            CHECK_INT(rk_ranking_around(c, &req, &page, NULL, &st), RK_OK);
            CHECK_INT(st.degraded, want_degraded);
            if (page == NULL) continue;
            size_t want = shapes[sh][0] + shapes[sh][1] + 1;
            if (want > n) want = n;
            size_t from = a < shapes[sh][0] ? 0 : a - shapes[sh][0];
            if (from + want > n) from = n - want;
            CHECK_INT(page->n_entries, want);
            for (size_t i = 0; i < page->n_entries && i < want; i++) {
                CHECK_INT(page->entries[i]->user_id, all->entries[from + i]->user_id);
                CHECK_INT(page->entries[i]->rank, all->entries[from + i]->rank);
            }
            CHECK_INT(page->board_size, (int64_t)n);
            rk_reply_free(page);
        }
    rk_reply_free(all);
}

/* st-around: 12 players, scores 10, 20, ..., with a tie at 50. */
static void seed_around(void) {
    rk_status st;
    for (int p = 0; p < PLAYERS; p++) rk_reply_free(submit("st-around", p, p == 5 ? 50 : 10 * (p + 1), NULL, &st));
    CHECK(it_settled(c)); /* the global board has them (the split layout applies them a moment later) */
}

static void around_the_leader_and_the_last_keeps_the_page_full(void) {
    Rankd__RankListReply *all = top_all("st-around", RANKD__RANK_MODE__RANK_COMPETITION);
    CHECK(all && all->n_entries == PLAYERS);
    if (all == NULL || all->n_entries != PLAYERS) {
        rk_reply_free(all);
        return;
    }
    /* The leader asking for 5 above and 5 below gets the 10 below. */
    Rankd__AroundRequest req = RANKD__AROUND_REQUEST__INIT;
    Rankd__RankListReply *page = NULL;
    rk_status st;
    req.board_id = "st-around";
    req.has_user_id = req.has_above = req.has_below = 1;
    req.user_id = all->entries[0]->user_id;
    req.above = req.below = 5;
    CHECK_INT(rk_ranking_around(c, &req, &page, NULL, &st), RK_OK);
    if (page) {
        CHECK_INT(page->n_entries, 11);
        if (page->n_entries == 11) {
            CHECK_INT(page->entries[0]->rank, 1);
            CHECK_INT(page->entries[10]->user_id, all->entries[10]->user_id);
        }
    }
    rk_reply_free(page);
    page = NULL;
    /* The last one gets the 10 above. */
    req.user_id = all->entries[PLAYERS - 1]->user_id;
    CHECK_INT(rk_ranking_around(c, &req, &page, NULL, &st), RK_OK);
    if (page) {
        CHECK_INT(page->n_entries, 11);
        if (page->n_entries == 11) {
            CHECK_INT(page->entries[0]->user_id, all->entries[PLAYERS - 11]->user_id);
            CHECK_INT(page->entries[10]->user_id, all->entries[PLAYERS - 1]->user_id);
        }
    }
    rk_reply_free(page);
    rk_reply_free(all);
    check_around_everyone("st-around", 0);
}

/* ---------------------------------------------------------------- by score */

typedef struct bounds {
    int has_min, has_max;
    int64_t min, max;
} bounds;

static const bounds ranges[] = {
    {1, 0, 50, 0},       /* 50 or more */
    {0, 1, 0, 50},       /* 50 or less */
    {1, 1, 40, 90},      /* a middle run, ties inside */
    {1, 1, 55, 65},      /* nobody */
    {1, 1, 120, 120},    /* one score */
    {1, 1, -1000, 1000}, /* everyone */
    {0, 0, 0, 0},        /* no bounds: the whole board */
};

static int in_bounds(const bounds *b, int64_t score) {
    return (!b->has_min || score >= b->min) && (!b->has_max || score <= b->max);
}

/* Count and ScoreRange of each range against the whole ranking: the
 * count, the players in board order with their ranks on the whole board,
 * and a page from inside the range. */
static void check_ranges(const char *board, int want_degraded) {
    static const Rankd__RankMode modes[] = {RANKD__RANK_MODE__RANK_COMPETITION, RANKD__RANK_MODE__RANK_DENSE};
    for (size_t m = 0; m < 2; m++) {
        Rankd__RankListReply *all = top_all(board, modes[m]);
        CHECK(all != NULL && all->n_entries == PLAYERS);
        if (all == NULL) continue;
        for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
            const bounds *b = &ranges[i];
            size_t want[PLAYERS], nwant = 0;
            for (size_t a = 0; a < all->n_entries; a++)
                if (in_bounds(b, all->entries[a]->score)) want[nwant++] = a;
            rk_status st;
            Rankd__CountRequest cr = RANKD__COUNT_REQUEST__INIT;
            Rankd__CountReply *count = NULL;
            cr.board_id = (char *)board;
            cr.has_min_score = b->has_min;
            cr.min_score = b->min;
            cr.has_max_score = b->has_max;
            cr.max_score = b->max;
            CHECK_INT(rk_ranking_count(c, &cr, &count, NULL, &st), RK_OK);
            CHECK_INT(st.degraded, want_degraded);
            if (count) CHECK_INT(count->count, nwant);
            rk_reply_free(count);
            /* The whole range, then a page of two from its second player. */
            for (int paged = 0; paged < 2; paged++) {
                Rankd__ScoreRangeRequest rr = RANKD__SCORE_RANGE_REQUEST__INIT;
                Rankd__RankListReply *page = NULL;
                rr.board_id = (char *)board;
                rr.has_min_score = b->has_min;
                rr.min_score = b->min;
                rr.has_max_score = b->has_max;
                rr.max_score = b->max;
                rr.has_offset = rr.has_limit = rr.has_rank_mode = 1;
                rr.offset = paged ? 1 : 0;
                rr.limit = paged ? 2 : 1000;
                rr.rank_mode = modes[m];
                CHECK_INT(rk_ranking_score_range(c, &rr, &page, NULL, &st), RK_OK);
                CHECK_INT(st.degraded, want_degraded);
                if (page == NULL) continue;
                size_t from = rr.offset < nwant ? rr.offset : nwant;
                size_t n = nwant - from < rr.limit ? nwant - from : rr.limit;
                CHECK_INT(page->total, nwant);
                CHECK_INT(page->board_size, PLAYERS);
                CHECK_INT(page->n_entries, n);
                for (size_t e = 0; e < page->n_entries && e < n; e++) {
                    const Rankd__RankEntry *w = all->entries[want[from + e]];
                    CHECK_INT(page->entries[e]->user_id, w->user_id);
                    CHECK_INT(page->entries[e]->score, w->score);
                    CHECK_INT(page->entries[e]->rank, w->rank);
                }
                rk_reply_free(page);
            }
        }
        rk_reply_free(all);
    }
}

/* st-around (higher is better) and st-time (lower is better) hold the
 * same scores: 10, 20, 30, 40, 50, 50, 70, ..., 120. */
static void seed_time(void) {
    rk_status st;
    for (int p = 0; p < PLAYERS; p++) rk_reply_free(submit("st-time", p, p == 5 ? 50 : 10 * (p + 1), NULL, &st));
    CHECK(it_settled(c)); /* the global board has them (the split layout applies them a moment later) */
}

static void counts_and_pages_by_score(void) {
    check_ranges("st-around", 0);
    check_ranges("st-time", 0);
}

static void counts_by_score_refuse_bad_bounds(void) {
    rk_status st;
    Rankd__CountRequest cr = RANKD__COUNT_REQUEST__INIT;
    Rankd__CountReply *count = NULL;
    cr.board_id = "st-around";
    cr.has_min_score = cr.has_max_score = 1;
    cr.min_score = 90;
    cr.max_score = 10;
    CHECK_INT(rk_ranking_count(c, &cr, &count, NULL, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "min_score 90 is above max_score 10") != NULL);
    cr.min_score = -9007199254740993LL;
    CHECK_INT(rk_ranking_count(c, &cr, &count, NULL, &st), RK_INVALID_ARGUMENT);
    cr.board_id = "st-nope";
    cr.min_score = 0;
    CHECK_INT(rk_ranking_count(c, &cr, &count, NULL, &st), RK_NOT_FOUND);

    Rankd__ScoreRangeRequest rr = RANKD__SCORE_RANGE_REQUEST__INIT;
    Rankd__RankListReply *page = NULL;
    rr.board_id = "st-around";
    rr.has_min_score = rr.has_max_score = 1;
    rr.min_score = 5;
    rr.max_score = 4;
    CHECK_INT(rk_ranking_score_range(c, &rr, &page, NULL, &st), RK_INVALID_ARGUMENT);
    rr.max_score = 9007199254740993LL;
    CHECK_INT(rk_ranking_score_range(c, &rr, &page, NULL, &st), RK_INVALID_ARGUMENT);
    rr.max_score = 100;
    rr.has_limit = 1;
    rr.limit = 1001;
    CHECK_INT(rk_ranking_score_range(c, &rr, &page, NULL, &st), RK_INVALID_ARGUMENT);
    rr.limit = 10;
    rr.has_window = 1;
    rr.window = RANKD__WINDOW__WINDOW_DAILY; /* a window the board does not keep */
    CHECK_INT(rk_ranking_score_range(c, &rr, &page, NULL, &st), RK_FAILED_PRECONDITION);
    rr.has_window = 0;
    rr.board_id = "st-nope";
    CHECK_INT(rk_ranking_score_range(c, &rr, &page, NULL, &st), RK_NOT_FOUND);
    rr.board_id = "Bad Id";
    CHECK_INT(rk_ranking_score_range(c, &rr, &page, NULL, &st), RK_INVALID_ARGUMENT);
    /* Past the end of the range: an empty page, with the range's size. */
    rr.board_id = "st-around";
    rr.has_offset = 1;
    rr.offset = 50;
    CHECK_INT(rk_ranking_score_range(c, &rr, &page, NULL, &st), RK_OK);
    if (page) {
        CHECK_INT(page->n_entries, 0);
        CHECK_INT(page->total, 10);
    }
    rk_reply_free(page);
}

/* ---------------------------------------------------------------- percentiles */

static int near(double a, double b) { return a - b < 1e-9 && b - a < 1e-9; }

/* Players strictly better than score, on a board of that order. */
static int64_t better_than(const Rankd__RankListReply *all, int desc, int64_t score) {
    int64_t n = 0;
    for (size_t i = 0; i < all->n_entries; i++)
        n += desc ? all->entries[i]->score > score : all->entries[i]->score < score;
    return n;
}

/* Every listing's entries carry 100 * competition rank / board size, in
 * every rank mode; Percentile answers both questions as the whole ranking
 * says. */
static void check_percentiles(const char *board, int desc, int want_degraded) {
    Rankd__RankListReply *all = top_all(board, RANKD__RANK_MODE__RANK_COMPETITION);
    Rankd__RankListReply *dense = top_all(board, RANKD__RANK_MODE__RANK_DENSE);
    CHECK(all && dense && all->n_entries == PLAYERS && dense->n_entries == PLAYERS);
    if (!all || !dense || all->n_entries != PLAYERS || dense->n_entries != PLAYERS) goto out;
    for (size_t i = 0; i < all->n_entries; i++) {
        double want = 100.0 * (double)all->entries[i]->rank / PLAYERS;
        CHECK_INT(all->entries[i]->has_percentile, 1);
        CHECK(near(all->entries[i]->percentile, want));
        CHECK(near(dense->entries[i]->percentile, want)); /* the mode does not change it */
    }
    /* One player's Rank says the same. */
    Rankd__RankRequest rr = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rank = NULL;
    rk_status st;
    rr.board_id = (char *)board;
    rr.has_user_id = 1;
    rr.user_id = all->entries[4]->user_id;
    CHECK_INT(rk_ranking_rank(c, &rr, &rank, NULL, &st), RK_OK);
    if (rank && rank->entry) CHECK(near(rank->entry->percentile, all->entries[4]->percentile));
    rk_reply_free(rank);

    /* The percentile of a score: every one on the board, and some nobody has. */
    int64_t scores[PLAYERS + 4];
    size_t ns = 0;
    for (size_t i = 0; i < all->n_entries; i++) scores[ns++] = all->entries[i]->score;
    scores[ns++] = 5;
    scores[ns++] = 55;
    scores[ns++] = 1000;
    scores[ns++] = -9007199254740992LL;
    for (size_t i = 0; i < ns; i++) {
        Rankd__PercentileRequest pr = RANKD__PERCENTILE_REQUEST__INIT;
        Rankd__PercentileReply *p = NULL;
        pr.board_id = (char *)board;
        pr.has_score = 1;
        pr.score = scores[i];
        CHECK_INT(rk_ranking_percentile(c, &pr, &p, NULL, &st), RK_OK);
        CHECK_INT(st.degraded, want_degraded);
        if (p == NULL) continue;
        int64_t want = better_than(all, desc, scores[i]) + 1;
        CHECK_INT(p->score, scores[i]);
        CHECK_INT(p->rank, want);
        CHECK_INT(p->board_size, PLAYERS);
        CHECK(near(p->percentile, 100.0 * (double)want / PLAYERS));
        rk_reply_free(p);
    }
    /* The score at a percentile: the lowest still in the top p%. */
    static const double pcts[] = {0.001, 10, 25, 50, 99.9, 100};
    for (size_t i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
        Rankd__PercentileRequest pr = RANKD__PERCENTILE_REQUEST__INIT;
        Rankd__PercentileReply *p = NULL;
        pr.board_id = (char *)board;
        pr.has_percentile = 1;
        pr.percentile = pcts[i];
        CHECK_INT(rk_ranking_percentile(c, &pr, &p, NULL, &st), RK_OK);
        CHECK_INT(st.degraded, want_degraded);
        if (p == NULL) continue;
        int64_t place = (int64_t)(pcts[i] * PLAYERS / 100);
        if (place < 1) place = 1;
        CHECK_INT(p->score, all->entries[place - 1]->score);
        CHECK_INT(p->rank, all->entries[place - 1]->rank);
        CHECK(p->percentile <= pcts[i] || place == 1);
        rk_reply_free(p);
    }
out:
    rk_reply_free(all);
    rk_reply_free(dense);
}

/* A histogram against the whole ranking: the edges by the documented
 * rule, each count by counting. */
static void check_histogram(const char *board, const bounds *b, uint32_t buckets, int want_degraded) {
    Rankd__RankListReply *all = top_all(board, RANKD__RANK_MODE__RANK_COMPETITION);
    CHECK(all != NULL);
    if (all == NULL) return;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; i < all->n_entries; i++) {
        if (all->entries[i]->score < lo) lo = all->entries[i]->score;
        if (all->entries[i]->score > hi) hi = all->entries[i]->score;
    }
    if (b->has_min) lo = b->min;
    if (b->has_max) hi = b->max;
    int64_t span = hi - lo + 1, w = (span + buckets - 1) / buckets, n = (span + w - 1) / w;
    Rankd__DistributionRequest dr = RANKD__DISTRIBUTION_REQUEST__INIT;
    Rankd__DistributionReply *d = NULL;
    rk_status st;
    dr.board_id = (char *)board;
    dr.has_buckets = 1;
    dr.buckets = buckets;
    dr.has_min_score = b->has_min;
    dr.min_score = b->min;
    dr.has_max_score = b->has_max;
    dr.max_score = b->max;
    dr.has_user_id = 1; /* st-ann, marked on it */
    dr.user_id = uid[0];
    CHECK_INT(rk_ranking_distribution(c, &dr, &d, NULL, &st), RK_OK);
    CHECK_INT(st.degraded, want_degraded);
    const Rankd__RankEntry *me = NULL;
    for (size_t e = 0; e < all->n_entries; e++)
        if (all->entries[e]->user_id == uid[0]) me = all->entries[e];
    CHECK(me != NULL);
    if (d && me) {
        CHECK(d->player != NULL);
        if (d->player) {
            CHECK_INT(d->player->score, me->score);
            CHECK_INT(d->player->rank, me->rank);
            CHECK(near(d->player->percentile, me->percentile));
        }
        int64_t want = me->score < lo || me->score > hi ? -1 : (me->score - lo) / w;
        CHECK_INT(d->has_player_bucket, 1);
        CHECK_INT(d->player_bucket, want);
    }
    if (d) {
        CHECK_INT(d->board_size, all->n_entries);
        CHECK_INT(d->n_buckets, n);
        for (size_t i = 0; i < d->n_buckets && (int64_t)i < n; i++) {
            int64_t a = lo + (int64_t)i * w, z = a + w - 1 < hi ? a + w - 1 : hi, count = 0;
            for (size_t e = 0; e < all->n_entries; e++)
                count += all->entries[e]->score >= a && all->entries[e]->score <= z;
            CHECK_INT(d->buckets[i]->min_score, a);
            CHECK_INT(d->buckets[i]->max_score, z);
            CHECK_INT(d->buckets[i]->count, count);
        }
    }
    rk_reply_free(d);
    rk_reply_free(all);
}

static void check_histograms(const char *board, int want_degraded) {
    static const bounds whole = {0, 0, 0, 0}, decade = {1, 1, 0, 99}, from45 = {1, 0, 45, 0};
    check_histogram(board, &whole, 10, want_degraded);  /* 10..120: width 12 */
    check_histogram(board, &whole, 100, want_degraded); /* width 2: 56 buckets */
    check_histogram(board, &whole, 1, want_degraded);
    check_histogram(board, &decade, 10, want_degraded);
    check_histogram(board, &from45, 7, want_degraded);
    /* The global board's totals, summed from the higher-is-better boards. */
    check_histogram("global", &whole, 10, want_degraded);
}

static void percentiles_and_histograms(void) {
    check_percentiles("st-around", 1, 0);
    check_percentiles("st-time", 0, 0);
    check_histograms("st-around", 0);
    check_histograms("st-time", 0);
}

static void percentiles_and_histograms_refuse_bad_input(void) {
    rk_status st;
    Rankd__PercentileRequest pr = RANKD__PERCENTILE_REQUEST__INIT;
    Rankd__PercentileReply *p = NULL;
    pr.board_id = "st-around";
    CHECK_INT(rk_ranking_percentile(c, &pr, &p, NULL, &st), RK_INVALID_ARGUMENT); /* neither */
    pr.has_percentile = pr.has_score = 1;
    pr.percentile = 50;
    CHECK_INT(rk_ranking_percentile(c, &pr, &p, NULL, &st), RK_INVALID_ARGUMENT); /* both */
    pr.has_score = 0;
    static const double bad[] = {0, -1, 100.5};
    for (size_t i = 0; i < 3; i++) {
        pr.percentile = bad[i];
        CHECK_INT(rk_ranking_percentile(c, &pr, &p, NULL, &st), RK_INVALID_ARGUMENT);
    }
    pr.percentile = 0.0 / 0.0; /* NaN */
    CHECK_INT(rk_ranking_percentile(c, &pr, &p, NULL, &st), RK_INVALID_ARGUMENT);
    pr.has_percentile = 0;
    pr.has_score = 1;
    pr.score = 9007199254740993LL;
    CHECK_INT(rk_ranking_percentile(c, &pr, &p, NULL, &st), RK_INVALID_ARGUMENT);
    pr.score = 1;
    pr.board_id = "st-nope";
    CHECK_INT(rk_ranking_percentile(c, &pr, &p, NULL, &st), RK_NOT_FOUND);
    pr.board_id = "st-empty";
    CHECK_INT(rk_ranking_percentile(c, &pr, &p, NULL, &st), RK_FAILED_PRECONDITION);
    CHECK(strstr(st.message, "no players") != NULL);

    Rankd__DistributionRequest dr = RANKD__DISTRIBUTION_REQUEST__INIT;
    Rankd__DistributionReply *d = NULL;
    dr.board_id = "st-around";
    dr.has_buckets = 1;
    dr.buckets = 0;
    CHECK_INT(rk_ranking_distribution(c, &dr, &d, NULL, &st), RK_INVALID_ARGUMENT);
    dr.buckets = 101;
    CHECK_INT(rk_ranking_distribution(c, &dr, &d, NULL, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "between 1 and 100") != NULL);
    dr.buckets = 10;
    dr.has_min_score = dr.has_max_score = 1;
    dr.min_score = 10;
    dr.max_score = 9;
    CHECK_INT(rk_ranking_distribution(c, &dr, &d, NULL, &st), RK_INVALID_ARGUMENT);
    dr.has_min_score = dr.has_max_score = 0;
    dr.board_id = "st-nope";
    CHECK_INT(rk_ranking_distribution(c, &dr, &d, NULL, &st), RK_NOT_FOUND);
    dr.board_id = "st-around";
    dr.username = "st-nobody";
    CHECK_INT(rk_ranking_distribution(c, &dr, &d, NULL, &st), RK_NOT_FOUND);
    dr.username = NULL;
    /* A player who is not on the board: the histogram, nobody marked. */
    dr.has_user_id = 1;
    dr.user_id = uid[PLAYERS - 1] + 1000;
    CHECK_INT(rk_ranking_distribution(c, &dr, &d, NULL, &st), RK_OK);
    if (d) {
        CHECK(d->player == NULL);
        CHECK_INT(d->has_player_bucket, 0);
    }
    rk_reply_free(d);
    d = NULL;
    dr.has_user_id = 0;
    /* An empty board: no buckets, nobody on it. */
    dr.board_id = "st-empty";
    CHECK_INT(rk_ranking_distribution(c, &dr, &d, NULL, &st), RK_OK);
    if (d) {
        CHECK_INT(d->n_buckets, 0);
        CHECK_INT(d->board_size, 0);
    }
    rk_reply_free(d);
    d = NULL;
    /* The default: ten buckets. */
    dr.board_id = "st-around";
    dr.has_buckets = 0;
    CHECK_INT(rk_ranking_distribution(c, &dr, &d, NULL, &st), RK_OK);
    if (d) CHECK_INT(d->n_buckets, 10);
    rk_reply_free(d);
}

/* ---------------------------------------------------------------- all my boards */

static Rankd__StandingReply *standing(int64_t user, const char *game, uint32_t offset, uint32_t limit, rk_status *st) {
    Rankd__StandingRequest req = RANKD__STANDING_REQUEST__INIT;
    Rankd__StandingReply *rep = NULL;
    req.has_user_id = 1;
    req.user_id = user;
    req.game = (char *)game;
    req.has_offset = req.has_limit = 1;
    req.offset = offset;
    req.limit = limit;
    rk_ranking_standing(c, &req, &rep, NULL, st);
    return rep;
}

/* Every line says what Rank says on that board. */
static void check_line(const Rankd__BoardStanding *line, int64_t user, const char *board) {
    CHECK_STR(line->board_id, board);
    Rankd__RankRequest rr = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rank = NULL;
    rk_status st;
    rr.board_id = (char *)board;
    rr.has_user_id = 1;
    rr.user_id = user;
    CHECK_INT(rk_ranking_rank(c, &rr, &rank, NULL, &st), RK_OK);
    if (rank && rank->entry && line->entry) {
        CHECK_INT(line->entry->user_id, user);
        CHECK_INT(line->entry->score, rank->entry->score);
        CHECK_INT(line->entry->rank, rank->entry->rank);
        CHECK(near(line->entry->percentile, rank->entry->percentile));
        CHECK_INT(line->entry->has_percentile, 1);
        CHECK_INT(line->board_size, rank->board_size);
    } else {
        CHECK(!"rank or standing missing");
    }
    rk_reply_free(rank);
}

/* st-ann is on st-prev, st-around and st-time (not st-empty), and so on
 * the global board. */
static void check_standing(int want_degraded) {
    static const char *const boards[] = {"global", "st-around", "st-prev", "st-time"};
    rk_status st;
    Rankd__StandingReply *r = standing(uid[0], NULL, 0, 0, &st);
    CHECK_CODE(st, RK_OK);
    CHECK_INT(st.degraded, want_degraded);
    if (r) {
        CHECK_INT(r->total, 4);
        CHECK_INT(r->n_boards, 4);
        for (size_t i = 0; i < r->n_boards && i < 4; i++) check_line(r->boards[i], uid[0], boards[i]);
        if (r->n_boards == 4) CHECK_STR(r->boards[1]->game, "stand");
    }
    rk_reply_free(r);
    /* Paged. */
    r = standing(uid[0], NULL, 1, 2, &st);
    CHECK_CODE(st, RK_OK);
    if (r) {
        CHECK_INT(r->total, 4);
        CHECK_INT(r->n_boards, 2);
        for (size_t i = 0; i < r->n_boards && i < 2; i++) check_line(r->boards[i], uid[0], boards[1 + i]);
    }
    rk_reply_free(r);
    /* One game's boards: not the global board. */
    r = standing(uid[0], "stand", 0, 0, &st);
    CHECK_CODE(st, RK_OK);
    if (r) {
        CHECK_INT(r->total, 3);
        if (r->n_boards == 3) CHECK_STR(r->boards[0]->board_id, "st-around");
    }
    rk_reply_free(r);
}

static void one_call_for_every_board(void) {
    check_standing(0);
    rk_status st;
    /* A player without a score anywhere: nothing, and no error. */
    Rankd__StandingReply *r = standing(uid[PLAYERS - 1] + 1000, NULL, 0, 0, &st);
    CHECK_CODE(st, RK_OK);
    if (r) CHECK_INT(r->total, 0);
    rk_reply_free(r);
    r = standing(uid[0], "no-such-game", 0, 0, &st);
    CHECK_CODE(st, RK_OK);
    if (r) CHECK_INT(r->total, 0);
    rk_reply_free(r);
    /* A window these boards do not keep: none of them, nor the global board. */
    Rankd__StandingRequest req = RANKD__STANDING_REQUEST__INIT;
    req.has_user_id = req.has_window = 1;
    req.user_id = uid[0];
    req.window = RANKD__WINDOW__WINDOW_WEEKLY;
    CHECK_INT(rk_ranking_standing(c, &req, &r, NULL, &st), RK_OK);
    if (r) CHECK_INT(r->total, 0);
    rk_reply_free(r);
    r = NULL;
    /* Errors. */
    req.has_window = 0;
    req.has_user_id = 0;
    req.username = "st-nobody";
    CHECK_INT(rk_ranking_standing(c, &req, &r, NULL, &st), RK_NOT_FOUND);
    req.username = NULL;
    CHECK_INT(rk_ranking_standing(c, &req, &r, NULL, &st), RK_INVALID_ARGUMENT);
    req.username = "st-ann";
    req.has_limit = 1;
    req.limit = 1001;
    CHECK_INT(rk_ranking_standing(c, &req, &r, NULL, &st), RK_INVALID_ARGUMENT);
    req.has_limit = 0;
    req.has_window = 1;
    req.window = 9;
    CHECK_INT(rk_ranking_standing(c, &req, &r, NULL, &st), RK_INVALID_ARGUMENT);
    req.has_window = 0;
    req.game = "Not A Game";
    CHECK_INT(rk_ranking_standing(c, &req, &r, NULL, &st), RK_INVALID_ARGUMENT);
    /* By name, the same as by id. */
    req.game = NULL;
    CHECK_INT(rk_ranking_standing(c, &req, &r, NULL, &st), RK_OK);
    if (r) CHECK_INT(r->total, 4);
    rk_reply_free(r);
}

/* ---------------------------------------------------------------- request bounds */

/* Each new method's largest legitimate request (every field present, at
 * its longest: a 64-character board id or game, a 32-character username,
 * negative numbers as 10-byte varints) is within its method's bound: it
 * gets an answer about its contents, never RESOURCE_EXHAUSTED. */
static void largest_requests_are_within_their_bounds(void) {
    char board[65], user[33];
    memset(board, 'b', 64);
    board[64] = '\0';
    memset(user, 'u', 32);
    user[32] = '\0';
    rk_status st;
    Rankd__CountRequest cr = RANKD__COUNT_REQUEST__INIT;
    Rankd__CountReply *count = NULL;
    cr.board_id = board;
    cr.has_window = cr.has_min_score = cr.has_max_score = 1;
    cr.window = -1;
    cr.min_score = cr.max_score = -9007199254740992LL;
    rk_ranking_count(c, &cr, &count, NULL, &st);
    CHECK(st.code != RK_OK && st.code != RK_RESOURCE_EXHAUSTED);
    Rankd__ScoreRangeRequest rr = RANKD__SCORE_RANGE_REQUEST__INIT;
    Rankd__RankListReply *page = NULL;
    rr.board_id = board;
    rr.has_window = rr.has_min_score = rr.has_max_score = rr.has_offset = rr.has_limit = rr.has_rank_mode = 1;
    rr.window = -1;
    rr.rank_mode = -1;
    rr.min_score = rr.max_score = -9007199254740992LL;
    rr.offset = rr.limit = UINT32_MAX;
    rk_ranking_score_range(c, &rr, &page, NULL, &st);
    CHECK(st.code != RK_OK && st.code != RK_RESOURCE_EXHAUSTED);
    Rankd__PercentileRequest pr = RANKD__PERCENTILE_REQUEST__INIT;
    Rankd__PercentileReply *p = NULL;
    pr.board_id = board;
    pr.has_window = pr.has_percentile = pr.has_score = 1;
    pr.window = -1;
    pr.percentile = 50;
    pr.score = -9007199254740992LL;
    rk_ranking_percentile(c, &pr, &p, NULL, &st);
    CHECK(st.code != RK_OK && st.code != RK_RESOURCE_EXHAUSTED);
    Rankd__DistributionRequest dr = RANKD__DISTRIBUTION_REQUEST__INIT;
    Rankd__DistributionReply *d = NULL;
    dr.board_id = board;
    dr.has_window = dr.has_buckets = dr.has_min_score = dr.has_max_score = 1;
    dr.window = -1;
    dr.buckets = UINT32_MAX;
    dr.min_score = dr.max_score = -9007199254740992LL;
    dr.has_user_id = 1;
    dr.user_id = -1;
    dr.username = user;
    rk_ranking_distribution(c, &dr, &d, NULL, &st);
    CHECK(st.code != RK_OK && st.code != RK_RESOURCE_EXHAUSTED);
    Rankd__StandingRequest sr = RANKD__STANDING_REQUEST__INIT;
    Rankd__StandingReply *s = NULL;
    sr.has_user_id = sr.has_window = sr.has_offset = sr.has_limit = sr.has_rank_mode = 1;
    sr.user_id = -1;
    sr.username = user;
    sr.window = -1;
    sr.rank_mode = -1;
    sr.offset = sr.limit = UINT32_MAX;
    sr.game = board;
    rk_ranking_standing(c, &sr, &s, NULL, &st);
    CHECK(st.code != RK_OK && st.code != RK_RESOURCE_EXHAUSTED);
}

/* ---------------------------------------------------------------- without Redis */

static void reads_from_the_history_agree(void) {
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    check_around_everyone("st-around", 1);
    /* And every other read of journey 13, the same from the history. */
    check_ranges("st-around", 1);
    check_ranges("st-time", 1);
    check_percentiles("st-around", 1, 1);
    check_percentiles("st-time", 0, 1);
    check_histograms("st-around", 1);
    check_histograms("st-time", 1);
    check_standing(1);
    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    wait_for_redis();
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    it_create_board(c, admin, "st-prev", "stand", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
    it_create_board(c, admin, "st-around", "stand", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
    it_create_board(c, admin, "st-time", "stand", 1, RANKD__POLICY__POLICY_BEST, 0, 0);
    it_create_board(c, admin, "st-empty", "stand", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
    key = it_api_key(c, admin, "stand");
    for (int i = 0; i < PLAYERS; i++) uid[i] = it_sign_up(c, names[i], "password-123");
    RUN(submit_says_where_the_player_was);
    RUN(batch_items_say_where_each_player_was);
    seed_around();
    RUN(around_the_leader_and_the_last_keeps_the_page_full);
    seed_time();
    RUN(counts_and_pages_by_score);
    RUN(counts_by_score_refuse_bad_bounds);
    RUN(percentiles_and_histograms);
    RUN(percentiles_and_histograms_refuse_bad_input);
    RUN(one_call_for_every_board);
    RUN(largest_requests_are_within_their_bounds);
    /* Without Redis, last: right after Redis returns, a read can still
     * meet a connection not yet back and be answered from the history. */
    RUN(degraded_submit_leaves_the_previous_place_out);
    RUN(reads_from_the_history_agree);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
