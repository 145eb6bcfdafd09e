/* Exactly once across Redis outages: what rankd accepted without Redis is
 * counted once when Redis returns, whether it returns with its data or
 * empty (the rebuild from PostgreSQL and the replay of redis_backlog never
 * both apply a row), and a caller's idempotency key means the same after
 * Redis returns as it did while Redis was away. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

static rk_client *c;
static char *admin, *key;

static int submit(const char *board, int64_t uid, int64_t score, const char *idem, int *replayed, rk_status *st) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    req.board_id = (char *)board;
    req.has_user_id = req.has_score = 1;
    req.user_id = uid;
    req.score = score;
    rk_call_opts o = it_opts(key, idem);
    int rc = rk_scores_submit(c, &req, &rep, &o, st);
    if (replayed) *replayed = rc == RK_OK && rep->replayed;
    rk_reply_free(rep);
    return rc;
}

/* The player's score on a board as Rank reports it (-1: not ranked). */
static int64_t score_of(const char *board, int64_t uid, int *degraded) {
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_user_id = 1;
    req.user_id = uid;
    int64_t v = -1;
    if (rk_ranking_rank(c, &req, &rep, NULL, &st) == RK_OK && rep->entry) v = rep->entry->score;
    if (degraded) *degraded = st.degraded;
    rk_reply_free(rep);
    return v;
}

/* The sum of the player's history on a board. */
static int64_t history_sum(const char *board, int64_t uid) {
    Rankd__HistoryRequest req = RANKD__HISTORY_REQUEST__INIT;
    Rankd__HistoryReply *rep = NULL;
    rk_status st;
    req.board_id = (char *)board;
    req.has_user_id = req.has_limit = 1;
    req.user_id = uid;
    req.limit = 1000;
    int64_t sum = -1;
    if (rk_history_history(c, &req, &rep, NULL, &st) == RK_OK) {
        sum = 0;
        for (size_t i = 0; i < rep->n_entries; i++) sum += rep->entries[i]->score;
    }
    rk_reply_free(rep);
    return sum;
}

static void status(int64_t *wb_backlog, int *degraded, int64_t *redis_backlog) {
    Rankd__Empty e = RANKD__EMPTY__INIT;
    Rankd__ServerStatus *s = NULL;
    rk_status st;
    *wb_backlog = *redis_backlog = -1;
    *degraded = -1;
    if (rk_admin_status(c, &e, &s, NULL, &st) == RK_OK) {
        *wb_backlog = s->has_writebehind_backlog ? s->writebehind_backlog : -1;
        *degraded = s->degraded;
        *redis_backlog = s->has_redis_backlog ? s->redis_backlog : -1;
    }
    rk_reply_free(s);
}

static int wait_history_written(void) {
    int64_t wb, rb;
    int dg;
    for (int i = 0; i < 100; i++) {
        status(&wb, &dg, &rb);
        if (wb == 0) return 1;
        usleep(100000);
    }
    return 0;
}

/* Redis answers again and everything taken without it is applied. */
static int wait_caught_up(void) {
    int64_t wb, rb;
    int dg;
    for (int i = 0; i < 300; i++) {
        status(&wb, &dg, &rb);
        if (dg == 0 && rb == 0) return 1;
        usleep(100000);
    }
    return 0;
}

/* The minimal case: 10 with Redis, 5 without, Redis back empty. */
static void redis_back_empty_counts_what_it_missed_once(void) {
    int64_t uid = it_sign_up(c, "og-ann", "password-123");
    rk_status st;
    CHECK_INT(submit("og-sum", uid, 10, "ann-1", NULL, &st), RK_OK);
    CHECK_INT(submit("og-best", uid, 10, "ann-1", NULL, &st), RK_OK);
    CHECK(wait_history_written());

    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    CHECK_INT(submit("og-sum", uid, 5, "ann-2", NULL, &st), RK_OK);
    CHECK_INT(st.degraded, 1);
    CHECK_INT(submit("og-best", uid, 30, "ann-2", NULL, &st), RK_OK);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s/redis/appendonlydir && rk-redis-start >/dev/null", getenv("RANKD_TEST_DIR"));
    CHECK_INT(system(cmd), 0);
    CHECK(wait_caught_up());

    int degraded = -1;
    CHECK_INT(score_of("og-sum", uid, &degraded), 15);
    CHECK_INT(degraded, 0);
    CHECK_INT(score_of("og-best", uid, NULL), 30);
    CHECK(it_settled(c)); /* the split layout applies the global board a moment later */
    CHECK_INT(score_of("global", uid, NULL), 45);
    CHECK_INT(history_sum("og-sum", uid), 15);

    /* A rebuild from the history agrees. */
    Rankd__RebuildRequest rq = RANKD__REBUILD_REQUEST__INIT;
    Rankd__RebuildReply *rr = NULL;
    rk_call_opts o = it_opts(admin, NULL);
    CHECK_INT(rk_admin_rebuild(c, &rq, &rr, &o, &st), RK_OK);
    rk_reply_free(rr);
    CHECK_INT(score_of("og-sum", uid, NULL), 15);
    CHECK(it_settled(c));
    CHECK_INT(score_of("global", uid, NULL), 45);
}

/* R3: the replay remembered the backlog entry's id, not the caller's key. */
static void a_key_taken_without_redis_holds_after_it_returns(void) {
    int64_t uid = it_sign_up(c, "og-bob", "password-123");
    rk_status st;
    int replayed = -1;
    CHECK_INT(submit("og-sum", uid, 7, "bob-1", NULL, &st), RK_OK);
    CHECK(wait_history_written());
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    CHECK_INT(submit("og-sum", uid, 5, "bob-2", NULL, &st), RK_OK);
    CHECK_INT(st.degraded, 1);
    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    CHECK(wait_caught_up());
    CHECK_INT(score_of("og-sum", uid, NULL), 12);

    /* The caller did not hear back and retries, now through Redis. */
    CHECK_INT(submit("og-sum", uid, 5, "bob-2", &replayed, &st), RK_OK);
    CHECK_INT(replayed, 1);
    CHECK_INT(score_of("og-sum", uid, NULL), 12);
    CHECK(it_settled(c));
    CHECK_INT(score_of("global", uid, NULL), 12);
    CHECK_INT(history_sum("og-sum", uid), 12);
}

/* R4: ten callers retrying one key at once while Redis is away. */
#define RACERS 10
#define ROUNDS 16
static int64_t race_uid;
static int race_round;
static atomic_int race_go, race_ok;

static void *racer(void *arg) {
    (void)arg;
    char idem[32];
    snprintf(idem, sizeof(idem), "race-%d", race_round);
    while (!atomic_load(&race_go)) {
    }
    rk_status st;
    if (submit("og-sum", race_uid, 3, idem, NULL, &st) == RK_OK) atomic_fetch_add(&race_ok, 1);
    return NULL;
}

static void one_key_at_once_without_redis_counts_once(void) {
    race_uid = it_sign_up(c, "og-cat", "password-123");
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    for (race_round = 0; race_round < ROUNDS; race_round++) {
        pthread_t t[RACERS];
        atomic_store(&race_go, 0);
        atomic_store(&race_ok, 0);
        for (int i = 0; i < RACERS; i++) pthread_create(&t[i], NULL, racer, NULL);
        atomic_store(&race_go, 1);
        for (int i = 0; i < RACERS; i++) pthread_join(t[i], NULL);
        CHECK_INT(atomic_load(&race_ok), RACERS); /* every caller is answered, the first or a replay */
    }
    CHECK_INT(history_sum("og-sum", race_uid), 3 * ROUNDS);
    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    CHECK(wait_caught_up());
    CHECK_INT(score_of("og-sum", race_uid, NULL), 3 * ROUNDS);
    CHECK_INT(history_sum("og-sum", race_uid), 3 * ROUNDS);
}

int main(void) {
    c = it_client();
    rk_client_set_deadline(c, 15000);
    admin = it_admin_token(c);
    CHECK(admin != NULL);
    CHECK_INT(it_create_board(c, admin, "og-sum", "og", 0, RANKD__POLICY__POLICY_SUM, 0, 0), RK_OK);
    CHECK_INT(it_create_board(c, admin, "og-best", "og", 0, RANKD__POLICY__POLICY_BEST, 0, 0), RK_OK);
    key = it_api_key(c, admin, "og");
    CHECK(key != NULL);
    if (admin == NULL || key == NULL) return CHECK_SUMMARY();
    RUN(redis_back_empty_counts_what_it_missed_once);
    RUN(a_key_taken_without_redis_holds_after_it_returns);
    RUN(one_key_at_once_without_redis_counts_once);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
