/*
 * status.c - names and formatting of the canonical status codes.
 *
 * Shared by the client library and the server, so both spell a code the
 * same way in messages, logs and rankctl's output.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rankd/status.h>

static const char *const code_names[] = {
    [RK_OK] = "OK",
    [RK_CANCELLED] = "CANCELLED",
    [RK_UNKNOWN] = "UNKNOWN",
    [RK_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
    [RK_DEADLINE_EXCEEDED] = "DEADLINE_EXCEEDED",
    [RK_NOT_FOUND] = "NOT_FOUND",
    [RK_ALREADY_EXISTS] = "ALREADY_EXISTS",
    [RK_PERMISSION_DENIED] = "PERMISSION_DENIED",
    [RK_RESOURCE_EXHAUSTED] = "RESOURCE_EXHAUSTED",
    [RK_FAILED_PRECONDITION] = "FAILED_PRECONDITION",
    [RK_ABORTED] = "ABORTED",
    [RK_OUT_OF_RANGE] = "OUT_OF_RANGE",
    [RK_UNIMPLEMENTED] = "UNIMPLEMENTED",
    [RK_INTERNAL] = "INTERNAL",
    [RK_UNAVAILABLE] = "UNAVAILABLE",
    [RK_DATA_LOSS] = "DATA_LOSS",
    [RK_UNAUTHENTICATED] = "UNAUTHENTICATED",
};

const char *rk_code_name(int code) {
    if (code < 0 || code > RK_UNAUTHENTICATED) return "UNKNOWN";
    return code_names[code];
}

int rk_status_set(rk_status *st, int code, const char *fmt, ...) {
    if (st != NULL) {
        va_list ap;
        va_start(ap, fmt);
        /* Through a copy: callers may wrap the message st holds already
         * ("... failed (%s)", st->message), and vsnprintf must not write
         * where it reads. */
        char msg[sizeof(st->message)];
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        st->code = code;
        st->degraded = 0;
        st->retry_after_ms = 0;
        memcpy(st->message, msg, sizeof(msg));
    }
    return code;
}

void rk_status_clear(rk_status *st) {
    if (st != NULL) {
        st->code = RK_OK;
        st->message[0] = '\0';
        st->degraded = 0;
        st->retry_after_ms = 0;
    }
}
