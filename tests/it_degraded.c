/* Journey 9, Redis down: rankd keeps answering from PostgreSQL and says it
 * is degraded; submissions keep being accepted (and a retried one is still
 * counted once); when Redis returns rankd replays them by itself, in
 * order with what arrives meanwhile, and the best, sum and latest boards
 * equal a reference computed from everything acknowledged. */
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
static int64_t best[PLAYERS], total[PLAYERS], last[PLAYERS]; /* reference: best, sum and latest boards */

/* Submits one score to the three boards; updates the reference when
 * acknowledged (and not a retry answered from its first answer). */
static int submit(int p, int64_t score, const char *idem, rk_status *st) {
    Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    Rankd__BatchEntry e[3], *ep[3] = {&e[0], &e[1], &e[2]};
    char k[3][64];
    const char *boards[] = {"dg-best", "dg-sum", "dg-latest"};
    for (int i = 0; i < 3; i++) {
        snprintf(k[i], sizeof(k[i]), "%s-%d-%s", idem, p, boards[i]);
        rankd__batch_entry__init(&e[i]);
        e[i].board_id = (char *)boards[i];
        e[i].has_user_id = e[i].has_score = 1;
        e[i].user_id = uid[p];
        e[i].score = score;
        e[i].idempotency_key = k[i];
    }
    req.n_entries = 3;
    req.entries = ep;
    Rankd__SubmitBatchReply *rep = NULL;
    rk_call_opts o = it_opts(key, NULL);
    int rc = rk_scores_submit_batch(c, &req, &rep, &o, st);
    for (int i = 0; rc == RK_OK && i < 3; i++) rc = (int)rep->results[i]->code;
    if (rc == RK_OK) {
        if (!rep->results[0]->reply->replayed && score > best[p]) best[p] = score;
        if (!rep->results[1]->reply->replayed) total[p] += score;
        if (!rep->results[2]->reply->replayed) last[p] = score;
    }
    rk_reply_free(rep);
    return rc;
}

/* The board must hold exactly the reference's scores, ranked by them. */
static void check_board(const char *board, const int64_t *ref, int want_degraded) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_limit = 1;
    req.limit = 100;
    CHECK_INT(rk_ranking_top(c, &req, &rep, NULL, &st), RK_OK);
    CHECK_INT(st.degraded, want_degraded);
    if (rep == NULL) return;
    int ranked = 0;
    for (int p = 0; p < PLAYERS; p++) ranked += ref[p] > 0;
    CHECK_INT(ranked, PLAYERS);
    CHECK_INT(rep->n_entries, ranked);
    CHECK_INT(rep->board_size, ranked);
    for (size_t i = 0; i < rep->n_entries; i++) {
        int p = 0;
        while (p < PLAYERS && uid[p] != rep->entries[i]->user_id) p++;
        if (p == PLAYERS) {
            CHECK(!"unknown player listed");
            continue;
        }
        CHECK_INT(rep->entries[i]->score, ref[p]);
        int64_t better = 0;
        for (int q = 0; q < PLAYERS; q++) better += ref[q] > ref[p];
        CHECK_INT(rep->entries[i]->rank, better + 1);
    }
    rk_reply_free(rep);
}

/* A page read from PostgreSQL is exactly that slice of the whole ranking
 * (each page is ranked on its own), in every rank mode, and Count agrees. */
static void check_page(const char *board, uint32_t offset, uint32_t limit) {
    static const Rankd__RankMode modes[] = {RANKD__RANK_MODE__RANK_COMPETITION, RANKD__RANK_MODE__RANK_DENSE,
                                            RANKD__RANK_MODE__RANK_UNIQUE};
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
        Rankd__RankListReply *all = NULL, *page = NULL;
        rk_status st;
        req.board_id = (char *)board;
        req.has_limit = req.has_rank_mode = 1;
        req.rank_mode = modes[m];
        req.limit = 100;
        CHECK_INT(rk_ranking_top(c, &req, &all, NULL, &st), RK_OK);
        req.has_offset = 1;
        req.offset = offset;
        req.limit = limit;
        CHECK_INT(rk_ranking_top(c, &req, &page, NULL, &st), RK_OK);
        CHECK_INT(st.degraded, 1);
        if (all && page) {
            CHECK_INT(page->board_size, all->board_size);
            size_t want = offset >= all->n_entries ? 0 : all->n_entries - offset;
            if (want > limit) want = limit;
            CHECK_INT(page->n_entries, want);
            for (size_t i = 0; i < page->n_entries && i < want; i++) {
                CHECK_INT(page->entries[i]->user_id, all->entries[offset + i]->user_id);
                CHECK_INT(page->entries[i]->score, all->entries[offset + i]->score);
                CHECK_INT(page->entries[i]->rank, all->entries[offset + i]->rank);
            }
        }
        rk_reply_free(all);
        rk_reply_free(page);
    }
    Rankd__CountRequest cr = RANKD__COUNT_REQUEST__INIT;
    Rankd__CountReply *count = NULL;
    rk_status st;
    cr.board_id = (char *)board;
    CHECK_INT(rk_ranking_count(c, &cr, &count, NULL, &st), RK_OK);
    if (count) CHECK_INT(count->count, PLAYERS);
    rk_reply_free(count);
}

/* Around and RanksOf from PostgreSQL find each player's place without
 * ranking the window (report_places), then read a page: both must agree
 * with the whole ranking, ties included, in every rank mode, and Around's
 * page stays full at the ends of the board. */
static void check_places(const char *board) {
    static const Rankd__RankMode modes[] = {RANKD__RANK_MODE__RANK_COMPETITION, RANKD__RANK_MODE__RANK_DENSE,
                                            RANKD__RANK_MODE__RANK_UNIQUE};
    for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
        Rankd__TopRequest tr = RANKD__TOP_REQUEST__INIT;
        Rankd__RankListReply *all = NULL;
        rk_status st;
        tr.board_id = (char *)board;
        tr.has_limit = tr.has_rank_mode = 1;
        tr.limit = 100;
        tr.rank_mode = modes[m];
        CHECK_INT(rk_ranking_top(c, &tr, &all, NULL, &st), RK_OK);
        if (all == NULL) continue;
        /* Around every player: the leader, the tied, the last. */
        for (size_t a = 0; a < all->n_entries; a++) {
            Rankd__AroundRequest ar = RANKD__AROUND_REQUEST__INIT;
            Rankd__RankListReply *page = NULL;
            ar.board_id = (char *)board;
            ar.has_user_id = ar.has_above = ar.has_below = ar.has_rank_mode = 1;
            ar.user_id = all->entries[a]->user_id;
            ar.above = 2;
            ar.below = 3;
            ar.rank_mode = modes[m];
            CHECK_INT(rk_ranking_around(c, &ar, &page, NULL, &st), RK_OK);
            CHECK_INT(st.degraded, 1);
            if (page == NULL) continue;
            /* Six players wherever the board has them: a window cut short
             * at one end takes the missing ones from the other. */
            size_t n = all->n_entries, want = n < 6 ? n : 6, from = a < 2 ? 0 : a - 2;
            if (from + want > n) from = n - want;
            size_t to = from + want - 1;
            CHECK_INT(page->n_entries, to - from + 1);
            for (size_t i = 0; i < page->n_entries && from + i <= to; i++) {
                CHECK_INT(page->entries[i]->user_id, all->entries[from + i]->user_id);
                CHECK_INT(page->entries[i]->rank, all->entries[from + i]->rank);
            }
            CHECK_INT(page->board_size, all->board_size);
            rk_reply_free(page);
        }
        Rankd__RanksOfRequest rr = RANKD__RANKS_OF_REQUEST__INIT;
        Rankd__RankListReply *ranks = NULL;
        int64_t ids[4] = {all->entries[all->n_entries - 1]->user_id, all->entries[0]->user_id, 987654321,
                          all->entries[all->n_entries / 2]->user_id};
        rr.board_id = (char *)board;
        rr.n_user_ids = 4;
        rr.user_ids = ids;
        rr.has_rank_mode = 1;
        rr.rank_mode = modes[m];
        CHECK_INT(rk_ranking_ranks_of(c, &rr, &ranks, NULL, &st), RK_OK);
        if (ranks) {
            CHECK_INT(ranks->n_entries, 3); /* the unknown player is left out */
            for (size_t i = 0; i < ranks->n_entries; i++) {
                size_t j = 0;
                while (j < all->n_entries && all->entries[j]->user_id != ranks->entries[i]->user_id) j++;
                CHECK(j < all->n_entries);
                if (j < all->n_entries) {
                    CHECK_INT(ranks->entries[i]->rank, all->entries[j]->rank);
                    CHECK_INT(ranks->entries[i]->score, all->entries[j]->score);
                }
            }
        }
        rk_reply_free(ranks);
        ranks = NULL;
        /* More players than are placed one by one: the window is ranked once. */
        int64_t many[PLAYERS + 5];
        size_t nm = 0;
        for (size_t i = 0; i < all->n_entries && nm < PLAYERS; i++) many[nm++] = all->entries[i]->user_id;
        for (int i = 0; i < 5; i++) many[nm++] = 987654000 + i;
        rr.n_user_ids = nm;
        rr.user_ids = many;
        CHECK_INT(rk_ranking_ranks_of(c, &rr, &ranks, NULL, &st), RK_OK);
        if (ranks) {
            CHECK_INT(ranks->n_entries, all->n_entries);
            for (size_t i = 0; i < ranks->n_entries && i < all->n_entries; i++) {
                CHECK_INT(ranks->entries[i]->user_id, all->entries[i]->user_id);
                CHECK_INT(ranks->entries[i]->rank, all->entries[i]->rank);
            }
        }
        rk_reply_free(ranks);
        rk_reply_free(all);
    }
}

static int64_t status_field(int which) {
    Rankd__Empty e = RANKD__EMPTY__INIT;
    Rankd__ServerStatus *s = NULL;
    rk_status st;
    int64_t v = -1;
    if (rk_admin_status(c, &e, &s, NULL, &st) == RK_OK) {
        v = which == 0   ? (s->has_writebehind_backlog ? s->writebehind_backlog : -1)
            : which == 1 ? s->degraded
                         : (s->has_redis_backlog ? s->redis_backlog : -1);
    }
    rk_reply_free(s);
    return v;
}

static void redis_down_then_back(void) {
    rk_status st;
    for (int p = 0; p < PLAYERS; p++) CHECK_INT(submit(p, 100 + p * 10, "a", &st), RK_OK);
    for (int i = 0; i < 100 && status_field(0) != 0; i++) usleep(100000); /* history written */
    CHECK_INT(status_field(0), 0);

    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    /* Accepted without Redis, and said so; a lower score after a higher
     * one sets the latest board apart from the best. */
    for (int p = 0; p < PLAYERS; p += 2) {
        CHECK_INT(submit(p, 500 + p, "b", &st), RK_OK);
        CHECK_INT(st.degraded, 1);
        CHECK_INT(submit(p, 50 + p, "d", &st), RK_OK);
    }
    /* A retry of the same submissions counts once. */
    CHECK_INT(submit(0, 500, "b", &st), RK_OK);
    /* A tie on the best board (player 2 reached 502 first). */
    CHECK_INT(submit(3, 502, "t", &st), RK_OK);
    /* Queries come from PostgreSQL, and they already see the new scores. */
    check_board("dg-best", best, 1);
    check_board("dg-sum", total, 1);
    check_board("dg-latest", last, 1);
    check_page("dg-best", 3, 4);
    check_page("dg-sum", 0, 5);
    check_page("dg-latest", 10, 10); /* runs past the end */
    check_page("dg-best", 50, 3);    /* starts past the end */
    check_places("dg-best");
    check_places("dg-sum");
    check_places("dg-latest");
    CHECK_INT(status_field(1), 1);
    CHECK(status_field(2) > 0);
    /* Reads of other kinds work too. */
    Rankd__RankRequest rr = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rank = NULL;
    rr.board_id = "dg-best";
    rr.has_user_id = 1;
    rr.user_id = uid[2];
    CHECK_INT(rk_ranking_rank(c, &rr, &rank, NULL, &st), RK_OK);
    if (rank) CHECK_INT(rank->entry->score, best[2]);
    rk_reply_free(rank);

    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    /* Submitted while rankd catches up: they come after the replayed ones. */
    for (int p = 0; p < PLAYERS; p += 4) CHECK_INT(submit(p, 7 + p, "e", &st), RK_OK);
    /* rankd catches up by itself. */
    int caught_up = 0;
    for (int i = 0; i < 300 && !caught_up; i++) {
        caught_up = status_field(1) == 0 && status_field(2) == 0;
        if (!caught_up) usleep(100000);
    }
    CHECK(caught_up);
    for (int p = 1; p < PLAYERS; p += 2) CHECK_INT(submit(p, 900 + p, "c", &st), RK_OK);
    check_board("dg-best", best, 0);
    check_board("dg-sum", total, 0);
    check_board("dg-latest", last, 0);
}

/* R7 without Redis: a sum that would leave +-2^53 is refused OUT_OF_RANGE
 * while Redis is away too, as rk_submit refuses it, so the history never
 * holds a total the live board cannot. */
static int submit_big(int64_t score, const char *idem, rk_status *st) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    req.board_id = "dg-big";
    req.has_user_id = req.has_score = 1;
    req.user_id = uid[0];
    req.score = score;
    rk_call_opts o = it_opts(key, idem);
    int rc = rk_scores_submit(c, &req, &rep, &o, st);
    rk_reply_free(rep);
    return rc;
}

static void sums_past_the_limit_are_refused_without_redis(void) {
    rk_status st;
    CHECK_INT(submit_big(9007199254740991LL, "big-1", &st), RK_OK);
    CHECK_INT(submit_big(2, "big-2", &st), RK_OUT_OF_RANGE);              /* with Redis */
    for (int i = 0; i < 100 && status_field(0) != 0; i++) usleep(100000); /* history written */
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    CHECK_INT(submit_big(2, "big-3", &st), RK_OUT_OF_RANGE);
    CHECK_INT(submit_big(-5, "big-4", &st), RK_OK); /* back inside is fine */
    CHECK_INT(st.degraded, 1);
    CHECK_INT(submit_big(7, "big-5", &st), RK_OUT_OF_RANGE); /* 2^53 + 1 */
    /* A retry of a submission already recorded is its replay, however far
     * the amount would take the total: the key is looked at first. */
    CHECK_INT(submit_big(9007199254740991LL, "big-1", &st), RK_OK);
    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    int caught_up = 0;
    for (int i = 0; i < 300 && !caught_up; i++) {
        caught_up = status_field(1) == 0 && status_field(2) == 0;
        if (!caught_up) usleep(100000);
    }
    CHECK(caught_up);
    Rankd__RankRequest rr = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rank = NULL;
    rr.board_id = "dg-big";
    rr.has_user_id = 1;
    rr.user_id = uid[0];
    CHECK_INT(rk_ranking_rank(c, &rr, &rank, NULL, &st), RK_OK);
    if (rank && rank->entry) CHECK_INT(rank->entry->score, 9007199254740991LL - 5);
    rk_reply_free(rank);
}

int main(void) {
    c = it_client();
    rk_client_set_deadline(c, 15000);
    admin = it_admin_token(c);
    it_create_board(c, admin, "dg-best", "dg", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
    it_create_board(c, admin, "dg-sum", "dg", 0, RANKD__POLICY__POLICY_SUM, 0, 0);
    it_create_board(c, admin, "dg-latest", "dg", 0, RANKD__POLICY__POLICY_LATEST, 0, 0);
    /* Lower is better: outside the global board, whose total is not the point here. */
    it_create_board(c, admin, "dg-big", "dg", 1, RANKD__POLICY__POLICY_SUM, 0, 0);
    key = it_api_key(c, admin, "dg");
    for (int p = 0; p < PLAYERS; p++) {
        char name[16];
        snprintf(name, sizeof(name), "dg-%d", p);
        uid[p] = it_sign_up(c, name, "password-123");
    }
    RUN(redis_down_then_back);
    RUN(sums_past_the_limit_are_refused_without_redis);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
