/* An idempotency key is the caller's own: two callers (two API keys of one
 * game, or a player's token) that happen to pick the same key on one board
 * make two submissions, each counted and answered for itself, and each
 * caller's retry is answered from its own first answer. The same holds
 * for submissions taken while Redis is away, and after they are replayed
 * into it. The history shows each key as its caller sent it. A key names
 * one submission: another player or score under it is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define BOARD "idem-sum"
#define REUSE "idem-reuse"
#define REUSE_HOT "idem-reuse-hot"

static rk_client *c;
static char *admin, *key_a, *key_b, *player;
static int64_t p0, p1;

/* Submits score for user on board as caller with idempotency key idem;
 * -1 when refused, else whether it was answered as a replay. */
static int submit_on(const char *board, const char *caller, int64_t user, int64_t score, const char *idem,
                     rk_status *st) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    req.board_id = (char *)board;
    req.has_user_id = req.has_score = 1;
    req.user_id = user;
    req.score = score;
    rk_call_opts o = it_opts(caller, idem);
    int out = -1;
    if (rk_scores_submit(c, &req, &rep, &o, st) == RK_OK) {
        out = rep->replayed;
    } else {
        fprintf(stderr, "  submit: %s\n", st->message);
    }
    rk_reply_free(rep);
    return out;
}

static int submit(const char *caller, int64_t user, int64_t score, const char *idem, rk_status *st) {
    return submit_on(BOARD, caller, user, score, idem, st);
}

/* user's score on board; -1 when not on it. */
static int64_t score_on(const char *board, int64_t user) {
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rep = NULL;
    rk_status st;
    int64_t v = -1;
    req.board_id = (char *)board;
    req.has_user_id = 1;
    req.user_id = user;
    if (rk_ranking_rank(c, &req, &rep, NULL, &st) == RK_OK && rep->entry) v = rep->entry->score;
    rk_reply_free(rep);
    return v;
}

static int64_t score_of(int64_t user) { return score_on(BOARD, user); }

/* A sum board of game idg spread over 4 shards. */
static void create_hot(const char *id) {
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__BoardReply *rep = NULL;
    rk_status st;
    b.id = (char *)id;
    b.game = "idg";
    b.has_policy = b.has_shards = 1;
    b.policy = RANKD__POLICY__POLICY_SUM;
    b.shards = 4;
    req.board = &b;
    rk_call_opts o = it_opts(admin, NULL);
    CHECK_INT(rk_boards_create_board(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
}

static int caught_up(void) {
    for (int i = 0; i < 300; i++) {
        Rankd__Empty e = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *s = NULL;
        rk_call_opts o = it_opts(admin, NULL);
        rk_status st;
        int done = rk_admin_status(c, &e, &s, &o, &st) == RK_OK && !s->degraded && s->has_redis_backlog &&
                   s->redis_backlog == 0 && s->redis_state && strcmp(s->redis_state, "up") == 0;
        rk_reply_free(s);
        if (done) return 1;
        usleep(100000);
    }
    return 0;
}

static void same_key_two_callers(void) {
    rk_status st;
    CHECK_INT(submit(key_a, p0, 10, "match-1", &st), 0);
    /* Another game server that picked the same key: a submission of its own. */
    CHECK_INT(submit(key_b, p0, 20, "match-1", &st), 0);
    /* A player with the same key, for themselves. */
    CHECK_INT(submit(player, p1, 5, "match-1", &st), 0);
    /* Each caller's retry is its own replay. */
    CHECK_INT(submit(key_a, p0, 10, "match-1", &st), 1);
    CHECK_INT(submit(key_b, p0, 20, "match-1", &st), 1);
    CHECK_INT(submit(player, p1, 5, "match-1", &st), 1);
    CHECK_INT(score_of(p0), 30);
    CHECK_INT(score_of(p1), 5);
}

static void same_key_two_callers_without_redis(void) {
    rk_status st;
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    CHECK_INT(submit(key_a, p0, 1, "match-2", &st), 0);
    CHECK_INT(st.degraded, 1);
    CHECK_INT(submit(key_b, p0, 2, "match-2", &st), 0);
    CHECK_INT(submit(key_a, p0, 1, "match-2", &st), 1);
    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    CHECK(caught_up());
    /* Replayed under each caller's own key: retries after Redis returned
     * are still answered from the first answer, each its caller's. */
    CHECK_INT(submit(key_b, p0, 2, "match-2", &st), 1);
    CHECK_INT(submit(key_a, p0, 1, "match-2", &st), 1);
    CHECK_INT(score_of(p0), 33);
}

static void history_shows_the_callers_key(void) {
    Rankd__HistoryRequest req = RANKD__HISTORY_REQUEST__INIT;
    Rankd__HistoryReply *rep = NULL;
    rk_status st;
    req.board_id = BOARD;
    req.has_user_id = 1;
    req.user_id = p0;
    rk_call_opts o = it_opts(admin, NULL);
    /* The write-behind may lag a little. */
    for (int i = 0; i < 100; i++) {
        rk_reply_free(rep);
        rep = NULL;
        if (rk_history_history(c, &req, &rep, &o, &st) == RK_OK && rep->total == 4) break;
        usleep(100000);
    }
    CHECK(rep != NULL);
    if (rep == NULL) return;
    CHECK_INT(rep->total, 4);
    int m1 = 0, m2 = 0;
    for (size_t i = 0; i < rep->n_entries; i++) {
        const char *k = rep->entries[i]->idempotency_key;
        m1 += k && strcmp(k, "match-1") == 0;
        m2 += k && strcmp(k, "match-2") == 0;
    }
    CHECK_INT(m1, 2);
    CHECK_INT(m2, 2);
    rk_reply_free(rep);
}

/* A key names one submission: the same key from the same caller with
 * another player or another score is not a retry but a mistake (a match
 * id used for every player of the match, a session id for every match),
 * and answering it with the first answer would drop the score unseen.
 * It is refused with INVALID_ARGUMENT and changes nothing; the true
 * retry is still a replay. So whether Redis or PostgreSQL took it, and
 * after the replay into Redis. */
static int refused_as_reuse(int got, const rk_status *st) {
    return got == -1 && st->code == RK_INVALID_ARGUMENT && strstr(st->message, "another submission") != NULL;
}

static void a_key_used_again_for_another_submission_is_refused(void) {
    rk_status st;
    CHECK_INT(submit_on(REUSE, key_a, p0, 10, "match-3", &st), 0);
    CHECK(refused_as_reuse(submit_on(REUSE, key_a, p1, 10, "match-3", &st), &st));
    CHECK(refused_as_reuse(submit_on(REUSE, key_a, p0, 11, "match-3", &st), &st));
    CHECK_INT(submit_on(REUSE, key_a, p0, 10, "match-3", &st), 1);
    /* Another caller's key of the same text is its own. */
    CHECK_INT(submit_on(REUSE, key_b, p1, 4, "match-3", &st), 0);
    CHECK_INT(score_on(REUSE, p0), 10);
    CHECK_INT(score_on(REUSE, p1), 4);
}

static void a_key_used_again_without_redis_is_refused(void) {
    rk_status st;
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    CHECK_INT(submit_on(REUSE, key_a, p0, 3, "match-4", &st), 0);
    CHECK_INT(st.degraded, 1);
    CHECK(refused_as_reuse(submit_on(REUSE, key_a, p1, 3, "match-4", &st), &st));
    CHECK(refused_as_reuse(submit_on(REUSE, key_a, p0, 5, "match-4", &st), &st));
    CHECK_INT(submit_on(REUSE, key_a, p0, 3, "match-4", &st), 1);
    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    CHECK(caught_up());
    /* Replayed into Redis with what it was: still refused there. */
    CHECK(refused_as_reuse(submit_on(REUSE, key_a, p1, 3, "match-4", &st), &st));
    CHECK_INT(submit_on(REUSE, key_a, p0, 3, "match-4", &st), 1);
    CHECK_INT(score_on(REUSE, p0), 13);
    CHECK_INT(score_on(REUSE, p1), 4);
}

/* In a batch the entry is refused by itself; the others are taken. */
static void a_key_used_again_in_a_batch_is_refused_alone(void) {
    Rankd__BatchEntry e[2] = {RANKD__BATCH_ENTRY__INIT, RANKD__BATCH_ENTRY__INIT};
    Rankd__BatchEntry *ep[2] = {&e[0], &e[1]};
    Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    Rankd__SubmitBatchReply *rep = NULL;
    rk_status st;
    for (int i = 0; i < 2; i++) {
        e[i].board_id = REUSE;
        e[i].has_user_id = e[i].has_score = 1;
        e[i].score = 1;
    }
    e[0].user_id = p1; /* match-3 was p0's 10 */
    e[0].idempotency_key = "match-3";
    e[1].user_id = p1;
    e[1].idempotency_key = "match-5";
    req.n_entries = 2;
    req.entries = ep;
    rk_call_opts o = it_opts(key_a, NULL);
    CHECK_INT(rk_scores_submit_batch(c, &req, &rep, &o, &st), RK_OK);
    CHECK(rep && rep->n_results == 2);
    if (rep && rep->n_results == 2) {
        CHECK_INT(rep->results[0]->code, RK_INVALID_ARGUMENT);
        CHECK(rep->results[0]->message && strstr(rep->results[0]->message, "another submission"));
        CHECK_INT(rep->results[1]->code, RK_OK);
    }
    rk_reply_free(rep);
    CHECK_INT(score_on(REUSE, p0), 13);
    CHECK_INT(score_on(REUSE, p1), 5);
}

/* On a hot board a player's key is kept in the player's shard: the same
 * player with another score under the key is refused there too. */
static void a_key_used_again_on_a_hot_board_is_refused(void) {
    rk_status st;
    CHECK_INT(submit_on(REUSE_HOT, key_a, p0, 8, "match-6", &st), 0);
    CHECK(refused_as_reuse(submit_on(REUSE_HOT, key_a, p0, 9, "match-6", &st), &st));
    CHECK_INT(submit_on(REUSE_HOT, key_a, p0, 8, "match-6", &st), 1);
    CHECK_INT(score_on(REUSE_HOT, p0), 8);
}

/* The longest keys on a board with the longest id: two keys that differ
 * only in their last byte are two submissions (a key name cut short in
 * Redis would make them one). */
static void longest_keys_stay_apart(void) {
    char board[65], k1[129], k2[129];
    memset(board, 'b', 64);
    board[64] = '\0';
    memset(k1, 'k', 128);
    k1[128] = '\0';
    memcpy(k2, k1, sizeof(k1));
    k2[127] = 'z';
    CHECK_INT(it_create_board(c, admin, board, "idg", 0, RANKD__POLICY__POLICY_SUM, 0, 0), RK_OK);
    rk_status st;
    for (int i = 0; i < 2; i++) {
        Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
        Rankd__SubmitReply *rep = NULL;
        req.board_id = board;
        req.has_user_id = req.has_score = 1;
        req.user_id = p0;
        req.score = 7;
        rk_call_opts o = it_opts(key_a, i ? k2 : k1);
        CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_OK);
        if (rep) CHECK_INT(rep->replayed, 0);
        rk_reply_free(rep);
    }
    Rankd__RankRequest rr = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rank = NULL;
    rr.board_id = board;
    rr.has_user_id = 1;
    rr.user_id = p0;
    CHECK_INT(rk_ranking_rank(c, &rr, &rank, NULL, &st), RK_OK);
    if (rank && rank->entry) CHECK_INT(rank->entry->score, 14);
    rk_reply_free(rank);
}

int main(void) {
    c = it_client();
    rk_client_set_deadline(c, 15000);
    admin = it_admin_token(c);
    it_create_board(c, admin, BOARD, "idg", 0, RANKD__POLICY__POLICY_SUM, 0, 1);
    it_create_board(c, admin, REUSE, "idg", 0, RANKD__POLICY__POLICY_SUM, 0, 1);
    create_hot(REUSE_HOT);
    key_a = it_api_key(c, admin, "idg");
    key_b = it_api_key(c, admin, "idg");
    p0 = it_sign_up(c, "idem-p0", "password-123");
    p1 = it_sign_up(c, "idem-p1", "password-123");
    player = it_login(c, "idem-p1", "password-123");
    RUN(same_key_two_callers);
    RUN(same_key_two_callers_without_redis);
    RUN(history_shows_the_callers_key);
    RUN(longest_keys_stay_apart);
    RUN(a_key_used_again_for_another_submission_is_refused);
    RUN(a_key_used_again_without_redis_is_refused);
    RUN(a_key_used_again_in_a_batch_is_refused_alone);
    RUN(a_key_used_again_on_a_hot_board_is_refused);
    free(admin);
    free(key_a);
    free(key_b);
    free(player);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
