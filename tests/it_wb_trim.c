/* rk_wb_trim (rankd.lua): the write-behind drops from its stream exactly
 * the entries no consumer group still needs, and nothing else: an entry
 * pending for any consumer, or not yet handed to some group, stays. It
 * runs on a stream of its own here (rankd's write-behind drains rk:wb). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "it_common.h"

#define S "rk:test:wb"

static void redis_ok(const char *args) {
    char out[256];
    CHECK_INT(it_redis_cli(args, out, sizeof(out)), 0);
}

/* The stream's first id, in out. */
static void first_id(char *out, size_t cap) { it_redis_cli("XRANGE " S " - + COUNT 1", out, cap); }

/* Ten entries 1-1 ... 10-1 (ids of different lengths: 9 before 10). */
static void fresh_stream(void) {
    redis_ok("DEL " S);
    for (int i = 1; i <= 10; i++) {
        char args[128];
        snprintf(args, sizeof(args), "XADD " S " %d-1 b x u %d", i, i);
        redis_ok(args);
    }
}

static void keeps_what_is_pending(void) {
    char id[64];
    fresh_stream();
    redis_ok("XGROUP CREATE " S " g 0");
    /* Consumer a is handed 1..6, acknowledges 1..3; 4..6 stay pending. */
    redis_ok("XREADGROUP GROUP g a COUNT 6 STREAMS " S " '>'");
    redis_ok("XACK " S " g 1-1 2-1 3-1");
    CHECK_INT(it_redis_int("FCALL rk_wb_trim 1 " S), 3);
    CHECK_INT(it_redis_int("XLEN " S), 7);
    first_id(id, sizeof(id));
    CHECK_STR(id, "4-1");
    /* Acknowledged out of order: 5 is done, 4 is not, so nothing goes. */
    redis_ok("XACK " S " g 5-1");
    CHECK_INT(it_redis_int("FCALL rk_wb_trim 1 " S), 0);
    CHECK_INT(it_redis_int("XLEN " S), 7);
}

static void keeps_what_was_not_handed_out(void) {
    char id[64];
    fresh_stream();
    redis_ok("XGROUP CREATE " S " g 0");
    redis_ok("XREADGROUP GROUP g a COUNT 9 STREAMS " S " '>'");
    redis_ok("XACK " S " g 1-1 2-1 3-1 4-1 5-1 6-1 7-1 8-1 9-1");
    /* Nothing pending: everything up to the last handed out (9-1) goes,
     * 10-1 (compared as a number, not as text) stays. */
    CHECK_INT(it_redis_int("FCALL rk_wb_trim 1 " S), 9);
    first_id(id, sizeof(id));
    CHECK_STR(id, "10-1");
    /* A later entry of the same millisecond is not dropped with it. */
    redis_ok("XADD " S " 10-2 b x u 11");
    redis_ok("XREADGROUP GROUP g a COUNT 1 STREAMS " S " '>'");
    redis_ok("XACK " S " g 10-1");
    CHECK_INT(it_redis_int("FCALL rk_wb_trim 1 " S), 1);
    first_id(id, sizeof(id));
    CHECK_STR(id, "10-2");
}

static void every_group_counts(void) {
    fresh_stream();
    redis_ok("XGROUP CREATE " S " g 0");
    redis_ok("XGROUP CREATE " S " late 0");
    redis_ok("XREADGROUP GROUP g a COUNT 10 STREAMS " S " '>'");
    redis_ok("XACK " S " g 1-1 2-1 3-1 4-1 5-1 6-1 7-1 8-1 9-1 10-1");
    /* Group "late" was handed nothing: every entry is still its. */
    CHECK_INT(it_redis_int("FCALL rk_wb_trim 1 " S), 0);
    CHECK_INT(it_redis_int("XLEN " S), 10);
    /* Pending for another consumer of the same group counts too. */
    redis_ok("XREADGROUP GROUP late b COUNT 2 STREAMS " S " '>'");
    redis_ok("XREADGROUP GROUP late c COUNT 2 STREAMS " S " '>'");
    redis_ok("XACK " S " late 1-1 2-1 4-1");
    CHECK_INT(it_redis_int("FCALL rk_wb_trim 1 " S), 2); /* 3-1 is c's, pending */
    CHECK_INT(it_redis_int("XLEN " S), 8);
}

static void no_group_no_stream(void) {
    fresh_stream();
    CHECK_INT(it_redis_int("FCALL rk_wb_trim 1 " S), 0); /* nobody consumes it */
    CHECK_INT(it_redis_int("XLEN " S), 10);
    redis_ok("DEL " S);
    CHECK_INT(it_redis_int("FCALL rk_wb_trim 1 " S), 0);
}

int main(void) {
    RUN(keeps_what_is_pending);
    RUN(keeps_what_was_not_handed_out);
    RUN(every_group_counts);
    RUN(no_group_no_stream);
    return CHECK_SUMMARY();
}
