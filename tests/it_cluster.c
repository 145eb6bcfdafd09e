/*
 * it_cluster.c - the store on a real Redis Cluster (the harness's,
 * RANKD_TEST_REDIS=cluster): slots as the cluster computes them, and the
 * store's calls routed to the master of their key's slot, through a slot
 * being migrated (ASK) and a slot whose master changed (MOVED).
 *
 * The cluster is set up and asked directly over hiredis, as a test may:
 * the answers checked are Redis's own, not the store's.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <uv.h>

#include "check.h"
#include "clock.h"
#include "rpipe.h"
#include "rslot.h"
#include "store_async.h"
#include "store_redis.h"

static char first_host[256] = "127.0.0.1";
static int first_port;
static const char *seeds;
static int ports[3]; /* the masters' */

static redisContext *node(int port) {
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout(first_host, port, tv);
    if (c == NULL || c->err) {
        fprintf(stderr, "cannot reach 127.0.0.1:%d\n", port);
        exit(1);
    }
    return c;
}

/* Keys of every shape rankd and users write, tags empty, unclosed and
 * doubled among them: rslot_of agrees with CLUSTER KEYSLOT on each. */
static void slots_agree_with_cluster_keyslot(void) {
    redisContext *c = node(first_port);
    static const char *shapes[] = {"rk:{%d}:all", "rk:{b%d}:d:2026-12-01:m",
                                   "k%d",         "{}%d",
                                   "x{%d",        "}%d{",
                                   "a{}{%d}",     "{{%d}}",
                                   "u:%d:{}",     "rk:{global}:%d",
                                   "%d{x}{y}z",   "\xff\xfe%d{\x01}"};
    int checked = 0, differ = 0;
    for (int i = 0; i < 50; i++)
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
            char key[64];
            int len = snprintf(key, sizeof(key), shapes[s], i * 7919);
            const char *argv[] = {"CLUSTER", "KEYSLOT", key};
            size_t lens[] = {7, 7, (size_t)len};
            redisReply *r = redisCommandArgv(c, 3, argv, lens);
            CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER);
            if (r && r->type == REDIS_REPLY_INTEGER && r->integer != rslot_of(key, (size_t)len)) {
                if (differ++ < 5) fprintf(stderr, "  key %s: cluster %lld\n", key, r->integer);
            }
            checked++;
            if (r) freeReplyObject(r);
        }
    CHECK_INT(checked, 600);
    CHECK_INT(differ, 0);
    redisFree(c);
}

static redisReply *ask(int port, const char *fmt, const char *a, const char *b) {
    redisContext *c = node(port);
    redisReply *r = redisCommand(c, fmt, a, b);
    redisFree(c);
    return r;
}

static long long ask_int(int port, const char *fmt, const char *a, const char *b) {
    redisReply *r = ask(port, fmt, a, b);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    return v;
}

static void ask_ok(int port, const char *fmt, const char *a, const char *b) {
    redisReply *r = ask(port, fmt, a, b);
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (!ok) fprintf(stderr, "  port %d: %s %s: %s\n", port, fmt, a, r && r->str ? r->str : "no reply");
    CHECK(ok);
    if (r) freeReplyObject(r);
}

/* The master (index into ports) that serves key, by its own word. */
static int master_of(const char *key) {
    for (int i = 0; i < 3; i++) {
        redisReply *r = ask(ports[i], "EXISTS %s", key, NULL);
        int here = r && r->type == REDIS_REPLY_INTEGER;
        if (r) freeReplyObject(r);
        if (here) return i;
    }
    return -1;
}

static void node_id(int port, char *out, size_t cap) {
    redisReply *r = ask(port, "CLUSTER MYID", NULL, NULL);
    snprintf(out, cap, "%s", r && r->type == REDIS_REPLY_STRING ? r->str : "");
    if (r) freeReplyObject(r);
}

/* A store opened on the seed list finds the cluster and reaches keys of
 * every master, one call at a time. */
static void calls_reach_every_master(void) {
    rstore *r = NULL;
    rk_status st;
    CHECK_INT(rstore_open(&r, seeds, &st), RK_OK);
    int cluster = 0;
    CHECK_INT(rstore_cluster_enabled(r, &cluster, &st), RK_OK);
    CHECK_INT(cluster, 1);
    int served[3] = {0, 0, 0}, wrong = 0;
    for (int i = 0; i < 300; i++) {
        char key[64];
        int won = 0, yes = 0;
        snprintf(key, sizeof(key), "rk:{route%d}:rebuilding", i);
        if (rstore_flag_take(r, key, "it", 60, &won, &st) != RK_OK || !won) wrong++;
        if (rstore_exists(r, key, &yes, &st) != RK_OK || !yes) wrong++;
        int m = master_of(key);
        if (m >= 0 && ask_int(ports[m], "EXISTS %s", key, NULL) == 1) served[m]++;
    }
    CHECK_INT(wrong, 0);
    CHECK_INT(served[0] + served[1] + served[2], 300);
    CHECK(served[0] > 0 && served[1] > 0 && served[2] > 0);
    rstore_close(r);
}

/* FUNCTION LOAD reaches every master: functions are each node's own. */
static void functions_reach_every_master(void) {
    rstore *r = NULL;
    rk_status st;
    CHECK_INT(rstore_open(&r, seeds, &st), RK_OK);
    for (int i = 0; i < 3; i++) {
        redisReply *x = ask(ports[i], "FUNCTION FLUSH", NULL, NULL);
        if (x) freeReplyObject(x);
    }
    CHECK_INT(rstore_load_functions(r, &st), RK_OK);
    for (int i = 0; i < 3; i++) {
        redisReply *x = ask(ports[i], "FUNCTION LIST LIBRARYNAME %s", "rankd", NULL);
        CHECK(x && x->type == REDIS_REPLY_ARRAY && x->elements == 1);
        if (x) freeReplyObject(x);
    }
    rstore_close(r);
}

/* A call whose keys sit in two slots is refused by the cluster: the
 * store's error says so in Redis's words, never an empty message. */
static void crossslot_is_a_clear_error(void) {
    rstore *r = NULL;
    rk_status st;
    CHECK_INT(rstore_open(&r, seeds, &st), RK_OK);
    const char *keys[] = {"rk:{a}:x", "rk:{b}:x"};
    rk_status_clear(&st);
    int rc = rstore_del(r, keys, 2, &st);
    CHECK_INT(rc, RK_FAILED_PRECONDITION);
    CHECK(strstr(st.message, "CROSSSLOT") != NULL);
    CHECK(strstr(st.message, "Redis Cluster") != NULL);
    rstore_close(r);
}

/* A slot on its way from one master to another: a key already moved is
 * found behind ASK (ASKING, then the call, on the importing master); once
 * the slot belongs to the new master, the old one answers MOVED and the
 * same handle follows it. */
static void migrating_slot_then_moved(void) {
    rstore *r = NULL;
    rk_status st;
    CHECK_INT(rstore_open(&r, seeds, &st), RK_OK);
    const char *moved = "rk:{mig}:moved", *stays = "rk:{mig}:stays";
    int won = 0, yes = 0;
    CHECK_INT(rstore_flag_take(r, moved, "it", 600, &won, &st), RK_OK);
    CHECK_INT(rstore_flag_take(r, stays, "it", 600, &won, &st), RK_OK);
    int from = master_of(moved), to = (from + 1) % 3;
    CHECK(from >= 0);
    if (from < 0) return;
    char slot[16], from_id[64], to_id[64], port_text[16];
    snprintf(slot, sizeof(slot), "%d", rslot_of(moved, strlen(moved)));
    snprintf(port_text, sizeof(port_text), "%d", ports[to]);
    node_id(ports[from], from_id, sizeof(from_id));
    node_id(ports[to], to_id, sizeof(to_id));
    ask_ok(ports[to], "CLUSTER SETSLOT %s IMPORTING %s", slot, from_id);
    ask_ok(ports[from], "CLUSTER SETSLOT %s MIGRATING %s", slot, to_id);
    redisContext *c = node(ports[from]);
    redisReply *x = redisCommand(c, "MIGRATE %s %s %s 0 5000", first_host, port_text, moved);
    CHECK(x && x->type == REDIS_REPLY_STATUS);
    if (x) freeReplyObject(x);
    redisFree(c);

    /* ASK: the moved key is on the importing master only. */
    CHECK_INT(ask_int(ports[from], "EXISTS %s", moved, NULL) == 1, 0);
    CHECK_INT(rstore_exists(r, moved, &yes, &st), RK_OK);
    CHECK_INT(yes, 1);
    CHECK_INT(rstore_exists(r, stays, &yes, &st), RK_OK);
    CHECK_INT(yes, 1);
    /* A new key of the migrating slot is written where the slot goes. */
    CHECK_INT(rstore_flag_take(r, "rk:{mig}:new", "it", 600, &won, &st), RK_OK);
    CHECK_INT(won, 1);

    /* MOVED: the slot is the new master's now, its last key moved too. */
    c = node(ports[from]);
    x = redisCommand(c, "MIGRATE %s %s %s 0 5000", first_host, port_text, stays);
    CHECK(x && x->type == REDIS_REPLY_STATUS);
    if (x) freeReplyObject(x);
    redisFree(c);
    for (int i = 0; i < 3; i++) ask_ok(ports[i], "CLUSTER SETSLOT %s NODE %s", slot, to_id);
    x = ask(ports[from], "EXISTS %s", stays, NULL);
    CHECK(x && x->type == REDIS_REPLY_ERROR && strncmp(x->str, "MOVED", 5) == 0);
    if (x) freeReplyObject(x);
    rk_status_clear(&st);
    CHECK_INT(rstore_exists(r, stays, &yes, &st), RK_OK);
    CHECK_INT(yes, 1);
    CHECK_INT(rstore_exists(r, "rk:{mig}:new", &yes, &st), RK_OK);
    CHECK_INT(yes, 1);
    CHECK_INT(ask_int(ports[to], "EXISTS %s", "rk:{mig}:new", NULL), 1);
    rstore_close(r);
}

/* A slot half migrated: its keys are set apart (MIGRATING on from,
 * IMPORTING on to), and those named are moved to the new master. */
typedef struct migration {
    int from, to;
    char slot[16], from_id[64], to_id[64], port_text[16];
} migration;

static void migration_start(migration *m, const char *key) {
    m->from = master_of(key);
    m->to = (m->from + 1) % 3;
    snprintf(m->slot, sizeof(m->slot), "%d", rslot_of(key, strlen(key)));
    snprintf(m->port_text, sizeof(m->port_text), "%d", ports[m->to]);
    node_id(ports[m->from], m->from_id, sizeof(m->from_id));
    node_id(ports[m->to], m->to_id, sizeof(m->to_id));
    ask_ok(ports[m->to], "CLUSTER SETSLOT %s IMPORTING %s", m->slot, m->from_id);
    ask_ok(ports[m->from], "CLUSTER SETSLOT %s MIGRATING %s", m->slot, m->to_id);
}

static void migration_move(migration *m, const char *key) {
    redisContext *c = node(ports[m->from]);
    redisReply *x = redisCommand(c, "MIGRATE %s %s %s 0 5000", first_host, m->port_text, key);
    CHECK(x && x->type == REDIS_REPLY_STATUS);
    if (x) freeReplyObject(x);
    redisFree(c);
}

static void migration_end(migration *m) {
    for (int i = 0; i < 3; i++) ask_ok(ports[i], "CLUSTER SETSLOT %s NODE %s", m->slot, m->to_id);
}

static void *finish_later(void *arg) {
    migration *m = arg;
    struct timespec ts = {0, 300 * 1000000L};
    nanosleep(&ts, NULL);
    migration_move(m, "rk:{try}:b");
    migration_end(m);
    return NULL;
}

/* A call of two keys of one slot while only one of them has moved is
 * refused TRYAGAIN; the store waits and sends it again, and once the slot
 * has moved (MOVED) the call is answered, within its budget. */
static void tryagain_is_waited_out(void) {
    rstore *r = NULL;
    rk_status st;
    CHECK_INT(rstore_open(&r, seeds, &st), RK_OK);
    int won = 0;
    CHECK_INT(rstore_flag_take(r, "rk:{try}:a", "it", 600, &won, &st), RK_OK);
    CHECK_INT(rstore_flag_take(r, "rk:{try}:b", "it", 600, &won, &st), RK_OK);
    static migration m;
    migration_start(&m, "rk:{try}:a");
    migration_move(&m, "rk:{try}:a");
    redisReply *x = ask(ports[m.from], "DEL %s %s", "rk:{try}:a", "rk:{try}:b");
    CHECK(x && x->type == REDIS_REPLY_ERROR && strncmp(x->str, "TRYAGAIN", 8) == 0);
    if (x) freeReplyObject(x);
    pthread_t t;
    pthread_create(&t, NULL, finish_later, &m);
    int64_t t0 = server_now_us();
    const char *keys[] = {"rk:{try}:a", "rk:{try}:b"};
    rk_status_clear(&st);
    int rc = rstore_del(r, keys, 2, &st);
    int64_t ms = (server_now_us() - t0) / 1000;
    pthread_join(t, NULL);
    if (rc != RK_OK) fprintf(stderr, "  %s\n", st.message);
    CHECK_INT(rc, RK_OK);
    CHECK(ms >= 250);
    CHECK(ms < 5000);
    CHECK_INT(ask_int(ports[m.to], "EXISTS %s %s", "rk:{try}:a", "rk:{try}:b"), 0);
    rstore_close(r);
}

/* The workers' shared pipeline threads route the same way. */
static void piped_calls_reach_every_master(void) {
    rpipe *p = NULL;
    rstore *r = NULL;
    rk_status st;
    CHECK_INT(rpipe_open(&p, seeds, 2, &st), RK_OK);
    CHECK_INT(rstore_open_piped(&r, p, seeds, &st), RK_OK);
    int wrong = 0;
    for (int i = 0; i < 200; i++) {
        char key[64];
        int won = 0, yes = 0;
        snprintf(key, sizeof(key), "rk:{piped%d}:rebuilding", i);
        if (rstore_flag_take(r, key, "it", 60, &won, &st) != RK_OK || !won) wrong++;
        if (rstore_exists(r, key, &yes, &st) != RK_OK || !yes) wrong++;
        int m = master_of(key);
        if (m < 0 || ask_int(ports[m], "EXISTS %s", key, NULL) != 1) wrong++;
    }
    CHECK_INT(wrong, 0);
    rstore_close(r);
    rpipe_close(p);
}

/* ---------------------------------------------------------------- the event loops' connections */

typedef struct async_run {
    int n, answered, in_order;
    char first_error[128];
} async_run;

typedef struct async_cmd {
    async_run *run;
    int index;
} async_cmd;

static void async_done(void *arg, const struct redisReply *rep) {
    async_cmd *c = arg;
    async_run *r = c->run;
    if (c->index != r->answered) r->in_order = 0;
    r->answered++;
    if ((rep == NULL || rep->type == REDIS_REPLY_ERROR) && !r->first_error[0])
        snprintf(r->first_error, sizeof(r->first_error), "%s", rep ? rep->str : "(no reply)");
}

/* Runs the loop until cond(arg) or about 5 s. */
static int loop_until(uv_loop_t *loop, int (*cond)(void *), void *arg) {
    for (int i = 0; i < 500; i++) {
        if (cond(arg)) return 1;
        uv_run(loop, UV_RUN_NOWAIT);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return cond(arg);
}

static int is_up(void *a) { return rasync_up(a); }

/* Runs the loop for about ms. */
static void spin(uv_loop_t *loop, int ms) {
    for (int i = 0; i < ms / 10; i++) {
        uv_run(loop, UV_RUN_NOWAIT);
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}
static int all_answered(void *r) { return ((async_run *)r)->answered == ((async_run *)r)->n; }

/* Sends n commands "CMD <key i> [extra]" in one loop turn; every reply
 * must be a success, handed over in the order sent. */
static void async_batch(uv_loop_t *loop, rasync *a, const char *cmd, const char *fmt, const char *extra, int n,
                        async_run *run) {
    static async_cmd cmds[400];
    static char keys[400][64];
    *run = (async_run){.n = n, .in_order = 1};
    rk_status st;
    for (int i = 0; i < n; i++) {
        snprintf(keys[i], sizeof(keys[i]), fmt, i);
        cmds[i] = (async_cmd){.run = run, .index = i};
        const char *argv[] = {cmd, keys[i], extra};
        if (rasync_command(a, extra ? 3 : 2, argv, async_done, &cmds[i], &st) != RK_OK) {
            fprintf(stderr, "  command %d refused: %s\n", i, st.message);
            run->n = i;
            break;
        }
    }
    loop_until(loop, all_answered, run);
}

/* One async connection per master: a loop turn's commands reach every
 * master; replies come back in the order sent; a slot migrated (ASK) and
 * then reassigned (MOVED) is followed without going back to the caller. */
static void loop_connections_route(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    rasync *a = NULL;
    rk_status st;
    CHECK_INT(rasync_open(&a, &loop, seeds, 2000, &st), RK_OK);
    CHECK(loop_until(&loop, is_up, a));
    async_run run;
    async_batch(&loop, a, "SET", "rk:{async%d}:x", "1", 300, &run);
    CHECK_INT(run.n, 300);
    CHECK_INT(run.answered, 300);
    CHECK(run.in_order);
    CHECK_STR(run.first_error, "");
    int served[3] = {0, 0, 0};
    for (int i = 0; i < 300; i++) {
        char key[64];
        snprintf(key, sizeof(key), "rk:{async%d}:x", i);
        int m = master_of(key);
        if (m >= 0 && ask_int(ports[m], "EXISTS %s", key, NULL) == 1) served[m]++;
    }
    CHECK_INT(served[0] + served[1] + served[2], 300);
    CHECK(served[0] > 0 && served[1] > 0 && served[2] > 0);

    /* The slot of rk:{amig}:...: two keys moved to another master. */
    const char *moved = "rk:{amig}:0";
    async_batch(&loop, a, "SET", "rk:{amig}:%d", "1", 3, &run);
    int from = master_of(moved), to = (from + 1) % 3;
    CHECK(from >= 0);
    if (from < 0) return;
    char slot[16], from_id[64], to_id[64], port_text[16];
    snprintf(slot, sizeof(slot), "%d", rslot_of(moved, strlen(moved)));
    snprintf(port_text, sizeof(port_text), "%d", ports[to]);
    node_id(ports[from], from_id, sizeof(from_id));
    node_id(ports[to], to_id, sizeof(to_id));
    ask_ok(ports[to], "CLUSTER SETSLOT %s IMPORTING %s", slot, from_id);
    ask_ok(ports[from], "CLUSTER SETSLOT %s MIGRATING %s", slot, to_id);
    redisContext *c = node(ports[from]);
    redisReply *x = redisCommand(c, "MIGRATE %s %s %s 0 5000 KEYS rk:{amig}:0 rk:{amig}:1", first_host, port_text, "");
    CHECK(x && x->type == REDIS_REPLY_STATUS);
    if (x) freeReplyObject(x);
    redisFree(c);
    async_batch(&loop, a, "GET", "rk:{amig}:%d", NULL, 3, &run); /* 0, 1 behind ASK; 2 still at home */
    CHECK_INT(run.answered, 3);
    CHECK(run.in_order);
    CHECK_STR(run.first_error, "");
    c = node(ports[from]);
    x = redisCommand(c, "MIGRATE %s %s rk:{amig}:2 0 5000", first_host, port_text);
    if (x) freeReplyObject(x);
    redisFree(c);
    for (int i = 0; i < 3; i++) ask_ok(ports[i], "CLUSTER SETSLOT %s NODE %s", slot, to_id);
    async_batch(&loop, a, "GET", "rk:{amig}:%d", NULL, 3, &run); /* MOVED */
    CHECK_INT(run.answered, 3);
    CHECK_STR(run.first_error, "");
    async_batch(&loop, a, "GET", "rk:{amig}:%d", NULL, 3, &run); /* the map knows now */
    CHECK_STR(run.first_error, "");

    rasync_close(a);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

/* One EXISTS key on the loop: 1 when it was sent and answered. */
static int loop_asks(uv_loop_t *loop, rasync *a, const char *key, async_run *run) {
    static async_cmd cmd;
    rk_status st;
    *run = (async_run){.n = 1, .in_order = 1};
    cmd = (async_cmd){.run = run};
    const char *argv[] = {"EXISTS", key};
    if (rasync_command(a, 2, argv, async_done, &cmd, &st) != RK_OK) {
        run->n = 0;
        return 0;
    }
    return loop_until(loop, all_answered, run);
}

/* With RANKD_TEST_REDIS=cluster-replicas: the master of a key is killed;
 * its replica takes over, and the same handle answers again within one
 * call's retry budget (a call that was in flight on the dead connection
 * may fail UNAVAILABLE: its outcome is unknown). */
static void a_failed_over_master_is_found_again(void) {
    rstore *r = NULL;
    rk_status st;
    CHECK_INT(rstore_open(&r, seeds, &st), RK_OK);
    const char *key = "rk:{failover}:rebuilding";
    int won = 0, yes = 0;
    CHECK_INT(rstore_flag_take(r, key, "it", 600, &won, &st), RK_OK);
    int m = master_of(key);
    CHECK(m >= 0);
    if (m < 0) return;
    /* The replica holds the key before its master dies. */
    CHECK_INT(ask_int(ports[m], "WAIT 1 5000", NULL, NULL), 1);
    uv_loop_t loop;
    uv_loop_init(&loop);
    rasync *a = NULL;
    async_run run;
    CHECK_INT(rasync_open(&a, &loop, seeds, 2000, &st), RK_OK);
    CHECK(loop_until(&loop, is_up, a));
    CHECK(loop_asks(&loop, a, key, &run) && run.first_error[0] == '\0');
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rk-redis-node-stop %d KILL", m + 1);
    CHECK_INT(system(cmd), 0);
    int64_t t0 = server_now_us();
    int rc = RK_UNAVAILABLE, calls = 0;
    for (; rc != RK_OK && calls < 2; calls++) {
        rk_status_clear(&st);
        rc = rstore_exists(r, key, &yes, &st);
        if (rc != RK_OK) fprintf(stderr, "  call %d: %s\n", calls + 1, st.message);
    }
    int64_t ms = (server_now_us() - t0) / 1000;
    fprintf(stderr, "  answered after %d call(s), %lld ms\n", calls, (long long)ms);
    CHECK_INT(rc, RK_OK);
    CHECK_INT(yes, 1);
    CHECK(ms < 2 * 5000 + 1000);
    rstore_close(r);

    /* The loop's connection finds the new master by itself: a command is
     * refused at once (the caller's worker path) until it does. */
    int answered = 0;
    for (int i = 0; i < 100 && !answered; i++) {
        answered = loop_asks(&loop, a, key, &run) && run.first_error[0] == '\0';
        if (!answered) spin(&loop, 100);
    }
    fprintf(stderr, "  the event loop's connection answered again %lld ms after the kill\n",
            (long long)((server_now_us() - t0) / 1000));
    CHECK(answered);
    rasync_close(a);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

int main(int argc, char **argv) {
    seeds = getenv("RANKD_REDIS_SEEDS");
    const char *nodes = getenv("RANKD_REDIS_NODES");
    if (seeds == NULL || nodes == NULL || !*nodes) {
        fprintf(stderr, "run under tests/with-services.sh with RANKD_TEST_REDIS=cluster\n");
        return 1;
    }
    if (sscanf(nodes, "%d %d %d", &ports[0], &ports[1], &ports[2]) != 3) return 1;
    first_port = ports[0];
    if (argc > 1 && strcmp(argv[1], "failover") == 0) {
        RUN(a_failed_over_master_is_found_again);
        return CHECK_SUMMARY();
    }
    RUN(slots_agree_with_cluster_keyslot);
    RUN(piped_calls_reach_every_master);
    RUN(calls_reach_every_master);
    RUN(functions_reach_every_master);
    RUN(crossslot_is_a_clear_error);
    RUN(migrating_slot_then_moved);
    RUN(tryagain_is_waited_out);
    RUN(loop_connections_route);
    return CHECK_SUMMARY();
}
