/*
 * redis_exec.h - the store's own way into its Redis connections, for its
 * modules only (store_redis.c, store_streams.c, counter_store.c,
 * store_shards.c).
 *
 * Every command of the store goes through rstore_command, so connection
 * handling, the shared pipeline and the meaning of error replies are in
 * one place.
 */
#ifndef RANKD_REDIS_EXEC_H
#define RANKD_REDIS_EXEC_H

#include <stddef.h>

#include <hiredis/hiredis.h>

#include "store_redis.h"

/* Runs one command (lens NULL: argv are C strings); *reply is the caller's
 * to freeReplyObject on RK_OK. An error reply becomes the code
 * rstore_reply_error gives it; a lost connection is RK_UNAVAILABLE. */
int rstore_command(rstore *r, int argc, const char **argv, const size_t *lens, redisReply **reply, rk_status *st);

/* rstore_command for a read of a board: while the board is rebuilt (or
 * Redis, restarted empty, has not its functions back) it is tried again
 * for a while, then RK_UNAVAILABLE. */
int rstore_read_command(rstore *r, int argc, const char **argv, redisReply **reply, rk_status *st);

/* n commands in one round trip (one write per master on a cluster), each
 * a read of a board: while any of them finds its board rebuilt, all are
 * sent again after a moment, as rstore_read_command does. On RK_OK every
 * replies[i] is the caller's to freeReplyObject, none an error; the first
 * error reply is the call's error otherwise. */
int rstore_read_many(rstore *r, size_t n, const int *argcs, const char *const *const *argvs, redisReply **replies,
                     rk_status *st);

/* Two commands in one round trip; the first error reply is the error. */
int rstore_pair(rstore *r, int argc0, const char **argv0, int argc1, const char **argv1, rk_status *st);

#endif
