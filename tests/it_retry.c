/* A limit that refuses a call says when to retry as a number, not only in
 * its message: ReplyEnvelope.retry_after_ms for a call, and
 * BatchResult.retry_after_ms for each refused entry of a batch; the
 * client library puts it in rk_status.retry_after_ms. Other errors carry
 * none. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "it_common.h"

static rk_client *c;
static char *admin, *key;
static int64_t ann;

static int submit(int64_t score, rk_status *st) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_call_opts o = it_opts(key, NULL);
    req.board_id = "rt-board";
    req.has_user_id = req.has_score = 1;
    req.user_id = ann;
    req.score = score;
    int rc = rk_scores_submit(c, &req, &rep, &o, st);
    rk_reply_free(rep);
    return rc;
}

static void a_rate_limit_says_when(void) {
    rk_status st;
    CHECK_INT(submit(1, &st), RK_OK);
    CHECK_INT(st.retry_after_ms, 0);
    CHECK_INT(submit(2, &st), RK_RESOURCE_EXHAUSTED);
    printf("  refused: %s (retry_after_ms %lld)\n", st.message, (long long)st.retry_after_ms);
    CHECK(st.retry_after_ms >= 1000 && st.retry_after_ms <= 60000);
    /* The number and the words agree. */
    long long secs = 0;
    const char *when = strstr(st.message, "retry in ");
    CHECK(when != NULL && sscanf(when, "retry in %lld s", &secs) == 1);
    CHECK_INT(st.retry_after_ms, secs * 1000);
}

static void each_refused_entry_of_a_batch_says_when(void) {
    Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    Rankd__SubmitBatchReply *rep = NULL;
    Rankd__BatchEntry e[2] = {RANKD__BATCH_ENTRY__INIT, RANKD__BATCH_ENTRY__INIT};
    Rankd__BatchEntry *list[2] = {&e[0], &e[1]};
    rk_status st;
    rk_call_opts o = it_opts(key, NULL);
    e[0].board_id = "rt-board"; /* ann is still past the limit */
    e[1].board_id = "nope";     /* an unknown board: an error, but no limit */
    for (int i = 0; i < 2; i++) {
        e[i].has_user_id = e[i].has_score = 1;
        e[i].user_id = ann;
        e[i].score = 3;
    }
    req.entries = list;
    req.n_entries = 2;
    CHECK_INT(rk_scores_submit_batch(c, &req, &rep, &o, &st), RK_OK);
    CHECK(rep != NULL && rep->n_results == 2);
    if (rep && rep->n_results == 2) {
        CHECK_INT(rep->results[0]->code, RK_RESOURCE_EXHAUSTED);
        CHECK(rep->results[0]->has_retry_after_ms && rep->results[0]->retry_after_ms >= 1000 &&
              rep->results[0]->retry_after_ms <= 60000);
        CHECK_INT(rep->results[1]->code, RK_NOT_FOUND);
        CHECK_INT(rep->results[1]->has_retry_after_ms, 0);
    }
    rk_reply_free(rep);
}

static void other_errors_say_nothing_of_it(void) {
    Rankd__GetBoardRequest req = RANKD__GET_BOARD_REQUEST__INIT;
    Rankd__BoardReply *rep = NULL;
    rk_status st;
    req.board_id = "nope";
    CHECK_INT(rk_boards_get_board(c, &req, &rep, NULL, &st), RK_NOT_FOUND);
    CHECK_INT(st.retry_after_ms, 0);
    rk_reply_free(rep);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__BoardReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(admin, NULL);
    b.id = "rt-board";
    b.game = "rt";
    b.has_rate_limit = 1;
    b.rate_limit = 1;
    req.board = &b;
    if (rk_boards_create_board(c, &req, &rep, &o, &st) != RK_OK) fprintf(stderr, "create: %s\n", st.message);
    rk_reply_free(rep);
    key = it_api_key(c, admin, "rt");
    ann = it_sign_up(c, "rt-ann", "password-123");
    RUN(a_rate_limit_says_when);
    RUN(each_refused_entry_of_a_batch_says_when);
    RUN(other_errors_say_nothing_of_it);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
