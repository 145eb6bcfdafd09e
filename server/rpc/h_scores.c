/*
 * h_scores.c - score submission, one or a batch of up to SUBMIT_BATCH_MAX.
 *
 * A batch is validated item by item (each item gets its own status), the
 * players of all items are resolved in one PostgreSQL query, and the valid
 * items go to Redis in one pipelined round trip. Nothing is written for an
 * item that fails validation, and one bad item never fails the others.
 */
#include <string.h>

#include "auth.h"
#include "banset.h"
#include "boards.h"
#include "degraded.h"
#include "handlers.h"
#include "idem.h"
#include "recovery.h"
#include "shards.h"
#include "store_async.h"
#include "topcache.h"
#include "users.h"
#include "validate.h"

/* One item on its way through validation and Redis. */
typedef struct item {
    const char *board_id;
    int64_t user_id;
    const char *username;
    int has_score;
    int64_t score;
    const char *idem_key;
    const char *meta; /* record metadata: NULL or "" for none */
    board b;
    rk_status st;
} item;

/* rk_submit answers "no such user" for an id missing from Redis's user
 * directory. The directory can lag PostgreSQL (a Redis that lost it), so
 * ask PostgreSQL before saying so; users_resolve puts those it finds back
 * into Redis, and their submissions are sent again. */
static void recheck_unknown(rpc_call *call, item *items, rstore_submit_out *outs, rstore_submit_in *in,
                            const size_t *idx, size_t m, rstore_submit_out *res, rk_status *st) {
    size_t k = 0;
    for (size_t j = 0; j < m; j++)
        if (res[j].status.code == RK_NOT_FOUND) k++;
    if (k == 0) return;
    int64_t *ids = ARENA_ARRAY(call, int64_t, k);
    const char **names = ARENA_ARRAY(call, const char *, k);
    int *found = ARENA_ARRAY(call, int, k);
    size_t *at = ARENA_ARRAY(call, size_t, k);
    user_name *resolved = arena_alloc(&call->w->arena, USER_NAME_MAX * k);
    rstore_submit_in *again = ARENA_ARRAY(call, rstore_submit_in, k);
    rstore_submit_out *out2 = ARENA_ARRAY(call, rstore_submit_out, k);
    if (!ids || !names || !found || !at || !resolved || !again || !out2) return;
    k = 0;
    for (size_t j = 0; j < m; j++)
        if (res[j].status.code == RK_NOT_FOUND) {
            ids[k] = in[j].user_id;
            at[k++] = j;
        }
    rk_status ignore;
    if (users_resolve(call, ids, names, k, found, resolved, &ignore) != RK_OK) return;
    size_t r = 0;
    for (size_t j = 0; j < k; j++) {
        item *it = &items[idx[at[j]]];
        if (!found[j]) {
            rk_status_set(&it->st, RK_NOT_FOUND, "user %lld not found", (long long)it->user_id);
            continue;
        }
        again[r] = in[at[j]];
        at[r++] = at[j];
    }
    rstore_wait wait = {call->srv->cfg.redis_wait_replicas, call->srv->cfg.redis_wait_timeout_ms};
    if (r == 0 || rstore_submit(call->w->redis, again, r, call->srv->cfg.idempotency_ttl,
                                call->srv->cfg.window_retention, &wait, out2, st) != RK_OK)
        return;
    for (size_t j = 0; j < r; j++) {
        outs[idx[at[j]]] = out2[j];
        items[idx[at[j]]].st = out2[j].status;
    }
}

/* What a submission call carries between its halves. */
typedef struct submit_call {
    rpc_call *call;
    item *items;
    size_t n;
    rstore_submit_out *outs; /* per item */
    rstore_submit_in *in;    /* the items that go to Redis */
    size_t *idx;             /* in[j] is items[idx[j]] */
    size_t m;
    rstore_submit_out *res; /* per in[j] */
    size_t waiting;         /* fast lane: replies still to come */
    int batch;
} submit_call;

/* Checks every item (shape, board, bounds, player, permission) and lists
 * those that go to Redis in s->in. Items that fail keep their own status.
 * RPC_SLOW on the fast lane when a board or a player is not in memory. */
/* The key as stored: its caller's own (idem.h). NULL without one, or
 * when out of memory (*oom then). */
static const char *scoped_key(rpc_call *call, const char *key, int *oom) {
    if (key == NULL) return NULL;
    int api = call->who.kind == WHO_APIKEY;
    size_t cap = strlen(key) + IDEM_SCOPE_MAX + 1;
    char *out = arena_alloc(&call->w->arena, cap);
    if (out == NULL) {
        *oom = 1;
        return NULL;
    }
    idem_scope(out, cap, api, api ? call->who.key_id : call->who.user_id, key);
    return out;
}

static int check_items(submit_call *s, rk_status *st) {
    rpc_call *call = s->call;
    item *items = s->items;
    size_t n = s->n;
    int *found = ARENA_ARRAY(call, int, n);
    int64_t *ids = ARENA_ARRAY(call, int64_t, n);
    const char **names = ARENA_ARRAY(call, const char *, n);
    user_name *resolved = arena_alloc(&call->w->arena, USER_NAME_MAX * (n ? n : 1));
    rstore_submit_in *in = ARENA_ARRAY(call, rstore_submit_in, n);
    size_t *idx = ARENA_ARRAY(call, size_t, n);
    if (!found || !ids || !names || !resolved || !in || !idx)
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");

    /* Shape and board checks, item by item. */
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        rk_status_clear(&it->st);
        ids[i] = it->user_id;
        names[i] = it->username;
        if (validate_id("board_id", it->board_id, &it->st) != RK_OK) continue;
        if (!it->has_score) {
            rk_status_set(&it->st, RK_INVALID_ARGUMENT, "score is required");
            continue;
        }
        if (it->user_id <= 0 && (it->username == NULL || it->username[0] == '\0')) {
            rk_status_set(&it->st, RK_INVALID_ARGUMENT, "user_id or username is required");
            continue;
        }
        if (it->idem_key && strlen(it->idem_key) > IDEMPOTENCY_KEY_MAX) {
            rk_status_set(&it->st, RK_INVALID_ARGUMENT, "idempotency key is longer than 128 bytes");
            continue;
        }
        if (validate_meta(it->meta, &it->st) != RK_OK) continue;
        if (strcmp(it->board_id, BOARD_GLOBAL_ID) == 0) {
            rk_status_set(&it->st, RK_INVALID_ARGUMENT, "the global board is computed; submit to a game's board");
            continue;
        }
        int rc = boards_get(call->srv->boards, call->w->pg, it->board_id, &it->b, &it->st);
        if (rc == RK_WOULD_BLOCK) return RPC_SLOW;
        if (rc != RK_OK) continue;
        if (it->b.nsources > 0) {
            rk_status_set(&it->st, RK_FAILED_PRECONDITION,
                          "board %s is an aggregate of other boards; submit to one of them", it->b.id);
            continue;
        }
        validate_score(&it->b, it->score, &it->st);
    }

    /* Players named by name: every one of the batch in one look-up. Players
     * named by id need none in the one-key layout: rk_submit checks them in
     * the same round trip. In the split layout the user directory is in
     * another slot, so they are looked up too (from memory once known). */
    size_t k = 0;
    int by_id = rstore_get_layout() == RSTORE_SPLIT;
    for (size_t i = 0; i < n; i++) {
        found[i] = items[i].user_id > 0;
        if (items[i].st.code == RK_OK && (items[i].user_id <= 0 || by_id)) {
            ids[k] = items[i].user_id > 0 ? items[i].user_id : 0;
            names[k] = items[i].user_id > 0 ? NULL : items[i].username;
            idx[k++] = i;
        }
    }
    if (k > 0) {
        int *f = ARENA_ARRAY(call, int, k);
        if (f == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        int rc = users_resolve(call, ids, names, k, f, resolved, st);
        if (rc != RK_OK) return rc;
        for (size_t j = 0; j < k; j++) {
            found[idx[j]] = f[j];
            items[idx[j]].user_id = ids[j];
        }
    }

    size_t m = 0;
    int64_t now = server_wall_us();
    for (size_t i = 0; i < n; i++) {
        item *it = &items[i];
        if (it->st.code != RK_OK) continue;
        if (!found[i]) {
            if (it->user_id > 0)
                rk_status_set(&it->st, RK_NOT_FOUND, "user %lld not found", (long long)it->user_id);
            else
                rk_status_set(&it->st, RK_NOT_FOUND, "user %s not found", it->username);
            continue;
        }
        if (auth_can_submit(&call->who, &it->b, it->user_id, &it->st) != RK_OK) continue;
        char why[BANSET_REASON_MAX + 1];
        if (banset_check(call->srv->bans, it->user_id, why, sizeof(why))) {
            rk_status_set(&it->st, RK_PERMISSION_DENIED, "player %lld is banned: %s", (long long)it->user_id,
                          why[0] ? why : "no reason given");
            continue;
        }
        int oom = 0;
        const char *key = scoped_key(call, it->idem_key, &oom);
        if (oom) {
            rk_status_set(&it->st, RK_RESOURCE_EXHAUSTED, "out of memory");
            continue;
        }
        /* One microsecond apart, so equal scores in a batch keep the batch's order. */
        in[m] = (rstore_submit_in){.b = &it->b,
                                   .user_id = it->user_id,
                                   .score = it->score,
                                   .ts_us = now + (int64_t)m,
                                   .idem_key = key,
                                   .meta = it->meta};
        idx[m++] = i;
    }
    s->in = in;
    s->idx = idx;
    s->m = m;
    if (m == 0) return RK_OK;
    s->res = ARENA_ARRAY(call, rstore_submit_out, m);
    if (s->res == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    return server_check_deadline(call, st);
}

/* Stored: the items take their outcome, and this rankd's cached top
 * pages of their boards are dropped before the acknowledgement, so a read
 * through it sees the new scores. */
static void items_stored(submit_call *s) {
    for (size_t j = 0; j < s->m; j++) {
        s->outs[s->idx[j]] = s->res[j];
        s->items[s->idx[j]].st = s->res[j].status;
        topcache_invalidate_sums(s->call->srv->tops, s->in[j].b);
        /* An aggregate of the board came or went since it was read: the
         * next submission reads it again (the refused one changed nothing,
         * and the caller retries UNAVAILABLE). */
        if (rstore_stale_board(&s->res[j].status)) boards_stale(s->call->srv->boards, s->in[j].b->id);
    }
}

/* The worker pool: one pipelined round trip, or PostgreSQL without Redis. */
static int store_items(submit_call *s, rk_status *st) {
    rpc_call *call = s->call;
    /* While Redis cannot serve, or submissions taken without it are being
     * replayed, new ones are recorded in PostgreSQL and queue behind them,
     * so every board sees them in the order they came. */
    recovery *rec = call->srv->recovery;
    rstore_wait wait = {call->srv->cfg.redis_wait_replicas, call->srv->cfg.redis_wait_timeout_ms};
    int rc = recovery_write_begin(rec) == RECOVERY_TO_REDIS
                 ? rstore_submit(call->w->redis, s->in, s->m, call->srv->cfg.idempotency_ttl,
                                 call->srv->cfg.window_retention, &wait, s->res, st)
                 : RK_UNAVAILABLE;
    if (rc == RK_UNAVAILABLE) {
        /* Redis is away: PostgreSQL records the submissions durably. */
        rk_status_clear(st);
        call->degraded = 1;
        rc = degraded_submit(call->w->pg, s->in, s->m, s->res, st);
    }
    recovery_write_end(rec, call->degraded && rc == RK_OK);
    if (rc != RK_OK) return rc;
    for (size_t j = 0; !call->degraded && j < s->m; j++) {
        /* A hot board's shard answered with its own ranks: the board's
         * count every shard (0, not known, when they cannot be had now). */
        rk_status ignore;
        if (s->in[j].b->shards > 1 &&
            shards_submitted(call->w->redis, s->in[j].b, s->in[j].user_id, &s->res[j], &ignore) == RK_OK)
            shards_publish_rank(call->w->redis, s->in[j].b, s->in[j].user_id, &s->res[j], &ignore);
    }
    items_stored(s);
    if (!call->degraded) recheck_unknown(call, s->items, s->outs, s->in, s->idx, s->m, s->res, st);
    return RK_OK;
}

static int answer_items(submit_call *s, ProtobufCMessage **out, rk_status *st);

static void submitted(void *arg, const struct redisReply *rep) {
    submit_call *s = arg;
    size_t j = s->m - s->waiting; /* replies come in the order sent */
    if (rep == NULL)
        /* Sent, but the connection went before the answer: the outcome is
         * unknown, so it is not tried again here (a retry with the
         * idempotency key is safe). */
        rk_status_set(&s->res[j].status, RK_UNAVAILABLE,
                      "the connection to Redis was lost before it answered; retry with the idempotency key");
    else
        rsubmit_parse(rep, &s->res[j]);
    if (--s->waiting > 0) return;

    rpc_call *call = s->call;
    rk_status st;
    rk_status_clear(&st);
    ProtobufCMessage *reply = NULL;
    int unknown = 0;
    for (size_t i = 0; i < s->m; i++) unknown |= s->res[i].status.code == RK_NOT_FOUND;
    /* A player missing from Redis's directory is asked of PostgreSQL on the
     * worker pool; rk_submit refused it before writing anything, so a lone
     * submission can be run there again. In a batch the others were
     * written: it answers NOT_FOUND. */
    if (unknown && !s->batch) {
        call->done(call, RPC_SLOW, NULL, &st);
        return;
    }
    items_stored(s);
    int rc = answer_items(s, &reply, &st);
    call->done(call, rc, reply, &st);
}

/* The event loops: the items' FCALLs leave in this loop turn's write. */
static int send_items(submit_call *s, rk_status *st) {
    rpc_call *call = s->call;
    server *srv = call->srv;
    /* Never wait for the replay here: if it holds the lock, or Redis
     * cannot take writes, the worker pool records this behind it. */
    recovery_route route;
    if (recovery_write_try_begin(srv->recovery, &route) != 0) return RPC_SLOW;
    int rc = RK_OK;
    /* WAIT would hold the loop's one connection for every call on it:
     * acknowledgements that wait for replicas are the workers'. */
    if (route != RECOVERY_TO_REDIS || !rasync_up(call->ra) || srv->cfg.redis_wait_replicas > 0) rc = RPC_SLOW;
    /* A hot board's reply ranks count every shard: the workers do. */
    for (size_t j = 0; rc == RK_OK && j < s->m; j++)
        if (s->in[j].b->shards > 1) rc = RPC_SLOW;
    for (size_t j = 0; rc == RK_OK && j < s->m; j++) {
        rsubmit_cmd cmd;
        rsubmit_build(&s->in[j], srv->cfg.idempotency_ttl, srv->cfg.window_retention, &cmd);
        if (rasync_command(call->ra, cmd.argc, cmd.argv, submitted, s, st) != RK_OK) {
            /* Only the first can fail (not connected): nothing was sent. */
            rk_status_clear(st);
            rc = j == 0 ? RPC_SLOW : rk_status_set(st, RK_INTERNAL, "Redis refused a command halfway");
            break;
        }
        s->waiting++;
    }
    recovery_write_end(srv->recovery, 0);
    if (s->waiting > 0 && rc != RK_OK) {
        /* The sent ones will still answer; the rest were never sent. */
        for (size_t j = s->waiting; j < s->m; j++) s->items[s->idx[j]].st = *st;
        s->m = s->waiting;
    }
    return s->waiting > 0 ? RPC_PENDING : rc;
}

/* Checks, stores and answers on whichever lane the call is. */
static int submit_run(submit_call *s, ProtobufCMessage **out, rk_status *st) {
    int rc = check_items(s, st);
    if (rc != RK_OK) return rc;
    if (s->m == 0) return answer_items(s, out, st);
    if (s->call->ra) return send_items(s, st);
    if ((rc = store_items(s, st)) != RK_OK) return rc;
    return answer_items(s, out, st);
}

static Rankd__SubmitReply *reply_of(rpc_call *call, const item *it, const rstore_submit_out *o) {
    Rankd__SubmitReply *r = arena_alloc(&call->w->arena, sizeof(*r));
    if (r == NULL) return NULL;
    rankd__submit_reply__init(r);
    r->has_score = r->has_rank = r->has_personal_best = r->has_board_size = r->has_replayed = 1;
    r->has_user_id = 1;
    r->score = o->score;
    r->rank = o->rank;
    r->personal_best = o->personal_best;
    r->board_size = o->board_size;
    r->replayed = o->replayed;
    r->user_id = it->user_id;
    /* Left out when the player was not on the board, or Redis was away. */
    if (o->previous_rank > 0) {
        r->has_previous_rank = r->has_previous_score = 1;
        r->previous_rank = o->previous_rank;
        r->previous_score = o->previous_score;
    }
    if (o->held) r->has_held = r->held = 1;
    return r;
}

/* The reply: one item's, or every item's in a batch. */
static int answer_items(submit_call *s, ProtobufCMessage **out, rk_status *st) {
    rpc_call *call = s->call;
    if (!s->batch) {
        if (s->items[0].st.code != RK_OK) {
            *st = s->items[0].st;
            return st->code;
        }
        Rankd__SubmitReply *rep = reply_of(call, &s->items[0], &s->outs[0]);
        if (rep == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        *out = &rep->base;
        return RK_OK;
    }
    Rankd__SubmitBatchReply *rep = arena_alloc(&call->w->arena, sizeof(*rep));
    Rankd__BatchResult **results = ARENA_ARRAY(call, Rankd__BatchResult *, s->n);
    if (!rep || !results) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    rankd__submit_batch_reply__init(rep);
    for (size_t i = 0; i < s->n; i++) {
        Rankd__BatchResult *r = arena_alloc(&call->w->arena, sizeof(*r));
        if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        rankd__batch_result__init(r);
        r->has_code = 1;
        r->code = s->items[i].st.code;
        if (r->code != RK_OK) {
            r->message = arena_strdup(&call->w->arena, s->items[i].st.message);
            int64_t wait = s->items[i].st.retry_after_ms;
            r->has_retry_after_ms = wait > 0;
            r->retry_after_ms = wait > UINT32_MAX ? UINT32_MAX : (uint32_t)wait;
        } else if ((r->reply = reply_of(call, &s->items[i], &s->outs[i])) == NULL)
            return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        results[i] = r;
    }
    rep->n_results = s->n;
    rep->results = results;
    *out = &rep->base;
    return RK_OK;
}

static submit_call *submit_call_new(rpc_call *call, size_t n, int batch) {
    submit_call *s = arena_alloc(&call->w->arena, sizeof(*s));
    if (s == NULL) return NULL;
    s->call = call;
    s->n = n;
    s->batch = batch;
    s->items = ARENA_ARRAY(call, item, n);
    s->outs = ARENA_ARRAY(call, rstore_submit_out, n);
    return s->items && s->outs ? s : NULL;
}

static int submit(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__SubmitRequest *req = (const Rankd__SubmitRequest *)m;
    submit_call *s = submit_call_new(call, 1, 0);
    if (s == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    s->items[0] = (item){.board_id = req->board_id,
                         .user_id = req->has_user_id ? req->user_id : 0,
                         .username = req->username,
                         .has_score = req->has_score,
                         .score = req->score,
                         .idem_key = call->idempotency_key,
                         .meta = req->meta};
    return submit_run(s, out, st);
}

static int submit_batch(rpc_call *call, const ProtobufCMessage *m, ProtobufCMessage **out, rk_status *st) {
    const Rankd__SubmitBatchRequest *req = (const Rankd__SubmitBatchRequest *)m;
    size_t n = req->n_entries;
    if (n == 0) return rk_status_set(st, RK_INVALID_ARGUMENT, "batch is empty");
    if (n > SUBMIT_BATCH_MAX)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "batch has %zu entries; the limit is %d", n, SUBMIT_BATCH_MAX);
    submit_call *s = submit_call_new(call, n, 1);
    if (s == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const Rankd__BatchEntry *e = req->entries[i];
        s->items[i] = (item){.board_id = e->board_id,
                             .user_id = e->has_user_id ? e->user_id : 0,
                             .username = e->username,
                             .has_score = e->has_score,
                             .score = e->score,
                             .idem_key = e->idempotency_key && e->idempotency_key[0] ? e->idempotency_key : NULL,
                             .meta = e->meta};
    }
    return submit_run(s, out, st);
}

/* The same bodies on both lanes: the call says which it is on. */
int h_submit(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return submit(c, m, o, st);
}
int f_submit(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return submit(c, m, o, st);
}
int h_submit_batch(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return submit_batch(c, m, o, st);
}
int f_submit_batch(rpc_call *c, const ProtobufCMessage *m, ProtobufCMessage **o, rk_status *st) {
    return submit_batch(c, m, o, st);
}
