/*
 * game_server.c - a game server reporting one match to rankd.
 *
 * This is what a program using the installed client library looks like:
 * it includes <rankd/client.h> and nothing else from rankd, and builds
 * against an installed prefix with either CMakeLists.txt (find_package)
 * or the Makefile (pkg-config) next to it.
 *
 *   usage: game_server [URL]          URL defaults to $RANKD_URL
 *   env:   RANKD_ADMIN_USER, RANKD_ADMIN_PASSWORD   an admin account
 *
 * What it does, in order:
 *   1. logs in as the admin, creates the board "example" of the game
 *      "example" (a season total: every match adds to a player's points)
 *      and an API key for the game; a board left by an earlier run is fine;
 *   2. signs up the match's players (players left by an earlier run are
 *      fine);
 *   3. with the API key, as a real game server would, submits the scores of
 *      one match as one batch, each entry with its own idempotency key;
 *   4. sends the very same batch again, as a game server would after a lost
 *      reply, and shows that every entry is answered replayed=1 with the
 *      first answer, and that the stored totals did not move;
 *   5. prints the top 10, and the day's podium fetched with the
 *      asynchronous form of the same call, waiting for it on a condition
 *      variable.
 *
 * In production the admin steps belong to an operator (rankctl), and the
 * game server is only handed its API key.
 *
 * Exit status: 0 on success; 1 with the status message on any unexpected
 * error; 2 on bad usage.
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rankd/client.h>

#define BOARD_ID "example"
#define GAME_ID "example"
#define PLAYER_PASSWORD "example-password"

/* One match: who played and what they scored. */
static const struct {
    const char *name;
    int64_t score;
} match[] = {
    {"example-alice", 1250}, {"example-bob", 980},   {"example-carol", 1410},
    {"example-dave", 760},   {"example-erin", 1100},
};
#define NPLAYERS (sizeof(match) / sizeof(match[0]))

/* Prints "game_server: <what>: <CODE>: <message>" and returns 1. */
static int fail(const char *what, const rk_status *st) {
    fprintf(stderr, "game_server: %s: %s: %s\n", what, rk_code_name(st->code), st->message);
    return 1;
}

/* ---------------------------------------------------------------- admin set-up */

/* Logs in; *token is malloc'ed and the caller frees it. */
static int login(rk_client *c, const char *user, const char *password, char **token, rk_status *st) {
    Rankd__LoginRequest req = RANKD__LOGIN_REQUEST__INIT;
    Rankd__LoginReply *rep = NULL;
    int rc;
    req.username = (char *)user;
    req.password = (char *)password;
    if ((rc = rk_auth_login(c, &req, &rep, NULL, st)) != RK_OK) return rc;
    *token = strdup(rep->token);
    rk_reply_free(rep);
    if (*token == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    return RK_OK;
}

/* Creates the board; one that exists already is kept as it is. */
static int create_board(rk_client *c, const char *admin_token, rk_status *st) {
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__Window windows[] = {RANKD__WINDOW__WINDOW_DAILY};
    Rankd__BoardReply *rep = NULL;
    rk_call_opts opts = {.token = admin_token};
    b.id = (char *)BOARD_ID;
    b.game = (char *)GAME_ID;
    b.title = (char *)"Example season";
    b.has_order = 1;
    b.order = RANKD__ORDER__ORDER_HIGHER_IS_BETTER;
    b.has_policy = 1;
    b.policy = RANKD__POLICY__POLICY_SUM;
    b.n_windows = 1;
    b.windows = windows;
    b.has_player_submit = 1;
    b.player_submit = 0; /* only the game server reports scores */
    req.board = &b;
    int rc = rk_boards_create_board(c, &req, &rep, &opts, st);
    rk_reply_free(rep);
    if (rc == RK_ALREADY_EXISTS) {
        printf("board %s exists already\n", BOARD_ID);
        rk_status_clear(st);
        return RK_OK;
    }
    if (rc == RK_OK) printf("created board %s\n", BOARD_ID);
    return rc;
}

/* Creates an API key for the game; *key is malloc'ed, the caller frees it. */
static int create_api_key(rk_client *c, const char *admin_token, char **key, rk_status *st) {
    Rankd__CreateApiKeyRequest req = RANKD__CREATE_API_KEY_REQUEST__INIT;
    Rankd__CreateApiKeyReply *rep = NULL;
    rk_call_opts opts = {.token = admin_token};
    int rc;
    req.game = (char *)GAME_ID;
    req.label = (char *)"examples/game_server";
    if ((rc = rk_auth_create_api_key(c, &req, &rep, &opts, st)) != RK_OK) return rc;
    *key = strdup(rep->key);
    rk_reply_free(rep);
    if (*key == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    printf("created an API key for game %s\n", GAME_ID);
    return RK_OK;
}

/* Signs a player up; one who exists already is fine. */
static int sign_up(rk_client *c, const char *name, rk_status *st) {
    Rankd__SignUpRequest req = RANKD__SIGN_UP_REQUEST__INIT;
    Rankd__SignUpReply *rep = NULL;
    req.username = (char *)name;
    req.password = (char *)PLAYER_PASSWORD;
    int rc = rk_auth_sign_up(c, &req, &rep, NULL, st);
    rk_reply_free(rep);
    if (rc == RK_ALREADY_EXISTS) {
        rk_status_clear(st);
        return RK_OK;
    }
    return rc;
}

/* ---------------------------------------------------------------- the match */

/* Submits the match as one batch with the API key. `match_id` makes the
 * idempotency keys: the same match always sends the same keys, which is
 * what makes resending it harmless. The reply is the caller's to free. */
static int submit_match(rk_client *c, const char *api_key, const char *match_id, Rankd__SubmitBatchReply **reply,
                        rk_status *st) {
    Rankd__BatchEntry entries[NPLAYERS], *ptrs[NPLAYERS];
    char keys[NPLAYERS][160];
    Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
    /* Every entry carries its own key, so the batch as a whole is safe to
     * resend; a key on the call itself lets the library resend it on
     * UNAVAILABLE until the deadline. */
    rk_call_opts opts = {.token = api_key, .idempotency_key = match_id};
    int rc;
    for (size_t i = 0; i < NPLAYERS; i++) {
        rankd__batch_entry__init(&entries[i]);
        snprintf(keys[i], sizeof(keys[i]), "%s/%s", match_id, match[i].name);
        entries[i].board_id = (char *)BOARD_ID;
        entries[i].username = (char *)match[i].name;
        entries[i].has_score = 1;
        entries[i].score = match[i].score;
        entries[i].idempotency_key = keys[i];
        ptrs[i] = &entries[i];
    }
    req.n_entries = NPLAYERS;
    req.entries = ptrs;
    if ((rc = rk_scores_submit_batch(c, &req, reply, &opts, st)) != RK_OK) return rc;
    /* One result per entry, in order; each has its own status. */
    if ((*reply)->n_results != NPLAYERS)
        return rk_status_set(st, RK_INTERNAL, "%zu results for %zu entries", (*reply)->n_results, (size_t)NPLAYERS);
    for (size_t i = 0; i < NPLAYERS; i++) {
        const Rankd__BatchResult *r = (*reply)->results[i];
        if (r->code != RK_OK) return rk_status_set(st, r->code, "%s: %s", match[i].name, r->message ? r->message : "");
        if (r->reply == NULL) return rk_status_set(st, RK_INTERNAL, "%s: result without a reply", match[i].name);
    }
    return RK_OK;
}

static void print_results(const char *title, const Rankd__SubmitBatchReply *rep) {
    printf("%s\n", title);
    for (size_t i = 0; i < NPLAYERS; i++) {
        const Rankd__SubmitReply *r = rep->results[i]->reply;
        printf("  %-14s +%-5" PRId64 " total %-6" PRId64 " rank %" PRId64 " of %" PRId64
               "  personal_best=%d replayed=%d\n",
               match[i].name, match[i].score, r->score, r->rank, r->board_size, (int)r->personal_best,
               (int)r->replayed);
    }
}

/* The retry must be answered from the idempotency records: every entry
 * replayed, with the first answer. */
static int check_replayed(const Rankd__SubmitBatchReply *first, const Rankd__SubmitBatchReply *again, rk_status *st) {
    for (size_t i = 0; i < NPLAYERS; i++) {
        const Rankd__SubmitReply *a = first->results[i]->reply, *b = again->results[i]->reply;
        if (a->replayed) return rk_status_set(st, RK_INTERNAL, "%s: first submission was replayed", match[i].name);
        if (!b->replayed) return rk_status_set(st, RK_INTERNAL, "%s: retry was not replayed", match[i].name);
        if (a->score != b->score || a->rank != b->rank)
            return rk_status_set(st, RK_INTERNAL, "%s: retry answered total %" PRId64 ", first %" PRId64, match[i].name,
                                 b->score, a->score);
    }
    return RK_OK;
}

/* Reads the stored totals back: had the retry counted, they would be higher
 * than the first answers by each player's match score. */
static int check_totals(rk_client *c, const Rankd__SubmitBatchReply *first, rk_status *st) {
    Rankd__RanksOfRequest req = RANKD__RANKS_OF_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    char *names[NPLAYERS];
    int rc;
    for (size_t i = 0; i < NPLAYERS; i++) names[i] = (char *)match[i].name;
    req.board_id = (char *)BOARD_ID;
    req.n_usernames = NPLAYERS;
    req.usernames = names;
    if ((rc = rk_ranking_ranks_of(c, &req, &rep, NULL, st)) != RK_OK) return rc;
    for (size_t i = 0; i < NPLAYERS && rc == RK_OK; i++) {
        const Rankd__SubmitReply *r = first->results[i]->reply;
        const Rankd__RankEntry *e = NULL;
        for (size_t j = 0; j < rep->n_entries; j++)
            if (rep->entries[j]->user_id == r->user_id) e = rep->entries[j];
        if (e == NULL)
            rc = rk_status_set(st, RK_INTERNAL, "%s is not on the board", match[i].name);
        else if (e->score != r->score)
            rc = rk_status_set(st, RK_INTERNAL, "%s: stored total %" PRId64 ", first answer %" PRId64, match[i].name,
                               e->score, r->score);
    }
    rk_reply_free(rep);
    if (rc == RK_OK) printf("stored totals equal the first answers: nothing counted twice\n");
    return rc;
}

/* ---------------------------------------------------------------- listings */

static void print_list(const Rankd__RankListReply *rep) {
    for (size_t i = 0; i < rep->n_entries; i++) {
        const Rankd__RankEntry *e = rep->entries[i];
        printf("  %3" PRId64 ". %-14s %8" PRId64 "\n", e->rank, e->username ? e->username : "?", e->score);
    }
}

/* Where the asynchronous call leaves its answer. The callback runs on a
 * library thread, so everything here is guarded by mu. */
typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done;
    rk_status st;
    Rankd__RankListReply *reply; /* owned by whoever takes it out */
} waiter;

static void on_podium(const rk_status *st, Rankd__RankListReply *reply, void *arg) {
    waiter *w = arg;
    pthread_mutex_lock(&w->mu);
    w->st = *st;
    w->reply = reply;
    w->done = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Prints the top 10 of all time with a blocking call while the day's top 3
 * are fetched by an asynchronous call started first. */
static int print_listings(rk_client *c, rk_status *st) {
    Rankd__TopRequest podium = RANKD__TOP_REQUEST__INIT, top = RANKD__TOP_REQUEST__INIT;
    Rankd__RankListReply *rep = NULL;
    waiter w = {.done = 0, .reply = NULL};
    int rc;
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);

    podium.board_id = (char *)BOARD_ID;
    podium.has_window = 1;
    podium.window = RANKD__WINDOW__WINDOW_DAILY;
    podium.has_limit = 1;
    podium.limit = 3;
    /* On success the callback runs exactly once; on failure it never does. */
    if ((rc = rk_ranking_top_async(c, &podium, NULL, on_podium, &w)) != RK_OK) {
        rk_status_set(st, rc, "cannot start the asynchronous call");
        goto out;
    }

    top.board_id = (char *)BOARD_ID;
    top.has_limit = 1;
    top.limit = 10;
    rc = rk_ranking_top(c, &top, &rep, NULL, st);

    /* Wait for the asynchronous call even when the blocking one failed:
     * `w` lives on this stack frame. */
    pthread_mutex_lock(&w.mu);
    while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);

    if (rc != RK_OK) goto out;
    printf("top 10 of %s (%" PRId64 " players):\n", BOARD_ID, rep->board_size);
    print_list(rep);
    if (w.st.code != RK_OK) {
        *st = w.st;
        rc = w.st.code;
        goto out;
    }
    printf("today's podium (asynchronous call):\n");
    print_list(w.reply);

out:
    rk_reply_free(rep);
    rk_reply_free(w.reply);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
    return rc;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
    const char *url = argc > 1 ? argv[1] : getenv("RANKD_URL");
    const char *admin_user = getenv("RANKD_ADMIN_USER"), *admin_password = getenv("RANKD_ADMIN_PASSWORD");
    rk_client *c = NULL;
    rk_status st;
    char *admin_token = NULL, *api_key = NULL;
    char match_id[64];
    Rankd__SubmitBatchReply *first = NULL, *again = NULL;
    int status = 1;

    if (argc > 2 || url == NULL || admin_user == NULL || admin_password == NULL) {
        fprintf(stderr, "usage: game_server [URL]\n"
                        "  URL defaults to $RANKD_URL; RANKD_ADMIN_USER and RANKD_ADMIN_PASSWORD\n"
                        "  name an admin account\n");
        return 2;
    }
    /* Unique per run, so a second run plays a new match. */
    snprintf(match_id, sizeof(match_id), "match-%lld-%ld", (long long)time(NULL), (long)getpid());

    if (rk_client_open(&c, url, &st) != RK_OK) return fail("open", &st);

    if (login(c, admin_user, admin_password, &admin_token, &st) != RK_OK) {
        fail("admin login", &st);
        goto done;
    }
    if (create_board(c, admin_token, &st) != RK_OK) {
        fail("create board", &st);
        goto done;
    }
    if (create_api_key(c, admin_token, &api_key, &st) != RK_OK) {
        fail("create API key", &st);
        goto done;
    }
    for (size_t i = 0; i < NPLAYERS; i++)
        if (sign_up(c, match[i].name, &st) != RK_OK) {
            fail(match[i].name, &st);
            goto done;
        }
    printf("%zu players signed up\n", (size_t)NPLAYERS);

    if (submit_match(c, api_key, match_id, &first, &st) != RK_OK) {
        fail("submit", &st);
        goto done;
    }
    print_results(match_id, first);
    if (submit_match(c, api_key, match_id, &again, &st) != RK_OK) {
        fail("retry", &st);
        goto done;
    }
    print_results("the same batch again (a retry):", again);
    if (check_replayed(first, again, &st) != RK_OK) {
        fail("retry", &st);
        goto done;
    }
    if (check_totals(c, first, &st) != RK_OK) {
        fail("totals", &st);
        goto done;
    }
    if (print_listings(c, &st) != RK_OK) {
        fail("top", &st);
        goto done;
    }
    status = 0;

done:
    rk_reply_free(first);
    rk_reply_free(again);
    free(api_key);
    free(admin_token);
    rk_client_close(c);
    return status;
}
