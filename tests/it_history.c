/* The durable record: every acknowledged submission reaches PostgreSQL's
 * score history, exactly once, even when PostgreSQL is down for a while
 * and rankd is killed with SIGKILL before it could write them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "check.h"
#include "it_common.h"

static rk_client *c;
static char *admin, *key;
static int64_t uid[10];

/* Submits n scores with idempotency keys; returns how many were acknowledged. */
static int submit_many(int round, int n) {
    int acked = 0;
    for (int i = 0; i < n; i++) {
        Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
        Rankd__SubmitReply *rep = NULL;
        rk_status st;
        char idem[64];
        snprintf(idem, sizeof(idem), "r%d-%d", round, i);
        rk_call_opts o = it_opts(key, idem);
        o.deadline_ms = 2000;
        req.board_id = "history";
        req.has_user_id = req.has_score = 1;
        req.user_id = uid[i % 10];
        req.score = round * 1000 + i;
        if (rk_scores_submit(c, &req, &rep, &o, &st) == RK_OK)
            acked++;
        else
            fprintf(stderr, "  submit %s: %s\n", idem, st.message);
        rk_reply_free(rep);
    }
    return acked;
}

/* Rows in the history for keys of a round (stored behind their caller's
 * scope, "k<key id>:r1-..."), waiting up to ~20 s for them. */
static long history_rows(const char *like, long want) {
    long n = -1;
    for (int tries = 0; tries < 200; tries++) {
        PGconn *pg = PQconnectdb(getenv("RANKD_POSTGRES"));
        if (PQstatus(pg) == CONNECTION_OK) {
            const char *params[] = {like};
            PGresult *r =
                PQexecParams(pg, "SELECT count(*) FROM scores WHERE board_id = 'history' AND idempotency_key LIKE $1",
                             1, NULL, params, NULL, NULL, 0);
            if (PQresultStatus(r) == PGRES_TUPLES_OK) n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
            PQclear(r);
        }
        PQfinish(pg);
        if (n == want) return n;
        usleep(100000);
    }
    return n;
}

static void accepted_scores_reach_postgres(void) {
    CHECK_INT(submit_many(1, 50), 50);
    CHECK_INT(history_rows("%:r1-%", 50), 50);
    /* The rows hold what was submitted. */
    PGconn *pg = PQconnectdb(getenv("RANKD_POSTGRES"));
    PGresult *r =
        PQexec(pg, "SELECT sum(score), count(DISTINCT user_id) FROM scores WHERE idempotency_key LIKE '%:r1-%'");
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        CHECK_INT(strtoll(PQgetvalue(r, 0, 0), NULL, 10), 50 * 1000 + 49 * 50 / 2);
        CHECK_INT(strtoll(PQgetvalue(r, 0, 1), NULL, 10), 10);
    }
    PQclear(r);
    PQfinish(pg);
}

static void retried_submission_is_recorded_once(void) {
    CHECK_INT(submit_many(2, 5), 5);
    CHECK_INT(submit_many(2, 5), 5); /* same keys: replayed, not recorded again */
    sleep(1);
    CHECK_INT(history_rows("%:r2-%", 5), 5);
}

static void postgres_down_then_rankd_killed_loses_nothing(void) {
    CHECK_INT(system("rk-pg-stop fast"), 0);
    /* Redis answers; the history waits in the stream. */
    CHECK_INT(submit_many(3, 40), 40);
    CHECK_INT(system("rk-rankd-stop KILL >/dev/null 2>&1; true"), 0);
    CHECK_INT(system("rk-pg-start"), 0);
    CHECK_INT(system("rk-rankd-start >/dev/null"), 0);
    CHECK_INT(history_rows("%:r3-%", 40), 40);
    CHECK_INT(history_rows("%:r1-%", 50), 50); /* nothing earlier doubled */
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    it_create_board(c, admin, "history", "tetris", 0, RANKD__POLICY__POLICY_LATEST, 0x2, 0);
    key = it_api_key(c, admin, "tetris");
    for (int i = 0; i < 10; i++) {
        char name[16];
        snprintf(name, sizeof(name), "hist-%d", i);
        uid[i] = it_sign_up(c, name, "password-123");
    }
    RUN(accepted_scores_reach_postgres);
    RUN(retried_submission_is_recorded_once);
    RUN(postgres_down_then_rankd_killed_loses_nothing);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
