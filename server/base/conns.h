/*
 * conns.h - the connections (nng pipes) of one listening socket: a cap on
 * how many there are, and closing the ones that sit idle.
 *
 * nng keeps a connection for as long as its peer does, and gives a
 * message it has started to receive all the memory its length announces:
 * a peer that connects and goes quiet, or announces a message and stops
 * part-way, would hold a descriptor and that memory forever. Every pipe of
 * the socket is tracked from NNG_PIPE_EV_ADD_PRE to NNG_PIPE_EV_REM_POST
 * with the time of its last completed message (and of its last reply); a
 * small thread closes those idle longer than idle_ms, which includes any
 * that has not completed a message since it connected. A pipe beyond the
 * cap is closed in ADD_PRE, before the socket uses it.
 *
 * Callbacks run on nng's threads and never block beyond one mutex; pipes
 * are closed outside it (closing one runs REM_POST on the same thread).
 */
#ifndef RANKD_CONNS_H
#define RANKD_CONNS_H

#include <stdint.h>

#include <nng/nng.h>
#include <rankd/status.h>

typedef struct conns conns;

/* Watches sock's pipes: any beyond max (at least 1) is closed as it
 * arrives, with a log line at most every 10 s naming `what` ("rpc",
 * "events"); with idle_ms > 0 a pipe with no message in flight and none
 * completed for idle_ms is closed. on_change (or NULL) is told +1 and -1
 * as pipes are taken on and leave. Call before the socket listens. */
int conns_start(conns **out, nng_socket sock, const char *what, int64_t max, int64_t idle_ms,
                void (*on_change)(int delta), rk_status *st);

/* A complete message arrived on p: it is busy until conns_end(p). */
void conns_begin(conns *c, nng_pipe p);
/* The answer to a message from p was sent or dropped. */
void conns_end(conns *c, nng_pipe p);

/* Pipes tracked now. */
int64_t conns_count(conns *c);

/* Stops the idle thread and frees c (after the socket is closed). NULL is
 * fine. */
void conns_stop(conns *c);

#endif
