/*
 * tlsconf.h - the tls-cert, tls-key and tls-ca settings as one nng TLS
 * configuration, shared by every listener that wants TLS.
 *
 * nng 1.5 as Debian builds it does TLS with mbedTLS: a tls+tcp:// listener
 * (RPC, events), an https:// HTTP server and the wss:// events feed on it
 * all take an nng_tls_config. rankd makes one, in server mode, from PEM
 * files read at start, and every listener holds a reference to it. With a
 * CA, every client must present a certificate signed by it (the TLS
 * handshake fails otherwise). Nothing here is ever reloaded: new
 * certificates take a restart.
 */
#ifndef RANKD_TLSCONF_H
#define RANKD_TLSCONF_H

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include <rankd/status.h>

/* 1 when url's scheme carries TLS: tls+tcp(4|6)://, wss(4|6)://, https://. */
int tlsconf_url_is_tls(const char *url);

/* 1 when any of the comma-separated urls is a TLS one. */
int tlsconf_any_tls(const char *urls);

/* Builds a server-mode configuration: cert_file (PEM, the server's
 * certificate, its chain after it) and key_file (PEM, unencrypted) are
 * required; ca_file ("" for none) makes client certificates required and
 * checked against it. *out is the caller's: nng_tls_config_free() drops
 * it (listeners hold their own reference). RK_INVALID_ARGUMENT naming the
 * setting and the file on any failure. */
int tlsconf_server(nng_tls_config **out, const char *cert_file, const char *key_file, const char *ca_file,
                   rk_status *st);

#endif
