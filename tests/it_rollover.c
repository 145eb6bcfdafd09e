/* Windows closing for real: rankd is restarted with its clock a few seconds
 * before Sunday 2027-01-31 24:00 UTC, when a day, an ISO week and a month
 * end together. Across that moment a subscriber gets one WindowRolled per
 * window with the right labels; new submissions land in fresh windows while
 * the closed ones stay in Redis (until window-retention after their end)
 * and answer reports; and each
 * closed window's final standings, taken from Redis, are what its live top
 * was just before the end. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define ROLL_AT 1801440000 /* 2027-02-01T00:00:00Z, a Monday */
#define LEAD_S 20          /* the clock starts this long before */
#define PLAYERS 6

static const char *const closed_label[4] = {"", "2027-01-31", "2027-W04", "2027-01"};
static const char *const opened_label[4] = {"", "2027-02-01", "2027-W05", "2027-02"};

typedef struct rolled {
    pthread_mutex_t mu;
    int n[4]; /* WindowRolled per window kind */
    char closed[4][32], opened[4][32];
    int other; /* anything else on the window topic */
} rolled;

static rk_client *c;
static char *admin, *key;
static int64_t uid[PLAYERS + 1];

static void on_event(const char *topic, const Rankd__Event *ev, void *arg) {
    (void)topic;
    rolled *r = arg;
    pthread_mutex_lock(&r->mu);
    if (ev->kind_case == RANKD__EVENT__KIND_ROLLED && ev->rolled->has_window && ev->rolled->window > 0 &&
        ev->rolled->window < 4) {
        int k = ev->rolled->window;
        r->n[k]++;
        snprintf(r->closed[k], sizeof(r->closed[k]), "%s", ev->rolled->closed ? ev->rolled->closed : "");
        snprintf(r->opened[k], sizeof(r->opened[k]), "%s", ev->rolled->opened ? ev->rolled->opened : "");
    } else {
        r->other++;
    }
    pthread_mutex_unlock(&r->mu);
}

static int submit(int who, int64_t score) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(key, NULL);
    req.board_id = "roll";
    req.has_user_id = req.has_score = 1;
    req.user_id = uid[who];
    req.score = score;
    int rc = rk_scores_submit(c, &req, &rep, &o, &st);
    if (rc != RK_OK) fprintf(stderr, "  submit: %s\n", st.message);
    rk_reply_free(rep);
    return rc;
}

static Rankd__RankListReply *top(int window) {
    Rankd__TopRequest req = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(admin, NULL);
    req.board_id = "roll";
    req.has_window = req.has_limit = 1;
    req.window = (Rankd__Window)window;
    req.limit = 100;
    if (rk_ranking_top(c, &req, &rep, &o, &st) != RK_OK) fprintf(stderr, "  top: %s\n", st.message);
    return rep;
}

static Rankd__StandingsReply *standings(int window) {
    Rankd__StandingsRequest req = RANKD__STANDINGS_REQUEST__INIT;
    Rankd__StandingsReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(admin, NULL);
    req.board_id = "roll";
    req.has_window = 1;
    req.window = (Rankd__Window)window;
    req.at = (char *)closed_label[window];
    if (rk_history_standings(c, &req, &rep, &o, &st) != RK_OK && st.code != RK_NOT_FOUND)
        fprintf(stderr, "  standings: %s\n", st.message);
    return rep;
}

static int64_t now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* The seconds left until the roll-over by rankd's clock. */
static int64_t left_s(void) {
    Rankd__Empty req = RANKD__EMPTY__INIT;
    Rankd__ServerStatus *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(admin, NULL);
    if (rk_admin_status(c, &req, &rep, &o, &st) != RK_OK) return -1;
    int64_t left = ROLL_AT - rep->now;
    rk_reply_free(rep);
    return left;
}

typedef struct entry_list {
    Rankd__RankEntry **e;
    size_t n;
} entry_list;

static int same_entries(entry_list a, entry_list b);

static void windows_roll_over(void) {
    /* Before the end: every window holds the same players. */
    Rankd__RankListReply *before[4] = {0};
    for (int k = 0; k < 4; k++) {
        before[k] = top(k);
        CHECK(before[k] != NULL && before[k]->n_entries == PLAYERS);
    }
    int64_t left = left_s();
    fprintf(stderr, "  %lld s of the month left after the submissions\n", (long long)left);
    CHECK(left > 0); /* else the set-up was too slow to test anything */

    rolled r = {.mu = PTHREAD_MUTEX_INITIALIZER};
    rk_subscriber *sub = NULL;
    rk_status st;
    char topic[128];
    rk_topic_window(topic, sizeof(topic), "g1", "roll");
    CHECK_INT(rk_subscriber_open(&sub, getenv("RANKD_EVENTS_URL"), on_event, &r, &st), RK_OK);
    CHECK_INT(rk_subscriber_subscribe(sub, topic, &st), RK_OK);

    /* The roll-over, then up to 15 s for its events. */
    int got = 0;
    for (int64_t until = now_s() + left + 15; !got && now_s() < until;) {
        usleep(100000);
        pthread_mutex_lock(&r.mu);
        got = r.n[1] && r.n[2] && r.n[3];
        pthread_mutex_unlock(&r.mu);
    }
    CHECK(got);
    CHECK(left_s() <= 0);
    pthread_mutex_lock(&r.mu);
    for (int k = 1; k < 4; k++) {
        CHECK_INT(r.n[k], 1);
        CHECK_STR(r.closed[k], closed_label[k]);
        CHECK_STR(r.opened[k], opened_label[k]);
    }
    CHECK_INT(r.other, 0);
    pthread_mutex_unlock(&r.mu);

    /* New scores go into the new windows; all-time keeps everything. */
    CHECK_INT(submit(PLAYERS, 5), RK_OK);
    for (int k = 1; k < 4; k++) {
        Rankd__RankListReply *t = top(k);
        CHECK(t != NULL && t->n_entries == 1 && t->entries[0]->user_id == uid[PLAYERS]);
        rk_reply_free(t);
    }
    Rankd__RankListReply *all = top(0);
    CHECK(all != NULL && all->n_entries == PLAYERS + 1);
    rk_reply_free(all);

    /* The closed day is still in Redis and answers a report of itself. */
    Rankd__ReportRequest rq = RANKD__REPORT_REQUEST__INIT;
    Rankd__ReportReply *rep = NULL;
    rk_call_opts o = it_opts(admin, NULL);
    rq.board_id = "roll";
    rq.has_from = rq.has_to = 1;
    rq.from = ROLL_AT - 86400;
    rq.to = ROLL_AT;
    CHECK_INT(rk_history_report(c, &rq, &rep, &o, &st), RK_OK);
    if (rep) {
        CHECK_STR(rep->source, "redis");
        CHECK(same_entries((entry_list){rep->entries, rep->n_entries},
                           (entry_list){before[1]->entries, before[1]->n_entries}));
    }
    rk_reply_free(rep);

    /* Final standings: stored a few seconds after the end, equal to the
     * live top just before it. */
    for (int k = 1; k < 4; k++) {
        Rankd__StandingsReply *s = NULL;
        for (int i = 0; i < 200; i++) {
            s = standings(k);
            if (s && s->n_entries) break;
            rk_reply_free(s);
            s = NULL;
            usleep(100000);
        }
        CHECK(s != NULL);
        if (s && before[k]) {
            CHECK(same_entries((entry_list){s->entries, s->n_entries},
                               (entry_list){before[k]->entries, before[k]->n_entries}));
            CHECK_INT(s->board_size, PLAYERS);
            CHECK(s->closed_at >= ROLL_AT && s->closed_at < ROLL_AT + 60);
        }
        rk_reply_free(s);
    }
    /* The operator's view of the same: rankctl standings. */
    char cmd[1024], line[256], last[256] = "";
    int top_line = 0;
    snprintf(cmd, sizeof(cmd), "'%s' --url '%s' --token '%s' standings roll --window weekly --at 2027-W04",
             getenv("RANKCTL_BIN"), getenv("RANKD_URL"), admin);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    while (p && fgets(line, sizeof(line), p)) {
        if (strncmp(line, "   1  roll-4 ", 13) == 0 && strstr(line, " 90")) top_line = 1;
        snprintf(last, sizeof(last), "%s", line);
    }
    if (p) CHECK_INT(pclose(p), 0);
    CHECK(top_line);
    CHECK(strncmp(last, "(6 players in the weekly window 2027-W04; final standings stored 2027-02-01 ", 76) == 0);
    for (int k = 0; k < 4; k++) rk_reply_free(before[k]);
    rk_subscriber_close(sub);
}

/* Through it_redis_int, which follows a cluster's redirection. */
static long ttl_of(const char *key) { return it_redis_int("TTL '%s'", key); }

/* A window's sets expire window-retention (3600 s here) after the window
 * ends, whenever they were last written: the closed day in an hour, the
 * new day a day and an hour after it began, the new month 28 days later. */
static void windows_expire_after_they_end(void) {
    long closed = ttl_of("rk:{roll}:d:2027-01-31"), week = ttl_of("rk:{roll}:w:2027-W04");
    long day = ttl_of("rk:{roll}:d:2027-02-01"), month = ttl_of("rk:{roll}:mo:2027-02");
    fprintf(stderr, "  TTLs: closed day %ld s, closed week %ld s, new day %ld s, new month %ld s\n", closed, week, day,
            month);
    CHECK(closed > 3600 - 120 && closed <= 3600);
    CHECK(week > 3600 - 120 && week <= 3600);
    CHECK(day > 86400 + 3600 - 120 && day <= 86400 + 3600);
    CHECK(month > 28 * 86400 + 3600 - 120 && month <= 28 * 86400 + 3600);
}

static int same_entries(entry_list a, entry_list b) {
    if (a.n != b.n) {
        fprintf(stderr, "  %zu entries, expected %zu\n", a.n, b.n);
        return 0;
    }
    for (size_t i = 0; i < a.n; i++)
        if (a.e[i]->user_id != b.e[i]->user_id || a.e[i]->score != b.e[i]->score || a.e[i]->rank != b.e[i]->rank) {
            fprintf(stderr, "  entry %zu: user %lld score %lld rank %lld, expected %lld %lld %lld\n", i,
                    (long long)a.e[i]->user_id, (long long)a.e[i]->score, (long long)a.e[i]->rank,
                    (long long)b.e[i]->user_id, (long long)b.e[i]->score, (long long)b.e[i]->rank);
            return 0;
        }
    return 1;
}

int main(void) {
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rk-rankd-stop >/dev/null && rk-rankd-start --clock-start=%d >/dev/null",
             ROLL_AT - LEAD_S);
    if (system(cmd) != 0) {
        fprintf(stderr, "cannot restart rankd with its clock moved\n");
        return 1;
    }
    c = it_client();
    admin = it_admin_token(c);
    it_create_board(c, admin, "roll", "g1", 0, RANKD__POLICY__POLICY_BEST, 0xF, 0);
    key = it_api_key(c, admin, "g1");
    for (int i = 0; i <= PLAYERS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "roll-%d", i);
        uid[i] = it_sign_up(c, name, "password-123");
    }
    /* Two players tie: the standings keep who got there first. */
    static const int64_t scores[PLAYERS] = {40, 70, 70, 10, 90, 25};
    for (int i = 0; i < PLAYERS; i++) submit(i, scores[i]);
    RUN(windows_roll_over);
    RUN(windows_expire_after_they_end);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
