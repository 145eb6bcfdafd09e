/*
 * rankd/tls.h - how a client checks a rankd that listens with TLS.
 *
 * rankd's tls+tcp:// addresses (RPC and events) are nng's TLS transport,
 * which Debian's nng builds with mbedTLS. A client must say which CA
 * signed the server's certificate: there is no system trust store here,
 * and an address that needs TLS without one is refused at open. A server
 * started with tls-ca also wants this client's certificate and key.
 *
 * The certificate must name the address's host as a DNS name (the
 * subjectAltName DNS entries or the CN): mbedTLS 2.28 does not match IP
 * addresses, so for tls+tcp://127.0.0.1:7443 set server_name to a DNS name
 * the certificate carries ("localhost").
 */
#ifndef RANKD_TLS_H
#define RANKD_TLS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Paths are read when the client opens; every field may be NULL. */
typedef struct rk_tls_opts {
    const char *ca_file;     /* PEM: CA certificate(s) the server's certificate must chain to */
    const char *cert_file;   /* PEM: this client's certificate (servers with tls-ca); NULL: none */
    const char *key_file;    /* PEM: its private key, unencrypted */
    const char *server_name; /* name the server's certificate must carry; NULL: the address's host */
} rk_tls_opts;

#ifdef __cplusplus
}
#endif

#endif
