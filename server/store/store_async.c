/*
 * store_async.c - hiredis's async API on a libuv loop; see store_async.h.
 *
 * hiredis 0.14 has no timeouts in its async API, so the connection keeps
 * its commands in flight in a FIFO (Redis answers in order): a timer
 * looks at the oldest every STALL_TICK_MS and drops the connection when it
 * is older than the stall limit. The same timer reconnects.
 */
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <hiredis/adapters/libuv.h>
#pragma GCC diagnostic pop

#include "log.h"
#include "clock.h"
#include "store_async.h"

#define STALL_TICK_MS 50
#define RECONNECT_MS 200

typedef struct pending {
    struct pending *next;
    rasync *a;
    rasync_cb cb;
    void *arg;
    int64_t sent_us;
} pending;

struct rasync {
    uv_loop_t *loop;
    redisAsyncContext *ac;
    int up;
    char host[256];
    int port;
    int64_t stall_us;
    int64_t next_try_us;
    uv_timer_t timer;
    pending *head, *tail; /* commands in flight, oldest first */
    int closing;
};

static void on_connect(const redisAsyncContext *ac, int status) {
    rasync *a = ac->data;
    if (status != REDIS_OK) {
        a->ac = NULL; /* hiredis frees it */
        a->up = 0;
        return;
    }
    a->up = 1;
    log_debug("event loop connected to Redis", "host=%s port=%d", a->host, a->port);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    (void)status;
    rasync *a = ac->data;
    if (a->ac == ac) a->ac = NULL;
    a->up = 0;
}

static void try_connect(rasync *a) {
    redisAsyncContext *ac = redisAsyncConnect(a->host, a->port);
    if (ac == NULL) return;
    if (ac->err) {
        redisAsyncFree(ac);
        return;
    }
    ac->data = a;
    if (redisLibuvAttach(ac, a->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    a->ac = ac;
}

/* Drops the connection: every command in flight is answered NULL. */
static void drop(rasync *a) {
    redisAsyncContext *ac = a->ac;
    if (ac == NULL) return;
    a->up = 0;
    redisAsyncFree(ac);
    a->ac = NULL;
}

static void tick(uv_timer_t *t) {
    rasync *a = t->data;
    int64_t now = server_now_us();
    if (a->head && now - a->head->sent_us > a->stall_us) {
        log_warn("Redis does not answer; dropping the event loop's connection", "waited_ms=%lld",
                 (long long)((now - a->head->sent_us) / 1000));
        drop(a);
    }
    if (a->ac == NULL && !a->closing && now >= a->next_try_us) {
        a->next_try_us = now + RECONNECT_MS * 1000;
        try_connect(a);
    }
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata) {
    (void)ac;
    pending *p = privdata;
    rasync *a = p->a;
    /* Replies come in order: p is the oldest, but be safe. */
    if (a->head == p) {
        a->head = p->next;
        if (a->head == NULL) a->tail = NULL;
    } else {
        pending *q = a->head;
        while (q && q->next != p) q = q->next;
        if (q) {
            q->next = p->next;
            if (a->tail == p) a->tail = q;
        }
    }
    p->cb(p->arg, reply);
    free(p);
}

int rasync_open(rasync **out, uv_loop_t *loop, const char *addr, int64_t stall_ms, rk_status *st) {
    rasync *a = calloc(1, sizeof(*a));
    if (a == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof(a->host) || atoi(colon + 1) <= 0) {
        free(a);
        return rk_status_set(st, RK_INVALID_ARGUMENT, "redis address must be host:port, not \"%s\"", addr);
    }
    memcpy(a->host, addr, (size_t)(colon - addr));
    a->port = atoi(colon + 1);
    a->loop = loop;
    a->stall_us = stall_ms * 1000;
    uv_timer_init(loop, &a->timer);
    a->timer.data = a;
    uv_timer_start(&a->timer, tick, STALL_TICK_MS, STALL_TICK_MS);
    try_connect(a);
    *out = a;
    return RK_OK;
}

static void timer_closed(uv_handle_t *h) { free(h->data); }

void rasync_close(rasync *a) {
    if (a == NULL) return;
    a->closing = 1;
    drop(a);
    uv_close((uv_handle_t *)&a->timer, timer_closed);
}

int rasync_up(const rasync *a) { return a->up && a->ac != NULL; }

int rasync_command(rasync *a, int argc, const char *const *argv, rasync_cb cb, void *arg, rk_status *st) {
    if (!rasync_up(a)) return rk_status_set(st, RK_UNAVAILABLE, "Redis is not connected");
    pending *p = malloc(sizeof(*p));
    if (p == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    *p = (pending){.a = a, .cb = cb, .arg = arg, .sent_us = server_now_us()};
    if (redisAsyncCommandArgv(a->ac, on_reply, p, argc, (const char **)argv, NULL) != REDIS_OK) {
        free(p);
        return rk_status_set(st, RK_UNAVAILABLE, "Redis is not connected");
    }
    if (a->tail)
        a->tail->next = p;
    else
        a->head = p;
    a->tail = p;
    return RK_OK;
}
