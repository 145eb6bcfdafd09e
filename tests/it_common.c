/*
 * it_common.c - shared set-up steps of the integration tests.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it_common.h"

rk_client *it_client(void) {
    const char *url = getenv("RANKD_URL");
    rk_client *c = NULL;
    rk_status st;
    if (url == NULL) {
        fprintf(stderr, "RANKD_URL is not set: run under tests/with-services.sh\n");
        exit(2);
    }
    if (rk_client_open(&c, url, &st) != RK_OK) {
        fprintf(stderr, "cannot open client: %s\n", st.message);
        exit(2);
    }
    return c;
}

rk_call_opts it_opts(const char *token, const char *idem) {
    rk_call_opts o = {.token = token, .idempotency_key = idem};
    return o;
}

char *it_login(rk_client *c, const char *user, const char *password) {
    Rankd__LoginRequest req = RANKD__LOGIN_REQUEST__INIT;
    Rankd__LoginReply *rep = NULL;
    rk_status st;
    req.username = (char *)user;
    req.password = (char *)password;
    if (rk_auth_login(c, &req, &rep, NULL, &st) != RK_OK) {
        fprintf(stderr, "  login %s: %s: %s\n", user, rk_code_name(st.code), st.message);
        return NULL;
    }
    char *tok = strdup(rep->token);
    rk_reply_free(rep);
    return tok;
}

char *it_admin_token(rk_client *c) {
    const char *u = getenv("RANKD_ADMIN_USER"), *p = getenv("RANKD_ADMIN_PASSWORD");
    if (!u || !p) {
        fprintf(stderr, "RANKD_ADMIN_USER/RANKD_ADMIN_PASSWORD not set\n");
        exit(2);
    }
    char *t = it_login(c, u, p);
    if (t == NULL) exit(2);
    return t;
}

int64_t it_sign_up(rk_client *c, const char *user, const char *password) {
    Rankd__SignUpRequest req = RANKD__SIGN_UP_REQUEST__INIT;
    Rankd__SignUpReply *rep = NULL;
    rk_status st;
    req.username = (char *)user;
    req.password = (char *)password;
    if (rk_auth_sign_up(c, &req, &rep, NULL, &st) != RK_OK) {
        fprintf(stderr, "  sign up %s: %s: %s\n", user, rk_code_name(st.code), st.message);
        return -1;
    }
    int64_t id = rep->user_id;
    rk_reply_free(rep);
    return id;
}

static int create_board(rk_client *c, const char *token, const char *id, const char *game, int lower_is_better,
                        Rankd__Policy policy, unsigned windows, int player_submit, int bounded, int64_t min_score,
                        int64_t max_score) {
    Rankd__CreateBoardRequest req = RANKD__CREATE_BOARD_REQUEST__INIT;
    Rankd__Board b = RANKD__BOARD__INIT;
    Rankd__Window wins[4];
    Rankd__BoardReply *rep = NULL;
    rk_status st;
    size_t n = 0;
    for (int k = 1; k < 4; k++)
        if (windows & (1u << k)) wins[n++] = (Rankd__Window)k;
    b.id = (char *)id;
    b.game = (char *)game;
    b.has_order = 1;
    b.order = lower_is_better ? RANKD__ORDER__ORDER_LOWER_IS_BETTER : RANKD__ORDER__ORDER_HIGHER_IS_BETTER;
    b.has_policy = 1;
    b.policy = policy;
    b.n_windows = n;
    b.windows = wins;
    b.has_player_submit = 1;
    b.player_submit = player_submit;
    b.has_min_score = b.has_max_score = bounded;
    b.min_score = min_score;
    b.max_score = max_score;
    req.board = &b;
    rk_call_opts o = it_opts(token, NULL);
    int rc = rk_boards_create_board(c, &req, &rep, &o, &st);
    if (rc != RK_OK) fprintf(stderr, "  create board %s: %s: %s\n", id, rk_code_name(rc), st.message);
    rk_reply_free(rep);
    return rc;
}

int it_create_board(rk_client *c, const char *token, const char *id, const char *game, int lower_is_better,
                    Rankd__Policy policy, unsigned windows, int player_submit) {
    return create_board(c, token, id, game, lower_is_better, policy, windows, player_submit, 0, 0, 0);
}

int it_create_board_bounded(rk_client *c, const char *token, const char *id, const char *game, int lower_is_better,
                            Rankd__Policy policy, unsigned windows, int player_submit, int64_t min_score,
                            int64_t max_score) {
    return create_board(c, token, id, game, lower_is_better, policy, windows, player_submit, 1, min_score, max_score);
}

char *it_api_key(rk_client *c, const char *admin_token, const char *game) {
    Rankd__CreateApiKeyRequest req = RANKD__CREATE_API_KEY_REQUEST__INIT;
    Rankd__CreateApiKeyReply *rep = NULL;
    rk_status st;
    req.game = (char *)game;
    rk_call_opts o = it_opts(admin_token, NULL);
    if (rk_auth_create_api_key(c, &req, &rep, &o, &st) != RK_OK) {
        fprintf(stderr, "  api key %s: %s\n", game, st.message);
        return NULL;
    }
    char *k = strdup(rep->key);
    rk_reply_free(rep);
    return k;
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0) return -1;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

int it_rankd_spawn(it_rankd *r, const char *node, const char *extra_arg) {
    char redis[64];
    memset(r, 0, sizeof(*r));
    snprintf(r->listen, sizeof(r->listen), "tcp://127.0.0.1:%d", free_port());
    snprintf(r->events, sizeof(r->events), "tcp://127.0.0.1:%d", free_port());
    snprintf(redis, sizeof(redis), "127.0.0.1:%s", getenv("RANKD_REDIS_PORT"));
    /* A NULL extra_arg ends the list where it stands. */
    /* clang-format off */
    const char *argv[] = {"rankd", "--listen", r->listen, "--events", r->events, "--redis", redis,
                          "--postgres", getenv("RANKD_POSTGRES"), "--node", node, "--log-level", "warn",
                          "--http=", extra_arg, NULL};
    /* clang-format on */
    pid_t pid = fork();
    if (pid == 0) {
        execv(getenv("RANKD_BIN"), (char *const *)argv);
        _exit(127);
    }
    if (pid < 0) return -1;
    r->pid = pid;
    rk_status st;
    if (rk_client_open(&r->client, r->listen, &st) != RK_OK) {
        it_rankd_stop(r);
        return -1;
    }
    for (int i = 0; i < 100; i++) {
        Rankd__Empty e = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *s = NULL;
        rk_call_opts o = {.deadline_ms = 200};
        int up = rk_admin_status(r->client, &e, &s, &o, &st) == RK_OK;
        rk_reply_free(s);
        if (up) return 0;
        usleep(100000);
    }
    fprintf(stderr, "the second rankd did not answer on %s\n", r->listen);
    it_rankd_stop(r);
    return -1;
}

int it_rankd_stop(it_rankd *r) {
    int status = 0;
    if (r->client) rk_client_close(r->client);
    r->client = NULL;
    if (r->pid <= 0) return -1;
    kill(r->pid, SIGTERM);
    waitpid(r->pid, &status, 0);
    r->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int it_redis_cli(const char *args, char *out, size_t cap) {
    char cmd[512];
    /* On a cluster (the harness's seeds are a list) -c follows the
     * redirection to the key's master. */
    const char *seeds = getenv("RANKD_REDIS_SEEDS");
    snprintf(cmd, sizeof(cmd), "redis-cli %s-h %s -p %s %s 2>&1", seeds && strchr(seeds, ',') ? "-c " : "",
             getenv("RANKD_REDIS_HOST"), getenv("RANKD_REDIS_PORT"), args);
    FILE *p = popen(cmd, "r");
    if (p == NULL) return -1;
    out[0] = '\0';
    if (fgets(out, (int)cap, p) != NULL) out[strcspn(out, "\r\n")] = '\0';
    char rest[256];
    while (fgets(rest, sizeof(rest), p) != NULL) {
    }
    return pclose(p) == 0 ? 0 : -1;
}

int it_drained(rk_client *c, const char *token) {
    for (int i = 0; i < 300; i++) {
        Rankd__Empty req = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *s = NULL;
        rk_status st;
        rk_call_opts o = it_opts(token, NULL);
        int done = rk_admin_status(c, &req, &s, &o, &st) == RK_OK && s->has_writebehind_backlog &&
                   s->writebehind_backlog == 0 && s->has_redis_backlog && s->redis_backlog == 0 && !s->degraded;
        rk_reply_free(s);
        if (done) return 1;
        usleep(100000);
    }
    return 0;
}

int it_redis_flushall(void) {
    char cmd[256];
    const char *seeds = getenv("RANKD_REDIS_SEEDS");
    if (seeds && strchr(seeds, ','))
        snprintf(cmd, sizeof(cmd), "redis-cli --cluster call %s:%s FLUSHALL >/dev/null 2>&1",
                 getenv("RANKD_REDIS_HOST"), getenv("RANKD_REDIS_PORT"));
    else
        snprintf(cmd, sizeof(cmd), "redis-cli -h %s -p %s FLUSHALL >/dev/null 2>&1", getenv("RANKD_REDIS_HOST"),
                 getenv("RANKD_REDIS_PORT"));
    return system(cmd) == 0 ? 0 : -1;
}

int it_split_layout(void) {
    const char *layout = getenv("RANKD_REDIS_LAYOUT"), *seeds = getenv("RANKD_REDIS_SEEDS");
    if (layout && layout[0]) return strcmp(layout, "split") == 0;
    return seeds && strchr(seeds, ',') != NULL;
}

long it_redis_int(const char *fmt, ...) {
    char args[400], out[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof(args), fmt, ap);
    va_end(ap);
    if (it_redis_cli(args, out, sizeof(out)) != 0) return -1;
    return strtol(out, NULL, 10);
}

long it_redis_info_field(const char *section, const char *name) {
    char cmd[512], line[256];
    snprintf(cmd, sizeof(cmd), "redis-cli -h %s -p %s INFO %s", getenv("RANKD_REDIS_HOST"), getenv("RANKD_REDIS_PORT"),
             section);
    FILE *p = popen(cmd, "r");
    long v = -1;
    size_t n = strlen(name);
    while (p && fgets(line, sizeof(line), p) != NULL)
        if (strncmp(line, name, n) == 0 && line[n] == ':') v = strtol(line + n + 1, NULL, 10);
    if (p) pclose(p);
    return v;
}

int it_settled(rk_client *c) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        Rankd__Empty e = RANKD__EMPTY__INIT;
        Rankd__ServerStatus *s = NULL;
        rk_status st;
        rk_call_opts o = {.deadline_ms = 1000};
        int done = 0;
        /* Without Redis there is nothing to apply: the reads go to the
         * history. */
        if (rk_admin_status(c, &e, &s, &o, &st) == RK_OK)
            done = !s->redis_ok || !s->has_applier_backlog || s->applier_backlog == 0;
        rk_reply_free(s);
        if (done) return 1;
        usleep(50000);
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (t.tv_sec - t0.tv_sec < 10);
    fprintf(stderr, "  the applier did not settle within 10 s\n");
    return 0;
}
