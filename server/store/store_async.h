/*
 * store_async.h - a Redis connection that lives on an event loop.
 *
 * The fast lane's requests send their commands here, from the loop's own
 * thread; nothing here ever blocks. Every command sent during one turn of
 * the loop leaves in one write and their replies come back in one read:
 * requests that arrive together share a round trip with no pipeline
 * thread. The commands and their readings are store_redis.h's (rread_*,
 * rsubmit_*), so both lanes send Redis exactly the same thing.
 *
 * A connection that fails, or does not answer within its stall limit, is
 * dropped: every command in flight gets its callback with a NULL reply
 * (the caller then does not know whether a write was applied), and a new
 * connection is tried a moment later. Until it is up, rasync_command
 * refuses at once, so callers can take another path without waiting.
 */
#ifndef RANKD_STORE_ASYNC_H
#define RANKD_STORE_ASYNC_H

#include <stdint.h>

#include <rankd/status.h>

struct uv_loop_s;
struct redisReply;

typedef struct rasync rasync;

/* reply is NULL when the connection was lost before it came; it is freed
 * by the caller of the callback, after the callback returns. */
typedef void (*rasync_cb)(void *arg, const struct redisReply *reply);

/* Connects to addr ("host:port") from `loop`, in the background. A reply
 * that takes longer than stall_ms drops the connection. */
int rasync_open(rasync **out, struct uv_loop_s *loop, const char *addr, int64_t stall_ms, rk_status *st);

/* Closes the connection (callbacks in flight get NULL) and frees a once
 * the loop has run its close callbacks. Loop thread only. */
void rasync_close(rasync *a);

/* Sends a command; cb runs later on the loop thread. argv is copied at
 * once. RK_UNAVAILABLE (and no callback) when not connected. */
int rasync_command(rasync *a, int argc, const char *const *argv, rasync_cb cb, void *arg, rk_status *st);

/* 1 while connected. */
int rasync_up(const rasync *a);

#endif
