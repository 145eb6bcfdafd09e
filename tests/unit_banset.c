/* The in-memory ban set: lookups with their reason among many, and
 * changes applied by token generation in any order. */
#include <stdio.h>

#include <rankd/status.h>

#include "banset.h"
#include "check.h"

static void lookups(void) {
    banset *b = NULL;
    rk_status st;
    char why[BANSET_REASON_MAX + 1];
    CHECK_INT(banset_open(&b, &st), RK_OK);
    CHECK_INT(banset_check(b, 7, why, sizeof(why)), 0);
    for (int64_t id = 1000; id > 0; id -= 3) CHECK_INT(banset_apply(b, id, 1, 1, "bulk", &st), RK_OK);
    CHECK_INT(banset_apply(b, 7, 2, 1, "cheating on tetris", &st), RK_OK);
    CHECK_INT(banset_check(b, 7, why, sizeof(why)), 1);
    CHECK_STR(why, "cheating on tetris");
    CHECK_INT(banset_check(b, 997, NULL, 0), 1);
    CHECK_INT(banset_check(b, 996, NULL, 0), 0);
    CHECK_INT(banset_check(b, 1001, NULL, 0), 0);
    banset_close(b);
}

static void changes_by_generation(void) {
    banset *b = NULL;
    rk_status st;
    char why[BANSET_REASON_MAX + 1];
    CHECK_INT(banset_open(&b, &st), RK_OK);
    CHECK_INT(banset_apply(b, 7, 2, 1, "first", &st), RK_OK);
    /* An unban at a newer generation lifts it; the older ban arriving
     * late changes nothing, nor does a repeat of the same generation. */
    CHECK_INT(banset_apply(b, 7, 3, 0, NULL, &st), RK_OK);
    CHECK_INT(banset_check(b, 7, why, sizeof(why)), 0);
    CHECK_INT(banset_apply(b, 7, 2, 1, "first", &st), RK_OK);
    CHECK_INT(banset_check(b, 7, why, sizeof(why)), 0);
    CHECK_INT(banset_apply(b, 7, 3, 1, "same generation", &st), RK_OK);
    CHECK_INT(banset_check(b, 7, why, sizeof(why)), 0);
    CHECK_INT(banset_apply(b, 7, 5, 1, "again", &st), RK_OK);
    CHECK_INT(banset_check(b, 7, why, sizeof(why)), 1);
    CHECK_STR(why, "again");
    banset_close(b);
}

int main(void) {
    RUN(lookups);
    RUN(changes_by_generation);
    return CHECK_SUMMARY();
}
