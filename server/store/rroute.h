/*
 * rroute.h - blocking commands routed over a Redis Cluster.
 *
 * One rroute belongs to one thread (a worker's or a job's rstore, or one
 * pipeline thread of rpipe.c) and holds one connection per master it has
 * sent to, plus the slot map (rmap.h). Each command goes to the master of
 * its first key's slot (rslot.h); commands of one call that go to the
 * same master leave in one write, so a batch stays one round trip per
 * master. The cluster's answers are handled here, below the store's
 * callers:
 *   -MOVED       the map learns the slot's new master; the command is
 *                sent there
 *   -ASK         ASKING, then the command, once, to the named node (a
 *                slot being migrated); the map is left alone
 *   -TRYAGAIN, -CLUSTERDOWN, a master that cannot be reached
 *                sent again after a backoff (10 ms doubling to 200 ms)
 *                while the call's retry budget lasts; the map is read
 *                again from any node that answers, so a master that
 *                failed over is found without a restart; a master
 *                that answers CLUSTERDOWN while it loads (it does so to
 *                commands with keys, LOADING only to PING) ends the
 *                call at once with its LOADING
 * A connection lost after a command was written is never written again:
 * whether Redis applied it is unknown, so the call fails RK_UNAVAILABLE
 * (as on a standalone Redis) and the map is read again for the next one.
 * What the cluster refuses (CROSSSLOT) comes back as the reply it is.
 */
#ifndef RANKD_STORE_RROUTE_H
#define RANKD_STORE_RROUTE_H

#include <stddef.h>
#include <stdint.h>

#include <rankd/status.h>

#include "rnode.h"

struct redisReply;
typedef struct rroute rroute;

/* Reads the slot map from the first seed that answers. budget_ms bounds
 * the retries of one call. RK_UNAVAILABLE when no seed answers. */
int rroute_open(rroute **out, const rnode *seeds, size_t nseeds, int64_t budget_ms, rk_status *st);
void rroute_close(rroute *r);

/* Runs n commands (lens[i] NULL: argv[i]'s strings are NUL-terminated;
 * lens itself may be NULL). replies[i] is then each command's final
 * reply, an error reply included, owned by the caller. On RK_UNAVAILABLE
 * (a connection lost with commands in flight, or no master reachable
 * within the budget) every reply is NULL. */
int rroute_exec(rroute *r, size_t n, const int *argc, const char *const *const *argv, const size_t *const *lens,
                struct redisReply **replies, rk_status *st);

/* rroute_exec, then WAIT replicas timeout_ms once on each master that
 * answered a command, over the connection the command went by: acked[i]
 * is how many replicas that master says have command i's writes, -1 when
 * unknown (the call failed, or the WAIT's connection did). */
int rroute_exec_wait(rroute *r, size_t n, const int *argc, const char *const *const *argv, const size_t *const *lens,
                     struct redisReply **replies, int64_t replicas, int64_t timeout_ms, long long *acked,
                     rk_status *st);

/* Called with each master's reply (an error reply too) to a command
 * rroute_each_master sent; node is its "host:port". */
typedef void (*rroute_reply_fn)(void *arg, const char *node, const struct redisReply *reply);

/* Runs one command on every master of the map (FUNCTION LOAD: functions
 * are each node's own; CONFIG GET: so is the configuration). each, when
 * not NULL, sees every reply. The first error reply ends the walk and
 * becomes st's message (RK_INTERNAL). */
int rroute_each_master(rroute *r, int argc, const char *const *argv, const size_t *lens, rroute_reply_fn each,
                       void *arg, rk_status *st);

/* The master the map names for key (for tests and messages): "host:port",
 * or "" when not known. */
void rroute_owner_of(rroute *r, const char *key, size_t len, char *out, size_t cap);

#endif
