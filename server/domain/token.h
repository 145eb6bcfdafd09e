/*
 * token.h - signed session tokens.
 *
 * A token is `base64url(claims) "." base64url(HMAC-SHA256(key, claims))`
 * where claims is the text "v2|<user_id>|<role>|<expires_at>|<jti>|<gen>".
 * The signature makes a token unforgeable without a database look-up; the
 * jti (random, 16 hex bytes) names it so logout can revoke it before
 * expiry; gen is the user's token generation when it was signed, so a
 * change to the account (a new role) voids every older token at once.
 * Tokens signed before generations existed ("v1|...", no gen) verify with
 * gen 0. Verification compares MACs in constant time and checks expiry;
 * whether a jti was revoked, or gen is out of date, is the caller's
 * question (it needs a store).
 */
#ifndef RANKD_TOKEN_H
#define RANKD_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <rankd/status.h>

#define TOKEN_KEY_LEN 32
#define TOKEN_JTI_LEN 32 /* hex chars */
#define TOKEN_MAX 256
/* A generation no token carries: the token's user no longer exists. */
#define TOKEN_GEN_GONE INT64_MAX

typedef struct token_claims {
    int64_t user_id;
    int role;           /* rankd.Role */
    int64_t expires_at; /* Unix seconds */
    char jti[TOKEN_JTI_LEN + 1];
    int64_t gen; /* the user's token generation at signing; 0 for v1 tokens */
} token_claims;

/* Fills claims->jti with fresh randomness; returns RK_OK or RK_INTERNAL. */
int token_new_jti(token_claims *claims, rk_status *st);

/* Writes a NUL-terminated v2 token of at most TOKEN_MAX bytes to out. */
int token_sign(const uint8_t key[TOKEN_KEY_LEN], const token_claims *claims, char out[TOKEN_MAX], rk_status *st);

/* Checks signature, format and expiry against `now`. RK_UNAUTHENTICATED
 * with a reason when the token is malformed, forged or expired. */
int token_verify(const uint8_t key[TOKEN_KEY_LEN], const char *token, time_t now, token_claims *claims, rk_status *st);

#endif
