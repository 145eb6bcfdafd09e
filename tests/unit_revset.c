/* The local revocation set: revoked ids until they expire, generations
 * that only rise, and growth past the first table. */
#include <stdio.h>

#include <rankd/status.h>

#include "check.h"
#include "revset.h"

static void revocations_until_expiry(void) {
    revset *r = NULL;
    rk_status st;
    int revoked = 0;
    int64_t gen = -1;
    CHECK_INT(revset_open(&r, &st), RK_OK);
    revset_check(r, "aa", 1, &revoked, &gen);
    CHECK_INT(revoked, 0);
    CHECK_INT(gen, 0);
    CHECK_INT(revset_revoke(r, "aa", 100, &st), RK_OK);
    CHECK_INT(revset_revoke(r, "bb", 200, &st), RK_OK);
    CHECK_INT(revset_revoke(r, "aa", 100, &st), RK_OK); /* again: one entry */
    revset_check(r, "aa", 1, &revoked, &gen);
    CHECK_INT(revoked, 1);
    revset_check(r, "cc", 1, &revoked, &gen);
    CHECK_INT(revoked, 0);
    size_t n = 0;
    revset_counts(r, &n, NULL);
    CHECK_INT(n, 2);
    revset_prune(r, 100); /* aa's token has expired: nothing left to void */
    revset_counts(r, &n, NULL);
    CHECK_INT(n, 1);
    revset_check(r, "bb", 1, &revoked, &gen);
    CHECK_INT(revoked, 1);
    CHECK(revset_revoke(r, "", 1, &st) != RK_OK);
    revset_close(r);
}

static void generations_only_rise(void) {
    revset *r = NULL;
    rk_status st;
    int revoked;
    int64_t gen;
    CHECK_INT(revset_open(&r, &st), RK_OK);
    CHECK_INT(revset_raise_gen(r, 5, 2, &st), RK_OK);
    CHECK_INT(revset_raise_gen(r, 5, 1, &st), RK_OK); /* an older message, late */
    revset_check(r, NULL, 5, &revoked, &gen);
    CHECK_INT(gen, 2);
    CHECK_INT(revset_raise_gen(r, 5, 3, &st), RK_OK);
    revset_check(r, "x", 5, &revoked, &gen);
    CHECK_INT(gen, 3);
    revset_check(r, "x", 6, &revoked, &gen);
    CHECK_INT(gen, 0);
    revset_close(r);
}

static void grows(void) {
    revset *r = NULL;
    rk_status st;
    CHECK_INT(revset_open(&r, &st), RK_OK);
    char jti[40];
    for (int i = 0; i < 5000; i++) {
        snprintf(jti, sizeof(jti), "%032x", i);
        CHECK_INT(revset_revoke(r, jti, i, &st), RK_OK);
        CHECK_INT(revset_raise_gen(r, i + 1, i + 1, &st), RK_OK);
    }
    size_t n = 0, g = 0;
    revset_counts(r, &n, &g);
    CHECK_INT(n, 5000);
    CHECK_INT(g, 5000);
    int revoked, all = 1;
    int64_t gen;
    for (int i = 0; i < 5000; i++) {
        snprintf(jti, sizeof(jti), "%032x", i);
        revset_check(r, jti, i + 1, &revoked, &gen);
        all &= revoked && gen == i + 1;
    }
    CHECK(all);
    revset_prune(r, 4000); /* ids 0..4000 expired */
    revset_counts(r, &n, NULL);
    CHECK_INT(n, 999);
    snprintf(jti, sizeof(jti), "%032x", 4500);
    revset_check(r, jti, 1, &revoked, &gen);
    CHECK_INT(revoked, 1);
    snprintf(jti, sizeof(jti), "%032x", 10);
    revset_check(r, jti, 1, &revoked, &gen);
    CHECK_INT(revoked, 0);
    revset_close(r);
}

int main(void) {
    RUN(revocations_until_expiry);
    RUN(generations_only_rise);
    RUN(grows);
    return CHECK_SUMMARY();
}
