/* The two lanes: reads run on the event loops and never queue behind what
 * must block (50 logins in flight, each an expensive scrypt, do not make
 * reads miss a 1 s deadline); and a rankd stopped with SIGTERM while 200
 * calls are in flight answers or cleanly refuses every one of them and
 * exits 0 (the harness runs this under the sanitizers too). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define LOGINS 50
#define READERS 4
#define RUN_MS 4000
#define IN_FLIGHT 200

static rk_client *c;
static char *admin, *key;
static int64_t uid;
static atomic_int stop;
static atomic_long logins, login_fail, reads, read_fail;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *login_loop(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        Rankd__LoginRequest req = RANKD__LOGIN_REQUEST__INIT;
        Rankd__LoginReply *rep = NULL;
        rk_call_opts o = {.deadline_ms = 30000};
        rk_status st;
        req.username = "ln-slow";
        req.password = "password-123";
        if (rk_auth_login(c, &req, &rep, &o, &st) == RK_OK)
            atomic_fetch_add(&logins, 1);
        else
            atomic_fetch_add(&login_fail, 1);
        rk_reply_free(rep);
    }
    return NULL;
}

static void *read_loop(void *arg) {
    long n = (long)arg;
    while (!atomic_load(&stop)) {
        rk_status st;
        rk_call_opts o = {.deadline_ms = 1000};
        int rc;
        if (n % 2) {
            Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
            Rankd__RankListReply *rep = NULL;
            req.board_id = "ln-b";
            rc = rk_ranking_top(c, &req, &rep, &o, &st);
            rk_reply_free(rep);
        } else {
            Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
            Rankd__RankReply *rep = NULL;
            req.board_id = "ln-b";
            req.has_user_id = 1;
            req.user_id = uid;
            rc = rk_ranking_rank(c, &req, &rep, &o, &st);
            rk_reply_free(rep);
        }
        atomic_fetch_add(&reads, 1);
        if (rc != RK_OK) {
            if (atomic_fetch_add(&read_fail, 1) < 5) fprintf(stderr, "  read: %s (%s)\n", rk_code_name(rc), st.message);
        }
        usleep(2000);
    }
    return NULL;
}

static void reads_keep_their_deadline_while_logins_run(void) {
    pthread_t lt[LOGINS], rt[READERS];
    for (long i = 0; i < LOGINS; i++) pthread_create(&lt[i], NULL, login_loop, NULL);
    for (long i = 0; i < READERS; i++) pthread_create(&rt[i], NULL, read_loop, (void *)i);
    usleep(RUN_MS * 1000);
    atomic_store(&stop, 1);
    for (int i = 0; i < LOGINS; i++) pthread_join(lt[i], NULL);
    for (int i = 0; i < READERS; i++) pthread_join(rt[i], NULL);
    fprintf(stderr, "  %ld logins (%ld failed), %ld reads\n", atomic_load(&logins), atomic_load(&login_fail),
            atomic_load(&reads));
    CHECK(atomic_load(&logins) > 0); /* the logins really ran */
    CHECK(atomic_load(&reads) > 100);
    CHECK_INT(atomic_load(&read_fail), 0);
}

/* ---------------------------------------------------------------- shutdown under load */

typedef struct tally {
    atomic_int done, ok, refused, other;
} tally;

static void on_reply(const rk_status *st, ProtobufCMessage *reply, void *arg) {
    tally *t = arg;
    if (st->code == RK_OK)
        atomic_fetch_add(&t->ok, 1);
    else if (st->code == RK_UNAVAILABLE)
        atomic_fetch_add(&t->refused, 1);
    else if (atomic_fetch_add(&t->other, 1) < 5)
        fprintf(stderr, "  in flight at SIGTERM: %s (%s)\n", rk_code_name(st->code), st->message);
    rk_reply_free(reply);
    atomic_fetch_add(&t->done, 1);
}

static void sigterm_with_calls_in_flight(void) {
    it_rankd r;
    CHECK_INT(it_rankd_spawn(&r, "lanes-2", NULL), 0);
    if (r.pid <= 0) return;
    tally t = {0};
    char idem[IN_FLIGHT][32];
    for (int i = 0; i < IN_FLIGHT; i++) {
        rk_call_opts o = {.deadline_ms = 10000};
        if (i % 2) {
            Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
            req.board_id = "ln-b";
            rk_call_async(r.client, "rankd.Ranking/Top", &req.base, &rankd__rank_list_reply__descriptor, &o, on_reply,
                          &t);
        } else {
            Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
            req.board_id = "ln-b";
            req.has_user_id = req.has_score = 1;
            req.user_id = uid;
            req.score = i;
            snprintf(idem[i], sizeof(idem[i]), "sd-%d", i);
            o.token = key;
            o.idempotency_key = idem[i];
            rk_call_async(r.client, "rankd.Scores/Submit", &req.base, &rankd__submit_reply__descriptor, &o, on_reply,
                          &t);
        }
    }
    usleep(2000); /* some are answered, most are on their way */
    CHECK_INT(it_rankd_stop(&r), 0);
    int64_t until = now_ms() + 15000;
    while (atomic_load(&t.done) < IN_FLIGHT && now_ms() < until) usleep(10000);
    fprintf(stderr, "  %d answered, %d refused, %d other\n", atomic_load(&t.ok), atomic_load(&t.refused),
            atomic_load(&t.other));
    CHECK_INT(atomic_load(&t.done), IN_FLIGHT);
    CHECK_INT(atomic_load(&t.other), 0);
}

int main(void) {
    c = it_client();
    rk_client_set_deadline(c, 10000);
    admin = it_admin_token(c);
    CHECK(admin != NULL);
    CHECK_INT(it_create_board(c, admin, "ln-b", "ln", 0, RANKD__POLICY__POLICY_BEST, 0, 0), RK_OK);
    key = it_api_key(c, admin, "ln");
    CHECK(key != NULL);
    uid = it_sign_up(c, "ln-slow", "password-123");
    CHECK(uid > 0);
    if (admin == NULL || key == NULL || uid <= 0) return CHECK_SUMMARY();
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_status st;
    req.board_id = "ln-b";
    req.has_user_id = req.has_score = 1;
    req.user_id = uid;
    req.score = 5;
    rk_call_opts o = it_opts(key, NULL);
    CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
    RUN(reads_keep_their_deadline_while_logins_run);
    RUN(sigterm_with_calls_in_flight);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
