/* Journey 14's counters: created by an admin, incremented by game servers
 * (spread over sub-keys, retried safely with an idempotency key), read by
 * anyone within the counter's staleness, published as events, folded into
 * PostgreSQL, counted in PostgreSQL while Redis is down and replayed into
 * it once, and put back into a Redis that lost its data. */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <rankd/subscriber.h>

#include "check.h"
#include "it_common.h"

static rk_client *c;
static char *admin, *key, *other_key, *player;

static int64_t now_us(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static int create(const char *token, const char *game, const char *name, int has_shards, uint32_t shards, int has_stale,
                  uint32_t stale_ms, rk_status *st) {
    Rankd__CreateCounterRequest req = RANKD__CREATE_COUNTER_REQUEST__INIT;
    Rankd__Counter def = RANKD__COUNTER__INIT;
    Rankd__CounterReply *rep = NULL;
    def.game = (char *)game;
    def.name = (char *)name;
    def.has_shards = has_shards;
    def.shards = shards;
    def.has_stale_ms = has_stale;
    def.stale_ms = stale_ms;
    req.counter = &def;
    rk_call_opts o = it_opts(token, NULL);
    int rc = rk_counters_create_counter(c, &req, &rep, &o, st);
    rk_reply_free(rep);
    return rc;
}

/* One increment; *replayed and st->degraded say how it was taken. */
static int incr(const char *token, const char *game, const char *name, int64_t delta, const char *idem, int *replayed,
                rk_status *st) {
    Rankd__IncrRequest req = RANKD__INCR_REQUEST__INIT;
    Rankd__IncrReply *rep = NULL;
    req.game = (char *)game;
    req.name = (char *)name;
    req.has_delta = 1;
    req.delta = delta;
    rk_call_opts o = it_opts(token, idem);
    int rc = rk_counters_incr(c, &req, &rep, &o, st);
    if (replayed) *replayed = rc == RK_OK && rep->replayed;
    rk_reply_free(rep);
    return rc;
}

static int get(const char *game, const char *name, Rankd__Window w, int64_t *total, int64_t *read_at, char *label,
               rk_status *st) {
    Rankd__GetCounterRequest req = RANKD__GET_COUNTER_REQUEST__INIT;
    Rankd__CounterValue *rep = NULL;
    req.game = (char *)game;
    req.name = (char *)name;
    req.has_window = 1;
    req.window = w;
    int rc = rk_counters_get_counter(c, &req, &rep, NULL, st);
    if (rc == RK_OK) {
        *total = rep->total;
        if (read_at) *read_at = rep->read_at_us;
        if (label) snprintf(label, 48, "%s", rep->label ? rep->label : "");
    }
    rk_reply_free(rep);
    return rc;
}

/* PostgreSQL's durable total (folded + pending) of the all-time window,
 * and its pending part; -1 when there is no row. */
static int64_t pg_total(const char *game, const char *name, int64_t *pending) {
    PGconn *pg = PQconnectdb(getenv("RANKD_POSTGRES"));
    const char *params[] = {game, name};
    PGresult *r = PQexecParams(pg,
                               "SELECT folded + pending, pending FROM counter_totals WHERE game = $1 AND name = $2 "
                               "AND label = 'all'",
                               2, NULL, params, NULL, NULL, 0);
    int64_t v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        if (pending) *pending = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    }
    PQclear(r);
    PQfinish(pg);
    return v;
}

/* Waits up to 10 s for PostgreSQL's all-time total to be want with
 * nothing pending. */
static int wait_pg(const char *game, const char *name, int64_t want) {
    for (int i = 0; i < 100; i++) {
        int64_t pending = -1;
        if (pg_total(game, name, &pending) == want && pending == 0) return 1;
        usleep(100000);
    }
    return 0;
}

/* Waits up to 15 s for a read that Redis answers (not degraded). */
static int wait_redis_serves(const char *game, const char *name) {
    for (int i = 0; i < 150; i++) {
        rk_status st;
        int64_t t;
        if (get(game, name, RANKD__WINDOW__WINDOW_ALL_TIME, &t, NULL, NULL, &st) == RK_OK && !st.degraded) return 1;
        usleep(100000);
    }
    return 0;
}

static void create_is_checked_and_listed(void) {
    rk_status st;
    CHECK_INT(create(admin, "cg", "matches", 1, 8, 1, 0, &st), RK_OK);
    CHECK_INT(create(admin, "cg", "matches", 0, 0, 0, 0, &st), RK_ALREADY_EXISTS);
    CHECK_INT(create(admin, "cg", "too-wide", 1, 65, 0, 0, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "shards") != NULL);
    CHECK_INT(create(admin, "cg", "too-stale", 0, 0, 1, 60001, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "stale_ms") != NULL);
    CHECK_INT(create(admin, "cg", "Bad Name", 0, 0, 0, 0, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(create(admin, "", "x", 0, 0, 0, 0, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(create(key, "cg", "by-a-key", 0, 0, 0, 0, &st), RK_PERMISSION_DENIED);
    CHECK_INT(create(player, "cg", "by-a-player", 0, 0, 0, 0, &st), RK_PERMISSION_DENIED);
    CHECK_INT(create(admin, "cg", "plain", 0, 0, 0, 0, &st), RK_OK);

    Rankd__ListCountersRequest req = RANKD__LIST_COUNTERS_REQUEST__INIT;
    Rankd__ListCountersReply *rep = NULL;
    req.game = "cg";
    CHECK_INT(rk_counters_list_counters(c, &req, &rep, NULL, &st), RK_OK);
    if (rep) {
        CHECK_INT(rep->n_counters, 2);
        if (rep->n_counters == 2) {
            /* Sorted by name; defaults filled in. */
            CHECK_STR(rep->counters[0]->name, "matches");
            CHECK_INT(rep->counters[0]->shards, 8);
            CHECK_INT(rep->counters[0]->stale_ms, 0);
            CHECK_STR(rep->counters[1]->name, "plain");
            CHECK_INT(rep->counters[1]->shards, 1);
            CHECK_INT(rep->counters[1]->stale_ms, 1000);
            CHECK(rep->counters[1]->created_at > 0);
        }
    }
    rk_reply_free(rep);
}

static void increments_are_summed_over_the_shards(void) {
    rk_status st;
    int64_t want = 0;
    for (int i = 0; i < 200; i++) {
        int64_t d = i % 7 == 3 ? -5 : i;
        CHECK_INT(incr(key, "cg", "matches", d, NULL, NULL, &st), RK_OK);
        want += d;
    }
    static const Rankd__Window windows[] = {RANKD__WINDOW__WINDOW_ALL_TIME, RANKD__WINDOW__WINDOW_DAILY,
                                            RANKD__WINDOW__WINDOW_WEEKLY, RANKD__WINDOW__WINDOW_MONTHLY};
    static const char *const prefixes[] = {"all", "d:", "w:", "mo:"};
    for (int k = 0; k < 4; k++) {
        int64_t total = 0;
        char label[48] = "";
        CHECK_INT(get("cg", "matches", windows[k], &total, NULL, label, &st), RK_OK);
        CHECK_INT(total, want);
        CHECK(strncmp(label, prefixes[k], strlen(prefixes[k])) == 0);
    }
    /* Spread: all eight all-time sub-keys exist in Redis (each asked by
     * its name, so that a cluster's redis-cli finds it on its master). */
    long present = 0;
    for (int i = 0; i < 8; i++) present += it_redis_int("EXISTS 'rk:{c:cg:matches:%d}:all'", i);
    CHECK_INT(present, 8);
}

static void callers_and_values_are_checked(void) {
    rk_status st;
    CHECK_INT(incr(NULL, "cg", "plain", 1, NULL, NULL, &st), RK_UNAUTHENTICATED);
    CHECK_INT(incr(player, "cg", "plain", 1, NULL, NULL, &st), RK_PERMISSION_DENIED);
    CHECK_INT(incr(other_key, "cg", "plain", 1, NULL, NULL, &st), RK_PERMISSION_DENIED);
    CHECK(strstr(st.message, "game") != NULL);
    CHECK_INT(incr(key, "cg", "no-such", 1, NULL, NULL, &st), RK_NOT_FOUND);
    CHECK_INT(incr(key, "cg", "bad name", 1, NULL, NULL, &st), RK_INVALID_ARGUMENT);
    CHECK_INT(incr(key, "cg", "plain", 9007199254740993LL, NULL, NULL, &st), RK_OUT_OF_RANGE);

    Rankd__IncrRequest req = RANKD__INCR_REQUEST__INIT;
    Rankd__IncrReply *rep = NULL;
    req.game = "cg";
    req.name = "plain";
    rk_call_opts o = it_opts(key, NULL);
    CHECK_INT(rk_counters_incr(c, &req, &rep, &o, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "delta") != NULL);
    rk_reply_free(rep);

    /* A total past +-2^53 is refused and leaves the counter as it was. */
    CHECK_INT(create(admin, "cg", "edge", 0, 0, 1, 0, &st), RK_OK);
    CHECK_INT(incr(key, "cg", "edge", 9007199254740990LL, NULL, NULL, &st), RK_OK);
    CHECK_INT(incr(key, "cg", "edge", 10, NULL, NULL, &st), RK_OUT_OF_RANGE);
    int64_t total = 0;
    CHECK_INT(get("cg", "edge", RANKD__WINDOW__WINDOW_ALL_TIME, &total, NULL, NULL, &st), RK_OK);
    CHECK_INT(total, 9007199254740990LL);
    CHECK_INT(get("cg", "no-such", RANKD__WINDOW__WINDOW_ALL_TIME, &total, NULL, NULL, &st), RK_NOT_FOUND);
    CHECK_INT(get("cg", "plain", (Rankd__Window)9, &total, NULL, NULL, &st), RK_INVALID_ARGUMENT);
}

static void a_retried_increment_counts_once(void) {
    rk_status st;
    int replayed = -1;
    int64_t before = 0, after = 0;
    CHECK_INT(create(admin, "cg", "goals", 1, 4, 1, 0, &st), RK_OK);
    CHECK_INT(incr(key, "cg", "goals", 3, "goal-1", &replayed, &st), RK_OK);
    CHECK_INT(replayed, 0);
    CHECK_INT(get("cg", "goals", RANKD__WINDOW__WINDOW_ALL_TIME, &before, NULL, NULL, &st), RK_OK);
    CHECK_INT(incr(key, "cg", "goals", 3, "goal-1", &replayed, &st), RK_OK);
    CHECK_INT(replayed, 1);
    /* A key names one increment: another delta under it is a mistake,
     * refused rather than answered as a replay that counts nothing. */
    CHECK_INT(incr(key, "cg", "goals", 4, "goal-1", &replayed, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "another increment") != NULL);
    CHECK_INT(get("cg", "goals", RANKD__WINDOW__WINDOW_ALL_TIME, &after, NULL, NULL, &st), RK_OK);
    CHECK_INT(before, 3);
    CHECK_INT(after, 3);
}

static void reads_are_at_most_stale_ms_old(void) {
    rk_status st;
    int64_t total = 0, read_at = 0;
    CHECK_INT(incr(key, "cg", "plain", 5, NULL, NULL, &st), RK_OK);
    CHECK_INT(get("cg", "plain", RANKD__WINDOW__WINDOW_ALL_TIME, &total, &read_at, NULL, &st), RK_OK);
    CHECK(now_us() - read_at <= 1000 * 1000 + 200 * 1000);
    CHECK_INT(incr(key, "cg", "plain", 7, NULL, NULL, &st), RK_OK);
    usleep(1300 * 1000);
    CHECK_INT(get("cg", "plain", RANKD__WINDOW__WINDOW_ALL_TIME, &total, &read_at, NULL, &st), RK_OK);
    CHECK(now_us() - read_at <= 1000 * 1000 + 200 * 1000);
    CHECK_INT(total, 12);
}

typedef struct seen {
    pthread_mutex_t mu;
    int64_t last_total; /* all-time total of the last CounterChanged */
    int n;
} seen;

static void on_event(const char *topic, const Rankd__Event *ev, void *arg) {
    seen *s = arg;
    if (ev->kind_case != RANKD__EVENT__KIND_COUNTER || strcmp(topic, "cg/#counter/goals/") != 0) return;
    pthread_mutex_lock(&s->mu);
    s->n++;
    if (ev->counter->n_values == 4) s->last_total = ev->counter->values[0]->total;
    pthread_mutex_unlock(&s->mu);
}

static void changes_are_published_coalesced(void) {
    seen s = {.mu = PTHREAD_MUTEX_INITIALIZER, .last_total = -1};
    rk_subscriber *sub = NULL;
    rk_status st;
    CHECK_INT(rk_subscriber_open(&sub, getenv("RANKD_EVENTS_URL"), on_event, &s, &st), RK_OK);
    if (sub == NULL) return;
    CHECK_INT(rk_subscriber_subscribe(sub, "cg/#counter/", &st), RK_OK);
    usleep(300000); /* PUB drops what it sends before the connection is up */
    for (int i = 0; i < 100; i++) CHECK_INT(incr(key, "cg", "goals", 1, NULL, NULL, &st), RK_OK);
    int64_t last = -1;
    for (int i = 0; i < 300 && last != 103; i++) {
        usleep(10000);
        pthread_mutex_lock(&s.mu);
        last = s.last_total;
        pthread_mutex_unlock(&s.mu);
    }
    CHECK_INT(last, 103);
    /* Coalesced: far fewer events than increments. */
    pthread_mutex_lock(&s.mu);
    CHECK(s.n >= 1 && s.n < 50);
    pthread_mutex_unlock(&s.mu);
    rk_subscriber_close(sub);
}

static void totals_are_folded_into_postgres(void) {
    rk_status st;
    int64_t total = 0;
    CHECK_INT(get("cg", "goals", RANKD__WINDOW__WINDOW_ALL_TIME, &total, NULL, NULL, &st), RK_OK);
    CHECK_INT(total, 103);
    CHECK(wait_pg("cg", "goals", 103));
}

static void without_redis_counted_in_postgres_then_replayed_once(void) {
    rk_status st;
    int replayed = -1;
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    /* The first calls may meet the connection's loss before rankd sees it
     * (UNAVAILABLE, nothing counted): a keyed retry is safe. */
    int rc = RK_UNAVAILABLE;
    for (int i = 0; i < 50 && rc == RK_UNAVAILABLE; i++) {
        rc = incr(key, "cg", "goals", 10, "down-1", &replayed, &st);
        if (rc == RK_UNAVAILABLE) usleep(100000);
    }
    CHECK_INT(rc, RK_OK);
    CHECK_INT(st.degraded, 1);
    CHECK_INT(incr(key, "cg", "goals", 10, "down-1", &replayed, &st), RK_OK);
    CHECK_INT(replayed, 1);
    CHECK_INT(incr(key, "cg", "goals", 11, "down-1", &replayed, &st), RK_INVALID_ARGUMENT);
    CHECK(strstr(st.message, "another increment") != NULL);
    CHECK_INT(incr(key, "cg", "goals", -4, NULL, NULL, &st), RK_OK);
    CHECK_INT(st.degraded, 1);
    int64_t total = 0;
    CHECK_INT(get("cg", "goals", RANKD__WINDOW__WINDOW_ALL_TIME, &total, NULL, NULL, &st), RK_OK);
    CHECK_INT(st.degraded, 1);
    CHECK_INT(total, 109);
    int64_t pending = 0;
    CHECK_INT(pg_total("cg", "goals", &pending), 109);
    CHECK_INT(pending, 6);

    CHECK_INT(system("rk-redis-start >/dev/null"), 0);
    CHECK(wait_redis_serves("cg", "goals"));
    /* Replayed once by the fold job: Redis has it and nothing is pending. */
    CHECK(wait_pg("cg", "goals", 109));
    CHECK_INT(get("cg", "goals", RANKD__WINDOW__WINDOW_ALL_TIME, &total, NULL, NULL, &st), RK_OK);
    CHECK_INT(total, 109);
    /* Folded again and again: still 109. */
    usleep(2500 * 1000);
    CHECK_INT(pg_total("cg", "goals", NULL), 109);
    CHECK_INT(get("cg", "goals", RANKD__WINDOW__WINDOW_ALL_TIME, &total, NULL, NULL, &st), RK_OK);
    CHECK_INT(total, 109);
}

static void a_redis_that_lost_its_data_gets_the_totals_back(void) {
    rk_status st;
    CHECK(wait_pg("cg", "goals", 109));
    CHECK_INT(system("rk-redis-stop >/dev/null"), 0);
    CHECK_INT(system("rk-redis-wipe && rk-redis-start >/dev/null"), 0);
    CHECK(wait_redis_serves("cg", "goals"));
    int64_t total = 0, daily = 0;
    CHECK_INT(get("cg", "goals", RANKD__WINDOW__WINDOW_ALL_TIME, &total, NULL, NULL, &st), RK_OK);
    CHECK_INT(total, 109);
    CHECK_INT(get("cg", "goals", RANKD__WINDOW__WINDOW_DAILY, &daily, NULL, NULL, &st), RK_OK);
    CHECK_INT(daily, 109);
    /* And counting goes on from there. */
    CHECK_INT(incr(key, "cg", "goals", 1, NULL, NULL, &st), RK_OK);
    CHECK(wait_pg("cg", "goals", 110));
}

int main(void) {
    c = it_client();
    rk_client_set_deadline(c, 15000);
    admin = it_admin_token(c);
    key = it_api_key(c, admin, "cg");
    other_key = it_api_key(c, admin, "other-game");
    it_sign_up(c, "cg-player", "cg-password-1");
    player = it_login(c, "cg-player", "cg-password-1");
    RUN(create_is_checked_and_listed);
    RUN(increments_are_summed_over_the_shards);
    RUN(callers_and_values_are_checked);
    RUN(a_retried_increment_counts_once);
    RUN(reads_are_at_most_stale_ms_old);
    RUN(changes_are_published_coalesced);
    RUN(totals_are_folded_into_postgres);
    RUN(without_redis_counted_in_postgres_then_replayed_once);
    RUN(a_redis_that_lost_its_data_gets_the_totals_back);
    free(admin);
    free(key);
    free(other_key);
    free(player);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
