/* The redis setting: one host:port, or a seed list. */
#include <string.h>

#include "check.h"
#include "rnode.h"

static void one_address(void) {
    rnode n[RNODE_SEEDS_MAX];
    size_t count = 0;
    rk_status st;
    CHECK_INT(rnode_parse_list("127.0.0.1:6379", n, &count, &st), RK_OK);
    CHECK_INT(count, 1);
    CHECK_STR(n[0].host, "127.0.0.1");
    CHECK_INT(n[0].port, 6379);
    CHECK_INT(rnode_parse_list("::1:7000", n, &count, &st), RK_OK);
    CHECK_STR(n[0].host, "::1");
    CHECK_INT(n[0].port, 7000);
}

static void seed_lists(void) {
    rnode n[RNODE_SEEDS_MAX];
    size_t count = 0;
    rk_status st;
    char text[64];
    CHECK_INT(rnode_parse_list("a:1, b.example:2 ,c:65535", n, &count, &st), RK_OK);
    CHECK_INT(count, 3);
    CHECK_STR(n[1].host, "b.example");
    CHECK_INT(n[2].port, 65535);
    rnode_format(&n[1], text, sizeof(text));
    CHECK_STR(text, "b.example:2");
    CHECK(rnode_same(&n[0], &n[0]));
    CHECK(!rnode_same(&n[0], &n[1]));
}

static void bad_addresses_are_named(void) {
    rnode n[RNODE_SEEDS_MAX];
    size_t count = 0;
    rk_status st;
    const char *bad[] = {"", "localhost", "h:", ":6379", "h:0", "h:65536", "h:12x", "a:1,", "a:1,,b:2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rk_status_clear(&st);
        CHECK_INT(rnode_parse_list(bad[i], n, &count, &st), RK_INVALID_ARGUMENT);
        CHECK(strstr(st.message, "host:port") != NULL);
    }
    rk_status_clear(&st);
    rnode_parse_list("a:1,b:x", n, &count, &st);
    CHECK_STR(st.message, "redis address must be host:port, not \"b:x\"");
    char many[512] = "";
    for (int i = 0; i <= RNODE_SEEDS_MAX; i++) strcat(many, i ? ",h:1" : "h:1");
    CHECK_INT(rnode_parse_list(many, n, &count, &st), RK_INVALID_ARGUMENT);
}

int main(void) {
    RUN(one_address);
    RUN(seed_lists);
    RUN(bad_addresses_are_named);
    return CHECK_SUMMARY();
}
