/* Many rankd: one client dialed to two rankd processes on the same Redis
 * and PostgreSQL spreads its calls over both; when one is killed with
 * SIGKILL in the middle of a load of keyed submissions, every call still
 * succeeds (the library sends a keyed call that met UNAVAILABLE again, and
 * it reaches the rankd that is left) and nothing counts twice: the sum
 * board's total is the number of submissions, and the history holds each
 * idempotency key exactly once. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "check.h"
#include "it_common.h"

#define WRITERS 4
#define PER_WRITER 400
#define PLAYERS 8

static rk_client *both; /* dialed to the harness's rankd and the second one */
static char *key;
static int64_t uid[PLAYERS];
static atomic_int acked, failed, replayed, sent;
static rk_status first_failure;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static it_rankd second;

static void *writer(void *arg) {
    int w = (int)(intptr_t)arg;
    for (int i = 0; i < PER_WRITER; i++) {
        Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
        Rankd__SubmitReply *rep = NULL;
        char idem[64];
        rk_status st;
        snprintf(idem, sizeof(idem), "fo-%d-%d", w, i);
        req.board_id = "fo-sum";
        req.has_user_id = req.has_score = 1;
        req.user_id = uid[(w + i) % PLAYERS];
        req.score = 1;
        rk_call_opts o = {.token = key, .idempotency_key = idem, .deadline_ms = 15000};
        atomic_fetch_add(&sent, 1);
        if (rk_scores_submit(both, &req, &rep, &o, &st) == RK_OK) {
            atomic_fetch_add(&acked, 1);
            if (rep->replayed) atomic_fetch_add(&replayed, 1);
        } else {
            pthread_mutex_lock(&mu);
            if (atomic_fetch_add(&failed, 1) == 0) first_failure = st;
            pthread_mutex_unlock(&mu);
        }
        rk_reply_free(rep);
    }
    return NULL;
}

static int64_t board_total(void) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = "fo-sum";
    req.has_limit = 1;
    req.limit = 100;
    int64_t total = -1;
    if (rk_ranking_top(both, &req, &rep, NULL, &st) == RK_OK) {
        total = 0;
        for (size_t i = 0; i < rep->n_entries; i++) total += rep->entries[i]->score;
    }
    rk_reply_free(rep);
    return total;
}

/* Rows of the history and distinct idempotency keys among them. */
static void history(int64_t *rows, int64_t *keys) {
    PGconn *pg = PQconnectdb(getenv("RANKD_POSTGRES"));
    PGresult *r = PQexec(pg, "SELECT count(*), count(DISTINCT idempotency_key) FROM scores "
                             "WHERE board_id = 'fo-sum'");
    *rows = *keys = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        *rows = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        *keys = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    PQfinish(pg);
}

static void calls_are_spread_over_both(void) {
    /* Each rankd counts the requests it answered (Status). */
    Rankd__Empty e = RANKD__EMPTY__INIT;
    Rankd__ServerStatus *s = NULL;
    rk_status st;
    int64_t before = -1, after = -1;
    if (rk_admin_status(second.client, &e, &s, NULL, &st) == RK_OK) before = s->requests_total;
    rk_reply_free(s);
    s = NULL;
    for (int i = 0; i < 200; i++) {
        Rankd__CountRequest req = RANKD__COUNT_REQUEST__INIT;
        Rankd__CountReply *rep = NULL;
        req.board_id = "fo-sum";
        CHECK_INT(rk_ranking_count(both, &req, &rep, NULL, &st), RK_OK);
        rk_reply_free(rep);
    }
    if (rk_admin_status(second.client, &e, &s, NULL, &st) == RK_OK) after = s->requests_total;
    rk_reply_free(s);
    /* Of 200 calls, the second rankd took a fair share (not none, not all). */
    int64_t took = after - before - 1; /* its own Status call */
    CHECK(took >= 20 && took <= 180);
    if (took < 20 || took > 180) fprintf(stderr, "  the second rankd answered %lld of 200\n", (long long)took);
}

static void a_rankd_killed_under_load_loses_and_doubles_nothing(void) {
    pthread_t t[WRITERS];
    for (int w = 0; w < WRITERS; w++) pthread_create(&t[w], NULL, writer, (void *)(intptr_t)w);
    /* Well into the load: a quarter of it sent. */
    while (atomic_load(&sent) < WRITERS * PER_WRITER / 4) usleep(1000);
    CHECK_INT(kill(second.pid, SIGKILL), 0);
    int status = 0;
    waitpid(second.pid, &status, 0);
    second.pid = 0;
    for (int w = 0; w < WRITERS; w++) pthread_join(t[w], NULL);

    CHECK_INT(atomic_load(&failed), 0);
    if (atomic_load(&failed))
        fprintf(stderr, "  first failure: %s: %s\n", rk_code_name(first_failure.code), first_failure.message);
    CHECK_INT(atomic_load(&acked), WRITERS * PER_WRITER);
    /* One point per submission: a submission applied by the killed rankd
     * and sent again to the other one was answered from its record. */
    CHECK_INT(board_total(), WRITERS * PER_WRITER);

    /* The killed rankd's write-behind had entries in hand: a rankd started
     * again under its node name reads them first. */
    rk_client_close(second.client);
    second.client = NULL;
    CHECK_INT(it_rankd_spawn(&second, "second", NULL), 0);
    int64_t rows = -1, keys = -1;
    for (int i = 0; i < 200; i++) {
        history(&rows, &keys);
        if (rows == WRITERS * PER_WRITER) break;
        usleep(100000);
    }
    CHECK_INT(rows, WRITERS * PER_WRITER);
    CHECK_INT(keys, WRITERS * PER_WRITER);
    fprintf(stderr, "  %d submissions, %d answered from their record after the kill\n", atomic_load(&acked),
            atomic_load(&replayed));
}

int main(void) {
    rk_client *c = it_client();
    rk_client_set_deadline(c, 15000);
    char *admin = it_admin_token(c);
    it_create_board(c, admin, "fo-sum", "fo", 0, RANKD__POLICY__POLICY_SUM, 0, 0);
    key = it_api_key(c, admin, "fo");
    for (int p = 0; p < PLAYERS; p++) {
        char name[16];
        snprintf(name, sizeof(name), "fo-%d", p);
        uid[p] = it_sign_up(c, name, "failover-password");
    }
    if (it_rankd_spawn(&second, "second", NULL) != 0) {
        fprintf(stderr, "the second rankd did not start\n");
        return 1;
    }
    /* The key is checked from each rankd's cache or PostgreSQL alike. */
    char urls[160];
    snprintf(urls, sizeof(urls), "%s,%s", getenv("RANKD_URL"), second.listen);
    rk_status st;
    if (rk_client_open(&both, urls, &st) != RK_OK) {
        fprintf(stderr, "cannot open a client for %s: %s\n", urls, st.message);
        return 1;
    }
    rk_client_set_deadline(both, 15000);
    usleep(200000); /* both dialers connected */
    RUN(calls_are_spread_over_both);
    RUN(a_rankd_killed_under_load_loses_and_doubles_nothing);
    it_rankd_stop(&second);
    rk_client_close(both);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
