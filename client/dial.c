/*
 * dial.c - one dialer per address, TLS configured per dialer; see dial.h.
 *
 * Each TLS dialer gets a configuration of its own, because the name the
 * server's certificate is checked against defaults to that address's
 * host. nng holds a reference to it; ours is dropped at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "dial.h"

#define PEM_MAX (1 << 20) /* a PEM file is small; anything bigger is not one */

static int is_tls(const char *url) {
    return strncmp(url, "tls+tcp://", 10) == 0 || strncmp(url, "tls+tcp4://", 11) == 0 ||
           strncmp(url, "tls+tcp6://", 11) == 0;
}

/* An empty string (an empty environment variable) counts as not given. */
static int given(const char *s) { return s != NULL && s[0] != '\0'; }

/* A whole PEM file as a string; *out is malloc'ed. */
static int slurp(const char *path, char **out, rk_status *st) {
    FILE *f = fopen(path, "r");
    if (f == NULL) return rk_status_set(st, RK_INVALID_ARGUMENT, "cannot read %s: %s", path, strerror(errno));
    char *buf = malloc(PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, PEM_MAX + 1, f) : 0;
    fclose(f);
    if (buf == NULL) return rk_status_set(st, RK_RESOURCE_EXHAUSTED, "out of memory");
    if (n == 0 || n > PEM_MAX) {
        free(buf);
        return rk_status_set(st, RK_INVALID_ARGUMENT, "%s is %s", path, n ? "larger than 1 MiB" : "empty");
    }
    buf[n] = '\0';
    *out = buf;
    return RK_OK;
}

static int tls_config(const char *url, const rk_tls_opts *tls, nng_tls_config **out, rk_status *st) {
    nng_tls_config *cfg = NULL;
    nng_url *u = NULL;
    int rv;
    if (tls == NULL || !given(tls->ca_file))
        return rk_status_set(
            st, RK_INVALID_ARGUMENT,
            "%s is a TLS address: give the CA certificate that signed the server's (rk_tls_opts.ca_file, "
            "rankctl --tls-ca)",
            url);
    if ((rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT)) != 0)
        return rk_status_set(st, RK_INTERNAL, "TLS is not available: %s", nng_strerror(rv));
    if ((rv = nng_tls_config_ca_file(cfg, tls->ca_file)) != 0) {
        rk_status_set(st, RK_INVALID_ARGUMENT, "CA file %s: %s", tls->ca_file, nng_strerror(rv));
        goto fail;
    }
    if (given(tls->cert_file) != given(tls->key_file)) {
        rk_status_set(st, RK_INVALID_ARGUMENT, "a client certificate needs its key, and a key its certificate");
        goto fail;
    }
    if (given(tls->cert_file)) {
        char *cert = NULL, *key = NULL;
        int bad = slurp(tls->cert_file, &cert, st) != RK_OK || slurp(tls->key_file, &key, st) != RK_OK;
        if (!bad && (rv = nng_tls_config_own_cert(cfg, cert, key, NULL)) != 0) {
            rk_status_set(st, RK_INVALID_ARGUMENT, "client certificate %s with key %s: %s", tls->cert_file,
                          tls->key_file, nng_strerror(rv));
            bad = 1;
        }
        if (key) memset(key, 0, strlen(key));
        free(key);
        free(cert);
        if (bad) goto fail;
    }
    const char *name = tls->server_name;
    if (!given(name)) {
        if ((rv = nng_url_parse(&u, url)) != 0) {
            rk_status_set(st, RK_INVALID_ARGUMENT, "cannot dial %s: %s", url, nng_strerror(rv));
            goto fail;
        }
        name = u->u_hostname;
    }
    if ((rv = nng_tls_config_server_name(cfg, name)) != 0) {
        rk_status_set(st, RK_INVALID_ARGUMENT, "server name %s: %s", name, nng_strerror(rv));
        goto fail;
    }
    if (u) nng_url_free(u);
    *out = cfg;
    return RK_OK;
fail:
    if (u) nng_url_free(u);
    nng_tls_config_free(cfg);
    return st->code;
}

int dial_start(nng_socket sock, const char *url, const rk_tls_opts *tls, nng_dialer *out, rk_status *st) {
    nng_tls_config *cfg = NULL;
    int rv, rc;
    if ((rv = nng_dialer_create(out, sock, url)) != 0)
        return rk_status_set(st, RK_INVALID_ARGUMENT, "cannot dial %s: %s", url, nng_strerror(rv));
    if (is_tls(url)) {
        if ((rc = tls_config(url, tls, &cfg, st)) != RK_OK) {
            nng_dialer_close(*out);
            return rc;
        }
        rv = nng_dialer_set_ptr(*out, NNG_OPT_TLS_CONFIG, cfg);
        nng_tls_config_free(cfg); /* the dialer holds its own reference */
        if (rv != 0) {
            nng_dialer_close(*out);
            return rk_status_set(st, RK_INVALID_ARGUMENT, "cannot dial %s with TLS: %s", url, nng_strerror(rv));
        }
    }
    if ((rv = nng_dialer_start(*out, NNG_FLAG_NONBLOCK)) != 0) {
        nng_dialer_close(*out);
        return rk_status_set(st, RK_INVALID_ARGUMENT, "cannot dial %s: %s", url, nng_strerror(rv));
    }
    return RK_OK;
}

/* A dialer's count of one kind of error (nng's statistics), or 0. */
static uint64_t dialer_errors(nng_stat *root, nng_dialer d, const char *name) {
    nng_stat *s = nng_stat_find_dialer(root, d);
    nng_stat *e = s ? nng_stat_find(s, name) : NULL;
    return e ? nng_stat_value(e) : 0;
}

void dial_explain(const nng_dialer *d, size_t n, char *out, size_t cap) {
    nng_stat *root = NULL;
    out[0] = '\0';
    if (n == 0 || nng_stats_get(&root) != 0) return;
    for (size_t i = 0; i < n; i++) {
        char url[256] = "";
        char *u = NULL;
        if (nng_dialer_get_string(d[i], NNG_OPT_URL, &u) == 0) {
            snprintf(url, sizeof(url), "%s", u);
            nng_strfree(u);
        }
        uint64_t auth = dialer_errors(root, d[i], "auth"), other = dialer_errors(root, d[i], "other");
        if (auth > 0) {
            snprintf(out, cap,
                     "; the TLS handshake with %s failed %llu time(s): the server's certificate is not signed by the "
                     "CA given, does not carry the server name, or the server wants a client certificate",
                     url, (unsigned long long)auth);
            break;
        }
        if (other > 0 && is_tls(url)) {
            snprintf(out, cap, "; the TLS handshake with %s failed %llu time(s) (is it a TLS address?)", url,
                     (unsigned long long)other);
            break;
        }
        if (other > 0) {
            snprintf(out, cap,
                     "; %s closed the connection %llu time(s) before the SP handshake (a tls+tcp:// address dialed "
                     "as plain tcp?)",
                     url, (unsigned long long)other);
            break;
        }
    }
    nng_stats_free(root);
}
