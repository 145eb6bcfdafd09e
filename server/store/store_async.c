/*
 * store_async.c - hiredis's async API on a libuv loop; see store_async.h.
 *
 * hiredis 0.14 has no timeouts in its async API, so the connection keeps
 * its commands in flight in a FIFO (Redis answers in order): a timer
 * looks at the oldest every STALL_TICK_MS and drops the connection when it
 * is older than the stall limit. The same timer reconnects.
 *
 * The libuv binding is ours, not hiredis's adapters/libuv.h: on a socket
 * error libuv calls the poll callback with a negative status and stops
 * polling, and that adapter ignores such calls, so a Redis that went away
 * left the connection looking up, its commands unanswered until the stall
 * limit. Here an error is handed to hiredis as readable: its read finds
 * the error and drops the connection at once.
 */
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <uv.h>

#include "log.h"
#include "clock.h"
#include "rnode.h"
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
    rnode seeds[RNODE_SEEDS_MAX];
    size_t nseeds;
    size_t cur; /* the seed connected to; the next one is tried after a failure */
    int64_t stall_us;
    int64_t next_try_us;
    uv_timer_t timer;
    pending *head, *tail; /* commands in flight, oldest first */
    int closing;
};

/* ---------------------------------------------------------------- hiredis on libuv */

typedef struct uv_binding {
    redisAsyncContext *ac; /* NULL once hiredis has cleaned up */
    uv_poll_t poll;
    int events;
} uv_binding;

static void on_poll(uv_poll_t *h, int status, int events) {
    uv_binding *b = h->data;
    if (status < 0) events = UV_READABLE; /* libuv stopped polling: let hiredis read the error */
    if (b->ac && (events & UV_READABLE)) redisAsyncHandleRead(b->ac);
    if (b->ac && (events & UV_WRITABLE)) redisAsyncHandleWrite(b->ac);
}

static void watch(uv_binding *b, int add, int remove) {
    b->events = (b->events | add) & ~remove;
    if (b->events)
        uv_poll_start(&b->poll, b->events, on_poll);
    else
        uv_poll_stop(&b->poll);
}

static void add_read(void *p) { watch(p, UV_READABLE, 0); }
static void del_read(void *p) { watch(p, 0, UV_READABLE); }
static void add_write(void *p) { watch(p, UV_WRITABLE, 0); }
static void del_write(void *p) { watch(p, 0, UV_WRITABLE); }

static void binding_closed(uv_handle_t *h) { free(h->data); }

static void cleanup(void *p) {
    uv_binding *b = p;
    b->ac = NULL;
    uv_close((uv_handle_t *)&b->poll, binding_closed);
}

static int bind_loop(redisAsyncContext *ac, uv_loop_t *loop) {
    uv_binding *b = calloc(1, sizeof(*b));
    if (b == NULL) return REDIS_ERR;
    if (uv_poll_init(loop, &b->poll, ac->c.fd) != 0) {
        free(b);
        return REDIS_ERR;
    }
    b->ac = ac;
    b->poll.data = b;
    ac->ev.data = b;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    return REDIS_OK;
}

static void on_connect(const redisAsyncContext *ac, int status) {
    rasync *a = ac->data;
    if (status != REDIS_OK) {
        a->ac = NULL; /* hiredis frees it */
        a->up = 0;
        a->cur = (a->cur + 1) % a->nseeds;
        return;
    }
    a->up = 1;
    log_debug("event loop connected to Redis", "host=%s port=%d", a->seeds[a->cur].host, a->seeds[a->cur].port);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    (void)status;
    rasync *a = ac->data;
    if (a->ac == ac) a->ac = NULL;
    a->up = 0;
}

static void try_connect(rasync *a) {
    const rnode *n = &a->seeds[a->cur];
    redisAsyncContext *ac = redisAsyncConnect(n->host, n->port);
    if (ac == NULL) return;
    if (ac->err) {
        redisAsyncFree(ac);
        a->cur = (a->cur + 1) % a->nseeds;
        return;
    }
    ac->data = a;
    if (bind_loop(ac, a->loop) != REDIS_OK) {
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
    int rc = rnode_parse_list(addr, a->seeds, &a->nseeds, st);
    if (rc != RK_OK) {
        free(a);
        return rc;
    }
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
