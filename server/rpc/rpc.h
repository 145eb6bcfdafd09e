/*
 * rpc.h - the RPC transport: envelopes over an nng REP socket.
 *
 * The socket has cfg.contexts nng contexts, each a small state machine
 * (receive -> queued -> sending) driven by its aio callback. Callbacks never
 * block: a received request is queued for a pool of cfg.workers threads,
 * each owning its Redis and PostgreSQL connections, which decode the
 * envelope, authenticate, dispatch by full method name through the method
 * table, and send the reply from their own thread.
 */
#ifndef RANKD_RPC_H
#define RANKD_RPC_H

#include <stddef.h>

#include "server.h"

typedef struct rpc_server rpc_server;

/* Listens on every address of srv->cfg.listen and starts the workers.
 * `methods` must outlive the server. */
int rpc_start(rpc_server **out, server *srv, const rpc_method *methods, size_t n, rk_status *st);

/* Stops accepting, answers what is queued (UNAVAILABLE to anything that
 * arrives meanwhile), waits up to drain_ms for replies in flight, then
 * closes the socket and joins the workers. */
void rpc_stop(rpc_server *r, int drain_ms);

#endif
