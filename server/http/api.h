/*
 * api.h - the live page's reads that need a store: one player's standing,
 * their submissions, the board's spread of scores.
 *
 *   GET /api/player?board=ID&name=N[&window=W]
 *   GET /api/history?board=ID&name=N[&limit=L]
 *   GET /api/distribution?board=ID[&window=W][&buckets=K][&name=N]
 *
 * (docs/EVENTS.md, "From a browser", has the answers.) nng runs HTTP
 * handlers on its own threads, which must not block, so api_ask only checks
 * the query and queues it; the module's own thread, with its own Redis and
 * PostgreSQL connections, asks the service layer and answers.
 */
#ifndef RANKD_API_H
#define RANKD_API_H

#include <nng/nng.h>

#include "server.h"

typedef struct api api;

/* What a request asks for. */
typedef enum api_kind { API_PLAYER = 0, API_HISTORY, API_DISTRIBUTION, API_KINDS } api_kind;

/* At most this many requests wait for the thread; more are answered 503. */
#define API_QUEUE_MAX 64

/* Starts the thread and opens its store connections (a store that is down
 * now is retried on each request). */
int api_start(api **out, server *srv, rk_status *st);
/* Answers what is still queued 503 and joins the thread; from then on
 * api_ask answers 503 at once. NULL is fine. */
void api_stop(api *a);
/* Closes the stores and frees a, once nothing can call api_ask any more
 * (the HTTP server has stopped). NULL is fine. */
void api_free(api *a);

/* Answers the HTTP request of aio (nng's handler aio: input 0 is the
 * request), now when the query is malformed or the queue is full, else
 * from the thread. Never blocks. */
void api_ask(api *a, api_kind kind, nng_aio *aio);

#endif
