/*
 * tlsconf.c - PEM files to an nng TLS configuration; see tlsconf.h.
 *
 * The files are read here and handed to nng as strings, rather than with
 * nng_tls_config_cert_key_file, because that one wants certificate and key
 * in one file, and keeping a private key in its own file (mode 0600) is
 * what operators expect; it also lets the error say which file is wrong.
 * mbedTLS takes a key that does not belong to the certificate without a
 * word (every handshake then fails), so OpenSSL, which rankd links
 * anyway, checks the pair first.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "tlsconf.h"

/* A PEM file is small; anything bigger is not one. */
#define PEM_MAX (1 << 20)

static const char *const tls_schemes[] = {"tls+tcp://", "tls+tcp4://", "tls+tcp6://", "wss://",
                                          "wss4://",    "wss6://",     "https://"};

int tlsconf_url_is_tls(const char *url) {
    while (*url == ' ') url++;
    for (size_t i = 0; i < sizeof(tls_schemes) / sizeof(tls_schemes[0]); i++)
        if (strncmp(url, tls_schemes[i], strlen(tls_schemes[i])) == 0) return 1;
    return 0;
}

int tlsconf_any_tls(const char *urls) {
    for (const char *u = urls; u && *u;) {
        if (tlsconf_url_is_tls(u)) return 1;
        const char *comma = strchr(u, ',');
        u = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* The whole file as a NUL-terminated string; *out is malloc'ed. */
static int slurp(const char *setting, const char *path, char **out, rk_status *st) {
    FILE *f = fopen(path, "r");
    if (f == NULL) return rk_status_set(st, RK_INVALID_ARGUMENT, "%s %s: %s", setting, path, strerror(errno));
    char *buf = malloc(PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, PEM_MAX + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (buf == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if (bad || n > PEM_MAX || n == 0) {
        free(buf);
        return rk_status_set(st, RK_INVALID_ARGUMENT, "%s %s: %s", setting, path,
                             bad ? "cannot be read"
                             : n ? "is larger than 1 MiB"
                                 : "is empty");
    }
    buf[n] = '\0';
    *out = buf;
    return RK_OK;
}

/* 1 when key (PEM) is the private key of the first certificate in cert. */
static int key_matches(const char *cert, const char *key) {
    BIO *cb = BIO_new_mem_buf(cert, -1), *kb = BIO_new_mem_buf(key, -1);
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    int ok = x && k && X509_check_private_key(x, k) == 1;
    EVP_PKEY_free(k);
    X509_free(x);
    BIO_free(kb);
    BIO_free(cb);
    ERR_clear_error();
    return ok;
}

int tlsconf_server(nng_tls_config **out, const char *cert_file, const char *key_file, const char *ca_file,
                   rk_status *st) {
    char *cert = NULL, *key = NULL, *ca = NULL;
    nng_tls_config *cfg = NULL;
    int rv, rc = RK_OK;
    *out = NULL;
    if (cert_file[0] == '\0' || key_file[0] == '\0')
        return rk_status_set(st, RK_INVALID_ARGUMENT, "a TLS address needs tls-cert and tls-key");
    if ((rc = slurp("tls-cert", cert_file, &cert, st)) != RK_OK ||
        (rc = slurp("tls-key", key_file, &key, st)) != RK_OK ||
        (ca_file[0] && (rc = slurp("tls-ca", ca_file, &ca, st)) != RK_OK))
        goto done;
    if (!key_matches(cert, key)) {
        rc = rk_status_set(
            st, RK_INVALID_ARGUMENT,
            "tls-cert %s and tls-key %s are not a certificate and its key (both PEM, the key unencrypted)", cert_file,
            key_file);
        goto done;
    }
    if ((rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_SERVER)) != 0) {
        rc = rk_status_set(st, RK_INTERNAL, "TLS is not available: %s", nng_strerror(rv));
        goto done;
    }
    if ((rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
        rc = rk_status_set(st, RK_INVALID_ARGUMENT, "tls-cert %s and tls-key %s are not a certificate and its key: %s",
                           cert_file, key_file, nng_strerror(rv));
        goto done;
    }
    if (ca) {
        if ((rv = nng_tls_config_ca_chain(cfg, ca, NULL)) != 0) {
            rc = rk_status_set(st, RK_INVALID_ARGUMENT, "tls-ca %s: not a PEM certificate: %s", ca_file,
                               nng_strerror(rv));
            goto done;
        }
        if ((rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED)) != 0) {
            rc = rk_status_set(st, RK_INTERNAL, "cannot require client certificates: %s", nng_strerror(rv));
            goto done;
        }
    }
    *out = cfg;
    cfg = NULL;
done:
    if (cfg) nng_tls_config_free(cfg);
    free(cert);
    if (key) memset(key, 0, strlen(key)); /* no copy of the private key outlives its use */
    free(key);
    free(ca);
    return rc;
}
