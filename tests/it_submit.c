/* Journey 4 (a match ends): a game server submits 64 scores in one batch
 * with idempotency keys, retries the same batch, and nothing counts twice;
 * each bad item gets its own code while the rest succeed; players submit
 * only their own scores where a board allows it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "it_common.h"

#define PLAYERS 64

static rk_client *c;
static char *admin, *key;
static int64_t ids[PLAYERS];

static Rankd__SubmitBatchReply *send_match(const char *board, int round, rk_status *st) {
    Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    Rankd__BatchEntry e[PLAYERS], *ep[PLAYERS];
    char idem[PLAYERS][48];
    for (int i = 0; i < PLAYERS; i++) {
        rankd__batch_entry__init(&e[i]);
        e[i].board_id = (char *)board;
        e[i].has_user_id = 1;
        e[i].user_id = ids[i];
        e[i].has_score = 1;
        e[i].score = 1000 + i;
        snprintf(idem[i], sizeof(idem[i]), "match-%d-player-%d", round, i);
        e[i].idempotency_key = idem[i];
        ep[i] = &e[i];
    }
    req.n_entries = PLAYERS;
    req.entries = ep;
    Rankd__SubmitBatchReply *rep = NULL;
    rk_call_opts o = it_opts(key, NULL);
    rk_scores_submit_batch(c, &req, &rep, &o, st);
    return rep;
}

static void batch_then_retry_counts_once(void) {
    rk_status st;
    /* A sum board shows any double count at once. */
    Rankd__SubmitBatchReply *a = send_match("tetris-sum", 1, &st);
    CHECK_CODE(st, RK_OK);
    Rankd__SubmitBatchReply *b = send_match("tetris-sum", 1, &st); /* the reply was "lost" */
    CHECK_CODE(st, RK_OK);
    if (a && b) {
        CHECK_INT(a->n_results, PLAYERS);
        for (int i = 0; i < PLAYERS; i++) {
            CHECK_INT(a->results[i]->code, RK_OK);
            CHECK_INT(b->results[i]->code, RK_OK);
            if (a->results[i]->code != RK_OK || b->results[i]->code != RK_OK) {
                fprintf(stderr, "  item %d: %s / %s\n", i, a->results[i]->message, b->results[i]->message);
                break;
            }
            CHECK_INT(a->results[i]->reply->score, 1000 + i);
            CHECK_INT(a->results[i]->reply->replayed, 0);
            CHECK_INT(b->results[i]->reply->replayed, 1);
            CHECK_INT(b->results[i]->reply->score, a->results[i]->reply->score);
            CHECK_INT(b->results[i]->reply->rank, a->results[i]->reply->rank);
        }
        /* Player 63 scored highest, so ranks first of 64. */
        if (a->results[0]->reply && a->results[PLAYERS - 1]->reply) {
            CHECK_INT(a->results[PLAYERS - 1]->reply->rank, 1);
            CHECK_INT(a->results[PLAYERS - 1]->reply->board_size, PLAYERS);
            CHECK_INT(a->results[0]->reply->personal_best, 1);
        }
    }
    rk_reply_free(a);
    rk_reply_free(b);
    /* A new match (new keys) does add up. */
    Rankd__SubmitBatchReply *d = send_match("tetris-sum", 2, &st);
    CHECK(d && d->results[5]->reply);
    if (d && d->results[5]->reply) CHECK_INT(d->results[5]->reply->score, 2 * 1005);
    rk_reply_free(d);
}

static void personal_best_on_best_board(void) {
    rk_status st;
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_call_opts o = it_opts(key, NULL);
    req.board_id = "tetris";
    req.has_user_id = req.has_score = 1;
    req.user_id = ids[0];
    req.score = 500;
    CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_OK);
    if (rep) CHECK_INT(rep->personal_best, 1);
    rk_reply_free(rep);
    rep = NULL;
    req.score = 400; /* worse: kept 500, not a personal best */
    CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_OK);
    if (rep) {
        CHECK_INT(rep->personal_best, 0);
        CHECK_INT(rep->score, 500);
    }
    rk_reply_free(rep);
    rep = NULL;
    req.score = 700;
    CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_OK);
    if (rep) {
        CHECK_INT(rep->personal_best, 1);
        CHECK_INT(rep->score, 700);
    }
    rk_reply_free(rep);
}

static void bad_items_fail_alone(void) {
    Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    Rankd__BatchEntry e[5], *ep[5];
    for (int i = 0; i < 5; i++) {
        rankd__batch_entry__init(&e[i]);
        e[i].board_id = "tetris";
        e[i].has_user_id = e[i].has_score = 1;
        e[i].user_id = ids[10 + i];
        e[i].score = 100;
        ep[i] = &e[i];
    }
    e[1].score = 2000000000;         /* above the board's maximum */
    e[2].user_id = 999999;           /* no such player */
    e[3].board_id = "no-such-board"; /* no such board */
    e[4].board_id = "speedrun-1-1";  /* another game's board */
    req.n_entries = 5;
    req.entries = ep;
    Rankd__SubmitBatchReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(key, NULL);
    CHECK_INT(rk_scores_submit_batch(c, &req, &rep, &o, &st), RK_OK);
    if (rep == NULL) return;
    CHECK_INT(rep->results[0]->code, RK_OK);
    CHECK_INT(rep->results[1]->code, RK_INVALID_ARGUMENT);
    CHECK(strstr(rep->results[1]->message, "maximum") != NULL);
    CHECK_INT(rep->results[2]->code, RK_NOT_FOUND);
    CHECK_INT(rep->results[3]->code, RK_NOT_FOUND);
    CHECK_INT(rep->results[4]->code, RK_PERMISSION_DENIED);
    rk_reply_free(rep);
}

static void batch_limits(void) {
    Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    Rankd__SubmitBatchReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(key, NULL);
    CHECK_INT(rk_scores_submit_batch(c, &req, &rep, &o, &st), RK_INVALID_ARGUMENT);
    static Rankd__BatchEntry e;
    static Rankd__BatchEntry *ep[1001];
    rankd__batch_entry__init(&e);
    for (int i = 0; i < 1001; i++) ep[i] = &e;
    req.n_entries = 1001;
    req.entries = ep;
    CHECK_INT(rk_scores_submit_batch(c, &req, &rep, &o, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "1000") != NULL);
}

static void players_submit_only_their_own(void) {
    char *tok = it_login(c, "player-0", "player-password");
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(tok, NULL);
    req.board_id = "casual";
    req.has_score = 1;
    req.score = 42;
    req.username = "player-0";
    CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
    rep = NULL;
    req.username = "player-1";
    CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_PERMISSION_DENIED);
    req.username = "player-0";
    req.board_id = "tetris"; /* game server only */
    CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_PERMISSION_DENIED);
    CHECK_INT(rk_scores_submit(c, &req, &rep, NULL, &st), RK_UNAUTHENTICATED);
    req.has_score = 0;
    req.board_id = "casual";
    CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_INVALID_ARGUMENT);
    free(tok);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    it_create_board_bounded(c, admin, "tetris", "tetris", 0, RANKD__POLICY__POLICY_BEST, 0xE, 0, 0, 1000000000);
    it_create_board(c, admin, "tetris-sum", "tetris", 0, RANKD__POLICY__POLICY_SUM, 0, 0);
    it_create_board(c, admin, "casual", "tetris", 0, RANKD__POLICY__POLICY_LATEST, 0, 1);
    it_create_board(c, admin, "speedrun-1-1", "mario", 1, RANKD__POLICY__POLICY_BEST, 0, 0);
    key = it_api_key(c, admin, "tetris");
    for (int i = 0; i < PLAYERS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "player-%d", i);
        ids[i] = it_sign_up(c, name, "player-password");
    }
    RUN(batch_then_retry_counts_once);
    RUN(personal_best_on_best_board);
    RUN(bad_items_fail_alone);
    RUN(batch_limits);
    RUN(players_submit_only_their_own);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
