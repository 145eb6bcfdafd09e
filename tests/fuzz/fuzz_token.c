/*
 * fuzz_token.c - libFuzzer target: server/domain/token.c's token_verify.
 *
 * The first byte picks one of two ways in. 0: the rest is a token as it
 * arrives in an envelope, which almost never gets past the signature.
 * 1: the rest is the claims text, signed here with the target's key, so
 * the claims parser behind the signature check is fuzzed too. Every token
 * that verifies must carry claims token_sign could have written.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base64.h"
#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t key[TOKEN_KEY_LEN] = "fuzz-key-fuzz-key-fuzz-key-fuzz";
#define NOW 1700000000

static void verify(const char *tok) {
    token_claims cl;
    rk_status st = {0};
    memset(&cl, 0xAA, sizeof(cl));
    if (token_verify(key, tok, NOW, &cl, &st) != RK_OK) {
        if (st.code != RK_UNAUTHENTICATED) abort();
        return;
    }
    if (cl.expires_at <= NOW || cl.gen < 0 || strlen(cl.jti) != TOKEN_JTI_LEN) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4 * TOKEN_MAX) return 0;
    char *tok = malloc(4 * TOKEN_MAX + 64);
    if (tok == NULL) return 0;
    if (data[0] & 1) {
        uint8_t mac[32];
        unsigned int ml = 0;
        size_t n = size - 1 > 127 ? 127 : size - 1;
        b64url_encode(data + 1, n, tok);
        size_t tl = strlen(tok);
        tok[tl++] = '.';
        if (HMAC(EVP_sha256(), key, TOKEN_KEY_LEN, data + 1, n, mac, &ml) == NULL) abort();
        b64url_encode(mac, ml, tok + tl);
    } else {
        memcpy(tok, data + 1, size - 1);
        tok[size - 1] = '\0';
    }
    verify(tok);
    free(tok);
    return 0;
}
