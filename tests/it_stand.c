/* Journey 13 (where do I stand?): a submission says where the player stood
 * before it, so a game can say "you climbed from 48th to 12th", and a
 * replay says it again, exactly; the players around anyone fill their
 * page, the leader's and the last one's included. */
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

static void around_from_the_history_keeps_the_page_full(void) {
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    check_around_everyone("st-around", 1);
    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    wait_for_redis();
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    it_create_board(c, admin, "st-prev", "stand", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
    it_create_board(c, admin, "st-around", "stand", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
    key = it_api_key(c, admin, "stand");
    for (int i = 0; i < PLAYERS; i++) uid[i] = it_sign_up(c, names[i], "password-123");
    RUN(submit_says_where_the_player_was);
    RUN(batch_items_say_where_each_player_was);
    seed_around();
    RUN(around_the_leader_and_the_last_keeps_the_page_full);
    /* Without Redis, last: right after Redis returns, a read can still
     * meet a connection not yet back and be answered from the history. */
    RUN(degraded_submit_leaves_the_previous_place_out);
    RUN(around_from_the_history_keeps_the_page_full);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
