/* Journey 7 through nng: subscribers get a player's rank change (with who
 * they passed) and the board's new top N, only for the topics they chose;
 * a burst of changes is coalesced into few top-N events that end on the
 * latest state with gap-free sequence numbers; and an event caused through
 * one rankd process reaches the subscribers of another. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "it_common.h"

#define MAX_SEEN 512

/* What one subscriber has seen. */
typedef struct seen {
    pthread_mutex_t mu;
    int n;
    char topic[MAX_SEEN][96];
    int kind[MAX_SEEN];
    uint64_t seq[MAX_SEEN];
    int64_t top_score[MAX_SEEN]; /* TopChanged: score of rank 1 */
    int64_t user[MAX_SEEN];      /* RankChanged: who moved */
    int64_t new_rank[MAX_SEEN];
    int64_t passed0[MAX_SEEN]; /* RankChanged: first player passed */
} seen;

static rk_client *c;
static char *admin, *key;
static int64_t uid[40];

static void on_event(const char *topic, const Rankd__Event *ev, void *arg) {
    seen *s = arg;
    pthread_mutex_lock(&s->mu);
    if (s->n < MAX_SEEN) {
        int i = s->n++;
        snprintf(s->topic[i], sizeof(s->topic[i]), "%s", topic);
        s->kind[i] = ev->kind_case;
        if (ev->kind_case == RANKD__EVENT__KIND_TOP) {
            s->seq[i] = ev->top->seq;
            s->top_score[i] = ev->top->n_entries ? ev->top->entries[0]->score : -1;
        } else if (ev->kind_case == RANKD__EVENT__KIND_RANK) {
            s->user[i] = ev->rank->user_id;
            s->new_rank[i] = ev->rank->new_rank;
            s->passed0[i] = ev->rank->n_passed ? ev->rank->passed[0]->user_id : 0;
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void seen_init(seen *s) {
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
}

static int count(seen *s, int kind, const char *topic_prefix) {
    int n = 0;
    pthread_mutex_lock(&s->mu);
    for (int i = 0; i < s->n; i++)
        if (s->kind[i] == kind && strncmp(s->topic[i], topic_prefix, strlen(topic_prefix)) == 0) n++;
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* Waits up to 3 s for at least `want` events of a kind under a prefix. */
static int wait_for(seen *s, int kind, const char *prefix, int want) {
    for (int i = 0; i < 300; i++) {
        if (count(s, kind, prefix) >= want) return 1;
        usleep(10000);
    }
    return 0;
}

static rk_subscriber *subscribe(const char *url, seen *s, const char *prefix) {
    rk_subscriber *sub = NULL;
    rk_status st;
    if (rk_subscriber_open(&sub, url, on_event, s, &st) != RK_OK ||
        rk_subscriber_subscribe(sub, prefix, &st) != RK_OK) {
        fprintf(stderr, "  subscribe: %s\n", st.message);
        return NULL;
    }
    usleep(300000); /* let the connection come up: PUB drops what it sends before */
    return sub;
}

static int submit(rk_client *cl, int who, int64_t score) {
    Rankd__SubmitRequest req = RANKD__SUBMIT_REQUEST__INIT;
    Rankd__SubmitReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(key, NULL);
    req.board_id = "tetris";
    req.has_user_id = req.has_score = 1;
    req.user_id = uid[who];
    req.score = score;
    int rc = rk_scores_submit(cl, &req, &rep, &o, &st);
    rk_reply_free(rep);
    return rc;
}

static void rank_and_top_events_by_topic(void) {
    seen all, tops;
    seen_init(&all);
    seen_init(&tops);
    const char *url = getenv("RANKD_EVENTS_URL");
    rk_subscriber *a = subscribe(url, &all, "");
    rk_subscriber *b = subscribe(url, &tops, "tetris/tetris/top/all/");
    CHECK(a && b);
    if (!a || !b) return;

    CHECK_INT(submit(c, 0, 100), RK_OK);
    CHECK_INT(submit(c, 1, 200), RK_OK); /* passes player 0 */
    char topic[96];
    rk_topic_player(topic, sizeof(topic), "tetris", "tetris", uid[1]);
    CHECK(wait_for(&all, RANKD__EVENT__KIND_RANK, topic, 1));
    CHECK(wait_for(&tops, RANKD__EVENT__KIND_TOP, "tetris/tetris/top/all/", 1));
    CHECK(wait_for(&all, RANKD__EVENT__KIND_TOP, "@global/global/top/all/", 1));
    usleep(300000);

    pthread_mutex_lock(&all.mu);
    int found = 0;
    for (int i = 0; i < all.n; i++)
        if (all.kind[i] == RANKD__EVENT__KIND_RANK && all.user[i] == uid[1]) {
            found = 1;
            CHECK_INT(all.new_rank[i], 1);
            CHECK_INT(all.passed0[i], uid[0]);
        }
    CHECK(found);
    pthread_mutex_unlock(&all.mu);

    /* The top-only subscriber saw nothing else, and its last top is 200. */
    CHECK_INT(count(&tops, RANKD__EVENT__KIND_RANK, ""), 0);
    CHECK_INT(count(&tops, RANKD__EVENT__KIND_TOP, "tetris/tetris/top/weekly/"), 0);
    pthread_mutex_lock(&tops.mu);
    if (tops.n > 0) CHECK_INT(tops.top_score[tops.n - 1], 200);
    pthread_mutex_unlock(&tops.mu);
    rk_subscriber_close(a);
    rk_subscriber_close(b);
}

static void bursts_are_coalesced_and_end_on_the_latest_state(void) {
    seen tops;
    seen_init(&tops);
    rk_subscriber *b = subscribe(getenv("RANKD_EVENTS_URL"), &tops, "tetris/tetris/top/all/");
    CHECK(b != NULL); /* a subscription that fails is a failure, not a pass */
    if (b == NULL) return;
    const int burst = 30;
    for (int i = 0; i < burst; i++) CHECK_INT(submit(c, 2 + i, 1000 + i), RK_OK);
    usleep(800000); /* well past the 100 ms coalescing interval */
    int n = count(&tops, RANKD__EVENT__KIND_TOP, "tetris/tetris/top/all/");
    CHECK(n >= 1);
    CHECK(n < burst);
    pthread_mutex_lock(&tops.mu);
    if (tops.n > 0) CHECK_INT(tops.top_score[tops.n - 1], 1000 + burst - 1);
    for (int i = 1; i < tops.n; i++) CHECK_INT(tops.seq[i], tops.seq[i - 1] + 1);
    pthread_mutex_unlock(&tops.mu);
    fprintf(stderr, "  %d submissions -> %d top events\n", burst, n);
    rk_subscriber_close(b);
}

static void events_cross_rankd_processes(void) {
    it_rankd second;
    if (it_rankd_spawn(&second, "second", NULL) != 0) {
        CHECK(!"the second rankd started");
        return;
    }
    rk_client *c2 = second.client;
    rk_status st;

    seen on2;
    seen_init(&on2);
    rk_subscriber *sub = subscribe(second.events, &on2, "tetris/tetris/");
    /* The second rankd reads (and caches) the top before the change. */
    Rankd__TopRequest tr = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *top = NULL;
    tr.board_id = "tetris";
    CHECK_INT(rk_ranking_top(c2, &tr, &top, NULL, &st), RK_OK);
    CHECK(top && top->n_entries > 0 && top->entries[0]->user_id != uid[39]);
    rk_reply_free(top);
    top = NULL;
    /* A change through the first process... */
    CHECK_INT(submit(c, 39, 5000), RK_OK);
    char topic[96];
    rk_topic_player(topic, sizeof(topic), "tetris", "tetris", uid[39]);
    /* ...reaches the subscriber of the second. */
    CHECK(wait_for(&on2, RANKD__EVENT__KIND_RANK, topic, 1));
    CHECK(wait_for(&on2, RANKD__EVENT__KIND_TOP, "tetris/tetris/top/all/", 1));
    /* Its cached top was invalidated by the change it heard of. */
    CHECK_INT(rk_ranking_top(c2, &tr, &top, NULL, &st), RK_OK);
    if (top && top->n_entries > 0) {
        CHECK_INT(top->entries[0]->user_id, uid[39]);
        CHECK_INT(top->entries[0]->score, 5000);
    }
    rk_reply_free(top);
    rk_subscriber_close(sub);
    CHECK_INT(it_rankd_stop(&second), 0);
}

/* A season's end empties the board at once: its watchers get the empty
 * top without waiting for the next submission. */
static void a_season_end_sends_the_empty_top(void) {
    seen tops;
    seen_init(&tops);
    rk_subscriber *sub = subscribe(getenv("RANKD_EVENTS_URL"), &tops, "tetris/tetris/top/all/");
    CHECK(sub != NULL);
    if (sub == NULL) return;
    Rankd__EndSeasonRequest req = RANKD__END_SEASON_REQUEST__INIT;
    Rankd__EndSeasonReply *rep = NULL;
    rk_status st;
    rk_call_opts o = it_opts(admin, NULL);
    req.board_id = "tetris";
    CHECK_INT(rk_seasons_end_season(c, &req, &rep, &o, &st), RK_OK);
    rk_reply_free(rep);
    int empty = 0;
    for (int i = 0; i < 300 && !empty; i++) {
        pthread_mutex_lock(&tops.mu);
        empty = tops.n > 0 && tops.top_score[tops.n - 1] == -1;
        pthread_mutex_unlock(&tops.mu);
        if (!empty) usleep(10000);
    }
    CHECK(empty);
    rk_subscriber_close(sub);
}

int main(void) {
    c = it_client();
    admin = it_admin_token(c);
    it_create_board(c, admin, "tetris", "tetris", 0, RANKD__POLICY__POLICY_BEST, 0xE, 0);
    key = it_api_key(c, admin, "tetris");
    for (int i = 0; i < 40; i++) {
        char name[16];
        snprintf(name, sizeof(name), "ev-%d", i);
        uid[i] = it_sign_up(c, name, "password-123");
    }
    RUN(rank_and_top_events_by_topic);
    RUN(bursts_are_coalesced_and_end_on_the_latest_state);
    RUN(events_cross_rankd_processes);
    RUN(a_season_end_sends_the_empty_top);
    free(admin);
    free(key);
    rk_client_close(c);
    return CHECK_SUMMARY();
}
