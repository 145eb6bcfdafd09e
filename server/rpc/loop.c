/*
 * loop.c - one libuv loop per thread; see loop.h.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <uv.h>

#include "loop.h"
#include "clock.h"

/* The wake-up is an eventfd the loop polls, not a uv_async_t: libuv's
 * async handle makes the loop spin while a sender that was preempted
 * halfway through uv_async_send finishes, and on a busy machine that spin
 * took most of a loop's CPU. Only the post that finds the queue empty
 * writes to the eventfd, so a burst costs one write and one read. */
struct loop {
    uv_loop_t uv;
    uv_poll_t wake;
    int efd;
    pthread_t thread;
    pthread_mutex_t mu;
    loop_task *head, *tail; /* posted, not yet run */
    int stopping;           /* under mu */
    rasync *redis;
    uv_timer_t defer_timer;
    loop_task *deferred; /* loop_defer's, unordered; the loop's thread only */
};

/* Runs everything posted so far, oldest first. */
static void drain(loop *l) {
    pthread_mutex_lock(&l->mu);
    loop_task *t = l->head;
    l->head = l->tail = NULL;
    int stopping = l->stopping;
    pthread_mutex_unlock(&l->mu);
    while (t) {
        loop_task *next = t->next;
        t->next = NULL;
        t->run(t);
        t = next;
    }
    if (stopping) {
        /* What waits for a later turn runs now, and finds Redis gone. */
        if (l->redis) rasync_close(l->redis);
        l->redis = NULL;
        while (l->deferred) {
            loop_task *d = l->deferred;
            l->deferred = d->next;
            d->next = NULL;
            d->run(d);
        }
        uv_close((uv_handle_t *)&l->defer_timer, NULL);
        uv_close((uv_handle_t *)&l->wake, NULL);
    }
}

static void on_defer_tick(uv_timer_t *timer) {
    loop *l = timer->data;
    int64_t now = server_now_us();
    loop_task *due = NULL, **p = &l->deferred;
    while (*p) {
        loop_task *t = *p;
        if (t->due_us <= now) {
            *p = t->next;
            t->next = due;
            due = t;
        } else {
            p = &t->next;
        }
    }
    if (l->deferred == NULL) uv_timer_stop(&l->defer_timer);
    while (due) {
        loop_task *t = due;
        due = t->next;
        t->next = NULL;
        t->run(t);
    }
}

void loop_defer(loop *l, loop_task *t, int64_t delay_ms) {
    t->due_us = server_now_us() + delay_ms * 1000;
    t->next = l->deferred;
    if (l->deferred == NULL) uv_timer_start(&l->defer_timer, on_defer_tick, DEFER_TICK_MS, DEFER_TICK_MS);
    l->deferred = t;
}

static void on_wake(uv_poll_t *p, int status, int events) {
    (void)status, (void)events;
    loop *l = p->data;
    uint64_t n;
    if (read(l->efd, &n, sizeof(n)) < 0) { /* EAGAIN: nothing pending */
    }
    drain(l);
}

static void *loop_main(void *arg) {
    loop *l = arg;
    uv_run(&l->uv, UV_RUN_DEFAULT); /* until every handle is closed */
    return NULL;
}

int loop_start(loop **out, const char *redis_addr, int64_t stall_ms, rk_status *st) {
    loop *l = calloc(1, sizeof(*l));
    if (l == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if (uv_loop_init(&l->uv) != 0) {
        free(l);
        return rk_status_set(st, RK_INTERNAL, "cannot create an event loop");
    }
    pthread_mutex_init(&l->mu, NULL);
    l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->efd < 0) {
        uv_loop_close(&l->uv);
        pthread_mutex_destroy(&l->mu);
        free(l);
        return rk_status_set(st, RK_INTERNAL, "cannot create an event loop's wake-up");
    }
    uv_poll_init(&l->uv, &l->wake, l->efd);
    uv_poll_start(&l->wake, UV_READABLE, on_wake);
    l->wake.data = l;
    uv_timer_init(&l->uv, &l->defer_timer);
    l->defer_timer.data = l;
    int rc = rasync_open(&l->redis, &l->uv, redis_addr, stall_ms, st);
    if (rc == RK_OK && pthread_create(&l->thread, NULL, loop_main, l) != 0)
        rc = rk_status_set(st, RK_INTERNAL, "cannot start an event loop thread");
    if (rc != RK_OK) {
        if (l->redis) rasync_close(l->redis);
        uv_close((uv_handle_t *)&l->wake, NULL);
        uv_close((uv_handle_t *)&l->defer_timer, NULL);
        uv_run(&l->uv, UV_RUN_DEFAULT);
        uv_loop_close(&l->uv);
        close(l->efd);
        pthread_mutex_destroy(&l->mu);
        free(l);
        return rc;
    }
    *out = l;
    return RK_OK;
}

void loop_post(loop *l, loop_task *t) {
    t->next = NULL;
    pthread_mutex_lock(&l->mu);
    int was_empty = l->head == NULL;
    if (l->tail)
        l->tail->next = t;
    else
        l->head = t;
    l->tail = t;
    pthread_mutex_unlock(&l->mu);
    /* Only the first of a burst needs to wake the loop. */
    uint64_t one = 1;
    if (was_empty && write(l->efd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is full, so the loop is awake anyway. */
    }
}

rasync *loop_redis(loop *l) { return l->redis; }

void loop_stop(loop *l) {
    if (l == NULL) return;
    pthread_mutex_lock(&l->mu);
    l->stopping = 1;
    pthread_mutex_unlock(&l->mu);
    uint64_t one = 1;
    if (write(l->efd, &one, sizeof(one)) < 0) {
    }
    pthread_join(l->thread, NULL);
    uv_loop_close(&l->uv);
    close(l->efd);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
