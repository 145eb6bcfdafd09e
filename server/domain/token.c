/*
 * token.c - HMAC-SHA256 tokens through OpenSSL.
 *
 * The claims are plain text on purpose: easy to read in a debugger, and
 * the parser is a handful of strtoll calls with full-string checks. The
 * MAC is checked before the claims are parsed, so the parser only ever
 * sees text we signed ourselves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "base64.h"
#include "token.h"

#define MAC_LEN 32

int token_new_jti(token_claims *claims, rk_status *st) {
    uint8_t raw[TOKEN_JTI_LEN / 2];
    if (RAND_bytes(raw, sizeof(raw)) != 1) return rk_status_set(st, RK_INTERNAL, "no randomness for a token id");
    for (size_t i = 0; i < sizeof(raw); i++) sprintf(claims->jti + 2 * i, "%02x", raw[i]);
    return RK_OK;
}

static int mac(const uint8_t key[TOKEN_KEY_LEN], const char *msg, size_t len, uint8_t out[MAC_LEN]) {
    unsigned int outlen = 0;
    if (HMAC(EVP_sha256(), key, TOKEN_KEY_LEN, (const unsigned char *)msg, len, out, &outlen) == NULL ||
        outlen != MAC_LEN)
        return -1;
    return 0;
}

int token_sign(const uint8_t key[TOKEN_KEY_LEN], const token_claims *claims, char out[TOKEN_MAX], rk_status *st) {
    char text[128];
    uint8_t m[MAC_LEN];
    int n = snprintf(text, sizeof(text), "v2|%lld|%d|%lld|%s|%lld", (long long)claims->user_id, claims->role,
                     (long long)claims->expires_at, claims->jti, (long long)claims->gen);
    if (n < 0 || (size_t)n >= sizeof(text)) return rk_status_set(st, RK_INTERNAL, "claims too long");
    if (mac(key, text, (size_t)n, m) != 0) return rk_status_set(st, RK_INTERNAL, "HMAC failed");
    size_t a = b64url_encoded_len((size_t)n), b = b64url_encoded_len(MAC_LEN);
    if (a + 1 + b + 1 > TOKEN_MAX) return rk_status_set(st, RK_INTERNAL, "token too long");
    b64url_encode((const uint8_t *)text, (size_t)n, out);
    out[a] = '.';
    b64url_encode(m, MAC_LEN, out + a + 1);
    return RK_OK;
}

/* Parses a decimal int64 field ending at `|` or NUL; advances *p. */
static int field(const char **p, long long *v) {
    char *end;
    errno = 0;
    *v = strtoll(*p, &end, 10);
    if (errno || end == *p || (*end != '|' && *end != '\0')) return -1;
    *p = *end ? end + 1 : end;
    return 0;
}

/* Parses a decimal int64 that must end the text. */
static int field_last(const char *p, long long *v) {
    char *end;
    errno = 0;
    *v = strtoll(p, &end, 10);
    return errno || end == p || *end != '\0' ? -1 : 0;
}

int token_verify(const uint8_t key[TOKEN_KEY_LEN], const char *token, time_t now, token_claims *claims, rk_status *st) {
    const char *dot = token ? strchr(token, '.') : NULL;
    uint8_t text[128], given[MAC_LEN + 4], want[MAC_LEN];
    if (dot == NULL || strlen(token) >= TOKEN_MAX) return rk_status_set(st, RK_UNAUTHENTICATED, "malformed token");
    long tn = b64url_decode(token, (size_t)(dot - token), text, sizeof(text) - 1);
    long mn = b64url_decode(dot + 1, strlen(dot + 1), given, sizeof(given));
    if (tn <= 0 || mn != MAC_LEN) return rk_status_set(st, RK_UNAUTHENTICATED, "malformed token");
    if (mac(key, (const char *)text, (size_t)tn, want) != 0) return rk_status_set(st, RK_INTERNAL, "HMAC failed");
    if (CRYPTO_memcmp(given, want, MAC_LEN) != 0)
        return rk_status_set(st, RK_UNAUTHENTICATED, "invalid token signature");
    text[tn] = '\0';

    const char *p = (const char *)text;
    long long uid, role, exp, gen = 0;
    int v2 = strncmp(p, "v2|", 3) == 0;
    if (!v2 && strncmp(p, "v1|", 3) != 0) return rk_status_set(st, RK_UNAUTHENTICATED, "unknown token version");
    p += 3;
    if (field(&p, &uid) || field(&p, &role) || field(&p, &exp))
        return rk_status_set(st, RK_UNAUTHENTICATED, "malformed token claims");
    /* v1: the jti ends the claims; v2: "|<gen>" follows it. */
    size_t jl = strlen(p);
    if (v2) {
        if (jl <= TOKEN_JTI_LEN + 1 || p[TOKEN_JTI_LEN] != '|' || field_last(p + TOKEN_JTI_LEN + 1, &gen) || gen < 0)
            return rk_status_set(st, RK_UNAUTHENTICATED, "malformed token claims");
    } else if (jl != TOKEN_JTI_LEN) {
        return rk_status_set(st, RK_UNAUTHENTICATED, "malformed token claims");
    }
    if ((int64_t)exp <= (int64_t)now) return rk_status_set(st, RK_UNAUTHENTICATED, "token expired");
    claims->user_id = uid;
    claims->role = (int)role;
    claims->expires_at = exp;
    memcpy(claims->jti, p, TOKEN_JTI_LEN);
    claims->jti[TOKEN_JTI_LEN] = '\0';
    claims->gen = gen;
    return RK_OK;
}
