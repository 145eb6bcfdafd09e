/* Idempotency keys behind their caller's scope, and back. */
#include <string.h>

#include "check.h"
#include "idem.h"

static void scoped_per_caller(void) {
    char a[64], b[64], u[64];
    idem_scope(a, sizeof(a), 1, 7, "match-1");
    idem_scope(b, sizeof(b), 1, 8, "match-1");
    idem_scope(u, sizeof(u), 0, 7, "match-1");
    CHECK_STR(a, "k7:match-1");
    CHECK(strcmp(a, b) != 0);
    CHECK(strcmp(a, u) != 0); /* key 7 and user 7 are two callers */
    CHECK_STR(idem_unscoped(a), "match-1");
    CHECK_STR(idem_unscoped(u), "match-1");
}

static void keys_that_look_scoped(void) {
    char a[64];
    /* A client's key may itself hold colons: only the scope goes. */
    idem_scope(a, sizeof(a), 0, 12, "u3:x");
    CHECK_STR(idem_unscoped(a), "u3:x");
    /* Stored before keys were scoped: shown as they are. */
    CHECK_STR(idem_unscoped("match-1"), "match-1");
    CHECK_STR(idem_unscoped("k:x"), "k:x");
    CHECK_STR(idem_unscoped("k12"), "k12");
    CHECK_STR(idem_unscoped(""), "");
}

static void longest_scope_fits(void) {
    char a[IDEM_SCOPE_MAX + 2];
    idem_scope(a, sizeof(a), 1, INT64_MAX, "z");
    CHECK_INT(strlen(a), IDEM_SCOPE_MAX + 1);
    CHECK_STR(idem_unscoped(a), "z");
}

int main(void) {
    RUN(scoped_per_caller);
    RUN(keys_that_look_scoped);
    RUN(longest_scope_fits);
    return CHECK_SUMMARY();
}
