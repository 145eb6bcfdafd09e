/*
 * h_moderation.c - the rankd.Moderation service: the audit log read back
 * (admins only).
 */
#include <string.h>

#include "handlers.h"
#include "validate.h"

#define AUDIT_DEFAULT 50
#define AUDIT_MAX 1000
/* Actions are short words ("board.create"); targets are ids, usernames
 * or "key N". */
#define AUDIT_FILTER_MAX 64

typedef struct audit_list {
    rpc_call *call;
    Rankd__AuditEntry **items; /* cap slots in the call's arena */
    size_t n, cap;
    rk_status *st;
} audit_list;

static char *dup_arena(rpc_call *call, const char *s) { return arena_strdup(&call->w->arena, s ? s : ""); }

/* Copies one row into the call's arena: the store's pointers die with the
 * callback. */
static int audit_copy(void *arg, const pg_audit *a) {
    audit_list *l = arg;
    rpc_call *call = l->call;
    rk_status *st = l->st;
    if (l->n >= l->cap) return RK_OK;
    NEW(call, e, Rankd__AuditEntry, rankd__audit_entry__init);
    e->has_id = e->has_at_us = e->has_actor_id = 1;
    e->id = a->id;
    e->at_us = a->at_us;
    e->actor_id = a->actor_id;
    e->actor = dup_arena(call, a->actor);
    e->action = dup_arena(call, a->action);
    e->target = dup_arena(call, a->target);
    e->detail = dup_arena(call, a->detail);
    e->reason = dup_arena(call, a->reason);
    if (!e->actor || !e->action || !e->target || !e->detail || !e->reason)
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    l->items[l->n++] = e;
    return RK_OK;
}

static int check_filter(const char *field, const char *v, rk_status *st) {
    if (v && strlen(v) > AUDIT_FILTER_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "%s must be at most %d bytes", field, AUDIT_FILTER_MAX);
    return RK_OK;
}

int h_audit(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__AuditRequest *req = (const Rankd__AuditRequest *)m;
    pg_audit_query aq = {.limit = AUDIT_DEFAULT, .action = req->action, .target = req->target};
    int rc;
    if (req->has_limit) {
        if (req->limit < 1 || req->limit > AUDIT_MAX)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "limit must be 1 to %d, not %u", AUDIT_MAX, req->limit);
        aq.limit = req->limit;
    }
    if (req->has_before_id) {
        if (req->before_id < 1)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "before_id must be an entry id (1 or more), not %lld",
                                 (long long)req->before_id);
        aq.before_id = req->before_id;
    }
    if ((rc = check_filter("action", req->action, st)) != RK_OK) return rc;
    if ((rc = check_filter("target", req->target, st)) != RK_OK) return rc;
    NEW(call, rep, Rankd__AuditReply, rankd__audit_reply__init);
    /* One row more than asked says whether an older page exists. */
    aq.limit += 1;
    audit_list l = {
        .call = call, .items = ARENA_ARRAY(call, Rankd__AuditEntry *, aq.limit), .cap = (size_t)aq.limit, .st = st};
    if (l.items == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if ((rc = pgstore_audit_each(call->w->pg, &aq, audit_copy, &l, st)) != RK_OK) return rc;
    rep->has_next_before_id = 1;
    if (l.n == (size_t)aq.limit) {
        l.n--;
        rep->next_before_id = l.items[l.n - 1]->id;
    }
    rep->entries = l.items;
    rep->n_entries = l.n;
    *out = &rep->base;
    return RK_OK;
}
