/*
 * dial.h - dialing one rankd address, with TLS when the address says so;
 * shared by the RPC client and the subscriber. Internal to the library.
 *
 * Dials never block (an unreachable server is retried in the background),
 * so a handshake that fails is only visible in the dialer's statistics:
 * dial_explain turns them into the words a user can act on when a call
 * finds no connection.
 */
#ifndef RANKD_DIAL_H
#define RANKD_DIAL_H

#include <stddef.h>

#include <nng/nng.h>

#include <rankd/status.h>
#include <rankd/tls.h>

/* Starts a non-blocking dialer of sock to url; a tls+tcp:// url needs
 * tls->ca_file. RK_INVALID_ARGUMENT naming the address otherwise. */
int dial_start(nng_socket sock, const char *url, const rk_tls_opts *tls, nng_dialer *out, rk_status *st);

/* Why the dialers may have no connection, from their error counts: "" when
 * nothing is known (the server is just down or slow), else a sentence
 * starting with "; " to append to "rankd is not reachable". */
void dial_explain(const nng_dialer *d, size_t n, char *out, size_t cap);

#endif
