/*
 * audit.c - rows of the audit log, written for the admin handlers.
 *
 * The store holds the table; this module only knows who is calling and
 * turns a failed write into words about what was nevertheless done.
 */
#include <stdarg.h>
#include <stdio.h>

#include "audit.h"
#include "log.h"

/* Long enough for any detail a handler writes (a board's settings). */
#define AUDIT_DETAIL_MAX 512

int audit_record(rpc_call *call, const char *action, const char *target, const char *reason, rk_status *st,
                 const char *fmt, ...) {
    char detail[AUDIT_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    pg_audit a = {.actor_id = call->who.kind == WHO_USER ? call->who.user_id : 0,
                  .action = action,
                  .target = target,
                  .detail = detail,
                  .reason = reason};
    rk_status why;
    rk_status_clear(&why);
    if (pgstore_audit_add(call->w->pg, &a, &why) == RK_OK) return RK_OK;
    log_error("audit log write failed", "action=%s target=%s error=\"%s\"", action, target, why.message);
    return rk_status_set(st, RK_UNAVAILABLE, "%s %s was done, but the audit log could not record it: %s", action,
                         target, why.message);
}
