/*
 * check.h - the test suite's assertions, in the spirit of hiredis's
 * test(): each failed check prints where and what, and the program ends
 * with "N passed, M failed" and a non-zero status if anything failed.
 */
#ifndef RANKD_CHECK_H
#define RANKD_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int check_failures_in_test;
static int check_passed, check_failed;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
            check_failures_in_test++;                                                  \
        }                                                                              \
    } while (0)

#define CHECK_INT(a, b)                                                                                        \
    do {                                                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                                                    \
        if (a_ != b_) {                                                                                        \
            fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, a_, #b, b_); \
            check_failures_in_test++;                                                                          \
        }                                                                                                      \
    } while (0)

#define CHECK_STR(a, b)                                                                                             \
    do {                                                                                                            \
        const char *a_ = (a), *b_ = (b);                                                                            \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                                                      \
            fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, a_ ? a_ : "(null)", \
                    b_ ? b_ : "(null)");                                                                            \
            check_failures_in_test++;                                                                               \
        }                                                                                                           \
    } while (0)

/* A call's status code, with its message shown when it is not the one expected. */
#define CHECK_CODE(st, want)                                                                                           \
    do {                                                                                                               \
        if ((st).code != (want)) {                                                                                     \
            fprintf(stderr, "  %s:%d: status %s (\"%s\"), expected %s\n", __FILE__, __LINE__, rk_code_name((st).code), \
                    (st).message, rk_code_name(want));                                                                 \
            check_failures_in_test++;                                                                                  \
        }                                                                                                              \
    } while (0)

#define RUN(fn)                                \
    do {                                       \
        check_failures_in_test = 0;            \
        fn();                                  \
        if (check_failures_in_test) {          \
            check_failed++;                    \
            fprintf(stderr, "FAIL %s\n", #fn); \
        } else {                               \
            check_passed++;                    \
            fprintf(stderr, "ok   %s\n", #fn); \
        }                                      \
    } while (0)

#define CHECK_SUMMARY() (printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)

#endif
