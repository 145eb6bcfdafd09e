/* A restarted Redis that is still loading its data set is Redis away for
 * a moment, not a broken one. Redis is filled with a large data set under
 * keys rankd never uses (so reloading it takes a second or more), then
 * restarted again and again while writers submit (each submission with
 * its own idempotency key) and a reader reads. While Redis answers
 * LOADING:
 *   - rankd stays up (the harness also checks its exit status at the end);
 *   - no call ever answers INTERNAL: LOADING surfaces as UNAVAILABLE, which
 *     the client library retries for calls with an idempotency key, so
 *     every submission finally succeeds within its deadline, and reads are
 *     answered (from Redis, or from PostgreSQL meanwhile);
 *   - every acknowledged submission is counted exactly once: the sum board
 *     ends at the total of everything acknowledged.
 * On a Redis Cluster the master that restarts is the first one, which
 * holds the filler and the board (its slot is 278); the others keep
 * serving. (A whole cluster that restarts is down, not loading: until
 * every master has loaded, the others answer CLUSTERDOWN.) */
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

#define BOARD "ld-sum"
#define WRITERS 4
#define CYCLES 3
#define FILL_KEYS "1500000" /* about a second of loading */
#define FILL_PREFIX "ld-fill"

static rk_client *c;
static char *admin, *key;
static int64_t uid[WRITERS];
static int64_t acked[WRITERS]; /* sum of the acknowledged scores, per writer */
static long submitted[WRITERS];

static atomic_int stop, hold; /* hold: writers wait (nothing is taken without Redis) */
static int64_t probe_acked;
static atomic_int loaded; /* the last restart's Redis has loaded its data */
static atomic_long internal, failed, reads, read_failures, degraded_reads;

static void note(atomic_long *counter, const char *what, const rk_status *st) {
    if (atomic_fetch_add(counter, 1) < 5) fprintf(stderr, "  %s: %s (%s)\n", what, rk_code_name(st->code), st->message);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Runs redis-cli against the harness's Redis; its first line of output in
 * out. Returns 0 when it ran. */

/* Stops, or starts again and waits until it has loaded, the one Redis
 * or the cluster's first master. */
static int redis_restart_step(int start) {
    const char *nodes = getenv("RANKD_REDIS_NODES");
    int cluster = nodes && nodes[0];
    const char *cmd = cluster ? (start ? "rk-redis-node-start 1 >/dev/null" : "rk-redis-node-stop 1 >/dev/null")
                              : (start ? "rk-redis-start >/dev/null" : "rk-redis-stop >/dev/null");
    return system(cmd);
}

/* A data set that takes Redis a while to load, compacted into the AOF's
 * base file so that a restart loads exactly that. */
static void fill_redis(void) {
    char out[256];
    CHECK_INT(it_redis_cli("DEBUG POPULATE " FILL_KEYS " " FILL_PREFIX " 32", out, sizeof(out)), 0);
    CHECK_STR(out, "OK");
    CHECK_INT(it_redis_cli("BGREWRITEAOF", out, sizeof(out)), 0);
    int done = 0;
    for (int i = 0; i < 300 && !done; i++) {
        sleep_ms(100);
        done = it_redis_info_field("persistence", "aof_rewrite_in_progress") == 0 &&
               it_redis_info_field("persistence", "aof_rewrite_scheduled") == 0;
    }
    CHECK(done);
}

static void *writer(void *arg) {
    int w = (int)(long)arg;
    unsigned seed = (unsigned)w * 7919u + 1;
    while (!atomic_load(&stop)) {
        if (atomic_load(&hold)) {
            sleep_ms(5);
            continue;
        }
        char idem[64];
        int64_t score = 1 + (int64_t)(rand_r(&seed) % 9);
        snprintf(idem, sizeof(idem), "ld-%d-%ld", w, submitted[w]++);
        Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
        Rankd__SubmitReply *rep = NULL;
        req.board_id = BOARD;
        req.has_user_id = req.has_score = 1;
        req.user_id = uid[w];
        req.score = score;
        rk_call_opts o = it_opts(key, idem);
        rk_status st;
        /* Each key goes into one call: its retries are the library's. A
         * replayed answer is still the first and only count of it. */
        int rc = rk_scores_submit(c, &req, &rep, &o, &st);
        if (rc == RK_OK)
            acked[w] += score;
        else if (rc == RK_INTERNAL)
            note(&internal, "submit", &st);
        else
            note(&failed, "submit", &st);
        rk_reply_free(rep);
        sleep_ms(2);
    }
    return NULL;
}

static void *reader(void *arg) {
    (void)arg;
    unsigned seed = 17;
    while (!atomic_load(&stop)) {
        rk_status st;
        int rc;
        if (rand_r(&seed) % 2) {
            Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
            Rankd__RankListReply *rep = NULL;
            req.board_id = BOARD;
            rc = rk_ranking_top(c, &req, &rep, NULL, &st);
            rk_reply_free(rep);
        } else {
            Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
            Rankd__RankReply *rep = NULL;
            req.board_id = BOARD;
            req.has_user_id = 1;
            req.user_id = uid[rand_r(&seed) % WRITERS];
            rc = rk_ranking_rank(c, &req, &rep, NULL, &st);
            if (rc == RK_NOT_FOUND) rc = RK_OK; /* not yet submitted */
            rk_reply_free(rep);
        }
        atomic_fetch_add(&reads, 1);
        if (rc == RK_OK && st.degraded) atomic_fetch_add(&degraded_reads, 1);
        if (rc == RK_INTERNAL)
            note(&internal, "read", &st);
        else if (rc != RK_OK)
            note(&read_failures, "read", &st);
        sleep_ms(5);
    }
    return NULL;
}

/* rankd serves from Redis again and has replayed everything it took
 * without it (or 20 s went by). */
static int caught_up(void) {
    /* Up to a minute: on a loaded machine the replay takes its time. */
    for (int i = 0; i < 600; i++) {
        Rankd__Empty e = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *s = NULL;
        rk_call_opts o = it_opts(admin, NULL);
        rk_status st;
        int done = rk_admin_status(c, &e, &s, &o, &st) == RK_OK && !s->degraded && s->has_redis_backlog &&
                   s->redis_backlog == 0;
        rk_reply_free(s);
        if (done) return 1;
        sleep_ms(100);
    }
    return 0;
}

/* Lets the writers go once the restarted Redis answers LOADING, so they
 * meet a loading Redis rather than a refused connection: a submission
 * refused for the connection is taken without Redis, and everything
 * after it then queues behind the replay and never meets Redis at all.
 * Gives up (and lets them go) after 20 s. */
static void *release(void *arg) {
    (void)arg;
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "redis-cli -h %s -p %s PING 2>/dev/null | grep -q LOADING",
             getenv("RANKD_REDIS_HOST") ? getenv("RANKD_REDIS_HOST") : "127.0.0.1", getenv("RANKD_REDIS_PORT"));
    for (int i = 0; i < 2000 && system(cmd) != 0; i++) sleep_ms(10);
    atomic_store(&hold, 0);
    return NULL;
}

/* What the probe saw while the last restart's Redis loaded. */
static int saw_state; /* Status said redis_state "loading" */
static int saw_taken; /* a submission then was taken without Redis, or refused UNAVAILABLE for the loading */

static void *probe(void *arg) {
    (void)arg;
    while (atomic_load(&hold)) sleep_ms(1);
    /* Until Redis has loaded (rk-redis-start returned) and rankd has
     * stopped saying it loads (on a cluster the master that loaded still
     * answers CLUSTERDOWN for a moment, until the others have heard from
     * it): however long the loading takes on a busy machine, a submission
     * meets it. */
    int loading = 1;
    while ((!atomic_load(&loaded) || loading) && !(saw_state && saw_taken)) {
        Rankd__Empty e = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *s = NULL;
        rk_call_opts so = it_opts(admin, NULL);
        rk_status st;
        loading = rk_admin_status(c, &e, &s, &so, &st) == RK_OK && s->redis_state &&
                  strcmp(s->redis_state, "loading") == 0 && s->degraded;
        rk_reply_free(s);
        saw_state |= loading;

        Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
        Rankd__SubmitReply *rep = NULL;
        req.board_id = BOARD;
        req.has_user_id = req.has_score = 1;
        req.user_id = uid[0];
        req.score = 1000;
        rk_call_opts o = it_opts(key, NULL);
        int rc = rk_scores_submit(c, &req, &rep, &o, &st);
        if (rc == RK_OK) probe_acked += req.score;
        if (loading && ((rc == RK_OK && st.degraded) || (rc == RK_UNAVAILABLE && strstr(st.message, "loading"))))
            saw_taken = 1;
        if (rc == RK_INTERNAL) note(&internal, "probe", &st);
        rk_reply_free(rep);
        sleep_ms(10);
    }
    return NULL;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rankd_alive(void) {
    const char *pid = getenv("RANKD_PID");
    return pid && pid[0] && kill((pid_t)atol(pid), 0) == 0;
}

/* The sum of the board's scores, once it equals want and comes from Redis
 * (or after about 20 s). */
static int64_t board_total(int64_t want) {
    int64_t total = -1;
    for (int i = 0; i < 200 && rankd_alive(); i++) {
        Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
        Rankd__RankListReply *rep = NULL;
        rk_call_opts o = {.deadline_ms = 2000};
        rk_status st;
        req.board_id = BOARD;
        req.has_limit = 1;
        req.limit = 100;
        if (rk_ranking_top(c, &req, &rep, &o, &st) == RK_OK) {
            total = 0;
            for (size_t j = 0; j < rep->n_entries; j++) total += rep->entries[j]->score;
            rk_reply_free(rep);
            if (total == want && !st.degraded) return total;
        }
        sleep_ms(100);
    }
    return total;
}

static void restarts_while_loading(void) {
    double t0 = now_s();
    fill_redis();
    fprintf(stderr, "  filled Redis in %.1f s\n", now_s() - t0);
    pthread_t w[WRITERS], r;
    for (long i = 0; i < WRITERS; i++) pthread_create(&w[i], NULL, writer, (void *)i);
    pthread_create(&r, NULL, reader, NULL);
    for (int cycle = 0; cycle < CYCLES; cycle++) {
        sleep_ms(400);
        CHECK_INT(redis_restart_step(0), 0);
        sleep_ms(100);
        /* Returns once Redis answers PING, i.e. once loading is over;
         * the writers and the reader run through the loading meanwhile. */
        double t0 = now_s();
        CHECK_INT(redis_restart_step(1), 0);
        fprintf(stderr, "  restart %d: Redis answered after %.1f s\n", cycle + 1, now_s() - t0);
        CHECK(rankd_alive());
    }
    /* Once more with nothing taken without Redis meanwhile: rankd must
     * see the loading Redis as such (Status: redis_state "loading",
     * degraded), and a submission meanwhile is either recorded without
     * Redis or, if it reached Redis before rankd noticed, refused
     * UNAVAILABLE (retried by the library for calls with an idempotency
     * key), never INTERNAL. */
    pthread_t rel, pr;
    sleep_ms(400);
    atomic_store(&hold, 1);
    CHECK(caught_up());
    CHECK_INT(redis_restart_step(0), 0);
    pthread_create(&rel, NULL, release, NULL);
    pthread_create(&pr, NULL, probe, NULL);
    CHECK_INT(redis_restart_step(1), 0);
    atomic_store(&loaded, 1);
    pthread_join(rel, NULL);
    pthread_join(pr, NULL);
    CHECK(saw_state);
    CHECK(saw_taken);
    CHECK(rankd_alive());
    sleep_ms(500);
    atomic_store(&stop, 1);
    for (int i = 0; i < WRITERS; i++) pthread_join(w[i], NULL);
    pthread_join(r, NULL);
    CHECK(rankd_alive());

    long n = 0;
    int64_t want = 0;
    for (int i = 0; i < WRITERS; i++) {
        n += submitted[i];
        want += acked[i];
    }
    want += probe_acked;
    fprintf(stderr, "  %ld submissions, %ld reads (%ld degraded)\n", n, atomic_load(&reads),
            atomic_load(&degraded_reads));
    CHECK_INT(atomic_load(&internal), 0);
    CHECK_INT(atomic_load(&failed), 0);
    CHECK_INT(atomic_load(&read_failures), 0);
    CHECK(n > 0);
    /* Exactly once: nothing lost, nothing counted twice, once rankd has
     * replayed what it took while Redis loaded. */
    double t1 = now_s();
    CHECK(caught_up());
    CHECK_INT(board_total(want), want);
    fprintf(stderr, "  the board was right after %.1f s\n", now_s() - t1);
    /* And the filler is still there: Redis did reload its data. (DBSIZE
     * names no key: on a cluster it asks the first master, which was
     * filled, whatever slots the filler's keys are in.) */
    char out[64];
    CHECK_INT(it_redis_cli("DBSIZE", out, sizeof(out)), 0);
    CHECK(strtoll(out, NULL, 10) >= strtoll(FILL_KEYS, NULL, 10));
}

int main(void) {
    c = it_client();
    rk_client_set_deadline(c, 10000);
    admin = it_admin_token(c);
    it_create_board(c, admin, BOARD, "ld", 0, RANKD__POLICY__POLICY_SUM, 0, 0);
    key = it_api_key(c, admin, "ld");
    for (int i = 0; i < WRITERS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "ld-%d", i);
        uid[i] = it_sign_up(c, name, "password-123");
    }
    RUN(restarts_while_loading);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
