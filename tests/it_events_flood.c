/* The events thread keeps pace with a flood of rank changes: Redis drops a
 * pub/sub subscriber whose output buffer outgrows its limit, and a thread
 * that asked Redis for the names of every change one at a time fell that
 * far behind (the log said "event subscription lost"). Here Redis's limit
 * for subscribers is lowered to 256 kB, writers send batches of rank
 * changes as fast as they can; at the end a new change must reach a
 * subscriber within 3 s (the old thread was tens of thousands of changes
 * behind), through the same subscription (the same Redis client id).
 * Meanwhile other subscribers come and go: nng 1.5.2 could hang for ever
 * closing a connection that was receiving, and every close in the process
 * after it, the test's own exit included. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

/* The sanitizer build's LeakSanitizer reads this in this process only.
 * nng 1.5.2 can lose a subscriber's dialer and pipe objects when the
 * subscriber is closed while messages are arriving (the receiving side of
 * the upstream bug tests/lsan.supp names), and this test closes 40 in a
 * flood on purpose: seen once in a loaded sanitizer run (14 objects, all
 * allocated inside libnng). Leaks inside libnng go unreported here only;
 * rankd's and every other process's are still reported. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libnng.so.1\n"; }

#define PLAYERS 1000
#define WRITERS 4
#define BATCH 500
#define FLOOD_S 8

static rk_client *c;
static char *admin, *key;
static int64_t uid[PLAYERS];
static atomic_int stop;
static atomic_long changes, rank_events;
static atomic_int last_seen; /* the change sent after the flood has come */
#define LAST_SCORE 1000000000

/* The Redis client id of rankd's subscription ("id=N ..."), or -1. */
static long subscriber_id(void) {
    char out[512];
    if (it_redis_cli("CLIENT LIST TYPE pubsub", out, sizeof(out)) != 0 || strncmp(out, "id=", 3) != 0) return -1;
    return atol(out + 3);
}

static atomic_int churned; /* subscribers opened and closed in the flood */
#define CHURN 40

static void on_nothing(const char *topic, const Rankd__Event *ev, void *arg) { (void)topic, (void)ev, (void)arg; }

/* Subscribers open, receive the flood for a moment and close, as
 * spectators do. */
static void *churner(void *arg) {
    (void)arg;
    for (int i = 0; i < CHURN && !atomic_load(&stop); i++) {
        rk_subscriber *s = NULL;
        rk_status st;
        if (rk_subscriber_open(&s, getenv("RANKD_EVENTS_URL"), on_nothing, NULL, &st) != RK_OK) break;
        rk_subscriber_subscribe(s, "flood/", &st);
        usleep(50000 + (i % 5) * 20000);
        rk_subscriber_close(s);
        atomic_fetch_add(&churned, 1);
    }
    return NULL;
}

static void on_event(const char *topic, const Rankd__Event *ev, void *arg) {
    (void)topic, (void)arg;
    if (ev->kind_case != RANKD__EVENT__KIND_RANK) return;
    atomic_fetch_add(&rank_events, 1);
    if (ev->rank->new_score == LAST_SCORE) atomic_store(&last_seen, 1);
}

/* Every entry of a batch raises a player past others: a rank change each. */
static void *writer(void *arg) {
    long w = (long)arg;
    rk_client *cl = it_client();
    Rankd__BatchEntry e[BATCH], *ep[BATCH];
    int64_t score = 1000 * (w + 1);
    while (!atomic_load(&stop)) {
        for (int i = 0; i < BATCH; i++) {
            rankd__batch_entry__init(&e[i]);
            e[i].board_id = "flood";
            e[i].has_user_id = e[i].has_score = 1;
            e[i].user_id = uid[(w * BATCH + i * 7 + score) % PLAYERS];
            e[i].score = score += 1 + (i % 3);
            ep[i] = &e[i];
        }
        Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
        Rankd__SubmitBatchReply *rep = NULL;
        req.n_entries = BATCH;
        req.entries = ep;
        rk_call_opts o = it_opts(key, NULL);
        rk_status st;
        if (rk_scores_submit_batch(cl, &req, &rep, &o, &st) == RK_OK) atomic_fetch_add(&changes, BATCH);
        rk_reply_free(rep);
    }
    rk_client_close(cl);
    return NULL;
}

static int log_says(const char *what) {
    char path[1024], line[1024];
    snprintf(path, sizeof(path), "%s/rankd.log", getenv("RANKD_TEST_DIR"));
    FILE *f = fopen(path, "r");
    int found = 0;
    if (f == NULL) return -1;
    while (!found && fgets(line, sizeof(line), f)) found = strstr(line, what) != NULL;
    fclose(f);
    return found;
}

static void subscription_survives_a_flood(void) {
    char out[256];
    CHECK_INT(it_redis_cli("CONFIG SET client-output-buffer-limit \"pubsub 256kb 128kb 1\"", out, sizeof(out)), 0);
    CHECK_STR(out, "OK");
    long before = subscriber_id();
    CHECK(before > 0);

    rk_subscriber *sub = NULL;
    rk_status st;
    CHECK_INT(rk_subscriber_open(&sub, getenv("RANKD_EVENTS_URL"), on_event, NULL, &st), RK_OK);
    if (sub) CHECK_INT(rk_subscriber_subscribe(sub, "flood/", &st), RK_OK);
    usleep(300000);

    pthread_t w[WRITERS], ch;
    for (long i = 0; i < WRITERS; i++) pthread_create(&w[i], NULL, writer, (void *)i);
    pthread_create(&ch, NULL, churner, NULL);
    sleep(FLOOD_S);
    atomic_store(&stop, 1);
    for (int i = 0; i < WRITERS; i++) pthread_join(w[i], NULL);
    pthread_join(ch, NULL);
    fprintf(stderr, "  %ld rank changes submitted, %ld rank events received, %d subscribers closed\n",
            atomic_load(&changes), atomic_load(&rank_events), atomic_load(&churned));
    CHECK(atomic_load(&changes) > 0);
    CHECK(atomic_load(&churned) >= 10);

    /* After the flood, a change comes through within 3 s: the thread is
     * not minutes of changes behind. */
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_call_opts o = it_opts(key, NULL);
    req.board_id = "flood";
    req.has_user_id = req.has_score = 1;
    req.user_id = uid[0];
    req.score = LAST_SCORE;
    CHECK_INT(rk_scores_submit(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
    for (int i = 0; i < 300 && !atomic_load(&last_seen); i++) usleep(10000);
    CHECK(atomic_load(&last_seen));

    CHECK_INT(subscriber_id(), before); /* never dropped and subscribed again */
    CHECK_INT(log_says("event subscription lost"), 0);
    rk_subscriber_close(sub);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    it_create_board(c, admin, "flood", "flood", 0, RANKD__POLICY__POLICY_BEST, 0, 0);
    key = it_api_key(c, admin, "flood");
    for (int i = 0; i < PLAYERS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "flood-%d", i);
        uid[i] = it_sign_up(c, name, "password-123");
    }
    RUN(subscription_survives_a_flood);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
