/* Journey 13 (where do I stand?): a submission says where the player stood
 * before it, so a game can say "you climbed from 48th to 12th"; a replay
 * says it again, exactly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define PLAYERS 8

static rk_client *c;
static char *admin, *key;
static int64_t uid[PLAYERS];
static const char *const names[PLAYERS] = {"st-ann", "st-bob", "st-cat", "st-dan",
                                           "st-eve", "st-fay", "st-gus", "st-hal"};

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
    /* Wait until rankd has caught up before the next tests. */
    int up = 0;
    for (int i = 0; i < 300 && !up; i++) {
        r = submit("st-prev", 1, 1, NULL, &st);
        up = st.code == RK_OK && !st.degraded;
        rk_reply_free(r);
        if (!up) usleep(100000);
    }
    CHECK(up);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    it_create_board(c, admin, "st-prev", "stand", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
    key = it_api_key(c, admin, "stand");
    for (int i = 0; i < PLAYERS; i++) uid[i] = it_sign_up(c, names[i], "password-123");
    RUN(submit_says_where_the_player_was);
    RUN(batch_items_say_where_each_player_was);
    RUN(degraded_submit_leaves_the_previous_place_out);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
