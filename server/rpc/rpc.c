/*
 * rpc.c - nng REP contexts feeding two lanes: event loops and a worker pool.
 *
 * Context states:
 *   RECV   waiting in nng_ctx_recv; the callback posts it to its loop
 *   QUEUED on a loop, or on the worker queue
 *   SEND   nng_ctx_send in progress; the callback re-arms RECV
 *
 * Each context belongs to one event loop (loop.h). The loop decodes the
 * envelope and, when the method has a fast handler, runs it there: the
 * common case of a read or a submission is decoded, authorised, sent to
 * Redis, answered and packed on that one thread, with the commands of
 * every request of one loop turn in one write. Anything that must block
 * (PostgreSQL, scrypt, a rebuilding board, Redis away) goes to the worker
 * pool, which runs the method's ordinary handler from the start. With
 * loops 0 every request goes to the workers directly.
 *
 * Envelope errors (bad bytes, unknown method, bad token, expired deadline)
 * are answered here with their canonical code; handlers see only
 * well-formed, authorised requests.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include <rankd/rankd.pb-c.h>

#include "auth.h"
#include "conns.h"
#include "handlers.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "recovery.h"
#include "rpc.h"
#include "tlsconf.h"
#include "validate.h"
#include "wire.h"

/* The longest legitimate envelope around a method's request: the method
 * name (64 bytes is more than any), the deadline, a token (TOKEN_MAX) or
 * an API key, an idempotency key, and the payload's tag and length. */
#define RPC_ENVELOPE_MAX \
    (WIRE_LEN_FIELD(64) + WIRE_INT_FIELD + WIRE_LEN_FIELD(TOKEN_MAX) + WIRE_LEN_FIELD(IDEMPOTENCY_KEY_MAX) + 1 + 5)

typedef enum { CTX_RECV, CTX_QUEUED, CTX_SEND, CTX_IDLE } ctx_state;

typedef struct rpc_ctx {
    rpc_server *srv;
    nng_ctx ctx;
    nng_aio *aio;
    ctx_state state;
    nng_msg *req;
    int64_t received_us;
    char peer[64];        /* the sender's address (rpc_call.peer) */
    struct rpc_ctx *next; /* work queue link */
    loop *loop;           /* its event loop, or NULL (loops 0) */
    loop_task task;       /* posted to the loop on arrival */
    /* A fast-lane call: its pseudo-worker (no stores; the context's own
     * arena) and the call itself, alive until it is answered. */
    worker fw;
    rpc_call call;
    int method;
    int skip_redis; /* handed to the workers with call.skip_redis */
    nng_pipe pipe;  /* the connection the request came on */
} rpc_ctx;

struct rpc_server {
    server *srv;
    const rpc_method *methods;
    size_t nmethods;
    nng_socket sock;
    conns *conns; /* the socket's connections: the cap, the idle timeout */
    nng_listener *listeners;
    size_t nlisteners;
    rpc_ctx *ctxs;
    size_t nctxs;
    worker *workers;
    pthread_t *threads;
    size_t nworkers;
    loop **loops;
    size_t nloops;

    pthread_mutex_t mu;
    pthread_cond_t cv;      /* idle workers wait here for the queue */
    pthread_cond_t drained; /* rpc_stop waits here for busy to reach 0 */
    rpc_ctx *head, *tail;   /* work queue */
    int busy;               /* contexts in QUEUED or SEND */
    int stopping;           /* workers exit when the queue is empty */
    int draining;           /* answer new requests UNAVAILABLE, do not re-arm */
};

/* ---------------------------------------------------------------- nng callbacks */

/* The address the message came from, as rpc_call.peer describes it. */
static void peer_text(nng_msg *m, char *out, size_t cap) {
    nng_sockaddr sa;
    char ip[INET6_ADDRSTRLEN];
    out[0] = '\0';
    nng_pipe p = nng_msg_get_pipe(m);
    if (nng_pipe_id(p) < 0 || nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0) return;
    switch (sa.s_family) {
        case NNG_AF_INET:
            if (inet_ntop(AF_INET, &sa.s_in.sa_addr, ip, sizeof(ip))) snprintf(out, cap, "tcp %s", ip);
            break;
        case NNG_AF_INET6: {
            uint8_t prefix[16] = {0};
            memcpy(prefix, sa.s_in6.sa_addr, 8);
            if (inet_ntop(AF_INET6, prefix, ip, sizeof(ip))) snprintf(out, cap, "tcp %s/64", ip);
            break;
        }
        case NNG_AF_IPC:
        case NNG_AF_ABSTRACT: snprintf(out, cap, "ipc"); break;
        case NNG_AF_INPROC: snprintf(out, cap, "inproc"); break;
        default: break;
    }
}

/* Queues a received request for the worker pool. */
static void to_workers(rpc_ctx *c) {
    rpc_server *r = c->srv;
    pthread_mutex_lock(&r->mu);
    c->next = NULL;
    if (r->tail)
        r->tail->next = c;
    else
        r->head = c;
    r->tail = c;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void ctx_cb(void *arg) {
    rpc_ctx *c = arg;
    rpc_server *r = c->srv;
    int rv = nng_aio_result(c->aio);

    if (c->state == CTX_SEND) {
        if (rv != 0) nng_msg_free(nng_aio_get_msg(c->aio));
        pthread_mutex_lock(&r->mu);
        r->busy--;
        int draining = r->draining;
        c->state = draining ? CTX_IDLE : CTX_RECV;
        /* Only rpc_stop waits for this: idle workers are not woken. */
        if (draining) pthread_cond_broadcast(&r->drained);
        pthread_mutex_unlock(&r->mu);
        if (!draining) nng_ctx_recv(c->ctx, c->aio);
        return;
    }
    if (c->state != CTX_RECV) return;
    if (rv != 0) {
        /* Closed or cancelled: stop. Anything else: receive again. */
        if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
            c->state = CTX_IDLE;
            return;
        }
        nng_ctx_recv(c->ctx, c->aio);
        return;
    }
    c->req = nng_aio_get_msg(c->aio);
    c->received_us = server_now_us();
    peer_text(c->req, c->peer, sizeof(c->peer));
    c->pipe = nng_msg_get_pipe(c->req);
    conns_begin(r->conns, c->pipe);
    c->state = CTX_QUEUED;
    if (c->loop) {
        pthread_mutex_lock(&r->mu);
        r->busy++;
        pthread_mutex_unlock(&r->mu);
        loop_post(c->loop, &c->task);
        return;
    }
    pthread_mutex_lock(&r->mu);
    r->busy++;
    pthread_mutex_unlock(&r->mu);
    to_workers(c);
}

/* ---------------------------------------------------------------- envelope */

static const rpc_method *find_method(rpc_server *r, const char *name) {
    for (size_t i = 0; i < r->nmethods; i++)
        if (strcmp(r->methods[i].name, name) == 0) return &r->methods[i];
    return NULL;
}

/* The same for a name still on the wire (not NUL-terminated). */
static const rpc_method *find_method_n(rpc_server *r, const uint8_t *name, size_t n) {
    for (size_t i = 0; i < r->nmethods; i++)
        if (strlen(r->methods[i].name) == n && memcmp(r->methods[i].name, name, n) == 0) return &r->methods[i];
    return NULL;
}

/* Refuses a request longer than its method's bound plus the longest
 * legitimate envelope around it, judged on the wire: decoding copies the
 * payload and every string in it, so an oversized request must be turned
 * away before that. An unknown method or malformed bytes are left to the
 * decoder's checks. */
static int check_size(rpc_server *r, const uint8_t *data, size_t len, int *method, rk_status *st) {
    const uint8_t *name;
    size_t n;
    if (wire_find_len_field(data, len, 1, &name, &n) != 1) return RK_OK;
    const rpc_method *m = find_method_n(r, name, n);
    if (m == NULL || len <= m->max_request + RPC_ENVELOPE_MAX) return RK_OK;
    *method = (int)(m - r->methods);
    return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "%s request is %zu bytes; its limit is %zu bytes", m->name, len,
                         m->max_request + RPC_ENVELOPE_MAX);
}

static int check_access(const rpc_method *m, const principal *who, rk_status *st) {
    if (m->access == ACCESS_ANYONE) return RK_OK;
    if (who->kind == WHO_ANONYMOUS)
        return rk_status_set(st, RK_UNAUTHENTICATED, "%s needs a token (log in first)", m->name);
    if (m->access == ACCESS_ADMIN && !(who->kind == WHO_USER && who->role == 3))
        return rk_status_set(st, RK_PERMISSION_DENIED, "%s is for admins only", m->name);
    return RK_OK;
}

/* Everything before the handler, for either lane: decodes the envelope
 * and the payload into call->w's arena, checks the deadline, resolves the
 * caller and its access. call has its lane's fields set; on the fast lane
 * a step that would block answers RPC_SLOW. */
static int prepare(rpc_server *r, rpc_ctx *c, rpc_call *call, const rpc_method **mp, int *method,
                   ProtobufCMessage **req, rk_status *st) {
    ProtobufCAllocator *al = arena_allocator(&call->w->arena);
    int rc;
    if ((rc = check_size(r, nng_msg_body(c->req), nng_msg_len(c->req), method, st)) != RK_OK) return rc;
    /* Strings are judged on the wire, where they still have their length. */
    if ((rc = wire_check_strings(&rankd__request_envelope__descriptor, nng_msg_body(c->req), nng_msg_len(c->req),
                                 st)) != RK_OK)
        return rc;
    Rankd__RequestEnvelope *env = rankd__request_envelope__unpack(al, nng_msg_len(c->req), nng_msg_body(c->req));
    if (env == NULL) return rk_status_set(st, RK_INVALID_ARGUMENT, "request is not a valid rankd.RequestEnvelope");
    if (env->method == NULL) return rk_status_set(st, RK_INVALID_ARGUMENT, "envelope names no method");

    const rpc_method *m = find_method(r, env->method);
    if (m == NULL) return rk_status_set(st, RK_UNIMPLEMENTED, "unknown method \"%.100s\"", env->method);
    *method = (int)(m - r->methods);
    *mp = m;
    if (call->ra && m->fast == NULL) return RPC_SLOW;

    int64_t deadline_ms = env->has_deadline_ms && env->deadline_ms ? env->deadline_ms : r->srv->cfg.default_deadline_ms;
    call->deadline_us = c->received_us + deadline_ms * 1000;
    if (env->idempotency_key && env->idempotency_key[0]) {
        if (strlen(env->idempotency_key) > IDEMPOTENCY_KEY_MAX)
            return rk_status_set(st, RK_INVALID_ARGUMENT, "idempotency key is longer than %d bytes",
                                 IDEMPOTENCY_KEY_MAX);
        call->idempotency_key = env->idempotency_key;
    }
    if ((rc = server_check_deadline(call, st)) != RK_OK) return rc;
    if ((rc = auth_resolve(call, env->auth_token, st)) != RK_OK) return rc;
    if ((rc = check_access(m, &call->who, st)) != RK_OK) return rc;

    if ((rc = wire_check_strings(m->input, env->payload.data, env->payload.len, st)) != RK_OK) return rc;
    *req = protobuf_c_message_unpack(m->input, al, env->payload.len, env->payload.data);
    if (*req == NULL) return rk_status_set(st, RK_INVALID_ARGUMENT, "payload is not a valid %s", m->input->name);
    return RK_OK;
}

/* Packs the reply envelope into a new message. */
static nng_msg *encode(worker *w, const rk_status *st, const ProtobufCMessage *reply, int degraded) {
    Rankd__ReplyEnvelope env = RANKD__REPLY_ENVELOPE__INIT;
    env.has_code = 1;
    env.code = st->code;
    env.has_degraded = degraded;
    env.degraded = degraded;
    if (st->code != RK_OK) {
        env.message = (char *)st->message;
        env.has_retry_after_ms = st->retry_after_ms > 0;
        env.retry_after_ms = st->retry_after_ms > UINT32_MAX ? UINT32_MAX : (uint32_t)st->retry_after_ms;
    } else if (reply) {
        size_t n = protobuf_c_message_get_packed_size(reply);
        uint8_t *buf = arena_alloc(&w->arena, n ? n : 1);
        if (buf) {
            protobuf_c_message_pack(reply, buf);
            env.has_payload = 1;
            env.payload.data = buf;
            env.payload.len = n;
        } else {
            env.code = RK_RESOURCE_EXHAUSTED;
            env.message = "out of memory";
        }
    }
    nng_msg *msg = NULL;
    size_t n = rankd__reply_envelope__get_packed_size(&env);
    if (nng_msg_alloc(&msg, n) != 0) return NULL;
    rankd__reply_envelope__pack(&env, nng_msg_body(msg));
    return msg;
}

/* Counts, packs and sends the answer to c's request (from w's arena,
 * which is reset), on whichever thread answered it. */
static void answer(rpc_server *r, rpc_ctx *c, worker *w, int method, const rk_status *st, const ProtobufCMessage *reply,
                   int degraded) {
    degraded |= recovery_degraded(r->srv->recovery);
    int64_t us = server_now_us() - c->received_us;
    const char *name = method >= 0 ? r->methods[method].name : "?";
    atomic_fetch_add(&r->srv->requests, 1);
    metrics_request(method, st->code, us);
    if (st->code == RK_INTERNAL) log_warn("internal error", "method=%s error=\"%s\"", name, st->message);
    /* One line per call: at warn when it was slow, so an operator sees
     * those without debug's firehose; else at debug (log_emit returns at
     * once below its level, so this costs nothing at info). The duration
     * is the one /metrics counts: from receipt to this answer. */
    int64_t slow_ms = r->srv->cfg.slow_request_ms;
    if (slow_ms > 0 && us > slow_ms * 1000)
        log_warn("slow request", "method=%s code=%s us=%lld slow_request_ms=%lld peer=\"%s\"", name,
                 rk_code_name(st->code), (long long)us, (long long)slow_ms, c->peer);
    else
        log_debug("request", "method=%s code=%s us=%lld peer=\"%s\"", name, rk_code_name(st->code), (long long)us,
                  c->peer);

    nng_msg *out = encode(w, st, st->code == RK_OK ? reply : NULL, degraded);
    arena_reset(&w->arena);
    conns_end(r->conns, c->pipe);
    nng_msg_free(c->req);
    c->req = NULL;
    c->state = CTX_SEND;
    if (out == NULL) {
        /* Cannot even say so: drop the request; the client's deadline fires. */
        pthread_mutex_lock(&r->mu);
        r->busy--;
        c->state = CTX_RECV;
        if (r->draining) pthread_cond_broadcast(&r->drained);
        pthread_mutex_unlock(&r->mu);
        nng_ctx_recv(c->ctx, c->aio);
        return;
    }
    nng_aio_set_msg(c->aio, out);
    nng_ctx_send(c->ctx, c->aio);
}

/* ---------------------------------------------------------------- the fast lane */

#define CTX_OF(callp) ((rpc_ctx *)((char *)(callp)-offsetof(rpc_ctx, call)))

/* Ends a fast-lane call: answers it, or hands it to the workers. */
static void fast_end(rpc_ctx *c, int rc, const ProtobufCMessage *reply, const rk_status *st) {
    if (rc == RPC_SLOW || rc == RPC_PENDING) {
        if (c->method >= 0 && c->srv->methods[c->method].fast) metrics_to_workers(c->method);
        c->skip_redis = c->call.skip_redis;
        arena_reset(&c->fw.arena);
        to_workers(c);
        return;
    }
    answer(c->srv, c, &c->fw, c->method, st, reply, c->call.degraded);
}

static void fast_done(rpc_call *call, int rc, ProtobufCMessage *reply, const rk_status *st) {
    fast_end(CTX_OF(call), rc, reply, st);
}

static void fast_defer(rpc_call *call, loop_task *t, int64_t delay_ms) { loop_defer(CTX_OF(call)->loop, t, delay_ms); }

/* On the context's loop: decode, and run the method's fast handler. */
static void ctx_run(loop_task *t) {
    rpc_ctx *c = (rpc_ctx *)((char *)t - offsetof(rpc_ctx, task));
    rpc_server *r = c->srv;
    rk_status st;
    rk_status_clear(&st);
    ProtobufCMessage *req = NULL, *reply = NULL;
    const rpc_method *m = NULL;
    c->method = -1;
    c->skip_redis = 0;
    c->call = (rpc_call){
        .w = &c->fw, .srv = r->srv, .peer = c->peer, .ra = loop_redis(c->loop), .done = fast_done, .defer = fast_defer};
    int rc = r->draining ? RPC_SLOW : prepare(r, c, &c->call, &m, &c->method, &req, &st);
    if (rc == RK_OK) rc = m->fast(&c->call, req, &reply, &st);
    if (rc == RPC_PENDING) return;
    fast_end(c, rc, reply, &st);
}

/* ---------------------------------------------------------------- the worker pool */

typedef struct worker_arg {
    rpc_server *r;
    worker *w;
} worker_arg;

static void *worker_loop(void *arg) {
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    rpc_server *r = wa.r;
    worker *w = wa.w;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (r->head == NULL && !r->stopping) pthread_cond_wait(&r->cv, &r->mu);
        rpc_ctx *c = r->head;
        if (c == NULL) {
            pthread_mutex_unlock(&r->mu);
            break;
        }
        r->head = c->next;
        if (r->head == NULL) r->tail = NULL;
        int draining = r->draining;
        pthread_mutex_unlock(&r->mu);

        rk_status st;
        ProtobufCMessage *req = NULL, *reply = NULL;
        const rpc_method *m = NULL;
        int method = -1;
        rpc_call call = {.w = w, .srv = r->srv, .peer = c->peer, .skip_redis = c->skip_redis};
        rk_status_clear(&st);
        if (draining)
            rk_status_set(&st, RK_UNAVAILABLE, "rankd is shutting down; retry another server");
        else if (prepare(r, c, &call, &m, &method, &req, &st) == RK_OK)
            m->fn(&call, req, &reply, &st);
        answer(r, c, w, method, &st, reply, call.degraded);
    }
    return NULL;
}

/* ---------------------------------------------------------------- lifecycle */

static int listen_all(rpc_server *r, rk_status *st) {
    char *list = strdup(r->srv->cfg.listen), *save = NULL;
    int rv;
    if (list == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    size_t cap = 1;
    for (const char *p = list; *p; p++) cap += *p == ',';
    r->listeners = calloc(cap, sizeof(*r->listeners));
    if (r->listeners == NULL) {
        free(list);
        return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
        while (*u == ' ') u++;
        if (*u == '\0') continue;
        nng_listener l;
        if (tlsconf_url_is_tls(u) && r->srv->tls == NULL) { /* main.c made it for every TLS address */
            free(list);
            return rk_status_set(st, RK_INVALID_ARGUMENT, "%s needs tls-cert and tls-key", u);
        }
        if ((rv = nng_listener_create(&l, r->sock, u)) != 0 ||
            (rv = nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, (size_t)r->srv->cfg.max_message)) != 0 ||
            (tlsconf_url_is_tls(u) && (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, r->srv->tls)) != 0) ||
            (rv = nng_listener_start(l, 0)) != 0) {
            rk_status_set(st, RK_UNAVAILABLE, "cannot listen on %s: %s", u, nng_strerror(rv));
            free(list);
            return st->code;
        }
        r->listeners[r->nlisteners++] = l;
        log_info("listening", "url=%s", u);
    }
    free(list);
    if (r->nlisteners == 0) return rk_status_set(st, RK_INVALID_ARGUMENT, "no listen address configured");
    return RK_OK;
}

int rpc_start(rpc_server **out, server *srv, const rpc_method *methods, size_t n, rk_status *st) {
    int rv, rc;
    rpc_server *r = calloc(1, sizeof(*r));
    if (r == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    r->srv = srv;
    r->methods = methods;
    r->nmethods = n;
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    pthread_cond_init(&r->drained, NULL);
    *out = r;

    if ((rv = nng_rep0_open(&r->sock)) != 0)
        return rk_status_set(st, RK_INTERNAL, "cannot open REP socket: %s", nng_strerror(rv));
    nng_socket_set_size(r->sock, NNG_OPT_RECVMAXSZ, (size_t)srv->cfg.max_message);
    if ((rc = conns_start(&r->conns, r->sock, "rpc", srv->cfg.max_connections, srv->cfg.idle_timeout_ms, NULL, st)) !=
        RK_OK)
        return rc;

    r->nworkers = (size_t)srv->cfg.workers;
    r->workers = calloc(r->nworkers, sizeof(*r->workers));
    r->threads = calloc(r->nworkers, sizeof(*r->threads));
    r->nctxs = (size_t)srv->cfg.contexts;
    r->ctxs = calloc(r->nctxs, sizeof(*r->ctxs));
    if (!r->workers || !r->threads || !r->ctxs) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");

    for (size_t i = 0; i < r->nworkers; i++) {
        worker *w = &r->workers[i];
        rk_status ignore;
        w->srv = srv;
        arena_init(&w->arena);
        /* A store that is down now is retried on each call. */
        if (srv->pipe)
            rstore_open_piped(&w->redis, srv->pipe, srv->cfg.redis, &ignore);
        else
            rstore_open(&w->redis, srv->cfg.redis, &ignore);
        pgstore_open(&w->pg, srv->cfg.postgres, &ignore);
        if (w->redis == NULL || w->pg == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    r->nloops = srv->cfg.loops >= 0 ? (size_t)srv->cfg.loops : (size_t)(cores > 0 ? cores : 1);
    r->loops = calloc(r->nloops ? r->nloops : 1, sizeof(*r->loops));
    if (r->loops == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    /* A stalled Redis drops a loop's connection well within a default deadline. */
    int64_t stall_ms = srv->cfg.default_deadline_ms / 2 > 100 ? srv->cfg.default_deadline_ms / 2 : 100;
    for (size_t i = 0; i < r->nloops; i++)
        if ((rc = loop_start(&r->loops[i], srv->cfg.redis, stall_ms, st)) != RK_OK) return rc;
    for (size_t i = 0; i < r->nctxs; i++) {
        rpc_ctx *c = &r->ctxs[i];
        c->srv = r;
        c->loop = r->nloops ? r->loops[i % r->nloops] : NULL;
        c->task.run = ctx_run;
        c->fw.srv = srv;
        arena_init(&c->fw.arena);
        if ((rv = nng_ctx_open(&c->ctx, r->sock)) != 0 || (rv = nng_aio_alloc(&c->aio, ctx_cb, c)) != 0)
            return rk_status_set(st, RK_INTERNAL, "cannot open context: %s", nng_strerror(rv));
    }
    for (size_t i = 0; i < r->nworkers; i++) {
        worker_arg *wa = malloc(sizeof(*wa));
        if (wa == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        wa->r = r;
        wa->w = &r->workers[i];
        if (pthread_create(&r->threads[i], NULL, worker_loop, wa) != 0) {
            free(wa);
            return rk_status_set(st, RK_INTERNAL, "cannot start worker thread");
        }
    }
    for (size_t i = 0; i < r->nctxs; i++) {
        r->ctxs[i].state = CTX_RECV;
        nng_ctx_recv(r->ctxs[i].ctx, r->ctxs[i].aio);
    }
    size_t largest = 0;
    for (size_t i = 0; i < n; i++)
        if (methods[i].max_request > methods[largest].max_request) largest = i;
    /* The SP message also carries the 4-byte request id. */
    size_t need = methods[largest].max_request + RPC_ENVELOPE_MAX + 4;
    if ((size_t)srv->cfg.max_message < need)
        log_warn("max-message is below the largest legitimate request; such requests lose their connection",
                 "max_message=%lld method=%s needs=%zu", (long long)srv->cfg.max_message, methods[largest].name, need);
    if ((rc = listen_all(r, st)) != RK_OK) return rc;
    return RK_OK;
}

void rpc_stop(rpc_server *r, int drain_ms) {
    if (r == NULL) return;
    for (size_t i = 0; i < r->nlisteners; i++) nng_listener_close(r->listeners[i]);

    /* Let queued and in-flight requests finish. */
    pthread_mutex_lock(&r->mu);
    r->draining = 1;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += drain_ms / 1000;
    until.tv_nsec += (long)(drain_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (r->busy > 0 && pthread_cond_timedwait(&r->drained, &r->mu, &until) == 0) {
    }
    r->stopping = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);

    for (size_t i = 0; i < r->nworkers; i++)
        if (r->threads && r->threads[i]) pthread_join(r->threads[i], NULL);
    /* Calls still waiting for Redis end (or are dropped) as the loops close. */
    for (size_t i = 0; r->loops && i < r->nloops; i++) loop_stop(r->loops[i]);
    nng_close(r->sock);
    conns_stop(r->conns);
    for (size_t i = 0; i < r->nctxs; i++) {
        if (r->ctxs[i].aio) {
            nng_aio_stop(r->ctxs[i].aio);
            if (r->ctxs[i].req) nng_msg_free(r->ctxs[i].req);
            nng_aio_free(r->ctxs[i].aio);
        }
        arena_free(&r->ctxs[i].fw.arena);
    }
    for (size_t i = 0; i < r->nworkers; i++) {
        rstore_close(r->workers[i].redis);
        pgstore_close(r->workers[i].pg);
        arena_free(&r->workers[i].arena);
    }
    free(r->ctxs);
    free(r->loops);
    free(r->workers);
    free(r->threads);
    free(r->listeners);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    pthread_cond_destroy(&r->drained);
    free(r);
}
