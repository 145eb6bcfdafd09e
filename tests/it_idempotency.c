/* An idempotency key is the caller's own: two callers (two API keys of one
 * game, or a player's token) that happen to pick the same key on one board
 * make two submissions, each counted and answered for itself, and each
 * caller's retry is answered from its own first answer. The same holds
 * for submissions taken while Redis is away, and after they are replayed
 * into it. The history shows each key as its caller sent it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define BOARD "idem-sum"

static rk_client *c;
static char *admin, *key_a, *key_b, *player;
static int64_t p0, p1;

/* Submits score for user on BOARD as caller with idempotency key idem;
 * -1 when refused, else whether it was answered as a replay. */
static int submit(const char *caller, int64_t user, int64_t score, const char *idem, rk_status *st) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    req.board_id = BOARD;
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

static int64_t score_of(int64_t user) {
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rep = NULL;
    rk_status st;
    int64_t v = -1;
    req.board_id = BOARD;
    req.has_user_id = 1;
    req.user_id = user;
    if (rk_ranking_rank(c, &req, &rep, NULL, &st) == RK_OK && rep->entry) v = rep->entry->score;
    rk_reply_free(rep);
    return v;
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

int main(void) {
    c = it_client();
    rk_client_set_deadline(c, 15000);
    admin = it_admin_token(c);
    it_create_board(c, admin, BOARD, "idg", 0, RANKD__POLICY__POLICY_SUM, 0, 1);
    key_a = it_api_key(c, admin, "idg");
    key_b = it_api_key(c, admin, "idg");
    p0 = it_sign_up(c, "idem-p0", "password-123");
    p1 = it_sign_up(c, "idem-p1", "password-123");
    player = it_login(c, "idem-p1", "password-123");
    RUN(same_key_two_callers);
    RUN(same_key_two_callers_without_redis);
    RUN(history_shows_the_callers_key);
    free(admin);
    free(key_a);
    free(key_b);
    free(player);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
