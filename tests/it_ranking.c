/* Journeys 5 and 6 (players look at the boards; the global board): top N
 * with offsets, one player's rank with the board size, the players around
 * a player, ranks among friends, windows, lower-is-better boards, and the
 * tie rules end to end: equal scores share a rank and the player who got
 * there first is listed first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

static rk_client *c;
static char *admin, *key, *mario_key;
static int64_t uid[8];
static const char *const names[8] = {"ann", "bob", "cat", "dan", "eve", "fay", "gus", "hal"};

static int submit(const char *board, const char *k, int who, int64_t score) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(k, NULL);
    req.board_id = (char *)board;
    req.has_user_id = req.has_score = 1;
    req.user_id = uid[who];
    req.score = score;
    int rc = rk_scores_submit(c, &req, &rep, &o, &st);
    if (rc != RK_OK) fprintf(stderr, "  submit: %s\n", st.message);
    rk_reply_free(rep);
    return rc;
}

static Rankd__RankListReply *top(const char *board, Rankd__Window w, uint32_t offset, uint32_t limit,
                                 Rankd__RankMode mode, rk_status *st) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    req.board_id = (char *)board;
    req.has_window = req.has_offset = req.has_limit = req.has_rank_mode = 1;
    req.window = w;
    req.offset = offset;
    req.limit = limit;
    req.rank_mode = mode;
    rk_ranking_top(c, &req, &rep, NULL, st);
    return rep;
}

/* Board "tetris": ann 100, then bob, cat, dan all reach 90 in that order,
 * eve 80, fay 70. */
static void seed(void) {
    CHECK_INT(submit("tetris", key, 0, 100), RK_OK);
    CHECK_INT(submit("tetris", key, 2, 90), RK_OK);
    CHECK_INT(submit("tetris", key, 1, 90), RK_OK); /* bob reaches 90 after cat */
    CHECK_INT(submit("tetris", key, 3, 90), RK_OK);
    CHECK_INT(submit("tetris", key, 4, 80), RK_OK);
    CHECK_INT(submit("tetris", key, 5, 70), RK_OK);
    /* Equal resubmission keeps cat's earlier time: she stays ahead of bob. */
    CHECK_INT(submit("tetris", key, 2, 90), RK_OK);
}

static void competition_ranks_with_first_come_order(void) {
    rk_status st;
    Rankd__RankListReply *r =
        top("tetris", RANKD__WINDOW__WINDOW_ALL_TIME, 0, 10, RANKD__RANK_MODE__RANK_COMPETITION, &st);
    CHECK_CODE(st, RK_OK);
    if (r == NULL) return;
    CHECK_INT(r->board_size, 6);
    CHECK_INT(r->n_entries, 6);
    if (r->n_entries == 6) {
        const char *order[] = {"ann", "cat", "bob", "dan", "eve", "fay"};
        const int64_t ranks[] = {1, 2, 2, 2, 5, 6};
        for (int i = 0; i < 6; i++) {
            CHECK_STR(r->entries[i]->username, order[i]);
            CHECK_INT(r->entries[i]->rank, ranks[i]);
        }
        CHECK_INT(r->entries[1]->score, 90);
    }
    rk_reply_free(r);
}

static void dense_and_unique_ranks(void) {
    rk_status st;
    Rankd__RankListReply *d = top("tetris", RANKD__WINDOW__WINDOW_ALL_TIME, 0, 10, RANKD__RANK_MODE__RANK_DENSE, &st);
    Rankd__RankListReply *u = top("tetris", RANKD__WINDOW__WINDOW_ALL_TIME, 0, 10, RANKD__RANK_MODE__RANK_UNIQUE, &st);
    if (d && u && d->n_entries == 6 && u->n_entries == 6) {
        const int64_t dense[] = {1, 2, 2, 2, 3, 4};
        for (int i = 0; i < 6; i++) {
            CHECK_INT(d->entries[i]->rank, dense[i]);
            CHECK_INT(u->entries[i]->rank, i + 1);
        }
    } else {
        CHECK(!"listings missing");
    }
    rk_reply_free(d);
    rk_reply_free(u);
}

static void page_from_inside_a_tie(void) {
    rk_status st;
    Rankd__RankListReply *r =
        top("tetris", RANKD__WINDOW__WINDOW_ALL_TIME, 2, 3, RANKD__RANK_MODE__RANK_COMPETITION, &st);
    if (r && r->n_entries == 3) {
        CHECK_STR(r->entries[0]->username, "bob");
        CHECK_INT(r->entries[0]->rank, 2);
        CHECK_INT(r->entries[2]->rank, 5);
    } else {
        CHECK(!"page missing");
    }
    rk_reply_free(r);
    r = top("tetris", RANKD__WINDOW__WINDOW_ALL_TIME, 3, 2, RANKD__RANK_MODE__RANK_DENSE, &st);
    if (r && r->n_entries == 2) {
        CHECK_INT(r->entries[0]->rank, 2);
        CHECK_INT(r->entries[1]->rank, 3);
    }
    rk_reply_free(r);
}

static void one_players_rank_and_board_size(void) {
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rep = NULL;
    rk_status st;
    req.board_id = "tetris";
    req.username = "dan";
    CHECK_INT(rk_ranking_rank(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) {
        CHECK_INT(rep->entry->rank, 2);
        CHECK_INT(rep->entry->score, 90);
        CHECK_INT(rep->board_size, 6);
    }
    rk_reply_free(rep);
    rep = NULL;
    req.has_rank_mode = 1;
    req.rank_mode = RANKD__RANK_MODE__RANK_UNIQUE;
    CHECK_INT(rk_ranking_rank(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) CHECK_INT(rep->entry->rank, 4);
    rk_reply_free(rep);
    rep = NULL;
    req.username = "hal"; /* signed up, never played */
    CHECK_INT(rk_ranking_rank(c, &req, &rep, NULL, &st), RK_NOT_FOUND);
    req.username = "nobody";
    CHECK_INT(rk_ranking_rank(c, &req, &rep, NULL, &st), RK_NOT_FOUND);
    req.username = "dan";
    req.board_id = "no-board";
    CHECK_INT(rk_ranking_rank(c, &req, &rep, NULL, &st), RK_NOT_FOUND);
}

static void players_around(void) {
    Rankd__AroundRequest req = RANKD__AROUND_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = "tetris";
    req.username = "bob";
    req.has_above = req.has_below = 1;
    req.above = 1;
    req.below = 2;
    CHECK_INT(rk_ranking_around(c, &req, &rep, NULL, &st), RK_OK);
    if (rep && rep->n_entries == 4) {
        CHECK_STR(rep->entries[0]->username, "cat");
        CHECK_STR(rep->entries[1]->username, "bob");
        CHECK_STR(rep->entries[3]->username, "eve");
        CHECK_INT(rep->entries[3]->rank, 5);
    } else {
        CHECK(!"around listing missing");
    }
    rk_reply_free(rep);
    rep = NULL;
    req.username = "ann"; /* at the top: nothing above, so one more below */
    CHECK_INT(rk_ranking_around(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) {
        CHECK_INT(rep->n_entries, 4);
        CHECK_INT(rep->entries[0]->rank, 1);
    }
    rk_reply_free(rep);
    rep = NULL;
    req.above = 101;
    CHECK_INT(rk_ranking_around(c, &req, &rep, NULL, &st), RK_INVALID_ARGUMENT);
}

static void ranks_among_friends(void) {
    Rankd__RanksOfRequest req = RANKD__RANKS_OF_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    char *friends[] = {"fay", "bob", "hal", "nobody"};
    int64_t ids[] = {uid[0]};
    req.board_id = "tetris";
    req.n_usernames = 4;
    req.usernames = friends;
    req.n_user_ids = 1;
    req.user_ids = ids;
    CHECK_INT(rk_ranking_ranks_of(c, &req, &rep, NULL, &st), RK_OK);
    if (rep && rep->n_entries == 3) { /* unranked and unknown players are left out */
        CHECK_STR(rep->entries[0]->username, "ann");
        CHECK_STR(rep->entries[1]->username, "bob");
        CHECK_INT(rep->entries[1]->rank, 2);
        CHECK_STR(rep->entries[2]->username, "fay");
        CHECK_INT(rep->entries[2]->rank, 6);
    } else {
        CHECK(!"friends listing missing");
    }
    rk_reply_free(rep);
    rep = NULL;

    /* Equal scores: listed in board order (cat reached 90 before bob),
     * whatever the order asked in. */
    char *tied[] = {"bob", "cat"};
    req.n_user_ids = 0;
    req.n_usernames = 2;
    req.usernames = tied;
    CHECK_INT(rk_ranking_ranks_of(c, &req, &rep, NULL, &st), RK_OK);
    if (rep && rep->n_entries == 2) {
        CHECK_STR(rep->entries[0]->username, "cat");
        CHECK_STR(rep->entries[1]->username, "bob");
    }
    rk_reply_free(rep);
    rep = NULL;

    /* Nobody known: no entries, but the board's size. */
    char *strangers[] = {"nobody"};
    req.n_usernames = 1;
    req.usernames = strangers;
    CHECK_INT(rk_ranking_ranks_of(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) {
        CHECK_INT(rep->n_entries, 0);
        CHECK_INT(rep->board_size, 6);
    }
    rk_reply_free(rep);
}

static void count_and_windows(void) {
    Rankd__CountRequest req = RANKD__COUNT_REQUEST__INIT;
    Rankd__CountReply *rep = NULL;
    rk_status st;
    req.board_id = "tetris";
    req.has_window = 1;
    req.window = RANKD__WINDOW__WINDOW_WEEKLY;
    CHECK_INT(rk_ranking_count(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) CHECK_INT(rep->count, 6); /* everything happened this week */
    rk_reply_free(rep);
    Rankd__RankListReply *r = top("tetris", RANKD__WINDOW__WINDOW_DAILY, 0, 1, RANKD__RANK_MODE__RANK_COMPETITION, &st);
    if (r && r->n_entries == 1) CHECK_STR(r->entries[0]->username, "ann");
    rk_reply_free(r);
    /* A window the board does not keep. */
    r = top("speedrun-1-1", RANKD__WINDOW__WINDOW_WEEKLY, 0, 1, RANKD__RANK_MODE__RANK_COMPETITION, &st);
    CHECK_CODE(st, RK_FAILED_PRECONDITION);
    rk_reply_free(r);
    r = top("tetris", RANKD__WINDOW__WINDOW_ALL_TIME, 0, 1001, RANKD__RANK_MODE__RANK_COMPETITION, &st);
    CHECK_CODE(st, RK_INVALID_ARGUMENT);
}

static void lower_is_better_ranks_ascending(void) {
    CHECK_INT(submit("speedrun-1-1", mario_key, 0, 61000), RK_OK);
    CHECK_INT(submit("speedrun-1-1", mario_key, 1, 59000), RK_OK);
    CHECK_INT(submit("speedrun-1-1", mario_key, 2, 59000), RK_OK);
    CHECK_INT(submit("speedrun-1-1", mario_key, 1, 65000), RK_OK); /* slower: keeps 59000 */
    rk_status st;
    Rankd__RankListReply *r =
        top("speedrun-1-1", RANKD__WINDOW__WINDOW_ALL_TIME, 0, 10, RANKD__RANK_MODE__RANK_COMPETITION, &st);
    if (r && r->n_entries == 3) {
        CHECK_STR(r->entries[0]->username, "bob"); /* first to 59000 */
        CHECK_INT(r->entries[0]->score, 59000);
        CHECK_INT(r->entries[1]->rank, 1);
        CHECK_STR(r->entries[2]->username, "ann");
        CHECK_INT(r->entries[2]->rank, 3);
    } else {
        CHECK(!"speedrun listing missing");
    }
    rk_reply_free(r);
}

static void global_board_sums_all_time_scores(void) {
    /* A second higher-is-better board in another game adds to the totals. */
    it_create_board(c, admin, "puzzle", "mario", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
    CHECK_INT(submit("puzzle", mario_key, 5, 50), RK_OK); /* fay: 70 + 50 = 120 */
    CHECK_INT(submit("puzzle", mario_key, 4, 10), RK_OK); /* eve: 80 + 10 = 90 */
    CHECK_INT(submit("puzzle", mario_key, 5, 60), RK_OK); /* fay improves: 70 + 60 = 130 */
    rk_status st;
    CHECK(it_settled(c)); /* the split layout applies the global board a moment later */
    Rankd__RankListReply *r =
        top("global", RANKD__WINDOW__WINDOW_ALL_TIME, 0, 3, RANKD__RANK_MODE__RANK_COMPETITION, &st);
    CHECK_CODE(st, RK_OK);
    if (r && r->n_entries == 3) {
        CHECK_STR(r->entries[0]->username, "fay");
        CHECK_INT(r->entries[0]->score, 130);
        CHECK_STR(r->entries[1]->username, "ann");
        CHECK_INT(r->entries[1]->score, 100);
        CHECK_INT(r->entries[2]->score, 90);
        CHECK_INT(r->entries[2]->rank, 3);
    } else {
        CHECK(!"global listing missing");
    }
    rk_reply_free(r);
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rep = NULL;
    req.board_id = "global";
    req.username = "eve";
    CHECK_INT(rk_ranking_rank(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) {
        CHECK_INT(rep->entry->score, 90);
        CHECK_INT(rep->entry->rank, 3); /* eve 90 ties bob, cat and dan; the tie shares rank 3 */
    }
    rk_reply_free(rep);
    /* Deleting a board takes its scores out of the global totals. */
    Rankd__DeleteBoardRequest del = RANKD__DELETE_BOARD_REQUEST__INIT;
    Rankd__Empty *e = NULL;
    rk_call_opts o = it_opts(admin, NULL);
    del.board_id = "puzzle";
    CHECK_INT(rk_boards_delete_board(c, &del, &e, &o, &st), RK_OK);
    rk_reply_free(e);
    r = top("global", RANKD__WINDOW__WINDOW_ALL_TIME, 0, 1, RANKD__RANK_MODE__RANK_COMPETITION, &st);
    if (r && r->n_entries == 1) {
        CHECK_STR(r->entries[0]->username, "ann");
        CHECK_INT(r->entries[0]->score, 100);
    }
    rk_reply_free(r);
}

/* Equal scores in one batch rank in the batch's order, whatever the ids. */
static void batch_order_decides_ties(void) {
    const char *boards[] = {"ties-a", "ties-b"};
    for (int b = 0; b < 2; b++) {
        it_create_board(c, admin, boards[b], "tetris", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
        Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
        Rankd__BatchEntry e[2], *ep[2] = {&e[0], &e[1]};
        for (int i = 0; i < 2; i++) {
            rankd__batch_entry__init(&e[i]);
            e[i].board_id = (char *)boards[b];
            e[i].has_user_id = e[i].has_score = 1;
            e[i].user_id = uid[b == 0 ? 6 + i : 7 - i]; /* gus, hal then hal, gus */
            e[i].score = 55;
        }
        req.n_entries = 2;
        req.entries = ep;
        Rankd__SubmitBatchReply *rep = NULL;
        rk_status st;
        rk_call_opts o = it_opts(key, NULL);
        CHECK_INT(rk_scores_submit_batch(c, &req, &rep, &o, &st), RK_OK);
        rk_reply_free(rep);
        Rankd__RankListReply *r =
            top(boards[b], RANKD__WINDOW__WINDOW_ALL_TIME, 0, 2, RANKD__RANK_MODE__RANK_UNIQUE, &st);
        if (r && r->n_entries == 2) {
            CHECK_STR(r->entries[0]->username, b == 0 ? "gus" : "hal");
            CHECK_STR(r->entries[1]->username, b == 0 ? "hal" : "gus");
        } else {
            CHECK(!"tie listing missing");
        }
        rk_reply_free(r);
    }
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    it_create_board(c, admin, "tetris", "tetris", 0, RANKD__POLICY__POLICY_BEST, 0xE, 0);
    it_create_board(c, admin, "speedrun-1-1", "mario", 1, RANKD__POLICY__POLICY_BEST, 0, 0);
    key = it_api_key(c, admin, "tetris");
    mario_key = it_api_key(c, admin, "mario");
    for (int i = 0; i < 8; i++) uid[i] = it_sign_up(c, names[i], "password-123");
    seed();
    RUN(competition_ranks_with_first_come_order);
    RUN(dense_and_unique_ranks);
    RUN(page_from_inside_a_tie);
    RUN(one_players_rank_and_board_size);
    RUN(players_around);
    RUN(ranks_among_friends);
    RUN(count_and_windows);
    RUN(lower_is_better_ranks_ascending);
    RUN(global_board_sums_all_time_scores);
    RUN(batch_order_decides_ties);
    free(admin);
    free(key);
    free(mario_key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
