/*
 * bench_setup.c - the boards, players, scores and API key a benchmark
 * needs, made through the public API like any other client would.
 *
 * Sign-up is the slow part: every password is hashed with scrypt on the
 * server (about 1 ms at --scrypt-n 1024, 15-20 ms at the default 16384),
 * so sign-ups go out asynchronously, SETUP_INFLIGHT at a time, and
 * rankd's workers hash them in parallel. Seeding one score per player per
 * board uses SubmitBatch with SETUP_BATCH scores per call, so Rank and
 * Around find every player from the first measured request on.
 *
 * The player-token submit (psubmit) needs each player's own login token:
 * the first token_players players log in the same way, SETUP_INFLIGHT at
 * a time (a login hashes the password too).
 *
 * Everything tolerates ALREADY_EXISTS: setup is idempotent, and running
 * it against a server that already has the players only costs the hashing.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rankd/client.h>

#include "bench.h"

#define SETUP_INFLIGHT 32
#define SETUP_BATCH 1000
#define SETUP_PASSWORD "bench-password"

typedef char name_text[80];

void bench_player_name(const bench_cfg *cfg, uint64_t i, char *buf, size_t cap) {
    snprintf(buf, cap, "%s%" PRIu64, cfg->player_prefix, i);
}

void bench_board_id(const bench_cfg *cfg, unsigned i, char *buf, size_t cap) {
    snprintf(buf, cap, "%s%u", cfg->board_prefix, i);
}

void bench_counter_name(const bench_cfg *cfg, char *buf, size_t cap) {
    snprintf(buf, cap, "%ss%u", cfg->board_prefix, cfg->counter_shards);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------------------------------------------------------------- a window of async calls */

/* At most `max` calls in flight; counts how they ended. */
typedef struct window {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned inflight, max;
    uint64_t ok, exists, failed;
    rk_status first_error; /* kept to explain a failure */
} window;

static void window_init(window *w, unsigned max) {
    memset(w, 0, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->max = max;
}

static void window_destroy(window *w) {
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

static void window_acquire(window *w) {
    pthread_mutex_lock(&w->mu);
    while (w->inflight >= w->max) pthread_cond_wait(&w->cv, &w->mu);
    w->inflight++;
    pthread_mutex_unlock(&w->mu);
}

static void window_release(window *w, const rk_status *st) {
    pthread_mutex_lock(&w->mu);
    if (st->code == RK_OK)
        w->ok++;
    else if (st->code == RK_ALREADY_EXISTS)
        w->exists++;
    else if (w->failed++ == 0)
        w->first_error = *st;
    w->inflight--;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static int window_failed(window *w) {
    pthread_mutex_lock(&w->mu);
    int f = w->failed > 0;
    pthread_mutex_unlock(&w->mu);
    return f;
}

static void window_drain(window *w) {
    pthread_mutex_lock(&w->mu);
    while (w->inflight > 0) pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

/* ---------------------------------------------------------------- steps */

static int admin_login(rk_client *c, const bench_cfg *cfg, char **token, rk_status *st) {
    if (cfg->admin_user == NULL || cfg->admin_password == NULL)
        return rk_status_set(st, RK_UNAUTHENTICATED,
                             "setup needs an admin: --admin USER --admin-password P "
                             "(or RANKD_ADMIN_USER / RANKD_ADMIN_PASSWORD)");
    Rankd__LoginRequest req = RANKD__LOGIN_REQUEST__INIT;
    Rankd__LoginReply *rep = NULL;
    req.username = (char *)cfg->admin_user;
    req.password = (char *)cfg->admin_password;
    if (rk_auth_login(c, &req, &rep, NULL, st) != RK_OK) return st->code;
    *token = strdup(rep->token);
    rk_reply_free(rep);
    if (*token == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    return RK_OK;
}

static int parse_windows(const char *text, Rankd__Window *out, size_t *n, rk_status *st) {
    static const char *const names[] = {"all", "daily", "weekly", "monthly"};
    *n = 0;
    if (text == NULL || text[0] == '\0') return RK_OK;
    const char *p = text;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = 0;
        for (int k = 1; k < 4; k++)
            if (strlen(names[k]) == len && strncmp(names[k], p, len) == 0) {
                out[(*n)++] = (Rankd__Window)k;
                found = 1;
            }
        if (!found || *n > 3)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "--windows: expected daily,weekly,monthly, not \"%s\"", text);
        p += len;
        if (*p == ',') p++;
    }
    return RK_OK;
}

static int create_boards(rk_client *c, const bench_cfg *cfg, const char *token, rk_status *st) {
    Rankd__Window wins[4];
    size_t nwins;
    int rc;
    if ((rc = parse_windows(cfg->windows, wins, &nwins, st)) != RK_OK) return rc;
    rk_call_opts o = {.token = token};
    for (unsigned i = 0; i < cfg->boards; i++) {
        char id[80];
        bench_board_id(cfg, i, id, sizeof(id));
        Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
        Rankd__Board b = RANKD__BOARD__INIT;
        Rankd__BoardReply *rep = NULL;
        b.id = id;
        b.game = (char *)cfg->game;
        b.title = "rank-bench";
        b.has_order = b.has_policy = 1;
        b.order = RANKD__ORDER__ORDER_HIGHER_IS_BETTER;
        b.policy = RANKD__POLICY__POLICY_BEST;
        if (cfg->player_submit) b.has_player_submit = b.player_submit = 1;
        b.n_windows = nwins;
        b.windows = wins;
        b.has_shards = cfg->board_shards > 1;
        b.shards = cfg->board_shards;
        req.board = &b;
        rc = rk_boards_create_board(c, &req, &rep, &o, st);
        rk_reply_free(rep);
        if (rc != RK_OK && rc != RK_ALREADY_EXISTS) return rc;
    }
    rk_status_clear(st);
    return RK_OK;
}

static void on_signup(const rk_status *st, Rankd__SignUpReply *reply, void *arg) {
    rk_reply_free(reply);
    window_release(arg, st);
}

static int sign_up_players(rk_client *c, const bench_cfg *cfg, rk_status *st) {
    window w;
    window_init(&w, SETUP_INFLIGHT);
    double t0 = now_s(), last = t0;
    int rc = RK_OK;
    for (uint64_t i = 0; i < cfg->players; i++) {
        char name[80];
        bench_player_name(cfg, i, name, sizeof(name));
        Rankd__SignUpRequest req = RANKD__SIGN_UP_REQUEST__INIT;
        req.username = name;
        req.password = SETUP_PASSWORD;
        window_acquire(&w);
        if (rk_auth_sign_up_async(c, &req, NULL, on_signup, &w) != RK_OK) {
            rk_status e;
            rk_status_set(&e, RK_UNAVAILABLE, "cannot start a sign-up call");
            window_release(&w, &e);
        }
        double t = now_s();
        if (!cfg->quiet && t - last >= 1.0) {
            last = t;
            fprintf(stderr, "rank-bench: signed up %" PRIu64 "/%" PRIu64 " players (%.0f/s)\n", i + 1, cfg->players,
                    (double)(i + 1) / (t - t0));
        }
        if (window_failed(&w)) break;
    }
    window_drain(&w);
    if (w.failed) {
        rk_status_set(st, w.first_error.code, "sign-up failed: %s", w.first_error.message);
        rc = st->code;
    } else if (!cfg->quiet) {
        fprintf(stderr, "rank-bench: %" PRIu64 " players ready (%" PRIu64 " new) in %.1f s\n", cfg->players, w.ok,
                now_s() - t0);
    }
    window_destroy(&w);
    return rc;
}

/* One player's login: where its token goes, and the window it counts in. */
typedef struct login_slot {
    window *w;
    char **token;
} login_slot;

static void on_login(const rk_status *st, Rankd__LoginReply *reply, void *arg) {
    login_slot *ls = arg;
    rk_status item = *st;
    if (st->code == RK_OK && (reply == NULL || reply->token == NULL || (*ls->token = strdup(reply->token)) == NULL))
        rk_status_set(&item, RK_RESOURCE_EXHAUSTED, "no token in the login reply");
    rk_reply_free(reply);
    window_release(ls->w, &item);
}

void bench_tokens_free(bench_tokens *t) {
    for (size_t i = 0; t->token && i < t->n; i++) free(t->token[i]);
    free(t->token);
    t->token = NULL;
    t->n = 0;
}

static int log_in_players(rk_client *c, const bench_cfg *cfg, bench_tokens *tokens, rk_status *st) {
    size_t n = cfg->token_players < cfg->players ? cfg->token_players : (size_t)cfg->players;
    window w;
    int rc = RK_OK;
    double t0 = now_s();
    login_slot *slots = calloc(n ? n : 1, sizeof(*slots));
    tokens->token = calloc(n ? n : 1, sizeof(*tokens->token));
    tokens->n = n;
    if (slots == NULL || tokens->token == NULL) {
        free(slots);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    window_init(&w, SETUP_INFLIGHT);
    for (size_t i = 0; i < n && !window_failed(&w); i++) {
        char name[80];
        bench_player_name(cfg, i, name, sizeof(name));
        Rankd__LoginRequest req = RANKD__LOGIN_REQUEST__INIT;
        req.username = name;
        req.password = SETUP_PASSWORD;
        slots[i] = (login_slot){.w = &w, .token = &tokens->token[i]};
        window_acquire(&w);
        if (rk_auth_login_async(c, &req, NULL, on_login, &slots[i]) != RK_OK) {
            rk_status e;
            rk_status_set(&e, RK_UNAVAILABLE, "cannot start a login call");
            window_release(&w, &e);
        }
    }
    window_drain(&w);
    if (w.failed)
        rc = rk_status_set(st, w.first_error.code, "player login failed: %s", w.first_error.message);
    else if (!cfg->quiet)
        fprintf(stderr, "rank-bench: %zu players logged in in %.1f s\n", n, now_s() - t0);
    window_destroy(&w);
    free(slots);
    return rc;
}

static int create_key(rk_client *c, const char *admin_token, const char *game, char **key, rk_status *st) {
    Rankd__CreateApiKeyRequest req = RANKD__CREATE_API_KEY_REQUEST__INIT;
    Rankd__CreateApiKeyReply *rep = NULL;
    rk_call_opts o = {.token = admin_token};
    req.game = (char *)game;
    req.label = "rank-bench";
    if (rk_auth_create_api_key(c, &req, &rep, &o, st) != RK_OK) return st->code;
    *key = strdup(rep->key);
    rk_reply_free(rep);
    if (*key == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    return RK_OK;
}

/* The counter of the incr operation; one made by an earlier run is fine. */
static int create_counter(rk_client *c, const bench_cfg *cfg, const char *admin_token, rk_status *st) {
    Rankd__CreateCounterRequest req = RANKD__CREATE_COUNTER_REQUEST__INIT;
    Rankd__Counter def = RANKD__COUNTER__INIT;
    Rankd__CounterReply *rep = NULL;
    rk_call_opts o = {.token = admin_token};
    char name[128];
    bench_counter_name(cfg, name, sizeof(name));
    def.game = (char *)cfg->game;
    def.name = name;
    def.has_shards = 1;
    def.shards = cfg->counter_shards;
    req.counter = &def;
    int rc = rk_counters_create_counter(c, &req, &rep, &o, st);
    rk_reply_free(rep);
    if (rc == RK_ALREADY_EXISTS) rk_status_clear(st);
    return rc == RK_ALREADY_EXISTS ? RK_OK : rc;
}

/* Batch results are per entry: the call is OK even when entries fail. */
static void on_seed(const rk_status *st, Rankd__SubmitBatchReply *reply, void *arg) {
    rk_status item = *st;
    if (reply)
        for (size_t i = 0; i < reply->n_results && item.code == RK_OK; i++)
            if (reply->results[i]->code != RK_OK)
                rk_status_set(&item, reply->results[i]->code, "%s",
                              reply->results[i]->message ? reply->results[i]->message : "entry failed");
    rk_reply_free(reply);
    window_release(arg, &item);
}

static int seed_scores(rk_client *c, const bench_cfg *cfg, const char *key, rk_status *st) {
    window w;
    window_init(&w, 4);
    Rankd__BatchEntry *entries = calloc(SETUP_BATCH, sizeof(*entries));
    Rankd__BatchEntry **ptrs = calloc(SETUP_BATCH, sizeof(*ptrs));
    name_text *names = calloc(SETUP_BATCH, sizeof(*names));
    char board[80];
    bw_rng rng;
    int rc = RK_OK;
    double t0 = now_s();
    if (!entries || !ptrs || !names) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    bw_rng_seed(&rng, cfg->seed ^ UINT64_C(0x5eed));
    rk_call_opts o = {.token = key};
    for (unsigned b = 0; b < cfg->boards && !window_failed(&w); b++) {
        bench_board_id(cfg, b, board, sizeof(board));
        for (uint64_t first = 0; first < cfg->players && !window_failed(&w); first += SETUP_BATCH) {
            size_t n = 0;
            for (uint64_t i = first; i < cfg->players && n < SETUP_BATCH; i++, n++) {
                Rankd__BatchEntry e = RANKD__BATCH_ENTRY__INIT;
                bench_player_name(cfg, i, names[n], sizeof(names[n]));
                e.board_id = board;
                e.username = names[n];
                e.has_score = 1;
                e.score = (int64_t)bw_rng_below(&rng, (uint64_t)cfg->score_max);
                entries[n] = e;
                ptrs[n] = &entries[n];
            }
            Rankd__SubmitBatchRequest req = RANKD__SUBMIT_BATCH_REQUEST__INIT;
            req.n_entries = n;
            req.entries = ptrs;
            window_acquire(&w);
            /* The request is packed before the call returns: the buffers can be reused. */
            if (rk_scores_submit_batch_async(c, &req, &o, on_seed, &w) != RK_OK) {
                rk_status e;
                rk_status_set(&e, RK_UNAVAILABLE, "cannot start a batch call");
                window_release(&w, &e);
            }
        }
    }
    window_drain(&w);
    if (w.failed)
        rc = rk_status_set(st, w.first_error.code, "seeding scores failed: %s", w.first_error.message);
    else if (!cfg->quiet)
        fprintf(stderr, "rank-bench: seeded %" PRIu64 " scores in %.1f s\n", cfg->players * cfg->boards, now_s() - t0);
done:
    window_destroy(&w);
    free(entries);
    free(ptrs);
    free(names);
    return rc;
}

/* ---------------------------------------------------------------- all of it */

int bench_setup(const bench_cfg *cfg, char **key, bench_tokens *tokens, rk_status *st) {
    rk_client *c = NULL;
    char *admin = NULL;
    int rc;
    int writes = cfg->mix.weight[BW_SUBMIT] || cfg->mix.weight[BW_BATCH] || cfg->mix.weight[BW_INCR];
    int seeding = !cfg->reuse && cfg->seed_scores && cfg->players > 0 && cfg->boards > 0;
    int need_key = cfg->key == NULL && (writes || seeding);
    *key = NULL;
    tokens->token = NULL;
    tokens->n = 0;
    if ((rc = rk_client_open_tls(&c, cfg->url, &cfg->tls, st)) != RK_OK) return rc;
    rk_client_set_deadline(c, 60000); /* sign-up and big batches are slow on purpose */

    int counting = cfg->mix.weight[BW_INCR] != 0;
    if ((!cfg->reuse || need_key || counting) && (rc = admin_login(c, cfg, &admin, st)) != RK_OK) goto done;
    if (counting && (rc = create_counter(c, cfg, admin, st)) != RK_OK) goto done;
    if (!cfg->reuse) {
        if ((rc = create_boards(c, cfg, admin, st)) != RK_OK) goto done;
        if (!cfg->quiet) fprintf(stderr, "rank-bench: %u boards ready\n", cfg->boards);
        if (cfg->players > 0 && (rc = sign_up_players(c, cfg, st)) != RK_OK) goto done;
    }
    if (need_key) {
        if ((rc = create_key(c, admin, cfg->game, key, st)) != RK_OK) goto done;
    } else if (cfg->key && (*key = strdup(cfg->key)) == NULL) {
        rc = rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto done;
    }
    if (seeding && (rc = seed_scores(c, cfg, *key, st)) != RK_OK) goto done;
    if (cfg->mix.weight[BW_PSUBMIT] && !cfg->setup_only && (rc = log_in_players(c, cfg, tokens, st)) != RK_OK)
        goto done;
    rc = RK_OK;
done:
    if (rc != RK_OK) {
        free(*key);
        *key = NULL;
        bench_tokens_free(tokens);
    }
    free(admin);
    rk_client_close(c);
    return rc;
}
