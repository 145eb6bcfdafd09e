/* Admin/Rebuild keeps the caller's deadline: with PostgreSQL away the
 * write-behind cannot drain, and a rebuild that waits for it gives up when
 * the deadline passes (DEADLINE_EXCEEDED), not ten seconds later, and
 * leaves no rebuild flag behind; once PostgreSQL is back it works. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

static rk_client *c;
static char *admin, *key;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Whether Redis holds the rebuild flag of board (BOARD_GLOBAL: "global"). */
static int flagged(const char *board) {
    char cmd[256], out[32] = "";
    snprintf(cmd, sizeof(cmd), "redis-cli -p %s EXISTS 'rk:{%s}:rebuilding'", getenv("RANKD_REDIS_PORT"), board);
    FILE *f = popen(cmd, "r");
    if (f == NULL) return -1;
    if (fgets(out, sizeof(out), f) == NULL) out[0] = '\0';
    pclose(f);
    return atoi(out);
}

static int submit(int64_t uid, int64_t score, const char *idem, rk_status *st) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    req.board_id = "rd-board";
    req.has_user_id = req.has_score = 1;
    req.user_id = uid;
    req.score = score;
    rk_call_opts o = it_opts(key, idem);
    int rc = rk_scores_submit(c, &req, &rep, &o, st);
    rk_reply_free(rep);
    return rc;
}

static int rebuild(uint32_t deadline_ms, rk_status *st) {
    Rankd__RebuildRequest req = RANKD__REBUILD_REQUEST__INIT;
    Rankd__RebuildReply *rep = NULL;
    req.board_id = "rd-board";
    rk_call_opts o = it_opts(admin, NULL);
    o.deadline_ms = deadline_ms;
    int rc = rk_admin_rebuild(c, &req, &rep, &o, st);
    rk_reply_free(rep);
    return rc;
}

static void rebuild_keeps_its_deadline_while_the_backlog_cannot_drain(void) {
    rk_status st;
    CHECK_INT(it_create_board(c, admin, "rd-board", "rd", 0, RANKD__POLICY__POLICY_BEST, 0, 0), RK_OK);
    key = it_api_key(c, admin, "rd");
    int64_t uid = it_sign_up(c, "rd-player", "rd-player-password");
    CHECK(key != NULL && uid > 0);
    if (key == NULL || uid <= 0) return;
    CHECK_INT(submit(uid, 10, "rd-1", &st), RK_OK); /* the key is cached now */

    CHECK_INT(system("rk-pg-stop >/dev/null"), 0);
    CHECK_INT(submit(uid, 20, "rd-2", &st), RK_OK); /* in Redis, not in PostgreSQL */

    for (int round = 0; round < 2; round++) {
        double t0 = now_ms();
        CHECK_INT(rebuild(1000, &st), RK_DEADLINE_EXCEEDED);
        double took = now_ms() - t0;
        CHECK(took < 2500);
        /* rankd gave up too: the flag is gone soon after the deadline. */
        int flag = 1;
        while (now_ms() < t0 + 2000 && (flag = flagged("rd-board")) != 0) usleep(50000);
        fprintf(stderr, "  round %d: answered after %.0f ms, flag gone after %.0f ms\n", round, took, now_ms() - t0);
        CHECK_INT(flag, 0);
        CHECK_INT(flagged("global"), 0);
    }
    /* Submissions go on meanwhile (no flag refuses them). */
    CHECK_INT(submit(uid, 30, "rd-3", &st), RK_OK);

    CHECK_INT(system("rk-pg-start >/dev/null"), 0);
    int rc = RK_UNAVAILABLE;
    for (int i = 0; i < 30 && rc != RK_OK; i++) {
        rc = rebuild(20000, &st);
        if (rc != RK_OK) sleep(1);
    }
    CHECK_CODE(st, RK_OK);
    CHECK_INT(flagged("rd-board"), 0);

    Rankd__RankRequest rq = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rr = NULL;
    rq.board_id = "rd-board";
    rq.has_user_id = 1;
    rq.user_id = uid;
    CHECK_INT(rk_ranking_rank(c, &rq, &rr, NULL, &st), RK_OK);
    if (rr && rr->entry) CHECK_INT(rr->entry->score, 30);
    rk_reply_free(rr);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    RUN(rebuild_keeps_its_deadline_while_the_backlog_cannot_drain);
    free(key);
    free(admin);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
