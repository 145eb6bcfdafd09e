/*
 * rankd/status.h - canonical status codes and the status record.
 *
 * The codes are gRPC's canonical codes with their canonical numbers, so a
 * caller who knows gRPC knows what each one means. Every call in the client
 * library, and every handler in the server, reports failure through an
 * rk_status: a code plus a message a person can act on.
 */
#ifndef RANKD_STATUS_H
#define RANKD_STATUS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum rk_code {
    RK_OK = 0,
    RK_CANCELLED = 1,
    RK_UNKNOWN = 2,
    RK_INVALID_ARGUMENT = 3,
    RK_DEADLINE_EXCEEDED = 4,
    RK_NOT_FOUND = 5,
    RK_ALREADY_EXISTS = 6,
    RK_PERMISSION_DENIED = 7,
    RK_RESOURCE_EXHAUSTED = 8,
    RK_FAILED_PRECONDITION = 9,
    RK_ABORTED = 10,
    RK_OUT_OF_RANGE = 11,
    RK_UNIMPLEMENTED = 12,
    RK_INTERNAL = 13,
    RK_UNAVAILABLE = 14,
    RK_DATA_LOSS = 15,
    RK_UNAUTHENTICATED = 16
} rk_code;

#define RK_STATUS_MSG_MAX 256

typedef struct rk_status {
    int code;                        /* an rk_code */
    char message[RK_STATUS_MSG_MAX]; /* "" when code == RK_OK */
    int degraded;                    /* 1: rankd answered without Redis, from
                                        * PostgreSQL (see docs/PROTOCOL.md) */
    int64_t retry_after_ms;          /* > 0: a limit refused the call (RESOURCE_EXHAUSTED),
                                        * and a retry this much later can pass */
} rk_status;

/* "OK", "INVALID_ARGUMENT", ...; "UNKNOWN" for numbers outside 0..16. */
const char *rk_code_name(int code);

/* Sets st (when not NULL) and returns code, so handlers can write
 * `return rk_status_set(st, RK_NOT_FOUND, "board %s not found", id);`. */
int rk_status_set(rk_status *st, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Resets st to OK with an empty message. */
void rk_status_clear(rk_status *st);

#ifdef __cplusplus
}
#endif
#endif
