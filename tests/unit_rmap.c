/* The slot map from crafted CLUSTER SLOTS replies, and redirections. */
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "check.h"
#include "rmap.h"

/* Reply builders: every node lives in one static pool, reset per test. */
static redisReply pool[256];
static redisReply *ptrs[256];
static size_t used, used_ptrs;

static redisReply *str(const char *s) {
    redisReply *r = &pool[used++];
    *r = (redisReply){.type = REDIS_REPLY_STRING, .str = (char *)s, .len = strlen(s)};
    return r;
}
static redisReply *num(long long v) {
    redisReply *r = &pool[used++];
    *r = (redisReply){.type = REDIS_REPLY_INTEGER, .integer = v};
    return r;
}
static redisReply *arr(size_t n, redisReply **items) {
    redisReply *r = &pool[used++];
    redisReply **e = &ptrs[used_ptrs];
    memcpy(e, items, n * sizeof(*items));
    used_ptrs += n;
    *r = (redisReply){.type = REDIS_REPLY_ARRAY, .elements = n, .element = e};
    return r;
}
#define ARR(...) arr(sizeof((redisReply *[]){__VA_ARGS__}) / sizeof(redisReply *), (redisReply *[]){__VA_ARGS__})

static const rnode from = {.host = "10.0.0.9", .port = 7000};

static redisReply *three_masters(void) {
    used = used_ptrs = 0;
    return ARR(ARR(num(0), num(5460), ARR(str("127.0.0.1"), num(7001), str("id1")),
                   ARR(str("127.0.0.1"), num(7004), str("id4"))),
               ARR(num(5461), num(10922), ARR(str("127.0.0.1"), num(7002), str("id2"))),
               ARR(num(10923), num(16383), ARR(str(""), num(7003), str("id3"))));
}

static void slots_reply_fills_the_map(void) {
    static rmap m;
    rk_status st;
    rmap_init(&m);
    CHECK(rmap_owner(&m, 0) == NULL);
    CHECK_INT(rmap_parse_slots(&m, three_masters(), &from, &st), RK_OK);
    CHECK_INT(rmap_owner(&m, 0)->port, 7001);
    CHECK_INT(rmap_owner(&m, 5460)->port, 7001); /* the master, never its replica */
    CHECK_INT(rmap_owner(&m, 5461)->port, 7002);
    CHECK_INT(rmap_owner(&m, 16383)->port, 7003);
    CHECK_STR(rmap_owner(&m, 16383)->host, "10.0.0.9"); /* empty host: the answering node's */
    rnode masters[8];
    CHECK_INT(rmap_masters(&m, masters, 8), 3);
    CHECK(rmap_owner(&m, -1) == NULL);
    CHECK(rmap_owner(&m, RSLOT_COUNT) == NULL);
}

static void uncovered_slots_stay_unknown(void) {
    static rmap m;
    rk_status st;
    used = used_ptrs = 0;
    redisReply *rep = ARR(ARR(num(100), num(199), ARR(str("h"), num(1))));
    CHECK_INT(rmap_parse_slots(&m, rep, &from, &st), RK_OK);
    CHECK(rmap_owner(&m, 99) == NULL);
    CHECK(rmap_owner(&m, 100) != NULL);
    CHECK(rmap_owner(&m, 200) == NULL);
}

static void bad_replies_leave_the_map(void) {
    static rmap m;
    rk_status st;
    rmap_init(&m);
    rmap_parse_slots(&m, three_masters(), &from, &st);
    redisReply *bad[] = {
        str("nope"),
        ARR(ARR(num(0), num(10))),                           /* no master */
        ARR(ARR(num(0), num(16384), ARR(str("h"), num(1)))), /* slot out of range */
        ARR(ARR(num(9), num(3), ARR(str("h"), num(1)))),     /* backwards */
        ARR(ARR(num(0), num(3), ARR(str("h"), str("1")))),   /* port not a number */
        ARR(ARR(num(0), num(3), ARR(str("h"), num(70000)))), /* no such port */
        ARR(ARR(str("0"), num(3), ARR(str("h"), num(1)))),   /* start not a number */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rk_status_clear(&st);
        CHECK_INT(rmap_parse_slots(&m, bad[i], &from, &st), RK_INTERNAL);
        CHECK(strstr(st.message, "CLUSTER SLOTS") != NULL);
        CHECK_INT(rmap_owner(&m, 0)->port, 7001);
    }
    CHECK_INT(rmap_parse_slots(&m, NULL, &from, &st), RK_INTERNAL);
}

static void moved_updates_one_slot(void) {
    static rmap m;
    rk_status st;
    rmap_init(&m);
    rmap_parse_slots(&m, three_masters(), &from, &st);
    rnode to = {.host = "127.0.0.1", .port = 7009};
    CHECK(rmap_set(&m, 42, &to));
    CHECK_INT(rmap_owner(&m, 42)->port, 7009);
    CHECK_INT(rmap_owner(&m, 41)->port, 7001);
    CHECK_INT(rmap_owner(&m, 43)->port, 7001);
    rnode masters[8];
    CHECK_INT(rmap_masters(&m, masters, 8), 4);
    CHECK(!rmap_set(&m, RSLOT_COUNT, &to));
    /* A master that lost every slot is no master of the map any more. */
    rnode first = *rmap_owner(&m, 0);
    for (int s = 0; s <= 5460; s++) rmap_set(&m, s, &to);
    CHECK_INT(rmap_masters(&m, masters, 8), 3);
    for (int i = 0; i < 3; i++) CHECK(!rnode_same(&masters[i], &first));
}

static void redirections(void) {
    rmap_redirect r;
    const char *moved = "MOVED 3999 127.0.0.1:6381";
    rmap_parse_redirect(moved, strlen(moved), &from, &r);
    CHECK_INT(r.kind, RMAP_MOVED);
    CHECK_INT(r.slot, 3999);
    CHECK_STR(r.to.host, "127.0.0.1");
    CHECK_INT(r.to.port, 6381);
    const char *ask = "ASK 16383 redis-3.example:7003";
    rmap_parse_redirect(ask, strlen(ask), &from, &r);
    CHECK_INT(r.kind, RMAP_ASK);
    CHECK_INT(r.slot, 16383);
    CHECK_STR(r.to.host, "redis-3.example");
    const char *nohost = "MOVED 1 :7005";
    rmap_parse_redirect(nohost, strlen(nohost), &from, &r);
    CHECK_INT(r.kind, RMAP_MOVED);
    CHECK_STR(r.to.host, "10.0.0.9");
    CHECK_INT(r.to.port, 7005);
    const char *not_redirections[] = {"MOVED",
                                      "MOVED 1",
                                      "MOVED x 127.0.0.1:1",
                                      "MOVED 16384 h:1",
                                      "MOVED -1 h:1",
                                      "ASK 1 h",
                                      "ASK 1 h:0",
                                      "ASKING",
                                      "CROSSSLOT Keys in request don't hash to the same slot",
                                      "moved 1 h:1",
                                      "TRYAGAIN Multiple keys request during rehashing of slot"};
    for (size_t i = 0; i < sizeof(not_redirections) / sizeof(not_redirections[0]); i++) {
        r.kind = RMAP_MOVED;
        rmap_parse_redirect(not_redirections[i], strlen(not_redirections[i]), &from, &r);
        CHECK_INT(r.kind, RMAP_NONE);
    }
    /* The length decides, not a NUL. */
    rmap_parse_redirect(moved, 10, &from, &r);
    CHECK_INT(r.kind, RMAP_NONE);
}

int main(void) {
    RUN(slots_reply_fills_the_map);
    RUN(uncovered_slots_stay_unknown);
    RUN(bad_replies_leave_the_map);
    RUN(moved_updates_one_slot);
    RUN(redirections);
    return CHECK_SUMMARY();
}
