/*
 * it_cluster.c - the store on a real Redis Cluster (the harness's,
 * RANKD_TEST_REDIS=cluster): slots as the cluster computes them.
 *
 * The cluster is asked directly over hiredis, as a test may: the answers
 * checked are Redis's own, not the store's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "check.h"
#include "rslot.h"

static char first_host[256] = "127.0.0.1";
static int first_port;

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

int main(void) {
    const char *seeds = getenv("RANKD_REDIS_SEEDS");
    const char *nodes = getenv("RANKD_REDIS_NODES");
    if (seeds == NULL || nodes == NULL || !*nodes) {
        fprintf(stderr, "run under tests/with-services.sh with RANKD_TEST_REDIS=cluster\n");
        return 1;
    }
    first_port = atoi(nodes);
    RUN(slots_agree_with_cluster_keyslot);
    return CHECK_SUMMARY();
}
