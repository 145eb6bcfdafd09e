/*
 * h_moderation.c - the rankd.Moderation service (admins only): the audit
 * log read back, removing an entry, bans, and the review of held
 * submissions.
 *
 * The handlers check the request and the player, and that Redis is up
 * with nothing left to replay; the work that must keep Redis and the
 * history in agreement is in rebuild.c, under the boards' rebuild flags,
 * and each action that took effect ends with its audit row.
 */
#include <stdio.h>
#include <string.h>

#include "audit.h"
#include "auth.h"
#include "banset.h"
#include "boards.h"
#include "degraded.h"
#include "handlers.h"
#include "rebuild.h"
#include "recovery.h"
#include "topcache.h"
#include "users.h"
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

/* ---------------------------------------------------------------- removing an entry */

/* Moderation changes Redis and PostgreSQL together; without Redis, or
 * while submissions taken without it are still being applied, the two
 * cannot be made to agree now. */
static int moderation_ready(rpc_call *call, rk_status *st) {
    int64_t backlog = 0;
    int rc;
    if (recovery_get(call->srv->recovery) != RECOVERY_UP)
        return rk_status_set(st, RK_UNAVAILABLE, "Redis is %s; retry once it is up",
                             recovery_state_name(recovery_get(call->srv->recovery)));
    if ((rc = degraded_backlog_size(call->w->pg, &backlog, st)) != RK_OK) return rc;
    if (backlog > 0)
        return rk_status_set(st, RK_UNAVAILABLE,
                             "%lld submissions taken without Redis are still being applied; retry shortly",
                             (long long)backlog);
    return RK_OK;
}

/* The player a moderation request names, by id or username: *uid, and
 * their username in name. */
static int moderation_player(rpc_call *call, int has_id, int64_t id, const char *username, int64_t *uid,
                             char name[USER_NAME_MAX], rk_status *st) {
    int64_t ids[1] = {has_id ? id : 0};
    const char *names[1] = {username};
    char out[1][USER_NAME_MAX];
    int found = 0, rc;
    if (has_id && id <= 0) return rk_status_set(st, RK_INVALID_ARGUMENT, "user_id must be positive");
    if (!has_id) {
        if (username == NULL || username[0] == '\0')
            return rk_status_set(st, RK_INVALID_ARGUMENT, "user_id or username is required");
        if ((rc = validate_username(username, st)) != RK_OK) return rc;
    }
    if ((rc = users_resolve(call, ids, names, 1, &found, out, st)) != RK_OK) return rc;
    if (!found) {
        if (has_id) return rk_status_set(st, RK_NOT_FOUND, "no user with id %lld", (long long)id);
        return rk_status_set(st, RK_NOT_FOUND, "no user named %s", username);
    }
    *uid = ids[0];
    snprintf(name, USER_NAME_MAX, "%s", out[0]);
    return RK_OK;
}

int h_remove_entry(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__RemoveEntryRequest *req = (const Rankd__RemoveEntryRequest *)m;
    board b;
    int64_t uid = 0, marked = 0;
    int found = 0, rc;
    char name[USER_NAME_MAX];
    if ((rc = validate_id("board_id", req->board_id, st)) != RK_OK) return rc;
    if (strcmp(req->board_id, BOARD_GLOBAL_ID) == 0)
        return rk_status_set(st, RK_INVALID_ARGUMENT,
                             "the global board holds sums of other boards: remove the entry from those");
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if ((rc = boards_get(call->srv->boards, call->w->pg, req->board_id, &b, st)) != RK_OK) return rc;
    if ((rc = moderation_player(call, req->has_user_id, req->user_id, req->username, &uid, name, st)) != RK_OK)
        return rc;
    if ((rc = moderation_ready(call, st)) != RK_OK) return rc;
    rebuild_removal rm = {.b = &b,
                          .user_id = uid,
                          .actor_id = call->who.user_id,
                          .reason = req->reason,
                          .retention_s = call->srv->cfg.window_retention,
                          .deadline_us = call->deadline_us};
    rc = rebuild_remove_entry(call->w->redis, call->w->pg, call->srv->boards, &rm, &marked, &found, st);
    topcache_invalidate_sums(call->srv->tops, &b);
    if (rc != RK_OK) return rc;
    if (marked == 0 && !found) return rk_status_set(st, RK_NOT_FOUND, "%s has no entry on board %s", name, b.id);
    if ((rc = audit_record(call, AUDIT_ENTRY_REMOVE, name, req->reason, st, "board %s, %lld submissions", b.id,
                           (long long)marked)) != RK_OK)
        return rc;
    NEW(call, rep, Rankd__RemoveEntryReply, rankd__remove_entry_reply__init);
    rep->has_removed_submissions = rep->has_user_id = 1;
    rep->removed_submissions = marked;
    rep->user_id = uid;
    *out = &rep->base;
    return RK_OK;
}

/* ---------------------------------------------------------------- bans */

int h_ban(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__BanRequest *req = (const Rankd__BanRequest *)m;
    int64_t uid = 0, gen = 0, boards = 0;
    int changed = 0, rc;
    char name[USER_NAME_MAX];
    pg_user u;
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if ((rc = moderation_player(call, req->has_user_id, req->user_id, req->username, &uid, name, st)) != RK_OK)
        return rc;
    if ((rc = pgstore_user_by_id(call->w->pg, uid, &u, st)) != RK_OK) return rc;
    if (u.role == RANKD__ROLE__ROLE_ADMIN)
        return rk_status_set(st, RK_FAILED_PRECONDITION, "%s is an admin; make them a player first (SetRole)", name);
    if ((rc = moderation_ready(call, st)) != RK_OK) return rc;
    if ((rc = pgstore_user_ban(call->w->pg, uid, 1, req->reason, &gen, &changed, st)) != RK_OK) return rc;
    if (changed && (rc = auth_ban_changed(call, uid, gen, 1, req->reason, st)) != RK_OK) return rc;
    /* Already banned: the entries are taken off again all the same, so a
     * ban that failed half-way is finished by asking again. */
    rc = rebuild_ban_player(call->w->redis, call->w->pg, call->srv->boards, uid, call->srv->cfg.window_retention,
                            call->deadline_us, &boards, st);
    topcache_invalidate_all(call->srv->tops);
    if (rc != RK_OK) return rc;
    if (!changed) return rk_status_set(st, RK_FAILED_PRECONDITION, "%s is already banned", name);
    if ((rc = audit_record(call, AUDIT_PLAYER_BAN, name, req->reason, st, "entries left %lld boards",
                           (long long)boards)) != RK_OK)
        return rc;
    NEW(call, rep, Rankd__BanReply, rankd__ban_reply__init);
    rep->has_user_id = rep->has_boards = 1;
    rep->user_id = uid;
    rep->boards = boards;
    *out = &rep->base;
    return RK_OK;
}

int h_unban(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__UnbanRequest *req = (const Rankd__UnbanRequest *)m;
    int64_t uid = 0, gen = 0, entries = 0;
    int changed = 0, rc;
    char name[USER_NAME_MAX];
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if ((rc = moderation_player(call, req->has_user_id, req->user_id, req->username, &uid, name, st)) != RK_OK)
        return rc;
    if ((rc = moderation_ready(call, st)) != RK_OK) return rc;
    if ((rc = pgstore_user_ban(call->w->pg, uid, 0, NULL, &gen, &changed, st)) != RK_OK) return rc;
    if (!changed) {
        /* PostgreSQL says not banned. If this rankd still holds the ban,
         * an unban failed after PostgreSQL had it: finish that one. */
        pg_user u;
        if (!banset_check(call->srv->bans, uid, NULL, 0))
            return rk_status_set(st, RK_FAILED_PRECONDITION, "%s is not banned", name);
        if ((rc = pgstore_user_by_id(call->w->pg, uid, &u, st)) != RK_OK) return rc;
        gen = u.token_gen;
    }
    /* The entries go back before any rankd lets the player submit again
     * (every one still holds the ban in memory), so no new submission
     * can meet a half-restored board. */
    rc = rebuild_restore_player(call->w->redis, call->w->pg, call->srv->boards, uid, call->srv->cfg.window_retention,
                                call->deadline_us, &entries, st);
    topcache_invalidate_all(call->srv->tops);
    if (rc != RK_OK) return rc;
    if ((rc = auth_ban_changed(call, uid, gen, 0, NULL, st)) != RK_OK) return rc;
    if ((rc = audit_record(call, AUDIT_PLAYER_UNBAN, name, req->reason, st, "%lld entries put back",
                           (long long)entries)) != RK_OK)
        return rc;
    NEW(call, rep, Rankd__UnbanReply, rankd__unban_reply__init);
    rep->has_user_id = rep->has_entries = 1;
    rep->user_id = uid;
    rep->entries = entries;
    *out = &rep->base;
    return RK_OK;
}

/* ---------------------------------------------------------------- held submissions */

#define HELD_DEFAULT 50
#define HELD_MAX 1000
/* Stream entry ids ("1796126569775-0") and the history's own ("pg-..."). */
#define ENTRY_ID_MAX 111 /* a board's 64 bytes, "/" and a stream id */

typedef struct held_list {
    rpc_call *call;
    Rankd__HeldSubmission **items;
    size_t n, cap;
    rk_status *st;
} held_list;

static Rankd__HeldSubmission *held_message(rpc_call *call, const pg_held *h) {
    Rankd__HeldSubmission *m = arena_alloc(&call->w->arena, sizeof(*m));
    if (m == NULL) return NULL;
    rankd__held_submission__init(m);
    m->entry_id = dup_arena(call, h->entry_id);
    m->board_id = dup_arena(call, h->board_id);
    m->username = dup_arena(call, h->username);
    m->rule = dup_arena(call, h->rule);
    if (!m->entry_id || !m->board_id || !m->username || !m->rule) return NULL;
    m->has_user_id = m->has_score = m->has_submitted_at_us = 1;
    m->user_id = h->user_id;
    m->score = h->score;
    m->submitted_at_us = h->submitted_at_us;
    return m;
}

static int held_copy(void *arg, const pg_held *h) {
    held_list *l = arg;
    if (l->n >= l->cap) return RK_OK;
    if ((l->items[l->n] = held_message(l->call, h)) == NULL)
        return rk_status_set(l->st, RK_RESOURCE_EXHAUSTED, "out of memory");
    l->n++;
    return RK_OK;
}

int h_held(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__HeldRequest *req = (const Rankd__HeldRequest *)m;
    int64_t limit = HELD_DEFAULT, total = 0;
    board b;
    int rc;
    if (req->has_limit) {
        if (req->limit < 1 || req->limit > HELD_MAX)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "limit must be 1 to %d, not %u", HELD_MAX, req->limit);
        limit = req->limit;
    }
    if (req->board_id && req->board_id[0]) {
        if ((rc = validate_id("board_id", req->board_id, st)) != RK_OK) return rc;
        if ((rc = boards_get(call->srv->boards, call->w->pg, req->board_id, &b, st)) != RK_OK) return rc;
    }
    NEW(call, rep, Rankd__HeldReply, rankd__held_reply__init);
    held_list l = {
        .call = call, .items = ARENA_ARRAY(call, Rankd__HeldSubmission *, limit), .cap = (size_t)limit, .st = st};
    if (l.items == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if ((rc = pgstore_held_each(call->w->pg, req->board_id, limit, held_copy, &l, &total, st)) != RK_OK) return rc;
    rep->held = l.items;
    rep->n_held = l.n;
    rep->has_total = 1;
    rep->total = total > (int64_t)l.n ? total : (int64_t)l.n;
    *out = &rep->base;
    return RK_OK;
}

int h_review(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__ReviewRequest *req = (const Rankd__ReviewRequest *)m;
    int approve = req->has_approve && req->approve;
    int64_t entries = 0;
    pg_held h;
    int rc;
    if (req->entry_id == NULL || req->entry_id[0] == '\0')
        return rk_status_set(st, RK_INVALID_ARGUMENT, "entry_id is required (Held lists them)");
    if (strlen(req->entry_id) > ENTRY_ID_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "entry_id is longer than %d bytes", ENTRY_ID_MAX);
    if ((rc = validate_reason(req->reason, st)) != RK_OK) return rc;
    if ((rc = pgstore_held_get(call->w->pg, req->entry_id, &h, st)) != RK_OK) return rc;
    if (approve) {
        if ((rc = moderation_ready(call, st)) != RK_OK) return rc;
        rc = rebuild_approve_held(call->w->redis, call->w->pg, call->srv->boards, &h, call->srv->cfg.window_retention,
                                  call->deadline_us, &entries, st);
        topcache_invalidate(call->srv->tops, h.board_id);
        topcache_invalidate(call->srv->tops, BOARD_GLOBAL_ID);
    } else {
        rc = pgstore_held_decide(call->w->pg, h.entry_id, 0, st);
    }
    if (rc != RK_OK) return rc;
    if ((rc = audit_record(call, approve ? AUDIT_HELD_APPROVE : AUDIT_HELD_REJECT, h.entry_id, req->reason, st,
                           "board %s, %s, score %lld (%s)", h.board_id, h.username, (long long)h.score, h.rule)) !=
        RK_OK)
        return rc;
    NEW(call, rep, Rankd__ReviewReply, rankd__review_reply__init);
    if ((rep->submission = held_message(call, &h)) == NULL)
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    rep->has_approved = 1;
    rep->approved = approve;
    *out = &rep->base;
    return RK_OK;
}
