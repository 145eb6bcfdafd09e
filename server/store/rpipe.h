/*
 * rpipe.h - many workers, few Redis connections, one round trip for all.
 *
 * Each pipe connection is owned by one thread. Worker threads hand it
 * groups of commands and wait; the thread takes every group queued since
 * its last round trip, writes all their commands at once, reads all the
 * replies, and wakes each worker with its own. Requests that reach rankd
 * together thus reach Redis together, in one pipelined round trip per
 * connection, instead of one round trip each (the hiredis way: one thread
 * per connection draining a queue; no context is shared between threads).
 *
 * A connection error fails every group of that round trip with
 * RK_UNAVAILABLE and the connection is reopened for the next one.
 */
#ifndef RANKD_RPIPE_H
#define RANKD_RPIPE_H

#include <stddef.h>

#include <hiredis/hiredis.h>
#include <rankd/status.h>

typedef struct rpipe rpipe;

/* Opens `conns` connections to addr ("host:port"), each with its thread.
 * Succeeds even when Redis is down (calls then fail until it is back). */
int rpipe_open(rpipe **out, const char *addr, int conns, rk_status *st);
void rpipe_close(rpipe *p);

/* Runs n commands in order as one group, on one connection, in the next
 * round trip. replies[i] is the caller's (freeReplyObject) on RK_OK; an
 * error reply is returned as a reply, not as a failure. */
int rpipe_exec(rpipe *p, size_t n, const int *argc, const char *const *const *argv, redisReply **replies,
               rk_status *st);

#endif
