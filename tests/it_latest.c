/* Latest boards keep each player's newest submission by submit time (the
 * rule the history and a rebuild use), whatever order submissions reach
 * Redis in. Two rankd processes share Redis and PostgreSQL, the second
 * with its clock 3 s ahead: a submission through the first right after one
 * through the second is older, so it is recorded but changes nothing; live
 * ranks, a report from PostgreSQL and a rebuild all agree; once the first
 * clock has passed it, the first's submissions count again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define BOARD "lt-latest"

static rk_client *c;
static char *admin, *key;
static int64_t p1, p2;

static int64_t submit(rk_client *via, int64_t user, int64_t score) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(key, NULL);
    req.board_id = BOARD;
    req.has_user_id = req.has_score = 1;
    req.user_id = user;
    req.score = score;
    CHECK_INT(rk_scores_submit(via, &req, &rep, &o, &st), RK_OK);
    int64_t now = rep ? rep->score : -1;
    rk_reply_free(rep);
    return now;
}

/* The player's all-time score and rank as live ranks answer them. */
static void live(rk_client *via, int64_t user, int64_t *score, int64_t *rank) {
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rep = NULL;
    rk_status st;
    req.board_id = BOARD;
    req.has_user_id = 1;
    req.user_id = user;
    *score = *rank = -1;
    CHECK_INT(rk_ranking_rank(via, &req, &rep, NULL, &st), RK_OK);
    if (rep && rep->entry) {
        *score = rep->entry->score;
        *rank = rep->entry->rank;
    }
    rk_reply_free(rep);
}

/* Waits until PostgreSQL has the player's n submissions; the newest's score. */
static int64_t newest_in_history(int64_t user, size_t n) {
    Rankd__HistoryRequest req = RANKD__HISTORY_REQUEST__INIT;
    req.board_id = BOARD;
    req.has_user_id = 1;
    req.user_id = user;
    for (int i = 0; i < 100; i++) {
        Rankd__HistoryReply *rep = NULL;
        rk_status st;
        CHECK_INT(rk_history_history(c, &req, &rep, NULL, &st), RK_OK);
        int64_t newest = rep && rep->n_entries == n ? rep->entries[0]->score : -1;
        rk_reply_free(rep);
        if (newest != -1) return newest;
        usleep(100000);
    }
    CHECK(!"the history never held every submission");
    return -1;
}

static void older_submission_does_not_overwrite_newer(void) {
    it_rankd ahead;
    char arg[48];
    snprintf(arg, sizeof(arg), "--clock-start=%lld", (long long)time(NULL) + 3);
    if (it_rankd_spawn(&ahead, "ahead", arg) != 0) {
        CHECK(!"the second rankd started");
        return;
    }
    int64_t score, rank;

    CHECK_INT(submit(c, p2, 18), 18);
    CHECK_INT(submit(c, p1, 10), 10);
    CHECK_INT(submit(ahead.client, p1, 20), 20);
    /* Older by the first rankd's clock than the 20: recorded, not applied. */
    CHECK_INT(submit(c, p1, 15), 20);
    live(c, p1, &score, &rank);
    CHECK_INT(score, 20);
    CHECK_INT(rank, 1);
    live(ahead.client, p1, &score, &rank);
    CHECK_INT(score, 20);
    live(c, p2, &score, &rank);
    CHECK_INT(rank, 2);

    /* The history has all three, newest by submit time first... */
    CHECK_INT(newest_in_history(p1, 3), 20);
    /* ...and a report computed from it agrees with the live board. */
    Rankd__ReportRequest rr = RANKD__REPORT_REQUEST__INIT;
    Rankd__ReportReply *rep = NULL;
    rk_status st;
    rr.board_id = BOARD;
    rr.has_from = rr.has_to = 1;
    rr.from = 1;
    rr.to = (int64_t)time(NULL) + 3600; /* not a window: PostgreSQL answers */
    CHECK_INT(rk_history_report(c, &rr, &rep, NULL, &st), RK_OK);
    CHECK(rep && rep->n_entries == 2);
    if (rep && rep->n_entries == 2) {
        CHECK_STR(rep->source, "postgres");
        CHECK_INT(rep->entries[0]->user_id, p1);
        CHECK_INT(rep->entries[0]->score, 20);
        CHECK_INT(rep->entries[1]->user_id, p2);
    }
    rk_reply_free(rep);

    /* A rebuild from the history gives the same board. */
    Rankd__RebuildRequest rb = RANKD__REBUILD_REQUEST__INIT;
    Rankd__RebuildReply *rbr = NULL;
    rk_call_opts o = it_opts(admin, NULL);
    rb.board_id = BOARD;
    CHECK_INT(rk_admin_rebuild(c, &rb, &rbr, &o, &st), RK_OK);
    rk_reply_free(rbr);
    live(c, p1, &score, &rank);
    CHECK_INT(score, 20);
    CHECK_INT(rank, 1);

    /* Once the first rankd's clock is past the 20, its submissions count. */
    sleep(4);
    CHECK_INT(submit(c, p1, 12), 12);
    live(ahead.client, p1, &score, &rank);
    CHECK_INT(score, 12);
    CHECK_INT(rank, 2);

    CHECK_INT(it_rankd_stop(&ahead), 0);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    CHECK_INT(it_create_board(c, admin, BOARD, "lt", 0, RANKD__POLICY__POLICY_LATEST, 0, 0), RK_OK);
    key = it_api_key(c, admin, "lt");
    p1 = it_sign_up(c, "lt-one", "password-123");
    p2 = it_sign_up(c, "lt-two", "password-123");
    RUN(older_submission_does_not_overwrite_newer);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
