/*
 * loop.h - the fast lane's event loops.
 *
 * Each loop is one thread running a libuv loop that owns one Redis
 * connection (store_async.h). Other threads hand it work with loop_post:
 * tasks queue under a mutex and one uv_async wake-up runs every task
 * queued since the last, so a burst of requests costs one wake-up, and
 * the Redis commands they send in that turn leave in one write. Nothing
 * that runs on a loop may block.
 */
#ifndef RANKD_LOOP_H
#define RANKD_LOOP_H

#include <stdint.h>

#include <rankd/status.h>

#include "store_async.h"

typedef struct loop loop;

/* An intrusive task: embed it, set run, post it. */
typedef struct loop_task {
    struct loop_task *next;
    void (*run)(struct loop_task *t);
    int64_t due_us; /* loop_defer only */
} loop_task;

/* Starts a loop thread connected to Redis at redis_addr. */
int loop_start(loop **out, const char *redis_addr, int64_t stall_ms, rk_status *st);

/* Runs t->run(t) on the loop's thread, soon. Any thread. */
void loop_post(loop *l, loop_task *t);

/* Runs t->run(t) on the loop's thread once delay_ms have passed (about:
 * the loop looks every DEFER_TICK_MS). Its own thread only. */
#define DEFER_TICK_MS 10
void loop_defer(loop *l, loop_task *t, int64_t delay_ms);

/* The loop's Redis connection. Its own thread only. */
rasync *loop_redis(loop *l);

/* Closes the Redis connection (commands in flight are answered NULL on
 * the loop's thread), runs what is queued, joins the thread, frees l. */
void loop_stop(loop *l);

#endif
