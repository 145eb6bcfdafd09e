/* Signed tokens: round trip, expiry, tampering, malformed input, the
 * token generation of v2 claims and v1 tokens still verifying; and the
 * scrypt password hashes behind login. */
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <rankd/status.h>

#include "base64.h"
#include "check.h"
#include "password.h"
#include "token.h"

static const uint8_t key[TOKEN_KEY_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

static void sign_then_verify_round_trips(void) {
    token_claims c = {.user_id = 42, .role = 3, .expires_at = 2000000000}, got;
    char tok[TOKEN_MAX];
    rk_status st;
    CHECK_INT(token_new_jti(&c, &st), RK_OK);
    CHECK_INT(token_sign(key, &c, tok, &st), RK_OK);
    CHECK_INT(token_verify(key, tok, 1900000000, &got, &st), RK_OK);
    CHECK_INT(got.user_id, 42);
    CHECK_INT(got.role, 3);
    CHECK_INT(got.expires_at, 2000000000);
    CHECK_STR(got.jti, c.jti);
}

static void v2_claims_carry_the_generation(void) {
    token_claims c = {.user_id = 42, .role = 3, .expires_at = 2000000000, .gen = 7}, got;
    char tok[TOKEN_MAX];
    rk_status st;
    CHECK_INT(token_new_jti(&c, &st), RK_OK);
    CHECK_INT(token_sign(key, &c, tok, &st), RK_OK);
    CHECK_INT(token_verify(key, tok, 1900000000, &got, &st), RK_OK);
    CHECK_INT(got.gen, 7);
    CHECK_STR(got.jti, c.jti);
    c.gen = INT64_MAX; /* the longest claims still fit */
    c.user_id = INT64_MAX;
    c.expires_at = INT64_MAX;
    CHECK_INT(token_sign(key, &c, tok, &st), RK_OK);
    CHECK_INT(token_verify(key, tok, 1900000000, &got, &st), RK_OK);
    CHECK_INT(got.gen, INT64_MAX);
    CHECK_INT(got.user_id, INT64_MAX);
}

/* Signs claims text as given, the way tokens were signed before v2. */
static void sign_text(const char *text, char out[TOKEN_MAX]) {
    uint8_t m[32];
    unsigned int ml = 0;
    size_t n = strlen(text), a = b64url_encoded_len(n);
    HMAC(EVP_sha256(), key, TOKEN_KEY_LEN, (const unsigned char *)text, n, m, &ml);
    b64url_encode((const uint8_t *)text, n, out);
    out[a] = '.';
    b64url_encode(m, sizeof(m), out + a + 1);
}

static void v1_token_verifies_as_generation_0(void) {
    token_claims got = {.gen = 99};
    char tok[TOKEN_MAX];
    rk_status st;
    sign_text("v1|42|3|2000000000|0123456789abcdef0123456789abcdef", tok);
    CHECK_INT(token_verify(key, tok, 1900000000, &got, &st), RK_OK);
    CHECK_INT(got.user_id, 42);
    CHECK_INT(got.role, 3);
    CHECK_INT(got.gen, 0);
    CHECK_STR(got.jti, "0123456789abcdef0123456789abcdef");
}

static void malformed_generations_are_refused(void) {
    const char *bad[] = {
        "v2|42|3|2000000000|0123456789abcdef0123456789abcdef",    /* no gen */
        "v2|42|3|2000000000|0123456789abcdef0123456789abcdef|",   /* empty gen */
        "v2|42|3|2000000000|0123456789abcdef0123456789abcdef|-1", /* negative */
        "v2|42|3|2000000000|0123456789abcdef0123456789abcdef|1x", /* trailing text */
        "v2|42|3|2000000000|0123456789abcdef|1",                  /* short jti */
        "v1|42|3|2000000000|0123456789abcdef0123456789abcdef|1",  /* gen in a v1 token */
        "v3|42|3|2000000000|0123456789abcdef0123456789abcdef|1",  /* unknown version */
    };
    token_claims got;
    rk_status st;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char tok[TOKEN_MAX];
        sign_text(bad[i], tok);
        CHECK_INT(token_verify(key, tok, 1900000000, &got, &st), RK_UNAUTHENTICATED);
    }
}

static void expired_token_is_refused(void) {
    token_claims c = {.user_id = 1, .role = 1, .expires_at = 1000}, got;
    char tok[TOKEN_MAX];
    rk_status st;
    token_new_jti(&c, &st);
    token_sign(key, &c, tok, &st);
    CHECK_INT(token_verify(key, tok, 999, &got, &st), RK_OK);
    CHECK_INT(token_verify(key, tok, 1000, &got, &st), RK_UNAUTHENTICATED);
    CHECK_STR(st.message, "token expired");
}

static void tampered_token_is_refused(void) {
    token_claims c = {.user_id = 7, .role = 1, .expires_at = 2000000000}, got;
    char tok[TOKEN_MAX];
    rk_status st;
    token_new_jti(&c, &st);
    token_sign(key, &c, tok, &st);
    /* Re-sign the claims as an admin with another key: the signature fails. */
    uint8_t other[TOKEN_KEY_LEN] = {9};
    c.role = 3;
    char forged[TOKEN_MAX];
    token_sign(other, &c, forged, &st);
    CHECK_INT(token_verify(key, forged, 0, &got, &st), RK_UNAUTHENTICATED);
    /* Flip one character of the claims. */
    tok[3] = tok[3] == 'A' ? 'B' : 'A';
    CHECK_INT(token_verify(key, tok, 0, &got, &st), RK_UNAUTHENTICATED);
}

static void garbage_is_refused(void) {
    token_claims got;
    rk_status st;
    const char *bad[] = {"", ".", "abc", "abc.def", "!!!.???", "a.b.c"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_INT(token_verify(key, bad[i], 0, &got, &st), RK_UNAUTHENTICATED);
}

static void base64url_round_trips(void) {
    uint8_t in[5] = {0xfb, 0xff, 0x00, 0x10, 0x7f}, out[8];
    char enc[16];
    for (size_t n = 0; n <= 5; n++) {
        b64url_encode(in, n, enc);
        CHECK_INT(b64url_decode(enc, b64url_encoded_len(n), out, sizeof(out)), (long)n);
        CHECK(memcmp(in, out, n) == 0);
    }
    CHECK_INT(b64url_decode("A", 1, out, sizeof(out)), -1);
    CHECK_INT(b64url_decode("+/", 2, out, sizeof(out)), -1);
}

static void password_hash_verifies_only_the_right_password(void) {
    char h[PASSWORD_HASH_MAX];
    rk_status st;
    CHECK_INT(password_hash("correct horse", 1024, h, &st), RK_OK);
    CHECK(strncmp(h, "scrypt$1024$8$1$", 16) == 0);
    CHECK_INT(password_verify("correct horse", h, &st), RK_OK);
    CHECK_INT(password_verify("correct horsf", h, &st), RK_UNAUTHENTICATED);
    CHECK_INT(password_verify("x", "not a hash", &st), RK_INTERNAL);
    char h2[PASSWORD_HASH_MAX];
    password_hash("correct horse", 1024, h2, &st);
    CHECK(strcmp(h, h2) != 0); /* fresh salt each time */
}

int main(void) {
    RUN(sign_then_verify_round_trips);
    RUN(v2_claims_carry_the_generation);
    RUN(v1_token_verifies_as_generation_0);
    RUN(malformed_generations_are_refused);
    RUN(expired_token_is_refused);
    RUN(tampered_token_is_refused);
    RUN(garbage_is_refused);
    RUN(base64url_round_trips);
    RUN(password_hash_verifies_only_the_right_password);
    return CHECK_SUMMARY();
}
