/*
 * client.c - the rankd client transport: envelopes over an nng REQ socket.
 *
 * Design. One REQ socket per rk_client; every call opens its own nng
 * context, which is what makes one client safe to share between threads
 * (contexts are independent request/reply state machines on one socket).
 * The generated stubs in stubs.c are typed wrappers over rk_call and
 * rk_call_async below.
 *
 * What this file must never do: resend a request on its own. nng's REQ
 * resend timer is set to infinite; the only retry is ours, and only for
 * calls that carry an idempotency key, because a blind resend of a
 * submission would count the score twice.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include <rankd/client.h>

#include "dial.h"

/* Bound on asynchronous calls in flight per client: nng 1.5 arms a timer
 * per REQ request, which degrades with thousands outstanding. */
#define RK_MAX_ASYNC 1024
#define RK_RETRY_PAUSE_MS 50
#define RK_POOL_MAX 64 /* idle contexts kept for blocking calls */
#define RK_MAX_DIALERS 16

/* A context and its aio, kept between blocking calls: opening both for
 * every call costs more CPU than the call's own work. */
typedef struct rk_slot {
    nng_ctx ctx;
    nng_aio *aio;
} rk_slot;

/* One asynchronous call in flight (also kept idle in the client's pool). */
typedef struct async_call {
    rk_client *c;
    nng_ctx ctx;
    nng_aio *aio;
    int receiving; /* 0 while sending, 1 while waiting for the reply */
    const ProtobufCMessageDescriptor *reply_desc;
    rk_call_cb cb;
    void *arg;
} async_call;

struct rk_client {
    nng_socket sock;
    nng_dialer dialers[RK_MAX_DIALERS]; /* one per address, for dial_explain */
    int ndialers;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char *token;                /* owned; NULL when not logged in */
    uint32_t deadline_ms;       /* default deadline */
    int pipes;                  /* connected servers, from pipe events */
    int ever_connected;         /* a pipe has been added at some time */
    struct timespec settled_by; /* see rk_client_close */
    int inflight;               /* asynchronous calls not yet completed */
    rk_slot pool[RK_POOL_MAX];
    int npool;                             /* idle slots in pool */
    struct async_call *apool[RK_POOL_MAX]; /* idle asynchronous calls, likewise */
    int napool;
};

/* An idle slot, or a new one. */
static int slot_take(rk_client *c, rk_slot *s) {
    pthread_mutex_lock(&c->mu);
    if (c->npool > 0) {
        *s = c->pool[--c->npool];
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    pthread_mutex_unlock(&c->mu);
    int rv = nng_ctx_open(&s->ctx, c->sock);
    if (rv != 0) return rv;
    if ((rv = nng_aio_alloc(&s->aio, NULL, NULL)) != 0) nng_ctx_close(s->ctx);
    return rv;
}

/* Back to the pool after a clean call; closed after a failed one, whose
 * context may still expect an old reply. */
static void slot_give(rk_client *c, rk_slot *s, int clean) {
    if (clean) {
        pthread_mutex_lock(&c->mu);
        if (c->npool < RK_POOL_MAX) {
            c->pool[c->npool++] = *s;
            pthread_mutex_unlock(&c->mu);
            return;
        }
        pthread_mutex_unlock(&c->mu);
    }
    nng_aio_free(s->aio);
    nng_ctx_close(s->ctx);
}

/* ---------------------------------------------------------------- helpers */

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg) {
    (void)p;
    rk_client *c = arg;
    pthread_mutex_lock(&c->mu);
    if (ev == NNG_PIPE_EV_ADD_POST) {
        c->pipes++;
        c->ever_connected = 1;
        pthread_cond_broadcast(&c->cv);
    } else if (ev == NNG_PIPE_EV_REM_POST && c->pipes > 0)
        c->pipes--;
    pthread_mutex_unlock(&c->mu);
}

static int connected(rk_client *c) {
    pthread_mutex_lock(&c->mu);
    int n = c->pipes;
    pthread_mutex_unlock(&c->mu);
    return n > 0;
}

/* Maps an nng error of a send or receive to a canonical status. */
static int map_nng_error(rk_client *c, int rv, rk_status *st) {
    switch (rv) {
        case NNG_ETIMEDOUT:
            if (!connected(c)) {
                char why[512];
                dial_explain(c->dialers, (size_t)c->ndialers, why, sizeof(why));
                return rk_status_set(st, RK_UNAVAILABLE, "rankd is not reachable%s", why);
            }
            return rk_status_set(st, RK_DEADLINE_EXCEEDED, "deadline exceeded before rankd replied");
        case NNG_ECONNRESET:
        case NNG_ECONNREFUSED:
        case NNG_ECONNSHUT:
        case NNG_ECLOSED: return rk_status_set(st, RK_UNAVAILABLE, "connection to rankd lost: %s", nng_strerror(rv));
        case NNG_ECANCELED: return rk_status_set(st, RK_CANCELLED, "call cancelled");
        case NNG_ENOMEM: return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        default: return rk_status_set(st, RK_UNAVAILABLE, "transport error: %s", nng_strerror(rv));
    }
}

/* Builds the request envelope in a new nng message; caller owns *out. */
static int build_request(rk_client *c, const char *method, const ProtobufCMessage *req, const rk_call_opts *opts,
                         uint32_t deadline_ms, nng_msg **out, rk_status *st) {
    Rankd__RequestEnvelope env = RANKD__REQUEST_ENVELOPE__INIT;
    size_t plen = protobuf_c_message_get_packed_size(req);
    uint8_t *payload = malloc(plen ? plen : 1);
    if (payload == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    protobuf_c_message_pack(req, payload);

    env.method = (char *)method;
    env.has_deadline_ms = 1;
    env.deadline_ms = deadline_ms;
    env.has_payload = 1;
    env.payload.data = payload;
    env.payload.len = plen;
    if (opts && opts->idempotency_key) env.idempotency_key = (char *)opts->idempotency_key;

    pthread_mutex_lock(&c->mu);
    const char *token = opts && opts->token ? opts->token : c->token;
    env.auth_token = (char *)token; /* packed while the lock keeps it alive */
    size_t n = rankd__request_envelope__get_packed_size(&env);
    nng_msg *msg = NULL;
    int rv = nng_msg_alloc(&msg, n);
    if (rv == 0) rankd__request_envelope__pack(&env, nng_msg_body(msg));
    pthread_mutex_unlock(&c->mu);
    free(payload);
    if (rv != 0) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    *out = msg;
    return RK_OK;
}

/* Decodes a reply envelope; on OK, *reply is the decoded payload. */
static int parse_reply(nng_msg *msg, const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply,
                       rk_status *st) {
    Rankd__ReplyEnvelope *env = rankd__reply_envelope__unpack(NULL, nng_msg_len(msg), nng_msg_body(msg));
    if (env == NULL) return rk_status_set(st, RK_INTERNAL, "malformed reply from rankd");
    int code = env->has_code ? env->code : RK_UNKNOWN;
    int degraded = env->has_degraded && env->degraded;
    if (code != RK_OK) {
        rk_status_set(st, code, "%s", env->message ? env->message : rk_code_name(code));
        st->degraded = degraded;
        if (env->has_retry_after_ms) st->retry_after_ms = env->retry_after_ms;
        rankd__reply_envelope__free_unpacked(env, NULL);
        return code;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(reply_desc, NULL, env->payload.len, env->payload.data);
    rankd__reply_envelope__free_unpacked(env, NULL);
    if (m == NULL) return rk_status_set(st, RK_INTERNAL, "malformed reply payload from rankd");
    *reply = m;
    rk_status_clear(st);
    st->degraded = degraded;
    return RK_OK;
}

static uint32_t effective_deadline(rk_client *c, const rk_call_opts *opts) {
    if (opts && opts->deadline_ms) return opts->deadline_ms;
    pthread_mutex_lock(&c->mu);
    uint32_t d = c->deadline_ms;
    pthread_mutex_unlock(&c->mu);
    return d;
}

/* ---------------------------------------------------------------- lifecycle */

#define SETTLE_MS 200 /* see rk_client_close */

int rk_client_open(rk_client **out, const char *urls, rk_status *st) { return rk_client_open_tls(out, urls, NULL, st); }

int rk_client_open_tls(rk_client **out, const char *urls, const rk_tls_opts *tls, rk_status *st) {
    rk_client *c = calloc(1, sizeof(*c));
    char *list = NULL;
    int rv;
    if (c == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->deadline_ms = RK_DEFAULT_DEADLINE_MS;
    clock_gettime(CLOCK_REALTIME, &c->settled_by);
    c->settled_by.tv_nsec += (long)SETTLE_MS * 1000000L;
    if (c->settled_by.tv_nsec >= 1000000000L) {
        c->settled_by.tv_sec++;
        c->settled_by.tv_nsec -= 1000000000L;
    }

    if ((rv = nng_req0_open(&c->sock)) != 0) {
        rk_status_set(st, RK_INTERNAL, "cannot open REQ socket: %s", nng_strerror(rv));
        goto fail_nosock;
    }
    /* Must precede any context: each context copies the socket's value. */
    nng_socket_set_ms(c->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
    nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 50);
    nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000);
    nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, 64u << 20);
    nng_pipe_notify(c->sock, NNG_PIPE_EV_ADD_POST, on_pipe, c);
    nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST, on_pipe, c);

    if ((list = strdup(urls ? urls : "")) == NULL) {
        rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
        goto fail;
    }
    int dialed = 0;
    char *save = NULL;
    for (char *u = strtok_r(list, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
        while (*u == ' ') u++;
        if (*u == '\0') continue;
        if (c->ndialers == RK_MAX_DIALERS) {
            rk_status_set(st, RK_INVALID_ARGUMENT, "at most %d rankd addresses", RK_MAX_DIALERS);
            goto fail;
        }
        if (dial_start(c->sock, u, tls, &c->dialers[c->ndialers], st) != RK_OK) goto fail;
        c->ndialers++;
        dialed++;
    }
    if (dialed == 0) {
        rk_status_set(st, RK_INVALID_ARGUMENT, "no rankd address given");
        goto fail;
    }
    free(list);
    *out = c;
    rk_status_clear(st);
    return RK_OK;

fail:
    nng_close(c->sock);
fail_nosock:
    free(list);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
    return st ? st->code : RK_INTERNAL;
}

void rk_client_close(rk_client *c) {
    if (c == NULL) return;
    pthread_mutex_lock(&c->mu);
    while (c->inflight > 0) pthread_cond_wait(&c->cv, &c->mu);
    /* nng 1.5 can leak the dialer of a connection still being made when
     * its socket closes; a client closed right after it was opened gives
     * its first connection a moment to finish. */
    while (!c->ever_connected && pthread_cond_timedwait(&c->cv, &c->mu, &c->settled_by) == 0) {
    }
    pthread_mutex_unlock(&c->mu);
    for (int i = 0; i < c->npool; i++) {
        nng_aio_free(c->pool[i].aio);
        nng_ctx_close(c->pool[i].ctx);
    }
    for (int i = 0; i < c->napool; i++) {
        nng_aio_free(c->apool[i]->aio);
        nng_ctx_close(c->apool[i]->ctx);
        free(c->apool[i]);
    }
    nng_close(c->sock);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c->token);
    free(c);
}

int rk_client_set_token(rk_client *c, const char *token, rk_status *st) {
    char *copy = NULL;
    if (token && (copy = strdup(token)) == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    pthread_mutex_lock(&c->mu);
    free(c->token);
    c->token = copy;
    pthread_mutex_unlock(&c->mu);
    rk_status_clear(st);
    return RK_OK;
}

void rk_client_set_deadline(rk_client *c, uint32_t deadline_ms) {
    pthread_mutex_lock(&c->mu);
    c->deadline_ms = deadline_ms ? deadline_ms : RK_DEFAULT_DEADLINE_MS;
    pthread_mutex_unlock(&c->mu);
}

void rk_reply_free(void *reply) {
    if (reply) protobuf_c_message_free_unpacked(reply, NULL);
}

/* ---------------------------------------------------------------- blocking calls */

/* One attempt: send, wait for the reply, decode. */
static int call_once(rk_client *c, const char *method, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *reply_desc, ProtobufCMessage **reply, const rk_call_opts *opts,
                     uint32_t remaining, rk_status *st) {
    rk_slot slot;
    nng_msg *msg = NULL;
    int rv, code, clean = 0;

    if ((code = build_request(c, method, req, opts, remaining, &msg, st)) != RK_OK) return code;
    if ((rv = slot_take(c, &slot)) != 0) {
        nng_msg_free(msg);
        return map_nng_error(c, rv, st);
    }
    nng_ctx ctx = slot.ctx;
    nng_aio *aio = slot.aio;
    nng_aio_set_timeout(aio, (nng_duration)remaining);
    nng_aio_set_msg(aio, msg);
    nng_ctx_send(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0) {
        nng_msg_free(nng_aio_get_msg(aio));
        code = map_nng_error(c, rv, st);
        goto done;
    }
    nng_ctx_recv(ctx, aio);
    nng_aio_wait(aio);
    if ((rv = nng_aio_result(aio)) != 0) {
        code = map_nng_error(c, rv, st);
        goto done;
    }
    msg = nng_aio_get_msg(aio);
    code = parse_reply(msg, reply_desc, reply, st);
    nng_msg_free(msg);
    clean = 1; /* a reply came: the context is idle again */
done:
    slot_give(c, &slot, clean);
    return code;
}

int rk_call(rk_client *c, const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
            ProtobufCMessage **reply, const rk_call_opts *opts, rk_status *st) {
    rk_status local;
    if (st == NULL) st = &local;
    *reply = NULL;
    uint32_t deadline = effective_deadline(c, opts);
    uint64_t end = now_ms() + deadline;
    int retry = opts && opts->idempotency_key && opts->idempotency_key[0];
    for (;;) {
        uint64_t now = now_ms();
        uint32_t remaining = now < end ? (uint32_t)(end - now) : 1;
        int code = call_once(c, method, req, reply_desc, reply, opts, remaining, st);
        if (code != RK_UNAVAILABLE || !retry || now_ms() + RK_RETRY_PAUSE_MS >= end) return code;
        nng_msleep(RK_RETRY_PAUSE_MS);
    }
}

/* ---------------------------------------------------------------- asynchronous calls */

static void async_finish(async_call *a, int rv) {
    rk_status st;
    ProtobufCMessage *reply = NULL;
    rk_client *c = a->c;
    if (rv != 0) {
        if (!a->receiving) nng_msg_free(nng_aio_get_msg(a->aio));
        map_nng_error(c, rv, &st);
    } else {
        nng_msg *msg = nng_aio_get_msg(a->aio);
        parse_reply(msg, a->reply_desc, &reply, &st);
        nng_msg_free(msg);
    }
    a->cb(&st, reply, a->arg);
    /* Clean: keep the context and aio for the next call. The pool is the
     * last thing touched here, since another thread may take it at once. */
    pthread_mutex_lock(&c->mu);
    c->inflight--;
    pthread_cond_broadcast(&c->cv);
    if (rv == 0 && c->napool < RK_POOL_MAX) {
        a->receiving = 0;
        c->apool[c->napool++] = a;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    pthread_mutex_unlock(&c->mu);
    nng_ctx_close(a->ctx);
    nng_aio_reap(a->aio); /* we are inside its callback: free it later */
    free(a);
}

static void async_cb(void *arg) {
    async_call *a = arg;
    int rv = nng_aio_result(a->aio);
    if (rv != 0 || a->receiving) {
        async_finish(a, rv);
        return;
    }
    a->receiving = 1;
    nng_ctx_recv(a->ctx, a->aio);
}

int rk_call_async(rk_client *c, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *reply_desc, const rk_call_opts *opts, rk_call_cb cb, void *arg) {
    rk_status st;
    nng_msg *msg = NULL;
    int code, rv;
    uint32_t deadline = effective_deadline(c, opts);

    pthread_mutex_lock(&c->mu);
    while (c->inflight >= RK_MAX_ASYNC) pthread_cond_wait(&c->cv, &c->mu);
    c->inflight++;
    pthread_mutex_unlock(&c->mu);

    async_call *a = NULL;
    pthread_mutex_lock(&c->mu);
    if (c->napool > 0) a = c->apool[--c->napool];
    pthread_mutex_unlock(&c->mu);
    if (a != NULL) {
        if ((code = build_request(c, method, req, opts, deadline, &msg, &st)) != RK_OK) {
            pthread_mutex_lock(&c->mu);
            c->apool[c->napool++] = a; /* room: it came from there */
            pthread_mutex_unlock(&c->mu);
            a = NULL;
            goto fail;
        }
        goto start;
    }
    if ((a = calloc(1, sizeof(*a))) == NULL) {
        code = RK_RESOURCE_EXHAUSTED;
        goto fail;
    }
    if ((code = build_request(c, method, req, opts, deadline, &msg, &st)) != RK_OK) goto fail;
    if ((rv = nng_ctx_open(&a->ctx, c->sock)) != 0) {
        nng_msg_free(msg);
        code = RK_UNAVAILABLE;
        goto fail;
    }
    if ((rv = nng_aio_alloc(&a->aio, async_cb, a)) != 0) {
        nng_ctx_close(a->ctx);
        nng_msg_free(msg);
        code = RK_RESOURCE_EXHAUSTED;
        goto fail;
    }
start:
    a->c = c;
    a->reply_desc = reply_desc;
    a->cb = cb;
    a->arg = arg;
    nng_aio_set_timeout(a->aio, (nng_duration)deadline);
    nng_aio_set_msg(a->aio, msg);
    nng_ctx_send(a->ctx, a->aio);
    return RK_OK;

fail:
    free(a);
    pthread_mutex_lock(&c->mu);
    c->inflight--;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    return code;
}
