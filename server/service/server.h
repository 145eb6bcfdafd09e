/*
 * server.h - the state a request handler sees.
 *
 * rankd has three layers (transport -> envelope and auth -> handler ->
 * stores). rpc.c owns the transport; a handler receives an rpc_call with
 * the caller's identity, the worker's own store connections and an arena
 * for its reply, and never touches a socket.
 */
#ifndef RANKD_SERVER_H
#define RANKD_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>
#include <rankd/status.h>

#include "arena.h"
#include "board.h"
#include "clock.h"
#include "config.h"
#include "store_pg.h"
#include "store_redis.h"
#include "token.h"

typedef struct boards_cache boards_cache;
struct rpipe;
struct topcache;
struct nng_tls_config;
typedef struct apikey_cache apikey_cache;
typedef struct namecache namecache;
typedef struct revset revset;
typedef struct banset banset;
typedef struct recovery recovery;
typedef struct counters counters;

/* Process-wide state, shared by all workers; read-only after start except
 * where a lock or an atomic says otherwise. */
typedef struct server {
    config cfg;
    uint8_t token_key[TOKEN_KEY_LEN];
    boards_cache *boards;
    apikey_cache *apikeys;
    namecache *names; /* username -> id, filled by users.c */
    namecache *ids;   /* user id (decimal) -> username, filled by users.c; users are never deleted */
    revset *revoked;  /* what voids a token; filled at start, kept by events.c */
    banset *bans;     /* banned players; filled and kept the same way */
    time_t started;
    atomic_llong requests;
    struct nng_tls_config *tls; /* tls-cert and friends (tlsconf.h), or NULL: no TLS address */
    struct rpipe *pipe;         /* shared Redis pipeline, or NULL (cfg.redis_connections 0) */
    struct topcache *tops;      /* cached top-N pages, or NULL (cfg.top_cache_ms 0) */
    /* Redis's state: where reads and writes go (recovery.h); only the
     * recovery job and stored-without-Redis submissions move it. */
    recovery *recovery;
    counters *counters; /* counter definitions and cached totals (counters.h) */
} server;

/* What one worker thread owns. */
typedef struct worker {
    server *srv;
    rstore *redis;
    pgstore *pg;
    arena arena;
} worker;

/* Who is calling. */
typedef enum principal_kind { WHO_ANONYMOUS = 0, WHO_USER, WHO_APIKEY } principal_kind;

typedef struct principal {
    principal_kind kind;
    int role;                    /* rankd.Role */
    int64_t user_id;             /* WHO_USER */
    int64_t key_id;              /* WHO_APIKEY */
    char game[BOARD_ID_MAX + 1]; /* WHO_APIKEY: the game it is scoped to */
    token_claims claims;         /* WHO_USER */
} principal;

struct rasync;
struct loop_task;
typedef struct rpc_call rpc_call;

/* How a fast-lane call ends when it did not end at once (RPC_PENDING):
 * rc and st are its status, reply its reply (in w->arena) on RK_OK, and
 * rc RPC_SLOW hands it to the worker pool to be run again from the start. */
typedef void (*rpc_done_fn)(rpc_call *call, int rc, ProtobufCMessage *reply, const rk_status *st);

struct rpc_call {
    worker *w;
    server *srv;
    principal who;
    const char *idempotency_key; /* NULL when none; lives in the arena */
    /* Where the request came from, as text: "tcp 127.0.0.1", "tcp
     * 2001:db8:1:2::/64" (a whole /64, which one IPv6 host usually has),
     * "ipc"; "" when nng cannot say. Owned by rpc.c, valid for the call. */
    const char *peer;
    int degraded;        /* answered from PostgreSQL without Redis */
    int64_t deadline_us; /* CLOCK_MONOTONIC */
    /* The fast lane only (NULL on the worker pool): the loop's Redis
     * connection, and how to end a call that waits for it. w->redis and
     * w->pg are NULL there: nothing on a loop may block. */
    struct rasync *ra;
    rpc_done_fn done;
    /* Runs t on the call's loop after delay_ms (a retry within the
     * deadline, never a sleep). */
    void (*defer)(rpc_call *call, struct loop_task *t, int64_t delay_ms);
    /* The fast lane met a board being rebuilt and let the deadline run
     * half out: the worker pool answers its read from PostgreSQL at once. */
    int skip_redis;
};

/* Handlers build their reply in w->arena; rpc.c packs and frees it. */
typedef int (*rpc_handler)(rpc_call *call, const ProtobufCMessage *req, ProtobufCMessage **reply, rk_status *st);

/* A fast-lane handler returns RK_OK or an error with the call answered
 * (*reply set on RK_OK), or one of these (never sent on the wire): */
#define RPC_PENDING (-1) /* waiting for Redis; call->done will end it */
#define RPC_SLOW (-2)    /* needs to block: run the method's fn on the worker pool */

/* Who may call a method. */
typedef enum rpc_access {
    ACCESS_ANYONE = 0, /* no token needed (sign-up, login, reads) */
    ACCESS_AUTHED,     /* any valid token or API key */
    ACCESS_ADMIN,      /* admins only */
} rpc_access;

typedef struct rpc_method {
    const char *name;                        /* full name, "rankd.Ranking/Top" */
    const ProtobufCMessageDescriptor *input; /* its request message */
    rpc_handler fn;                          /* the worker pool's handler: may block */
    rpc_handler fast;                        /* NULL, or the event loops' handler: never blocks */
    rpc_access access;
    /* The longest legitimate encoding of its request message, in bytes,
     * from the schema's limits (h_admin.c): a larger request is refused
     * RESOURCE_EXHAUSTED before anything of it is decoded. */
    size_t max_request;
} rpc_method;

/* An array of n (at least one) T in the call's arena, or NULL. */
#define ARENA_ARRAY(call, T, n) ((T *)arena_alloc(&(call)->w->arena, sizeof(T) * ((n) ? (n) : 1)))

/* RK_DEADLINE_EXCEEDED once the call's deadline has passed. */
static inline int server_check_deadline(const rpc_call *call, rk_status *st) {
    if (server_now_us() > call->deadline_us)
        return rk_status_set(st, RK_DEADLINE_EXCEEDED, "deadline exceeded before the call completed");
    return RK_OK;
}

#endif
