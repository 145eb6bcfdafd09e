/* Rebuilding under load never gives a wrong rank. Reader threads keep
 * asking Rank, Top and Count about players whose scores never change, and
 * check every answer against the scores they were given, while:
 *   1. an operator rebuilds the board again and again (Admin/Rebuild), and
 *   2. Redis restarts empty (its data and functions gone) and rankd puts
 *      the boards back by itself.
 * Every answer must be right: from Redis, from PostgreSQL, or after a wait.
 * A writer keeps submitting throughout (below everyone the readers check);
 * every submission it got an acknowledgement for is on the board at the
 * end. It pauses only while Redis loses its data: a submission Redis lost
 * before the write-behind copied it is the loss ARCHITECTURE.md admits, so
 * the test lets the write-behind catch up first (the writer goes on while
 * Redis is away and while it is restored). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define PLAYERS 5000 /* fixed scores: player i has 1000 + 10 * i */
#define WRITERS 200  /* written during the test, scores 1..999 */
#define READERS 3
#define TOP_N 10

static rk_client *c;
static char *admin, *key;
static int64_t first_uid; /* players are first_uid .. first_uid + PLAYERS - 1 */
static int64_t writer_uid[WRITERS], writer_best[WRITERS];

static atomic_int stop, rebuilding, pause_writer, writer_paused;
static atomic_long reads, wrong, failed, during_rebuild, degraded_reads, acked, submissions;

static int64_t score_of(int i) { return 1000 + 10 * (int64_t)i; }

static void note_failure(const char *what, const rk_status *st) {
    if (atomic_fetch_add(&failed, 1) < 5) fprintf(stderr, "  %s: %s (%s)\n", what, rk_code_name(st->code), st->message);
}

static void note_wrong(const char *fmt, long long a, long long b) {
    if (atomic_fetch_add(&wrong, 1) < 5) {
        fprintf(stderr, "  wrong answer: ");
        fprintf(stderr, fmt, a, b);
        fputc('\n', stderr);
    }
}

static void check_rank(unsigned *seed) {
    int i = (int)(rand_r(seed) % PLAYERS);
    Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
    Rankd__RankReply *rep = NULL;
    rk_status st;
    req.board_id = "rq";
    req.has_user_id = 1;
    req.user_id = first_uid + i;
    if (rk_ranking_rank(c, &req, &rep, NULL, &st) != RK_OK) {
        note_failure("rank", &st);
        return;
    }
    if (st.degraded) atomic_fetch_add(&degraded_reads, 1);
    int64_t want = PLAYERS - i;
    if (rep->entry == NULL || rep->entry->rank != want || rep->entry->score != score_of(i))
        note_wrong("rank %lld, expected %lld", rep->entry ? (long long)rep->entry->rank : -1, (long long)want);
    rk_reply_free(rep);
}

static void check_top(void) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    req.board_id = "rq";
    req.has_limit = 1;
    req.limit = TOP_N;
    if (rk_ranking_top(c, &req, &rep, NULL, &st) != RK_OK) {
        note_failure("top", &st);
        return;
    }
    if (rep->n_entries != TOP_N) note_wrong("top has %lld entries, expected %lld", (long long)rep->n_entries, TOP_N);
    for (size_t j = 0; j < rep->n_entries && j < TOP_N; j++) {
        int i = PLAYERS - 1 - (int)j;
        if (rep->entries[j]->user_id != first_uid + i || rep->entries[j]->rank != (int64_t)j + 1) {
            note_wrong("top place %lld holds user %lld", (long long)j + 1, (long long)rep->entries[j]->user_id);
            break;
        }
    }
    rk_reply_free(rep);
}

static void check_count(void) {
    Rankd__CountRequest req = RANKD__COUNT_REQUEST__INIT;
    Rankd__CountReply *rep = NULL;
    rk_status st;
    req.board_id = "rq";
    if (rk_ranking_count(c, &req, &rep, NULL, &st) != RK_OK) {
        note_failure("count", &st);
        return;
    }
    /* The writer only adds players. */
    if (rep->count < PLAYERS || rep->count > PLAYERS + WRITERS)
        note_wrong("count %lld, expected %lld or a little more", (long long)rep->count, PLAYERS);
    rk_reply_free(rep);
}

static void *reader(void *arg) {
    unsigned seed = (unsigned)(uintptr_t)arg;
    while (!atomic_load(&stop)) {
        int during = atomic_load(&rebuilding);
        switch (rand_r(&seed) % 8) {
            case 0: check_top(); break;
            case 1: check_count(); break;
            default: check_rank(&seed);
        }
        atomic_fetch_add(&reads, 1);
        if (during && atomic_load(&rebuilding)) atomic_fetch_add(&during_rebuild, 1);
    }
    return NULL;
}

/* Submits low scores with idempotency keys, retrying each until it is
 * acknowledged; keeps each writer player's best acknowledged score. */
static void *writer(void *arg) {
    (void)arg;
    unsigned seed = 7;
    while (!atomic_load(&stop)) {
        atomic_store(&writer_paused, atomic_load(&pause_writer));
        if (atomic_load(&writer_paused)) {
            usleep(10000);
            continue;
        }
        /* A key is never used twice, in this phase or the next: the same
         * key again is answered with its first submission's result, so a
         * second score sent under it would never count. Each writer in
         * turn: however few submissions a busy store lets through, they
         * are spread over as many players as they can be. */
        long n = atomic_fetch_add(&submissions, 1);
        int w = (int)(n % WRITERS);
        int64_t score = 1 + rand_r(&seed) % 999;
        char idem[32];
        snprintf(idem, sizeof(idem), "w-%ld", n);
        Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
        req.board_id = "rq";
        req.has_user_id = req.has_score = 1;
        req.user_id = writer_uid[w];
        req.score = score;
        for (int tries = 0; tries < 100; tries++) {
            Rankd__SubmitReply *rep = NULL;
            rk_status st;
            rk_call_opts o = it_opts(key, idem);
            int rc = rk_scores_submit(c, &req, &rep, &o, &st);
            rk_reply_free(rep);
            if (rc == RK_OK) {
                if (score > writer_best[w]) writer_best[w] = score;
                atomic_fetch_add(&acked, 1);
                break;
            }
            /* Refused while the board is rebuilt: the library retries a
             * keyed call until its deadline (5 s), which ten rebuilds in a
             * row can outlast on a loaded machine; the same key again
             * counts it once. */
            if (rc != RK_UNAVAILABLE && rc != RK_DEADLINE_EXCEEDED) {
                note_failure("submit", &st);
                break;
            }
            usleep(50000);
        }
        usleep(5000);
    }
    return NULL;
}

static void sh(const char *fmt, const char *arg) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), fmt, arg);
    CHECK_INT(system(cmd), 0);
}

static void rebuild_once(void) {
    Rankd__RebuildRequest req = RANKD__REBUILD_REQUEST__INIT;
    Rankd__RebuildReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(admin, NULL);
    req.board_id = "rq";
    atomic_store(&rebuilding, 1);
    int rc = rk_admin_rebuild(c, &req, &rep, &o, &st);
    atomic_store(&rebuilding, 0);
    CHECK_CODE(st, RK_OK);
    if (rc == RK_OK) CHECK(rep->entries >= PLAYERS);
    rk_reply_free(rep);
}

/* Waits until the write-behind has copied every accepted submission. */
static int write_behind_drained(void) {
    for (int i = 0; i < 300; i++) {
        Rankd__Empty req = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *s = NULL;
        rk_status st;
        rk_call_opts o = it_opts(admin, NULL);
        int done =
            rk_admin_status(c, &req, &s, &o, &st) == RK_OK && s->has_writebehind_backlog && s->writebehind_backlog == 0;
        rk_reply_free(s);
        if (done) return 1;
        usleep(100000);
    }
    return 0;
}

/* Waits until rankd's status says Redis holds the boards again. */
static int wait_restored(void) {
    for (int i = 0; i < 300; i++) {
        Rankd__Empty req = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *s = NULL;
        rk_status st;
        rk_call_opts o = it_opts(admin, NULL);
        int ok = rk_admin_status(c, &req, &s, &o, &st) == RK_OK && s->redis_ok && !s->degraded && s->redis_backlog == 0;
        rk_reply_free(s);
        if (ok) {
            /* The write-behind marks Redis live once it is restored; a
             * read that no longer waits tells. */
            Rankd__CountRequest cr = RANKD__COUNT_REQUEST__INIT;
            Rankd__CountReply *cnt = NULL;
            cr.board_id = "rq";
            ok = rk_ranking_count(c, &cr, &cnt, NULL, &st) == RK_OK && !st.degraded;
            rk_reply_free(cnt);
            if (ok) return 1;
        }
        usleep(100000);
    }
    return 0;
}

static void start_load(pthread_t *th) {
    atomic_store(&stop, 0);
    for (int i = 0; i < READERS; i++) pthread_create(&th[i], NULL, reader, (void *)(uintptr_t)(i + 1));
    pthread_create(&th[READERS], NULL, writer, NULL);
}

static void stop_load(pthread_t *th) {
    atomic_store(&stop, 1);
    for (int i = 0; i <= READERS; i++) pthread_join(th[i], NULL);
}

static void reset_counters(void) {
    atomic_store(&reads, 0);
    atomic_store(&wrong, 0);
    atomic_store(&failed, 0);
    atomic_store(&during_rebuild, 0);
    atomic_store(&degraded_reads, 0);
}

/* Waits (5 s at most) until the writer has had n more submissions
 * acknowledged since it last had `since`. */
static void writer_gets_in(long since, long n) {
    for (int i = 0; i < 500 && atomic_load(&acked) < since + n; i++) usleep(10000);
}

static void rebuilds_under_load_never_answer_wrong(void) {
    pthread_t th[READERS + 1];
    reset_counters();
    start_load(th);
    /* An operator's rebuilds come one after another, as fast as they are
     * answered; between two of them the writer gets a tenth of its players
     * in (a rebuild that also builds the global board, as on a cluster,
     * holds every submission for longer), so ten rebuilds leave something
     * of every writer to look for at the end. */
    for (int i = 0; i < 10; i++) {
        long before = atomic_load(&acked);
        rebuild_once();
        writer_gets_in(before, WRITERS / 10);
    }
    stop_load(th);
    fprintf(stderr, "  %ld reads, %ld while a rebuild ran\n", atomic_load(&reads), atomic_load(&during_rebuild));
    CHECK_INT(atomic_load(&wrong), 0);
    CHECK_INT(atomic_load(&failed), 0);
    CHECK(atomic_load(&during_rebuild) > 0);
}

static void empty_redis_under_load_never_answers_wrong(void) {
    pthread_t th[READERS + 1];
    reset_counters();
    start_load(th);
    usleep(300000);
    /* Everything acknowledged so far reaches PostgreSQL... */
    atomic_store(&pause_writer, 1);
    while (!atomic_load(&writer_paused)) usleep(10000);
    CHECK(write_behind_drained());
    /* ...then Redis loses everything: data and functions. The writer goes
     * on while it is away (into PostgreSQL) and while it is restored. */
    sh("rk-redis-stop >/dev/null && rm -rf %s/redis/appendonlydir", getenv("RANKD_TEST_DIR"));
    atomic_store(&pause_writer, 0);
    usleep(1000000);
    sh("rk-redis-start >/dev/null%s", "");
    CHECK(wait_restored());
    usleep(500000);
    stop_load(th);
    fprintf(stderr, "  %ld reads, %ld answered from PostgreSQL\n", atomic_load(&reads), atomic_load(&degraded_reads));
    CHECK_INT(atomic_load(&wrong), 0);
    CHECK_INT(atomic_load(&failed), 0);
    CHECK(atomic_load(&reads) > 0);
}

/* Every acknowledged submission of the writer is on the board. */
static void acknowledged_submissions_survive(void) {
    int acknowledged = 0;
    for (int w = 0; w < WRITERS; w++) acknowledged += writer_best[w] > 0;
    /* If no writer was ever acknowledged there is nothing to prove, and
     * that is a failure in itself (on a loaded machine a few may not be). */
    CHECK(acknowledged > WRITERS / 2);
    fprintf(stderr, "  %d of %d writers acknowledged\n", acknowledged, WRITERS);
    for (int w = 0; w < WRITERS; w++) {
        if (writer_best[w] == 0) continue;
        Rankd__RankRequest req = RANKD__RANK_REQUEST__INIT;
        Rankd__RankReply *rep = NULL;
        rk_status st;
        req.board_id = "rq";
        req.has_user_id = 1;
        req.user_id = writer_uid[w];
        CHECK_INT(rk_ranking_rank(c, &req, &rep, NULL, &st), RK_OK);
        CHECK(rep != NULL && rep->entry != NULL);
        if (rep && rep->entry) CHECK_INT(rep->entry->score, writer_best[w]);
        rk_reply_free(rep);
    }
}

/* PLAYERS + WRITERS users straight into PostgreSQL (signing each up would
 * spend minutes in scrypt); rankd looks up ids it does not know there. */
static int64_t make_users(void) {
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "psql -qAt \"%s\" -c \"INSERT INTO users (username, password_hash) "
             "SELECT 'rq-' || g, 'x' FROM generate_series(1, %d) g; "
             "SELECT min(id) FROM users WHERE username LIKE 'rq-%%'\"",
             getenv("RANKD_POSTGRES"), PLAYERS + WRITERS);
    FILE *p = popen(cmd, "r");
    char out[64] = "";
    if (p == NULL) return -1;
    if (fgets(out, sizeof(out), p) == NULL) out[0] = '\0';
    pclose(p);
    return strtoll(out, NULL, 10);
}

static int load_players(void) {
    static Rankd__BatchEntry e[1000];
    static Rankd__BatchEntry *ep[1000];
    for (int at = 0; at < PLAYERS; at += 1000) {
        Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
        size_t n = 0;
        for (int i = at; i < at + 1000 && i < PLAYERS; i++, n++) {
            rankd__batch_entry__init(&e[n]);
            e[n].board_id = "rq";
            e[n].has_user_id = e[n].has_score = 1;
            e[n].user_id = first_uid + i;
            e[n].score = score_of(i);
            ep[n] = &e[n];
        }
        req.n_entries = n;
        req.entries = ep;
        Rankd__SubmitBatchReply *rep = NULL;
        rk_status st;
        rk_call_opts o = it_opts(key, NULL);
        o.deadline_ms = 60000;
        int rc = rk_scores_submit_batch(c, &req, &rep, &o, &st);
        int ok = rc == RK_OK;
        for (size_t j = 0; ok && j < rep->n_results; j++) ok = rep->results[j]->code == RK_OK;
        rk_reply_free(rep);
        if (!ok) {
            fprintf(stderr, "loading players failed: %s\n", st.message);
            return -1;
        }
    }
    return 0;
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    it_create_board(c, admin, "rq", "g2", 0, RANKD__POLICY__POLICY_BEST, 0x3, 0);
    key = it_api_key(c, admin, "g2");
    first_uid = make_users();
    if (first_uid <= 0 || load_players() != 0) {
        fprintf(stderr, "set-up failed\n");
        return 1;
    }
    for (int w = 0; w < WRITERS; w++) writer_uid[w] = first_uid + PLAYERS + w;
    RUN(rebuilds_under_load_never_answer_wrong);
    RUN(empty_redis_under_load_never_answers_wrong);
    RUN(acknowledged_submissions_survive);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
