/*
 * rankd/client.h - the rankd client library.
 *
 * One rk_client is one nng REQ socket dialed to one or more rankd servers.
 * It is thread-safe: every call opens its own nng context, so many threads
 * may share one client, and requests spread over every dialed server.
 *
 * Typed calls for every method of the schema are generated at build time
 * into <rankd/stubs.h> (included below), one blocking and one asynchronous
 * form per method:
 *
 *   int  rk_ranking_top(rk_client *c, const Rankd__TopRequest *req,
 *                       Rankd__RankListReply **reply,
 *                       const rk_call_opts *opts, rk_status *st);
 *   int  rk_ranking_top_async(rk_client *c, const Rankd__TopRequest *req,
 *                       const rk_call_opts *opts,
 *                       rk_ranking_top_cb cb, void *arg);
 *
 * Ownership: a reply returned through `reply` (or handed to a callback)
 * belongs to the caller, who frees it with rk_reply_free(). Requests are
 * only read. Strings in rk_call_opts are copied before the call returns.
 *
 * Retries: the library never resends on its own (nng's REQ resend is turned
 * off), because a resent submission would count twice. A call that carries
 * an idempotency key is retried on UNAVAILABLE until its deadline; any other
 * call fails at once and the caller decides.
 */
#ifndef RANKD_CLIENT_H
#define RANKD_CLIENT_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>
#include <rankd/rankd.pb-c.h>
#include <rankd/status.h>
#include <rankd/tls.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RK_DEFAULT_DEADLINE_MS 5000u

typedef struct rk_client rk_client;

/* Per-call options; pass NULL for the client's defaults. */
typedef struct rk_call_opts {
    uint32_t deadline_ms;        /* 0: the client's default deadline */
    const char *token;           /* NULL: the client's token */
    const char *idempotency_key; /* NULL: none (the call is never retried) */
} rk_call_opts;

/* Completion callback of an asynchronous call. Runs on a library thread;
 * it must not block for long. `reply` is NULL unless st->code == RK_OK and
 * is then owned by the callback (free it with rk_reply_free). */
typedef void (*rk_call_cb)(const rk_status *st, ProtobufCMessage *reply, void *arg);

/* Opens a client dialed to `urls`: one address or several separated by
 * commas ("tcp://127.0.0.1:7400", "ipc:///tmp/rankd.sock"). Dialing is
 * non-blocking: an unreachable server shows up as UNAVAILABLE on the first
 * call, and the socket keeps reconnecting in the background. */
int rk_client_open(rk_client **out, const char *urls, rk_status *st);

/* The same, with what tls+tcp:// addresses are checked against
 * (rankd/tls.h); tls may be NULL when no address is a TLS one. Files are
 * read here. An address that needs TLS without tls->ca_file is
 * RK_INVALID_ARGUMENT; a failing handshake (wrong CA, wrong name, a
 * client certificate wanted) shows on the calls as UNAVAILABLE "rankd is
 * not reachable; the TLS handshake with ... failed N time(s): ...". */
int rk_client_open_tls(rk_client **out, const char *urls, const rk_tls_opts *tls, rk_status *st);

/* Waits for asynchronous calls in flight, then frees everything. A client
 * that has never connected waits until 200 ms after it was opened for its
 * first connection to finish (closing during one leaks memory inside nng
 * 1.5). */
void rk_client_close(rk_client *c);

/* Token sent with every call that does not name its own; NULL clears it. */
int rk_client_set_token(rk_client *c, const char *token, rk_status *st);

/* Default deadline for calls that do not set one (RK_DEFAULT_DEADLINE_MS). */
void rk_client_set_deadline(rk_client *c, uint32_t deadline_ms);

/* Generic forms behind the generated stubs. `method` is the full name
 * ("rankd.Ranking/Top"); reply_desc says how to decode the answer. */
int rk_call(rk_client *c, const char *method, const ProtobufCMessage *req, const ProtobufCMessageDescriptor *reply_desc,
            ProtobufCMessage **reply, const rk_call_opts *opts, rk_status *st);
int rk_call_async(rk_client *c, const char *method, const ProtobufCMessage *req,
                  const ProtobufCMessageDescriptor *reply_desc, const rk_call_opts *opts, rk_call_cb cb, void *arg);

/* Frees a reply returned by any call; NULL is fine. */
void rk_reply_free(void *reply);

#ifdef __cplusplus
}
#endif

#include <rankd/stubs.h>
#include <rankd/subscriber.h>

#endif
